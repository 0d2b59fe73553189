using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using OrleansLocks.Silo;

namespace OrleansLocks.Api.Models;

// The wire contract of HTTP API v1. These types are deliberately separate from the grain contracts in
// Grains.Interfaces: the grain records may evolve with the runtime, the HTTP shapes may not.
// Request properties are nullable so that a missing field reaches the handler and is reported as invalid-request
// naming the field, rather than failing inside the JSON reader. Unknown properties are refused: a misspelt "wiat"
// silently ignored would turn a waiting acquire into a try-lock.

/// <summary>Body of <c>POST /locks/{name}/acquire</c>. Every field is optional; send <c>{}</c> for a 30 s exclusive try-lock.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record AcquireRequest
{
    /// <summary>"exclusive" (default) or "shared".</summary>
    [AllowedValues("exclusive", "shared")]
    [DefaultValue("exclusive")]
    public string? Mode { get; init; }

    /// <summary>A label for the holder, shown in the lock's state and in logs (at most 200 characters). Default "anonymous".</summary>
    [MaxLength(200)]
    public string? Owner { get; init; }

    /// <summary>The lease's time to live: milliseconds or ISO-8601. Default 30 s; bounds Locks:MinTtl..Locks:MaxTtl (1 s..1 h by default).</summary>
    public Duration? Ttl { get; init; }

    /// <summary>How long this request may wait for the lock: milliseconds or ISO-8601. Default 0 (try-lock); at most Locks:MaxWait (60 s by default).</summary>
    public Duration? Wait { get; init; }

    /// <summary>
    /// Makes the acquire idempotent: repeating it returns the same lease, or keeps the same place in the queue.
    /// Also accepted as the Idempotency-Key header. At most 200 characters.
    /// </summary>
    [MaxLength(200)]
    public string? RequestId { get; init; }

    /// <summary>A lease the caller believes it holds on this lock; if it still does, that lease is returned.</summary>
    [MaxLength(200)]
    public string? LeaseId { get; init; }
}

/// <summary>Body of <c>POST /locks/{name}/renew</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record RenewRequest
{
    /// <summary>The lease to extend.</summary>
    [Required]
    [MaxLength(200)]
    public string? LeaseId { get; init; }

    /// <summary>The new time to live from now: milliseconds or ISO-8601. Default: the lease's own TTL.</summary>
    public Duration? Ttl { get; init; }
}

/// <summary>Body of <c>POST /locks/{name}/release</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ReleaseRequest
{
    /// <summary>The lease to release.</summary>
    [Required]
    [MaxLength(200)]
    public string? LeaseId { get; init; }
}

/// <summary>Body of <c>POST /locks/{name}/validate</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ValidateRequest
{
    /// <summary>The fencing token a protected resource was given (a positive integer).</summary>
    [Required]
    [Range(1, long.MaxValue)]
    public long? FencingToken { get; init; }
}

/// <summary>Body of <c>POST /locks/{name}/force-release</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ForceReleaseRequest
{
    /// <summary>Why the lock is being forced open; logged with who asked (1–200 characters).</summary>
    [Required]
    [MaxLength(200)]
    public string? Reason { get; init; }
}

/// <summary>A lease on a lock: the proof of holding it.</summary>
/// <param name="Name">The lock's name.</param>
/// <param name="LeaseId">The secret that renews and releases the lease. Keep it private.</param>
/// <param name="Mode">Exclusive or shared.</param>
/// <param name="FencingToken">Strictly increasing per lock; pass it to the resources the lock protects.</param>
/// <param name="Owner">The holder's label.</param>
/// <param name="AcquiredAt">When the lease was granted (server UTC).</param>
/// <param name="ExpiresAt">When the lease ends unless renewed (server UTC).</param>
/// <param name="TtlMs">Milliseconds from the response until <paramref name="ExpiresAt"/>; renew at about a third of the TTL.</param>
public sealed record LeaseResponse(
    string Name,
    string LeaseId,
    LockMode Mode,
    long FencingToken,
    string Owner,
    DateTime AcquiredAt,
    DateTime ExpiresAt,
    long TtlMs)
{
    internal static LeaseResponse From(Lease lease, DateTimeOffset now) => new(
        lease.Name,
        lease.LeaseId,
        lease.Mode,
        lease.FencingToken,
        lease.Owner,
        lease.AcquiredAt.UtcDateTime,
        lease.ExpiresAt.UtcDateTime,
        Math.Max(0, (long)(lease.ExpiresAt - now).TotalMilliseconds));
}

/// <summary>A holder of a lock as everyone may see it (never its lease id).</summary>
public sealed record HolderResponse(string Owner, LockMode Mode, long FencingToken, DateTime AcquiredAt, DateTime ExpiresAt)
{
    internal static HolderResponse From(HolderView holder)
        => new(holder.Owner, holder.Mode, holder.FencingToken, holder.AcquiredAt.UtcDateTime, holder.ExpiresAt.UtcDateTime);
}

/// <summary>A queued request.</summary>
/// <param name="Position">1-based place in the queue.</param>
public sealed record WaiterResponse(string Owner, LockMode Mode, int Position, DateTime EnqueuedAt)
{
    internal static WaiterResponse From(WaiterView waiter)
        => new(waiter.Owner, waiter.Mode, waiter.Position, waiter.EnqueuedAt.UtcDateTime);
}

/// <summary>The public state of a lock.</summary>
/// <param name="FencingCounter">The highest fencing token the lock has issued (0 if never held).</param>
public sealed record LockStateResponse(
    string Name,
    LockStateMode Mode,
    IReadOnlyList<HolderResponse> Holders,
    IReadOnlyList<WaiterResponse> Waiters,
    long FencingCounter)
{
    internal static LockStateResponse From(LockStateView state) => new(
        state.Name,
        state.Mode,
        [.. state.Holders.Select(HolderResponse.From)],
        [.. state.Waiters.Select(WaiterResponse.From)],
        state.FencingCounter);
}

/// <summary>A page of held or queued locks, in ordinal name order.</summary>
/// <param name="NextCursor">Pass as <c>cursor</c> to get the next page; null on the last page.</param>
public sealed record LockListResponse(IReadOnlyList<LockStateResponse> Items, string? NextCursor);

/// <summary>Whether a fencing token belongs to a current holder.</summary>
/// <param name="Valid">True when a lease holding the lock now carries this token.</param>
/// <param name="CurrentToken">The highest token the lock has issued.</param>
public sealed record ValidateResponse(bool Valid, long CurrentToken);

/// <summary>The silos of the cluster as this silo sees them.</summary>
public sealed record ClusterResponse(IReadOnlyList<SiloResponse> Silos);

/// <summary>One silo.</summary>
/// <param name="ActivationCount">How many grain activations the silo hosts now.</param>
public sealed record SiloResponse(string Name, string Address, SiloStatus Status, DateTime StartedAt, int ActivationCount);
