using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Cluster.Tests.Infrastructure;
using OrleansLocks.Grains;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Runtime;
using OrleansLocks.Testing;
using Xunit.Abstractions;

namespace OrleansLocks.Cluster.Tests;

/// <summary>
/// The ways an activation ends inside a running silo, each of which must remove (or hand on) its directory entry:
/// idle collection, and the drop after a version conflict (whose successor registers afresh). Run on both backends.
/// </summary>
public abstract class DirectoryTests(ClusterBackend backend, ITestOutputHelper output) : IAsyncLifetime
{
    private TestCluster? _cluster;

    private TestCluster Cluster => _cluster!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(
        backend,
        silos: 2,
        configuration: new Dictionary<string, string?>
        {
            ["GrainCollection:CollectionAge"] = "00:00:01",
            ["GrainCollection:CollectionQuantum"] = "00:00:00.250",
        });

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            output.WriteLine(_cluster.Logs.Dump());
            await _cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task IdleCollection_UnregistersTheActivation()
    {
        var silo = Cluster.Silos[0];
        var name = Cluster.LockOwnedBy(silo, "idle");
        var granted = await silo.Lock(name).AcquireAsync(Command("alice", "a1"));
        Assert.True((await silo.Lock(name).ReleaseAsync(granted.Lease!.LeaseId)).Released);
        Assert.Equal(silo.Address, (await Cluster.Directory.LookupAsync(LockId(name), default))?.Silo);

        await Eventually.TrueAsync(() => !silo.Hosts(name), "the idle activation is collected");

        Assert.Null(await Cluster.Directory.LookupAsync(LockId(name), default));
        Assert.Equal(0, await Cluster.Directory.CountAsync(default));
    }

    [Fact]
    public async Task VersionConflict_ActivationDropped_ItsSuccessorRegistersAfresh()
    {
        var silo = Cluster.Silos[1];
        var name = Cluster.LockOwnedBy(silo, "conflict");
        var granted = await silo.Lock(name).AcquireAsync(Command("alice", "a1"));
        Assert.True(silo.Catalog.TryGetActivation(LockId(name), out var first));

        // Someone else wrote the lock's record (as a duplicate would): the activation's next write fails its check.
        var storage = silo.Services.GetRequiredService<IGrainStorage>();
        var record = new GrainState<LockState>(new LockState());
        await storage.ReadStateAsync(LockStateName, LockId(name), record);
        await storage.WriteStateAsync(LockStateName, LockId(name), record);
        var renewed = await silo.Lock(name).RenewAsync(granted.Lease!.LeaseId, null);

        Assert.Null(renewed.LostReason);
        Assert.Contains(Cluster.Logs.Lines, l => l.Silo == silo.Name && l.EventId == 1004);
        Assert.True(silo.Catalog.TryGetActivation(LockId(name), out var successor));
        Assert.NotEqual(first.ActivationId, successor.ActivationId);
        var entry = await Cluster.Directory.LookupAsync(LockId(name), default);
        Assert.Equal(successor.ActivationId, entry!.ActivationId);
        Assert.Equal(1, await Cluster.Directory.CountAsync(default));
    }

    /// <summary>LockGrain's state name (LockGrain.StateName; the grain class is internal to Grains).</summary>
    private const string LockStateName = "lock";

    private static GrainId LockId(string name) => new("lock", name);

    private static AcquireCommand Command(string owner, string requestId)
        => new() { Mode = LockMode.Exclusive, Owner = owner, Ttl = TimeSpan.FromMinutes(1), RequestId = requestId };
}

/// <summary>On one real PostgreSQL database.</summary>
public sealed class PostgresDirectoryTests(ITestOutputHelper output) : DirectoryTests(ClusterBackend.Postgres, output);

/// <summary>On the in-memory membership table, directory and storage.</summary>
public sealed class InMemoryDirectoryTests(ITestOutputHelper output) : DirectoryTests(ClusterBackend.InMemory, output);
