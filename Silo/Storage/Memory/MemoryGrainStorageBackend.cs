namespace OrleansLocks.Silo.Storage.Memory;

/// <summary>
/// The records of the in-memory provider. One instance per process by default; silos hosted in one test process may
/// share one to behave like silos sharing a database.
/// </summary>
internal sealed class MemoryGrainStorageDatabase
{
    /// <summary>Guards <see cref="Rows"/>.</summary>
    internal Lock Gate { get; } = new();

    internal Dictionary<(string ServiceId, StorageKey Key), MemoryRow> Rows { get; } = [];
}

/// <summary>A record of the in-memory provider.</summary>
internal readonly record struct MemoryRow(int Version, byte[] Payload, bool Listed);

/// <summary>
/// The in-memory provider: the same semantics as the durable ones (versions, version checks, batches, listings), and
/// nothing durable. For tests and for measuring the ceiling of the runtime without a database.
/// </summary>
internal sealed class MemoryGrainStorageBackend(MemoryGrainStorageDatabase database, string serviceId, int maxConcurrentBatches)
    : IGrainStorageBackend
{
    public string Name => "memory";

    public bool IsDurable => false;

    public int SchemaVersion => 1;

    public string Location => "process memory";

    public int MaxConcurrentBatches => maxConcurrentBatches;

    public Task<int> InitializeAsync(bool createSchema, CancellationToken cancellationToken) => Task.FromResult(1);

    public Task<StoredRow?> ReadAsync(StorageKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (database.Gate)
        {
            return Task.FromResult<StoredRow?>(database.Rows.TryGetValue((serviceId, key), out var row) ? new StoredRow(row.Version, row.Payload) : null);
        }
    }

    public Task<IReadOnlyList<ListedRow>> ListAsync(
        string grainType, string stateName, string? prefix, string? afterKey, int limit, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        List<ListedRow> matches = [];
        lock (database.Gate)
        {
            foreach (var ((service, key), row) in database.Rows)
            {
                if (service == serviceId
                    && key.GrainType == grainType
                    && key.StateName == stateName
                    && row.Listed
                    && (prefix is null || key.GrainKey.StartsWith(prefix, StringComparison.Ordinal))
                    && (afterKey is null || KeyOrder.Compare(key.GrainKey, afterKey) > 0))
                {
                    matches.Add(new ListedRow(key.GrainKey, row.Version, row.Payload));
                }
            }
        }

        matches.Sort(static (a, b) => KeyOrder.Compare(a.GrainKey, b.GrainKey));
        IReadOnlyList<ListedRow> page = matches.Count > limit ? matches.GetRange(0, limit) : matches;
        return Task.FromResult(page);
    }

    public async Task<int[]> ExecuteBatchAsync(IReadOnlyList<StorageWrite> writes, CancellationToken cancellationToken)
    {
        // Yield like a real round trip would, so that writes queue behind a running batch as they do with a database.
        await Task.Yield();
        var versions = new int[writes.Count];
        lock (database.Gate)
        {
            // Check every write first, then apply: a transaction is all or nothing, and the keys are distinct.
            for (var i = 0; i < writes.Count; i++)
            {
                var write = writes[i];
                var exists = database.Rows.TryGetValue((serviceId, write.Key), out var current);
                versions[i] = write.ExpectedVersion switch
                {
                    null when !exists => 1,
                    { } expected when exists && current.Version == expected => expected + 1,
                    _ => 0,
                };
            }

            for (var i = 0; i < writes.Count; i++)
            {
                if (versions[i] > 0)
                {
                    var write = writes[i];
                    database.Rows[(serviceId, write.Key)] = new MemoryRow(versions[i], write.Payload, write.Listed);
                }
            }
        }

        return versions;
    }

    public Task CheckHealthAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public void Dispose()
    {
    }
}
