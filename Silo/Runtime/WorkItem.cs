namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// An entry of an activation's request queue: a <see cref="GrainCall"/> or a <see cref="GrainTimer"/> tick. The queue is
/// an intrusive singly linked list through <see cref="Next"/>, so an activation with nothing queued holds no queue storage.
/// </summary>
internal abstract class WorkItem
{
    /// <summary>The next entry of the queue this item is in; only touched under the owning activation's lock.</summary>
    public WorkItem? Next { get; set; }
}

/// <summary>One call to a grain method, from the caller's invocation to its result.</summary>
internal sealed class GrainCall(GrainMethod method, object?[] arguments, long startTimestamp) : WorkItem
{
    private readonly TaskCompletionSource<object?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public GrainMethod Method { get; } = method;

    public object?[] Arguments { get; } = arguments;

    /// <summary>When the call was made (<see cref="TimeProvider.GetTimestamp"/>), for the call-duration histogram.</summary>
    public long StartTimestamp { get; } = startTimestamp;

    /// <summary>How many times the call failed with a version conflict (each time on a fresh activation).</summary>
    public int VersionConflicts { get; set; }

    /// <summary>Completes with the method's result; callers' continuations never run on the activation.</summary>
    public Task<object?> Task => _completion.Task;

    public bool IsCompleted => _completion.Task.IsCompleted;

    public bool TrySetResult(object? result) => _completion.TrySetResult(result);

    public bool TrySetException(Exception exception) => _completion.TrySetException(exception);
}
