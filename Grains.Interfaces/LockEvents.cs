namespace OrleansLocks;

/// <summary>What happened to a lock, as event streams report it.</summary>
public enum LockEventType
{
    /// <summary>A request joined the queue.</summary>
    Queued = 0,

    /// <summary>A lease was granted (at once or to a waiter at the head of the queue).</summary>
    Granted = 1,

    /// <summary>A holder released its lease.</summary>
    Released = 2,

    /// <summary>A lease's deadline passed.</summary>
    Expired = 3,

    /// <summary>An administrator removed a holder (force-release).</summary>
    Forced = 4,

    /// <summary>A waiter left the queue without a grant (its client stopped polling, or its wait was cancelled).</summary>
    Dequeued = 5,

    /// <summary>A holder extended its lease (new deadline in <see cref="LockEventView.ExpiresAt"/>).</summary>
    Renewed = 6,
}

/// <summary>One event of a lock's stream. Lease ids never appear.</summary>
/// <param name="Sequence">1-based, strictly increasing within one <see cref="LockEventBatch.Epoch"/>.</param>
/// <param name="Type">What happened.</param>
/// <param name="At">Server time of the change (UTC).</param>
/// <param name="Owner">The holder's or waiter's label.</param>
/// <param name="Mode">The lease's or waiter's mode.</param>
/// <param name="FencingToken">The lease's token (granted, renewed, released, expired, forced); null for queue events.</param>
/// <param name="Position">The 1-based queue position (queued, dequeued); null otherwise.</param>
/// <param name="ExpiresAt">The lease's deadline (granted, renewed, expired); null otherwise.</param>
/// <param name="Reason">Why (forced: the administrator's reason; dequeued: "abandoned" or "cancelled"); null otherwise.</param>
public sealed record LockEventView(
    long Sequence,
    LockEventType Type,
    DateTimeOffset At,
    string Owner,
    LockMode Mode,
    long? FencingToken = null,
    int? Position = null,
    DateTimeOffset? ExpiresAt = null,
    string? Reason = null);

/// <summary>The answer of <see cref="ILockGrain.WatchAsync"/>.</summary>
/// <param name="Epoch">
/// Identifies the activation that numbered the events. Sequence numbers restart with every activation (on another
/// silo after a failover, or after idle collection), so a watcher compares epochs before it trusts a sequence.
/// </param>
/// <param name="Events">The events after the watcher's sequence, oldest first (possibly none: the wait ran out).</param>
/// <param name="LastSequence">The sequence of the latest event of this epoch (0 when none yet): where to continue.</param>
/// <param name="Reset">
/// True when the events the watcher asked for cannot be given: another epoch, or they fell out of the bounded
/// history. The watcher must re-read the state (<see cref="ILockGrain.GetStateAsync"/>) and continue after
/// <paramref name="LastSequence"/>; <paramref name="Events"/> is then empty.
/// </param>
public sealed record LockEventBatch(string Epoch, IReadOnlyList<LockEventView> Events, long LastSequence, bool Reset);
