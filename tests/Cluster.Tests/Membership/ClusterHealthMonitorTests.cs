using OrleansLocks.Silo;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Cluster.Tests.Membership;

/// <summary>Who probes whom.</summary>
public sealed class ClusterHealthMonitorTests
{
    [Fact]
    public void SelectTargets_FewerSilosThanTheLimit_ProbesEveryOtherActiveSilo()
    {
        var silos = Silos(4);
        var view = View(silos, dead: silos[3]);

        var targets = ClusterHealthMonitor.SelectTargets(view, silos[0], count: 10);

        Assert.Equal([silos[1], silos[2]], targets.Order());
    }

    [Fact]
    public void SelectTargets_MoreSilosThanTheLimit_ProbesThatManyDistinctOthersDeterministically()
    {
        var silos = Silos(20);
        var view = View(silos);

        var targets = ClusterHealthMonitor.SelectTargets(view, silos[5], count: 4);

        Assert.Equal(4, targets.Distinct().Count());
        Assert.DoesNotContain(silos[5], targets);
        Assert.Equal(targets, ClusterHealthMonitor.SelectTargets(View(silos.Reverse().ToArray()), silos[5], count: 4));
    }

    [Fact]
    public void SelectTargets_ManySilos_EverySiloIsWatchedBySeveral()
    {
        var silos = Silos(30);
        var view = View(silos);

        var watchers = silos.SelectMany(s => ClusterHealthMonitor.SelectTargets(view, s, count: 3)).GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(30, watchers.Count);
        Assert.All(watchers.Values, count => Assert.True(count >= 1));
        Assert.Equal(90, watchers.Values.Sum());
    }

    private static SiloAddress[] Silos(int count) => Enumerable.Range(1, count).Select(i => new SiloAddress("10.0.0." + i, 11111, 3)).ToArray();

    private static ClusterMembershipSnapshot View(SiloAddress[] silos, SiloAddress? dead = null)
        => ClusterMembershipSnapshot.Create(new MembershipTableData(
            silos.Select(s => new MembershipEntry
            {
                SiloAddress = s,
                SiloName = s.Host,
                HostName = s.Host,
                Status = s == dead ? SiloStatus.Dead : SiloStatus.Active,
                StartTime = DateTimeOffset.UnixEpoch,
                IAmAliveTime = DateTimeOffset.UnixEpoch,
            }).ToList(),
            new TableVersion(3)));
}
