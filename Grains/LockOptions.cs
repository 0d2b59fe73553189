namespace OrleansLocks.Grains;

/// <summary>Lease and queue rules (configuration section <c>Locks</c>). All durations are TimeSpans ("00:00:30").</summary>
public sealed class LockOptions
{
    public const string SectionName = "Locks";

    /// <summary>TTL of a lease when the request gives none. Default 30 s.</summary>
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Shortest TTL a request may ask for. Default 1 s.</summary>
    public TimeSpan MinTtl { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest TTL a request may ask for. Default 1 h.</summary>
    public TimeSpan MaxTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Longest wait one acquire request may long-poll. Default 60 s.</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a waiter keeps its place after its request's wait ended (so a client whose connection dropped can
    /// retry with the same request id); also the longest first lease given to a waiter granted while none of its
    /// requests was waiting. This bounds how long a client gone for good holds the queue up. Default 10 s.
    /// </summary>
    public TimeSpan WaiterGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A lease whose deadline passed while no silo hosted its lock is extended, when the lock is activated again,
    /// to activation time plus this grace, so its holder can renew. Default 15 s.
    /// </summary>
    public TimeSpan RecoveryGrace { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long an ended lease is remembered (so a retried release is still 204 and renew says why it failed). Default 10 min.</summary>
    public TimeSpan TombstoneRetention { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Most ended leases remembered per lock. Default 16: with the compact tombstone form a lock used over and over
    /// then stays under PostgreSQL's ~2 KB TOAST threshold (docs/semantics.md, "Idempotency").
    /// </summary>
    public int MaxTombstones { get; set; } = 16;

    /// <summary>Most waiters per lock; further requests are refused. Default 10 000.</summary>
    public int MaxQueueLength { get; set; } = 10_000;
}
