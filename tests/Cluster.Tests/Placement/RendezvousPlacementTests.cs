using OrleansLocks.Runtime;
using OrleansLocks.Silo;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Cluster.Tests.Placement;

/// <summary>Placement by rendezvous hashing: stable, even, and minimal movement when silos come and go.</summary>
public sealed class RendezvousPlacementTests
{
    private static readonly GrainId[] Grains = Enumerable.Range(0, 4000).Select(i => new GrainId("lock", "orders/" + i)).ToArray();

    [Fact]
    public void GetOwner_SameViewInAnotherOrder_PicksTheSameOwner()
    {
        var silos = Silos(5);
        var forward = View(silos);
        var backward = View(silos.AsEnumerable().Reverse().ToArray());

        Assert.All(Grains, g => Assert.Equal(forward.GetOwner(g), backward.GetOwner(g)));
    }

    [Fact]
    public void GetOwner_KnownInputs_GiveStableOwnersAcrossProcesses()
    {
        // Pinned: placement must not change between builds or processes (string.GetHashCode would).
        var view = View(Silos(3));

        Assert.Equal("10.0.0.1:11111@7", view.GetOwner(new GrainId("lock", "a"))!.ToString());
        Assert.Equal("10.0.0.2:11111@7", view.GetOwner(new GrainId("lock", "b"))!.ToString());
        Assert.Equal("10.0.0.3:11111@7", view.GetOwner(new GrainId("lock", "g"))!.ToString());
    }

    [Fact]
    public void GetOwner_FourSilos_SpreadsGrainsEvenly()
    {
        var view = View(Silos(4));

        var shares = Grains.GroupBy(view.GetOwner).Select(g => g.Count()).ToList();

        Assert.Equal(4, shares.Count);
        Assert.All(shares, share => Assert.InRange(share, 800, 1200)); // 1000 each ± 20 %
    }

    [Fact]
    public void GetOwner_ASiloJoins_OnlyGrainsMovingToItMove()
    {
        var silos = Silos(4);
        var before = View(silos[..3]);
        var after = View(silos);

        var moved = Grains.Where(g => before.GetOwner(g) != after.GetOwner(g)).ToList();

        Assert.All(moved, g => Assert.Equal(silos[3], after.GetOwner(g)));
        Assert.InRange(moved.Count, 800, 1200); // about a quarter
    }

    [Fact]
    public void GetOwner_ASiloLeaves_OnlyItsGrainsMove()
    {
        var silos = Silos(4);
        var before = View(silos);
        var after = View([silos[0], silos[2], silos[3]]);

        var moved = Grains.Where(g => before.GetOwner(g) != after.GetOwner(g)).ToList();

        Assert.All(moved, g => Assert.Equal(silos[1], before.GetOwner(g)));
        Assert.Equal(Grains.Count(g => before.GetOwner(g) == silos[1]), moved.Count);
    }

    [Fact]
    public void GetOwner_OnlyActiveSilosOwnGrains()
    {
        var silos = Silos(3);
        var entries = silos.Select((s, i) => Entry(s, i == 1 ? SiloStatus.ShuttingDown : i == 2 ? SiloStatus.Joining : SiloStatus.Active)).ToList();
        var view = ClusterMembershipSnapshot.Create(new MembershipTableData(entries, new TableVersion(9)));

        Assert.All(Grains, g => Assert.Equal(silos[0], view.GetOwner(g)));
        Assert.Null(ClusterMembershipSnapshot.Empty.GetOwner(Grains[0]));
    }

    private static SiloAddress[] Silos(int count) => Enumerable.Range(1, count).Select(i => new SiloAddress("10.0.0." + i, 11111, 7)).ToArray();

    private static ClusterMembershipSnapshot View(SiloAddress[] silos)
        => ClusterMembershipSnapshot.Create(new MembershipTableData(silos.Select(s => Entry(s, SiloStatus.Active)).ToList(), new TableVersion(1)));

    private static MembershipEntry Entry(SiloAddress silo, SiloStatus status) => new()
    {
        SiloAddress = silo,
        SiloName = silo.Host,
        HostName = silo.Host,
        Status = status,
        StartTime = DateTimeOffset.UnixEpoch,
        IAmAliveTime = DateTimeOffset.UnixEpoch,
    };
}
