using OrleansLocks.Runtime;
using OrleansLocks.Silo.Placement;

namespace OrleansLocks.Silo.Membership;

/// <summary>
/// An immutable view of the membership table at one version, with what routing needs precomputed: the active silos
/// (the only ones grains are placed on) and their placement hashes.
/// </summary>
internal sealed class ClusterMembershipSnapshot
{
    private readonly Dictionary<SiloAddress, MembershipEntry> _members;
    private readonly ulong[] _activeHashes;

    private ClusterMembershipSnapshot(MembershipTableData data)
    {
        Data = data;
        _members = data.Members.ToDictionary(m => m.SiloAddress);
        ActiveSilos = [.. data.Members.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).Order()];
        _activeHashes = [.. ActiveSilos.Select(RendezvousPlacement.HashSilo)];
    }

    /// <summary>The view before anything was read: version 0, no silos.</summary>
    public static ClusterMembershipSnapshot Empty { get; } = new(MembershipTableData.Empty);

    public MembershipTableData Data { get; }

    public TableVersion Version => Data.Version;

    public IReadOnlyList<MembershipEntry> Members => Data.Members;

    /// <summary>The silos grains are placed on, in address order.</summary>
    public IReadOnlyList<SiloAddress> ActiveSilos { get; }

    public static ClusterMembershipSnapshot Create(MembershipTableData data) => new(data);

    public MembershipEntry? TryGet(SiloAddress silo) => _members.GetValueOrDefault(silo);

    /// <summary>The silo's status in this view; <see cref="SiloStatus.None"/> when it has no row.</summary>
    public SiloStatus GetStatus(SiloAddress silo) => _members.TryGetValue(silo, out var entry) ? entry.Status : SiloStatus.None;

    /// <summary>The active silo that owns <paramref name="grainId"/> in this view; null when no silo is active.</summary>
    public SiloAddress? GetOwner(GrainId grainId) => RendezvousPlacement.PickOwner(grainId, ActiveSilos, _activeHashes);

    public override string ToString() => $"v{Version} [{string.Join(", ", ActiveSilos)}]";
}
