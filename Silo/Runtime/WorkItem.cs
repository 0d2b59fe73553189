using OrleansLocks.Silo.Membership;

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

    /// <summary>
    /// The caller's Activity when the call was made: the activation runs the call under it, so the trace (and the
    /// trace id in logs) continues into the grain even though the call runs on another ExecutionContext.
    /// </summary>
    public System.Diagnostics.Activity? CallerActivity { get; } = System.Diagnostics.Activity.Current;

    /// <summary>When the call was made (<see cref="TimeProvider.GetTimestamp"/>), for the call-duration histogram.</summary>
    public long StartTimestamp { get; } = startTimestamp;

    /// <summary>How many times the call failed with a version conflict (each time on a fresh activation).</summary>
    public int VersionConflicts { get; set; }

    /// <summary>Completes with the method's result; callers' continuations never run on the activation.</summary>
    public Task<object?> Task => _completion.Task;

    public bool IsCompleted => _completion.Task.IsCompleted;

    /// <summary>
    /// Whether the call failed because this silo would not run it (not accepting calls, or the grain is placed on
    /// another silo), before any of the grain's code ran: a cluster router may safely send it elsewhere.
    /// </summary>
    public bool Rejected { get; private set; }

    /// <summary>
    /// For a rejected call: the silo the grain directory names as the host of the grain's activation (this silo's
    /// activation was a duplicate), so a router can send the call there directly; null when unknown.
    /// </summary>
    public SiloAddress? ForwardTo { get; private set; }

    public bool TrySetResult(object? result) => _completion.TrySetResult(result);

    public bool TrySetException(Exception exception) => _completion.TrySetException(exception);

    /// <summary>Fails the call as <see cref="Rejected"/>: it never ran, so it may be retried on another silo.</summary>
    public bool Reject(Exception exception, SiloAddress? forwardTo = null)
    {
        if (_completion.Task.IsCompleted)
        {
            return false;
        }

        Rejected = true;
        ForwardTo = forwardTo;
        return _completion.TrySetException(exception);
    }
}
