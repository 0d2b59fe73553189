using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// The seam every grain call passes through: "invoke method M of grain G with these arguments". The local
/// implementation is the <see cref="Catalog"/>; a cluster router decides per grain whether to call the catalog or
/// forward the call to the silo that hosts the grain, so grain references need not change.
/// </summary>
internal interface IGrainCallRouter
{
    /// <summary>
    /// Invokes <paramref name="method"/> on grain <paramref name="grainId"/>; the task carries the method's result
    /// (null for a <see cref="Task"/> method) or its exception. Enqueues synchronously, so calls made one after the
    /// other by one caller are served in that order.
    /// </summary>
    Task<object?> InvokeAsync(GrainId grainId, GrainMethod method, object?[] arguments);
}
