using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Tests.Runtime;
using OrleansLocks.Testing;

namespace OrleansLocks.Silo.Tests.Storage;

/// <summary>
/// The storage layers finish a write on the completing thread (ConfigureAwait(false), synchronous completions), but the
/// grain's own await must still resume on its activation's scheduler, one turn at a time, with the right ETag.
/// </summary>
public sealed class StorageSchedulingTests
{
    [Theory]
    [InlineData("Memory")]
    [InlineData("Postgres")]
    public async Task WriteState_RealStorage_GrainResumesOnItsOwnSchedulerAndKeepsItsVersion(string provider)
    {
        var settings = new Dictionary<string, string?> { ["Storage:Provider"] = provider };
        var siloSettings = new Dictionary<string, string?> { ["Cluster:Enabled"] = "false" };
        if (provider == "Postgres")
        {
            settings["Storage:PostgresConnectionString"] = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("scheduling");
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        await using var silo = await TestSilo.StartAsync(siloSettings, configureServices: services => services.AddGrainStorage(configuration));

        // Several grains writing at once share batches, so one grain's write completes on a batch another grain started.
        var results = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => silo.Grain($"sched-{i}").WriteReportingSchedulerAsync(5)));

        Assert.All(results, resumed => Assert.Equal([true, true, true, true, true], resumed));
        Assert.All(await Task.WhenAll(Enumerable.Range(0, 24).Select(i => silo.Grain($"sched-{i}").GetCountAsync())), count => Assert.Equal(5, count));

        // Versions followed every write: a sixth write is not a conflict.
        Assert.Equal(6, await silo.Grain("sched-0").IncrementAsync());
    }
}
