namespace OrleansLocks;

/// <summary>An acquire request as the grain sees it: already validated and with defaults applied.</summary>
public sealed record AcquireCommand
{
    /// <summary>Exclusive or shared.</summary>
    public required LockMode Mode { get; init; }

    /// <summary>A label for the holder, shown in the state view and logs (1–200 characters).</summary>
    public required string Owner { get; init; }

    /// <summary>The lease's time to live.</summary>
    public required TimeSpan Ttl { get; init; }

    /// <summary>
    /// Identifies the request for idempotency (repeating it returns the same outcome and keeps a queue place).
    /// The Api generates one when the client gives none.
    /// </summary>
    public required string RequestId { get; init; }

    /// <summary>
    /// True when the Api generated <see cref="RequestId"/> because the client gave none. Nobody can repeat such a
    /// request once it stops waiting, so the lease's tombstone does not keep the id (it keeps the row small).
    /// </summary>
    public bool RequestIdGenerated { get; init; }

    /// <summary>
    /// How long the caller will wait for a grant in this request. Zero is a try-lock: the request is never queued.
    /// A positive wait enqueues a waiter whose place is kept until the wait ends plus the waiter grace period.
    /// </summary>
    public TimeSpan Wait { get; init; }

    /// <summary>A lease the caller believes it holds; if it still holds the lock, that lease is returned.</summary>
    public string? LeaseId { get; init; }

    /// <summary>
    /// The authenticated principal asking (recorded with its lease or queue place), or null when the caller is not
    /// identified. Counted against <see cref="MaxLeasesPerPrincipal"/>.
    /// </summary>
    public string? Principal { get; init; }

    /// <summary>
    /// Most leases and queue places <see cref="Principal"/> may have on this lock; a new request beyond it is answered
    /// <see cref="AcquireStatus.LeaseLimit"/>. 0 (the default) means no bound.
    /// </summary>
    public int MaxLeasesPerPrincipal { get; init; }
}

/// <summary>The outcome of an acquire or poll.</summary>
public enum AcquireStatus
{
    /// <summary>The lease is held: see <see cref="AcquireResult.Lease"/>.</summary>
    Granted = 0,

    /// <summary>The request waits in the queue at <see cref="AcquireResult.Position"/>.</summary>
    Queued = 1,

    /// <summary>Not granted and not queued (a try-lock that found the lock busy, or a waiter that left the queue).</summary>
    NotGranted = 2,

    /// <summary>This request id was granted before and that lease has since ended (see <see cref="AcquireResult.LostReason"/>).</summary>
    LeaseEnded = 3,

    /// <summary>The caller already holds the lock in the other mode; upgrades and downgrades are not supported.</summary>
    ModeConflict = 4,

    /// <summary>The waiter queue is at its bound (<c>Locks:MaxQueueLength</c>); the request was not queued.</summary>
    QueueFull = 5,

    /// <summary>
    /// The request's principal already has <see cref="AcquireCommand.MaxLeasesPerPrincipal"/> leases and queue places on
    /// this lock; the request was neither granted nor queued.
    /// </summary>
    LeaseLimit = 6,
}

/// <summary>A lease on a lock: the proof of holding it.</summary>
/// <param name="Name">The lock's name.</param>
/// <param name="LeaseId">The secret that renews and releases the lease (128 random bits, base64url).</param>
/// <param name="Mode">Exclusive or shared.</param>
/// <param name="FencingToken">Strictly increasing per lock; pass it to protected resources.</param>
/// <param name="Owner">The holder's label.</param>
/// <param name="AcquiredAt">When the lease was granted (server UTC).</param>
/// <param name="ExpiresAt">When the lease ends unless renewed (server UTC).</param>
/// <param name="Ttl">The time to live a renew without a TTL extends by.</param>
public sealed record Lease(
    string Name,
    string LeaseId,
    LockMode Mode,
    long FencingToken,
    string Owner,
    DateTimeOffset AcquiredAt,
    DateTimeOffset ExpiresAt,
    TimeSpan Ttl);

/// <summary>A holder as the public sees it (no lease id).</summary>
public sealed record HolderView(string Owner, LockMode Mode, long FencingToken, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt);

/// <summary>A waiter as the public sees it.</summary>
/// <param name="Position">1-based place in the queue.</param>
public sealed record WaiterView(string Owner, LockMode Mode, int Position, DateTimeOffset EnqueuedAt);

/// <summary>The public state of a lock.</summary>
public sealed record LockStateView(
    string Name,
    LockStateMode Mode,
    IReadOnlyList<HolderView> Holders,
    IReadOnlyList<WaiterView> Waiters,
    long FencingCounter);

/// <summary>Result of <see cref="ILockGrain.AcquireAsync"/> and <see cref="ILockGrain.PollAsync"/>.</summary>
public sealed record AcquireResult
{
    public required AcquireStatus Status { get; init; }

    /// <summary>The lease when <see cref="Status"/> is <see cref="AcquireStatus.Granted"/>.</summary>
    public Lease? Lease { get; init; }

    /// <summary>1-based queue position when <see cref="Status"/> is <see cref="AcquireStatus.Queued"/>; otherwise 0.</summary>
    public int Position { get; init; }

    /// <summary>Why the lease of this request id ended, when <see cref="Status"/> is <see cref="AcquireStatus.LeaseEnded"/>.</summary>
    public LeaseLostReason? LostReason { get; init; }

    /// <summary>Current holders (without lease ids) and queue length, for callers that were not granted.</summary>
    public required IReadOnlyList<HolderView> Holders { get; init; }

    /// <summary>Number of waiters in the queue.</summary>
    public int QueueLength { get; init; }
}

/// <summary>Result of <see cref="ILockGrain.RenewAsync"/>: the renewed lease, or why it is lost.</summary>
public sealed record RenewResult(Lease? Lease, LeaseLostReason? LostReason);

/// <summary>Result of <see cref="ILockGrain.ReleaseAsync"/>.</summary>
/// <param name="Released">True when the lease is released (now or by an earlier call with the same lease id).</param>
/// <param name="LostReason">Why the lease was already gone, when it ended other than by release.</param>
public sealed record ReleaseResult(bool Released, LeaseLostReason? LostReason);

/// <summary>Result of <see cref="ILockGrain.ValidateAsync"/>.</summary>
/// <param name="Valid">True when the token belongs to a lease that holds the lock now.</param>
/// <param name="CurrentToken">The lock's fencing counter: the highest token it has issued.</param>
public sealed record ValidateResult(bool Valid, long CurrentToken);

/// <summary>Result of <see cref="ILockGrain.ForceReleaseAsync"/>.</summary>
/// <param name="HoldersRemoved">How many leases were ended.</param>
/// <param name="FencingCounter">The counter after the bump.</param>
public sealed record ForceReleaseResult(int HoldersRemoved, long FencingCounter);
