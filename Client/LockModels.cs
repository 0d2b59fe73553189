namespace OrleansLocks.Client;

/// <summary>How a lock is held.</summary>
public enum LockMode
{
    /// <summary>One holder, no readers.</summary>
    Exclusive,

    /// <summary>Any number of readers, no exclusive holder.</summary>
    Shared,
}

/// <summary>Why the service says a lease ended (the <c>reason</c> of a <c>410 lease-lost</c>).</summary>
public enum LeaseLostReason
{
    /// <summary>The service has no record of the lease (never issued, another lock's, or forgotten long ago).</summary>
    Unknown,

    /// <summary>The lease's deadline passed without a renew. A handle also reports this when it could not renew before its deadline.</summary>
    Expired,

    /// <summary>The lease was released.</summary>
    Released,

    /// <summary>An administrator force-released the lock.</summary>
    ForceReleased,
}

/// <summary>A granted lease, as the service returned it.</summary>
/// <param name="Name">The lock's name.</param>
/// <param name="LeaseId">The secret that renews or releases the lease. Do not log it.</param>
/// <param name="Mode">Exclusive or shared.</param>
/// <param name="FencingToken">This grant's token: pass it to the resources the lock protects. Tokens of one lock only increase.</param>
/// <param name="Owner">The owner label given when acquiring.</param>
/// <param name="AcquiredAt">When the lease was granted (server clock).</param>
/// <param name="ExpiresAt">The lease's deadline (server clock).</param>
/// <param name="TimeToLive">The remaining lifetime when the service answered (<c>ttlMs</c>); a conservative bound, not a promise.</param>
public sealed record Lease(
    string Name,
    string LeaseId,
    LockMode Mode,
    long FencingToken,
    string Owner,
    DateTimeOffset AcquiredAt,
    DateTimeOffset ExpiresAt,
    TimeSpan TimeToLive);

/// <summary>Options of one acquire.</summary>
public sealed record AcquireOptions
{
    /// <summary>Exclusive (default) or shared.</summary>
    public LockMode Mode { get; init; } = LockMode.Exclusive;

    /// <summary>The lease's time to live. Default: <see cref="LockClientOptions.DefaultTtl"/>.</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>A label shown in the lock's state and the service's logs. Default: <see cref="LockClientOptions.Owner"/>.</summary>
    public string? Owner { get; init; }

    /// <summary>
    /// The request id that makes the acquire idempotent. Default: a new random id per call, which is what you want
    /// unless you need to resume the same request after a restart of your own process.
    /// </summary>
    public string? RequestId { get; init; }

    /// <summary>Renew the lease in the background at about a third of its TTL (default true).</summary>
    public bool AutoRenew { get; init; } = true;
}

/// <summary>A holder of a lock, as the public state shows it (no lease id).</summary>
public sealed record LockHolder(string Owner, LockMode Mode, long FencingToken, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt);

/// <summary>A queued request, as the public state shows it.</summary>
public sealed record LockWaiter(string Owner, LockMode Mode, int Position, DateTimeOffset EnqueuedAt);

/// <summary>The public state of a lock.</summary>
/// <param name="Name">The lock's name.</param>
/// <param name="Mode">How it is held now; null when it is free.</param>
/// <param name="Holders">The current holders.</param>
/// <param name="Waiters">The queue, in order.</param>
/// <param name="FencingCounter">The highest fencing token the lock has issued.</param>
public sealed record LockState(string Name, LockMode? Mode, IReadOnlyList<LockHolder> Holders, IReadOnlyList<LockWaiter> Waiters, long FencingCounter)
{
    /// <summary>True when nobody holds the lock.</summary>
    public bool IsFree => Mode is null;
}

/// <summary>One page of <see cref="LockClient.ListAsync"/>.</summary>
/// <param name="Items">Held or queued locks in ordinal name order.</param>
/// <param name="NextCursor">Pass to the next call to continue; null on the last page.</param>
public sealed record LockPage(IReadOnlyList<LockState> Items, string? NextCursor);

/// <summary>The answer of <see cref="LockClient.ValidateAsync"/>.</summary>
/// <param name="Valid">True when a lease holding the lock now carries the token.</param>
/// <param name="CurrentToken">The highest token the lock has issued.</param>
public sealed record FencingValidation(bool Valid, long CurrentToken);
