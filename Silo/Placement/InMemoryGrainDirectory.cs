using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Silo.Placement;

/// <summary>
/// The grain directory in memory, for in-process test clusters: one instance shared by every silo of the cluster
/// (it hangs off the shared <see cref="InMemoryMembershipTable"/>, as Orleans' in-process directory hangs off its
/// in-process membership). Same contract as the PostgreSQL directory, guarded by one lock.
/// </summary>
internal sealed class InMemoryGrainDirectory : IGrainDirectory
{
    private readonly Lock _lock = new();
    private readonly Dictionary<GrainId, GrainAddress> _entries = [];

    public Task InitializeAsync(bool createSchema, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<GrainAddress> RegisterAsync(GrainAddress address, GrainAddress? previous, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_lock)
        {
            if (_entries.TryGetValue(address.GrainId, out var existing)
                && (previous is null || existing.ActivationId != previous.ActivationId))
            {
                return Task.FromResult(existing);
            }

            _entries[address.GrainId] = address;
            return Task.FromResult(address);
        }
    }

    public Task<bool> UnregisterAsync(GrainAddress address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_lock)
        {
            var removed = _entries.TryGetValue(address.GrainId, out var existing)
                && existing.ActivationId == address.ActivationId
                && _entries.Remove(address.GrainId);
            return Task.FromResult(removed);
        }
    }

    public Task<GrainAddress?> LookupAsync(GrainId grainId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_entries.GetValueOrDefault(grainId));
        }
    }

    public Task<int> UnregisterSilosAsync(IReadOnlyCollection<SiloAddress> silos, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(silos);
        var dead = silos.ToHashSet();
        lock (_lock)
        {
            var removed = _entries.Values.Where(e => dead.Contains(e.Silo)).Select(e => e.GrainId).ToList();
            foreach (var grainId in removed)
            {
                _entries.Remove(grainId);
            }

            return Task.FromResult(removed.Count);
        }
    }

    public Task<long> CountAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult((long)_entries.Count);
        }
    }
}
