using System.Diagnostics;
using OrleansLocks.Cluster.Tests.Infrastructure;
using OrleansLocks.Silo;
using Xunit.Abstractions;

namespace OrleansLocks.Cluster.Tests;

/// <summary>A silo that comes back on its fixed port after a crash (a restarted container keeps its address).</summary>
public sealed class RestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task KillTheOnlySilo_RestartOnTheSamePort_PredecessorDeclaredDeadAndLocksServedAtOnce()
    {
        var port = FreePort();
        var fixedPort = new Dictionary<string, string?> { ["Silo:SiloPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        await using var cluster = await TestCluster.StartAsync(ClusterBackend.Postgres, silos: 0);
        try
        {
            var first = await cluster.StartAdditionalSiloAsync(fixedPort);
            var predecessor = first.Address;
            var granted = await first.Lock("restarted").AcquireAsync(new AcquireCommand
            {
                Mode = LockMode.Exclusive, Owner = "alice", Ttl = TimeSpan.FromMinutes(1), RequestId = "r1",
            });
            await cluster.KillSiloAsync(first);

            // Without this, the new incarnation would wait for its predecessor's row to go stale (15 s), then probe it
            // out of the table; holding the port proves the predecessor gone.
            var restartedAt = Stopwatch.GetTimestamp();
            var second = await cluster.StartAdditionalSiloAsync(fixedPort);
            var state = await second.Lock("restarted").GetStateAsync();
            var elapsed = Stopwatch.GetElapsedTime(restartedAt);
            output.WriteLine($"restart on the same port -> lock served: {elapsed.TotalMilliseconds:0} ms");

            Assert.Equal(predecessor.Endpoint, second.Address.Endpoint);
            Assert.True(second.Address.Generation > predecessor.Generation);
            var dead = second.Membership.Current.TryGet(predecessor)!;
            Assert.Equal(SiloStatus.Dead, dead.Status);
            Assert.Contains(dead.SuspectTimes, vote => vote.Voter == second.Address);
            Assert.Equal(granted.Lease!.FencingToken, Assert.Single(state.Holders).FencingToken);
            Assert.True(elapsed < TimeSpan.FromSeconds(10), $"the restarted silo took {elapsed} to serve the lock");

            // The predecessor's directory entry was stale (its silo is dead): the new incarnation replaced it, and
            // nothing of the predecessor is left in the directory.
            Assert.Equal(second.Address, (await cluster.Directory.LookupAsync(new Runtime.GrainId("lock", "restarted"), default))!.Silo);
            await Testing.Eventually.TrueAsync(async () => await cluster.Directory.CountAsync(default) == 1, "only the new incarnation's entry is left");
        }
        finally
        {
            output.WriteLine(cluster.Logs.Dump());
        }
    }

    [Fact]
    public async Task Start_EndpointHasAnIncarnationWithTheSameOrALaterGeneration_TakesTheNextGenerationAndDeclaresItDead()
    {
        // A predecessor that lived less than a second (or a clock that went back) left a row this start's own
        // generation does not sort after.
        var port = FreePort();
        await using var cluster = await TestCluster.StartAsync(ClusterBackend.Postgres, silos: 0);
        await using var dataSource = Silo.Storage.Postgres.PostgresDataSources.Create(cluster.ConnectionString!);
        var table = new Silo.Membership.PostgresMembershipTable(dataSource, cluster.ServiceId, cluster.ClusterId);
        await table.InitializeAsync(createSchema: true, default);
        var now = DateTimeOffset.UtcNow;
        var predecessor = new Silo.Membership.SiloAddress("127.0.0.1", port, Silo.Membership.SiloAddress.NewGeneration(TimeProvider.System) + 1000);
        Assert.True(await table.InsertRowAsync(
            new Silo.Membership.MembershipEntry
            {
                SiloAddress = predecessor, SiloName = "old", HostName = "old", Status = SiloStatus.Active, StartTime = now, IAmAliveTime = now,
            },
            new Silo.Membership.TableVersion(1),
            default));

        var silo = await cluster.StartAdditionalSiloAsync(
            new Dictionary<string, string?> { ["Silo:SiloPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        Assert.Equal(predecessor.Generation + 1, silo.Address.Generation);
        Assert.Equal(SiloStatus.Dead, (await table.ReadAllAsync(default)).TryGet(predecessor)!.Status);
        Assert.Equal([silo.Address], silo.Membership.Current.ActiveSilos);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
