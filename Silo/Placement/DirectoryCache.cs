using System.Collections.Concurrent;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Silo.Placement;

/// <summary>
/// What this process learned from the grain directory about grains that live somewhere other than where placement
/// would put them (Orleans' grain directory cache). Routers (silos and gateways) consult it before placement, so a
/// grain found elsewhere is called there directly, without a directory round trip per call. Entries come only from
/// the directory (a refused duplicate registration names the live activation's silo). The whole cache is dropped on
/// every membership view change (grains move on view changes), and an entry is dropped when its silo answers that
/// it does not host the grain, or cannot be reached.
/// </summary>
internal sealed class DirectoryCache
{
    /// <summary>Most entries kept; past it the cache starts over (entries are hints, and placement is always right eventually).</summary>
    public const int MaxEntries = 100_000;

    private ConcurrentDictionary<GrainId, SiloAddress> _entries = new();

    public DirectoryCache(MembershipTableManager membership)
    {
        ArgumentNullException.ThrowIfNull(membership);
        membership.Changed += _ => Clear();
    }

    public int Count => Volatile.Read(ref _entries).Count;

    public bool TryGet(GrainId grainId, out SiloAddress silo) => Volatile.Read(ref _entries).TryGetValue(grainId, out silo!);

    public void Set(GrainId grainId, SiloAddress silo)
    {
        var entries = Volatile.Read(ref _entries);
        if (entries.Count >= MaxEntries)
        {
            Clear();
            entries = Volatile.Read(ref _entries);
        }

        entries[grainId] = silo;
    }

    /// <summary>Drops the entry if it still names <paramref name="silo"/>.</summary>
    public void Invalidate(GrainId grainId, SiloAddress silo) => Volatile.Read(ref _entries).TryRemove(new KeyValuePair<GrainId, SiloAddress>(grainId, silo));

    public void Clear() => Volatile.Write(ref _entries, new ConcurrentDictionary<GrainId, SiloAddress>());
}
