namespace OrleansLocks.Benchmarks.Systems;

/// <summary>Lock modes the workloads ask for.</summary>
internal enum Mode
{
    Exclusive,
    Shared,
}

/// <summary>What a client holds after a grant: enough to release it (the lock name and the system's proof of holding).</summary>
internal sealed record LockHandle(string Name, Mode Mode, string Proof);

/// <summary>A system under test: how to describe it and how to open a client (a connection or session) to it.</summary>
internal interface IBenchTarget
{
    /// <summary>Short id used in tables and on the command line (e.g. "redis").</summary>
    string Id { get; }

    /// <summary>One line saying what exactly a pair costs on this system.</summary>
    string Description { get; }

    /// <summary>How durable a grant is on this system, in a few words.</summary>
    string Durability { get; }

    /// <summary>Whether an acknowledged grant survives a crash of the server (fsync before the reply).</summary>
    bool Durable { get; }
}

/// <summary>A lock system: every client of a workload gets its own <see cref="ILockClient"/>.</summary>
internal interface ILockSystem : IBenchTarget
{
    /// <summary>Whether the system has shared (reader) locks.</summary>
    bool SupportsShared { get; }

    /// <summary>How a client waits for a busy lock on this system (for the hot-lock table).</summary>
    string WaitStrategy { get; }

    Task<ILockClient> ConnectAsync(int client, CancellationToken cancellationToken);
}

/// <summary>One closed-loop client of a lock system. Not thread-safe: one outstanding call at a time.</summary>
internal interface ILockClient : IAsyncDisposable
{
    /// <summary>
    /// Acquires <paramref name="name"/>. Without <paramref name="wait"/> it is a try-lock: null when the lock is busy
    /// (etcd has no try-lock: its lock call is used, which answers at once when the lock is free). With
    /// <paramref name="wait"/> it waits in the system's natural way (queue, blocking call or polling) until granted
    /// or cancelled, and never returns null.
    /// </summary>
    Task<LockHandle?> AcquireAsync(string name, Mode mode, bool wait, CancellationToken cancellationToken);

    Task ReleaseAsync(LockHandle handle, CancellationToken cancellationToken);
}

/// <summary>A ceiling: the cost of one bare round trip or one bare commit, to put the lock figures in proportion.</summary>
internal interface ICeiling : IBenchTarget
{
    Task<ICeilingClient> ConnectAsync(int client, CancellationToken cancellationToken);
}

internal interface ICeilingClient : IAsyncDisposable
{
    Task OperateAsync(CancellationToken cancellationToken);
}

/// <summary>A lock system answered something the benchmark cannot count as a grant or a refusal.</summary>
internal sealed class BenchProtocolException(string message) : Exception(message);

/// <summary>The short back-off of the systems that have no way to wait for a lock (Redis, PostgreSQL try-locks).</summary>
internal static class Backoff
{
    /// <summary>
    /// Sleeps 1 ms (the timer's resolution here; in practice 1–2 ms) before the next try: as short as a timer goes,
    /// so that these peers' hand-off latency is not made of sleeping. Longer sleeps would lower their server load
    /// and raise their hand-off latency.
    /// </summary>
    public static Task DelayAsync(CancellationToken cancellationToken) => Task.Delay(1, cancellationToken);
}
