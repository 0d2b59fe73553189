using OrleansLocks.Runtime;

namespace OrleansLocks;

/// <summary>
/// The grain that owns one named lock: holder, readers, FIFO waiter queue, lease deadlines and fencing counter.
/// Its key is the lock name. Every method that changes state commits one version-checked write before it returns.
/// </summary>
/// <remarks>
/// Waiting happens outside the grain's turn: <see cref="AcquireAsync"/> never blocks; it grants, enqueues, or
/// refuses. A caller that wants to wait calls <see cref="WaitAsync"/> (which interleaves and changes nothing) and
/// then <see cref="PollAsync"/>, so a waiting acquire never blocks the release that would free it.
/// </remarks>
public interface ILockGrain : IGrainWithStringKey
{
    /// <summary>
    /// Grants the lock at once if it is compatible with the holders and no one is queued ahead (no barging);
    /// otherwise, when <see cref="AcquireCommand.Wait"/> is positive, enqueues a waiter (or refreshes the
    /// existing one with the same request id, keeping its place); otherwise answers not granted.
    /// Repeating a request id returns the same outcome.
    /// </summary>
    Task<AcquireResult> AcquireAsync(AcquireCommand command);

    /// <summary>
    /// The current outcome of an earlier acquire with this request id: granted (the lease), still queued (the
    /// position) or <see cref="AcquireStatus.NotGranted"/> when the lock has no waiter with this id.
    /// Does not refresh the waiter's deadline.
    /// </summary>
    Task<AcquireResult> PollAsync(string requestId);

    /// <summary>
    /// Completes when the waiter with this request id is no longer waiting (granted or removed), when the lock
    /// has no such waiter, or when <paramref name="timeout"/> elapses. Runs interleaved with other calls and changes
    /// nothing. When the waiter was granted while waiting, the result is that grant (as <see cref="PollAsync"/> would
    /// answer it the moment the grant was committed), so the caller needs no second call; otherwise null: call
    /// <see cref="PollAsync"/> for the outcome.
    /// </summary>
    [AlwaysInterleave]
    Task<AcquireResult?> WaitAsync(string requestId, TimeSpan timeout);

    /// <summary>Removes the waiter with this request id from the queue, if it is still waiting.</summary>
    Task CancelWaitAsync(string requestId);

    /// <summary>Extends a held lease to now + <paramref name="ttl"/> (default: the lease's own TTL).</summary>
    Task<RenewResult> RenewAsync(string leaseId, TimeSpan? ttl);

    /// <summary>Releases a held lease and grants the waiters that become compatible, in one write.</summary>
    Task<ReleaseResult> ReleaseAsync(string leaseId);

    /// <summary>Whether <paramref name="fencingToken"/> belongs to a lease that currently holds the lock.</summary>
    Task<ValidateResult> ValidateAsync(long fencingToken);

    /// <summary>Removes every holder, bumps the fencing counter, and grants the queue head.</summary>
    Task<ForceReleaseResult> ForceReleaseAsync(string requestedBy, string reason);

    /// <summary>The public view of the lock. Never contains lease ids.</summary>
    Task<LockStateView> GetStateAsync();

    /// <summary>
    /// The lock's events after <paramref name="afterSequence"/> of <paramref name="epoch"/>, waiting up to
    /// <paramref name="maxWait"/> for the first one (a long poll). With an unknown or null epoch, or a sequence older
    /// than the bounded history, answers <see cref="LockEventBatch.Reset"/> at once. Runs interleaved and changes
    /// nothing; an activation keeps a bounded ring of recent events in memory only (they are not persisted).
    /// </summary>
    [AlwaysInterleave]
    Task<LockEventBatch> WatchAsync(string? epoch, long afterSequence, TimeSpan maxWait);
}
