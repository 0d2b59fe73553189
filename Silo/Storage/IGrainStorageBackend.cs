using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Storage;

/// <summary>A stored record: its version (1 for a fresh insert, +1 per update) and its serialized state.</summary>
internal readonly record struct StoredRow(int Version, byte[] Payload);

/// <summary>A listed record as a backend returns it.</summary>
internal readonly record struct ListedRow(string GrainKey, int Version, byte[] Payload);

/// <summary>One version-checked write as the batcher hands it to a backend.</summary>
/// <param name="Key">The record.</param>
/// <param name="ExpectedVersion">The version the writer read; null means "insert: no record may exist".</param>
/// <param name="Payload">The serialized state.</param>
/// <param name="Listed">Whether listings show the record.</param>
internal sealed record StorageWrite(StorageKey Key, int? ExpectedVersion, byte[] Payload, bool Listed);

/// <summary>
/// The database-specific half of a grain storage provider. The provider-independent half (<see cref="GrainStorage"/>
/// and <see cref="GrainWriteBatcher"/>) serializes state, validates keys, groups writes and reports outcomes.
/// Every method maps database failures to <see cref="StorageUnavailableException"/>; anything else it throws
/// is a bug. Disposable both ways, so that a container disposed synchronously can release it too.
/// </summary>
internal interface IGrainStorageBackend : IAsyncDisposable, IDisposable
{
    /// <summary>The provider's name for logs and metrics ("postgres", "sqlite", "memory").</summary>
    string Name { get; }

    /// <summary>Whether committed writes survive a restart of the process (false only for the in-memory provider).</summary>
    bool IsDurable { get; }

    /// <summary>The schema version this code creates and understands.</summary>
    int SchemaVersion { get; }

    /// <summary>Where the data lives (no credentials), for logs.</summary>
    string Location { get; }

    /// <summary>How many batches may commit at the same time (SQLite: one writer).</summary>
    int MaxConcurrentBatches { get; }

    /// <summary>
    /// Whether <see cref="ExecuteBatchAsync"/> returns at its first network wait, having done only CPU work and a
    /// socket send before it, and never resumes on the caller's <see cref="TaskScheduler"/> (every await inside it uses
    /// ConfigureAwait(false)). Then the batcher may start a batch on the writer's own thread instead of queueing it to
    /// the thread pool first. False (the default) for backends that block, such as SQLite's synchronous commit.
    /// </summary>
    bool StartsBatchesInline => false;

    /// <summary>
    /// Creates or migrates the schema (when <paramref name="createSchema"/>) or verifies that it exists; returns the
    /// schema version found. Idempotent and safe to run from many processes at once. Throws
    /// <see cref="StorageUnavailableException"/> when retrying later may help (the database is unreachable or
    /// starting) and <see cref="InvalidOperationException"/> when it will not (wrong credentials, schema missing).
    /// </summary>
    Task<int> InitializeAsync(bool createSchema, CancellationToken cancellationToken);

    /// <summary>Reads one record, or null when there is none.</summary>
    Task<StoredRow?> ReadAsync(StorageKey key, CancellationToken cancellationToken);

    /// <summary>Listed records of (<paramref name="grainType"/>, <paramref name="stateName"/>) in code point key order.</summary>
    Task<IReadOnlyList<ListedRow>> ListAsync(
        string grainType, string stateName, string? prefix, string? afterKey, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Applies <paramref name="writes"/> (distinct keys) in one transaction and commits it once. Returns, per write, the
    /// new version, or 0 when that write's version check failed (it then changed nothing). Throws
    /// <see cref="StorageUnavailableException"/> when the batch failed as a whole: nothing was written, or the
    /// outcome is unknown (a failure during commit).
    /// </summary>
    Task<int[]> ExecuteBatchAsync(IReadOnlyList<StorageWrite> writes, CancellationToken cancellationToken);

    /// <summary>A cheap round trip to the database; throws when it is not reachable.</summary>
    Task CheckHealthAsync(CancellationToken cancellationToken);
}
