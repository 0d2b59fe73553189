using System.Net.Http;
using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Cluster.Tests.Infrastructure;
using OrleansLocks.Silo;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Testing;
using Xunit.Abstractions;

namespace OrleansLocks.Cluster.Tests.Membership;

/// <summary>
/// Indirect probes (Orleans' ClusterHealthMonitor): a silo that cannot reach one peer asks another to probe it before
/// voting, so a broken link between two silos does not get a healthy silo declared dead, while a dead silo still is.
/// </summary>
public sealed class IndirectProbeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task BrokenLinkToOnePeer_AnotherSiloReachesIt_NoVoteAndThePeerStaysActive()
    {
        await using var cluster = await TestCluster.StartAsync(ClusterBackend.InMemory);
        try
        {
            var (prober, peer) = (cluster.Silos[0], cluster.Silos[2]);
            BreakLink(prober, peer);

            // Well past NumMissedProbesLimit (3): every failed round asks a third silo, which reaches the peer.
            await Eventually.TrueAsync(() => FailedProbes(cluster, prober, peer) >= 6, "the prober misses six probes of the peer in a row");
            await Eventually.TrueAsync(
                () => cluster.Logs.Lines.Count(l => l.Silo == prober.Name && l.EventId == 5016) >= 3, "indirect probes through the third silo succeed");

            Assert.DoesNotContain(cluster.Logs.Lines, l => l.EventId is 5005 or 5006);
            Assert.Empty(prober.Membership.Current.TryGet(peer.Address)!.SuspectTimes);
            Assert.All(cluster.Silos, s => Assert.Equal(SiloStatus.Active, s.Membership.Current.GetStatus(peer.Address)));
        }
        finally
        {
            output.WriteLine(cluster.Logs.Dump());
        }
    }

    [Fact]
    public async Task BrokenLinkToOnePeer_IndirectProbesDisabled_TheProberVotesAgainstIt()
    {
        // The control of the test above: without indirect probes the same broken link costs the peer a vote (with
        // three silos two votes are needed, so one prober alone cannot declare it dead).
        await using var cluster = await TestCluster.StartAsync(
            ClusterBackend.InMemory, configuration: new Dictionary<string, string?> { ["Cluster:EnableIndirectProbes"] = "false" });
        try
        {
            var (prober, peer) = (cluster.Silos[0], cluster.Silos[2]);
            BreakLink(prober, peer);

            await Eventually.TrueAsync(
                () => cluster.Logs.Lines.Any(l => l.Silo == prober.Name && l.EventId == 5005), "the prober votes against the peer");

            Assert.DoesNotContain(cluster.Logs.Lines, l => l.EventId == 5016);
            Assert.Equal(SiloStatus.Active, prober.Membership.Current.GetStatus(peer.Address));
        }
        finally
        {
            output.WriteLine(cluster.Logs.Dump());
        }
    }

    [Fact]
    public async Task PeerKilled_IndirectProbesFailToo_ItIsDeclaredDead()
    {
        await using var cluster = await TestCluster.StartAsync(ClusterBackend.InMemory);
        try
        {
            var victim = cluster.Silos[2];
            var address = victim.Address;

            await cluster.KillSiloAsync(victim);

            await Eventually.TrueAsync(
                () => cluster.Silos.All(s => s.Membership.Current.GetStatus(address) == SiloStatus.Dead), "the survivors declare the victim dead");
            Assert.Contains(cluster.Logs.Lines, l => l.EventId == 5017);
        }
        finally
        {
            output.WriteLine(cluster.Logs.Dump());
        }
    }

    private static void BreakLink(TestSilo from, TestSilo to)
    {
        var target = to.Address;
        from.Services.GetRequiredService<ClusterHealthMonitor>().LinkFault =
            silo => silo == target ? new HttpRequestException($"test: the link to {target} is broken") : null;
    }

    private static int FailedProbes(TestCluster cluster, TestSilo prober, TestSilo peer)
        => cluster.Logs.Lines.Count(l => l.Silo == prober.Name && l.EventId == 5004 && l.Message.Contains(peer.Address.ToString(), StringComparison.Ordinal));
}
