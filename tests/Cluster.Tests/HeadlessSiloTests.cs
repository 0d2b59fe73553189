using System.Diagnostics;
using System.Net;
using OrleansLocks.Cluster.Tests.Infrastructure;
using OrleansLocks.Testing;
using Xunit.Abstractions;

namespace OrleansLocks.Cluster.Tests;

/// <summary>The headless silo (Silo/Program.cs) as a process of its own, in a cluster with an in-process silo.</summary>
public sealed class HeadlessSiloTests(ITestOutputHelper output)
{
    [Fact]
    public async Task HeadlessSilo_JoinsServesItsLocksAndAfterSigkillItsLocksMoveWithTheirState()
    {
        await using var cluster = await TestCluster.StartAsync(ClusterBackend.Postgres, silos: 1);
        var inProcess = cluster.Silos[0];
        using var headless = SiloProcess.Start(new Dictionary<string, string?>
        {
            ["Silo:SiloName"] = "headless",
            ["Silo:ServiceId"] = cluster.ServiceId,
            ["Silo:ClusterId"] = cluster.ClusterId,
            ["Silo:SiloPort"] = "0",
            ["Silo:AdvertisedAddress"] = "127.0.0.1",
            ["Silo:ListenAddress"] = "127.0.0.1",
            ["Storage:Provider"] = "Postgres",
            ["Storage:PostgresConnectionString"] = cluster.ConnectionString,
        });
        try
        {
            await Eventually.TrueAsync(() => inProcess.Membership.Current.ActiveSilos.Count == 2, "the headless silo joined", TimeSpan.FromSeconds(90));
            // The silo's row turns Active before its web host (health endpoints) has finished starting: wait for it.
            using var http = new HttpClient();
            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    using var ready = await http.GetAsync(new Uri(headless.HealthUri, "/health/ready"));
                    return ready.StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "the headless silo's /health/ready answers 200", TimeSpan.FromSeconds(60));

            var remote = inProcess.Membership.Current.ActiveSilos.Single(s => s != inProcess.Address);
            var name = Enumerable.Range(0, 1000).Select(i => "headless" + i)
                .First(n => inProcess.Membership.Current.GetOwner(new Runtime.GrainId("lock", n)) == remote);
            var granted = await inProcess.Lock(name).AcquireAsync(new AcquireCommand
            {
                Mode = LockMode.Exclusive, Owner = "alice", Ttl = TimeSpan.FromMinutes(1), RequestId = "r1",
            });
            Assert.Equal(AcquireStatus.Granted, granted.Status);
            Assert.False(inProcess.Hosts(name));

            var killedAt = Stopwatch.GetTimestamp();
            headless.Kill();
            var state = await UntilServedAsync(() => inProcess.Lock(name).GetStateAsync());
            output.WriteLine($"failover after SIGKILL of a silo process: {Stopwatch.GetElapsedTime(killedAt).TotalMilliseconds:0} ms");

            Assert.Equal(granted.Lease!.FencingToken, Assert.Single(state.Holders).FencingToken);
            Assert.True(inProcess.Hosts(name));
            Assert.True((await inProcess.Lock(name).ReleaseAsync(granted.Lease.LeaseId)).Released);
        }
        finally
        {
            output.WriteLine(headless.Output);
            output.WriteLine(cluster.Logs.Dump());
        }
    }

    private static async Task<T> UntilServedAsync<T>(Func<Task<T>> call)
    {
        var deadline = Stopwatch.GetTimestamp() + (60 * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Runtime.SiloUnavailableException) when (Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(50);
            }
        }
    }
}
