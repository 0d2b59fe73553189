using System.Text.Json.Serialization;
using OrleansLocks.Runtime;

namespace OrleansLocks.Grains;

/*
 * The persisted state of one lock grain (state name "lock"), one storage row per lock name.
 *
 * It is the durable truth the safety argument rests on: every grant, renew, release, expiry, dequeue and
 * force-release is one version-checked write of this object before the caller hears about it. Deadlines are
 * absolute server times so they survive restarts; the fencing counter is never reset (rows are never deleted).
 *
 * Compactness matters (millions of names; target < 2 KB per held lock including the activation): plain classes,
 * enums stored as numbers, lists that share the empty array until used, tombstones bounded by count and age.
 * The JSON is System.Text.Json with reflection: public settable properties and parameterless constructors.
 */

/// <summary>The persisted state of one lock: fencing counter, holders, FIFO waiters and recently ended leases.</summary>
public sealed class LockState : IListedState
{
    /// <summary>The highest fencing token issued (or bumped by a force-release). Never decreases.</summary>
    public long FencingCounter { get; set; }

    /// <summary>Current leases: one exclusive holder, or any number of shared holders.</summary>
    public List<LockHolder> Holders { get; set; } = [];

    /// <summary>The FIFO queue; index 0 is the head.</summary>
    public List<LockWaiter> Waiters { get; set; } = [];

    /// <summary>Recently ended leases, oldest first, so retried releases, renews and acquires answer truthfully.</summary>
    public List<LockTombstone> Tombstones { get; set; } = [];

    /// <summary>Listed (by <c>GET /locks</c>) while the lock is held or has waiters.</summary>
    [JsonIgnore]
    public bool IsListed => Holders.Count > 0 || Waiters.Count > 0;
}

/// <summary>A lease that holds the lock.</summary>
public sealed class LockHolder
{
    /// <summary>The secret that renews and releases the lease.</summary>
    public string LeaseId { get; set; } = "";

    /// <summary>The acquire request that was granted this lease (for idempotent repeats).</summary>
    public string RequestId { get; set; } = "";

    /// <summary>The Api generated <see cref="RequestId"/> (the client gave none); its tombstone will not keep it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool GeneratedRequestId { get; set; }

    /// <summary>The holder's label.</summary>
    public string Owner { get; set; } = "";

    /// <summary>Exclusive or shared.</summary>
    public LockMode Mode { get; set; }

    /// <summary>The fencing token issued with this grant.</summary>
    public long FencingToken { get; set; }

    /// <summary>When the lease was granted.</summary>
    public DateTimeOffset AcquiredAt { get; set; }

    /// <summary>When the lease ends unless renewed; the lease is held while now is before this instant.</summary>
    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>What a renew without a TTL extends by (the TTL last asked for).</summary>
    public TimeSpan Ttl { get; set; }

    /// <summary>The authenticated principal that acquired the lease (for per-principal bounds); null when not given.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Principal { get; set; }
}

/// <summary>A request waiting in the queue.</summary>
public sealed class LockWaiter
{
    /// <summary>The acquire request's id; repeating it keeps this place.</summary>
    public string RequestId { get; set; } = "";

    /// <summary>The Api generated <see cref="RequestId"/> (the client gave none); carried to the lease it is granted.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool GeneratedRequestId { get; set; }

    /// <summary>The requester's label.</summary>
    public string Owner { get; set; } = "";

    /// <summary>Exclusive or shared.</summary>
    public LockMode Mode { get; set; }

    /// <summary>The TTL the lease will get when granted.</summary>
    public TimeSpan Ttl { get; set; }

    /// <summary>When the request joined the queue.</summary>
    public DateTimeOffset EnqueuedAt { get; set; }

    /// <summary>
    /// When the latest acquire of this request stops waiting. After it, no client is known to be waiting: a grant
    /// gets a short first lease, and after a further <c>WaiterGrace</c> the waiter is abandoned.
    /// </summary>
    public DateTimeOffset PollDeadline { get; set; }

    /// <summary>The authenticated principal that asked (for per-principal bounds); null when not given.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Principal { get; set; }
}

/// <summary>A recently ended lease.</summary>
/// <remarks>
/// Stored compactly, as a JSON array (see <see cref="LockTombstoneJsonConverter"/>). A tombstone never changes once
/// made, but a busy lock rewrites its tombstones with every write, so the converter keeps each one's JSON and copies
/// it; setting any property drops that copy.
/// </remarks>
[JsonConverter(typeof(LockTombstoneJsonConverter))]
public sealed class LockTombstone
{
    private string _leaseId = "";
    private string _requestId = "";
    private LeaseLostReason _reason;
    private long _fencingToken;
    private DateTimeOffset _endedAt;
    private string? _forcedBy;
    private string? _forceReason;

    /// <summary>The ended lease's id.</summary>
    public string LeaseId { get => _leaseId; set => Set(ref _leaseId, value); }

    /// <summary>
    /// The client-given acquire request that was granted the lease, or empty when the Api generated the request id
    /// (nobody can repeat such a request, so there is nothing to answer).
    /// </summary>
    public string RequestId { get => _requestId; set => Set(ref _requestId, value); }

    /// <summary>Why the lease ended (never <see cref="LeaseLostReason.Unknown"/>).</summary>
    public LeaseLostReason Reason { get => _reason; set => Set(ref _reason, value); }

    /// <summary>The ended lease's fencing token.</summary>
    public long FencingToken { get => _fencingToken; set => Set(ref _fencingToken, value); }

    /// <summary>When the lease ended.</summary>
    public DateTimeOffset EndedAt { get => _endedAt; set => Set(ref _endedAt, value); }

    /// <summary>Who force-released the lease (only for <see cref="LeaseLostReason.ForceReleased"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ForcedBy { get => _forcedBy; set => Set(ref _forcedBy, value); }

    /// <summary>Why the lease was force-released (only for <see cref="LeaseLostReason.ForceReleased"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ForceReason { get => _forceReason; set => Set(ref _forceReason, value); }

    /// <summary>The compact JSON last written for this tombstone (null until then, and after any change).</summary>
    internal byte[]? CachedJson { get; set; }

    private void Set<T>(ref T field, T value)
    {
        field = value;
        CachedJson = null;
    }
}
