using OrleansLocks.Silo.Placement;

namespace OrleansLocks.Silo.Membership;

/// <summary>
/// A membership table in memory (Orleans' InProcessMembershipTable): one instance shared by the silos of an
/// in-process test cluster. Same contract as the PostgreSQL table, guarded by one lock; nothing survives the process.
/// </summary>
internal sealed class InMemoryMembershipTable : IMembershipTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<SiloAddress, MembershipEntry> _rows = [];
    private int _version;
    private bool _initialized;

    /// <summary>The grain directory of the silos that share this table (the in-memory cluster's directory).</summary>
    public InMemoryGrainDirectory Directory { get; } = new();

    public Task InitializeAsync(bool createSchema, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _initialized = true;
        }

        return Task.CompletedTask;
    }

    public Task<MembershipTableData> ReadAllAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(new MembershipTableData(_rows.Values.ToList(), new TableVersion(_version)));
        }
    }

    public Task<bool> InsertRowAsync(MembershipEntry entry, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            if (!_initialized || tableVersion.Version != _version + 1 || _rows.ContainsKey(entry.SiloAddress))
            {
                return Task.FromResult(false);
            }

            _rows.Add(entry.SiloAddress, entry);
            _version = tableVersion.Version;
            return Task.FromResult(true);
        }
    }

    public Task<bool> UpdateRowAsync(MembershipEntry entry, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            if (!_initialized || tableVersion.Version != _version + 1 || !_rows.ContainsKey(entry.SiloAddress))
            {
                return Task.FromResult(false);
            }

            _rows[entry.SiloAddress] = entry;
            _version = tableVersion.Version;
            return Task.FromResult(true);
        }
    }

    public Task UpdateIAmAliveAsync(SiloAddress silo, DateTimeOffset iAmAliveTime, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_rows.TryGetValue(silo, out var entry))
            {
                _rows[silo] = entry with { IAmAliveTime = iAmAliveTime };
            }
        }

        return Task.CompletedTask;
    }

    public Task<int> CleanupDefunctSiloEntriesAsync(DateTimeOffset beforeDate, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var defunct = _rows.Values.Where(e => e.Status != SiloStatus.Active && e.IAmAliveTime < beforeDate).Select(e => e.SiloAddress).ToList();
            foreach (var silo in defunct)
            {
                _rows.Remove(silo);
            }

            return Task.FromResult(defunct.Count);
        }
    }
}
