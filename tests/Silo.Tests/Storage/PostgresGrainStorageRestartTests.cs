using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Silo.Storage.Postgres;
using OrleansLocks.Testing;

namespace OrleansLocks.Silo.Tests.Storage;

/// <summary>The restart must not disturb other tests: the test restarts a server of its own, and this collection runs alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PostgresRestartCollection
{
    public const string Name = "PostgreSQL restart";
}

/// <summary>The PostgreSQL provider across a crash-restart of the server.</summary>
[Collection(PostgresRestartCollection.Name)]
public sealed class PostgresGrainStorageRestartTests
{
    [Fact]
    public async Task Restart_DuringWrites_FailsOnlyAsUnavailableThenRecoversWithCommittedWritesIntact()
    {
        // A server of its own: the shared one (scripts/test.sh starts one for the whole run) serves other test
        // processes at the same time, and cannot be restarted from here.
        var server = await PostgresServer.StartDedicatedAsync();
        var connectionString = await server.CreateDatabaseAsync("restart");
        await using var backend = new PostgresGrainStorageBackend(connectionString, "restart", maxConcurrentBatches: 4, TimeProvider.System);
        await backend.InitializeAsync(createSchema: true, CancellationToken.None);
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        await using var storage = new GrainStorage(
            backend, new JsonGrainStorageSerializer(), new GrainStorageMetrics(meters), TimeProvider.System, 64, NullLogger<GrainStorage>.Instance);
        var before = new GrainState<TestState>(new TestState { Value = "before" });
        await storage.WriteStateAsync("state", new GrainId("lock", "before"), before);

        // Write and read continuously while the server goes down hard (immediate shutdown) and comes back.
        var restart = server.RestartAsync();
        var committed = new List<(string Key, string ETag)>();
        var unexpected = new List<Exception>();
        var unavailable = 0;
        for (var n = 0; !restart.IsCompleted || n < 10; n++)
        {
            var key = $"during-{n}";
            var state = new GrainState<TestState>(new TestState { Value = key });
            try
            {
                await storage.WriteStateAsync("state", new GrainId("lock", key), state);
                committed.Add((key, state.ETag!));
                await storage.ReadStateAsync("state", new GrainId("lock", "before"), new GrainState<TestState>(new TestState()));
            }
            catch (StorageUnavailableException)
            {
                unavailable++;
            }
            catch (Exception e)
            {
                unexpected.Add(e);
            }

            await Task.Delay(5); // pacing only: the loop's end is decided by the restart task, not by time.
        }

        await restart;
        Assert.Empty(unexpected);

        // Recovered: stale pooled connections are gone after at most a few failures, then every call succeeds.
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    await backend.CheckHealthAsync(CancellationToken.None);
                    return true;
                }
                catch (StorageUnavailableException)
                {
                    return false;
                }
            },
            "the provider answers after the restart");
        for (var i = 0; i < 20; i++)
        {
            await storage.WriteStateAsync("state", new GrainId("lock", $"after-{i}"), new GrainState<TestState>(new TestState { Value = "after" }));
        }

        var read = new GrainState<TestState>(new TestState());
        await storage.ReadStateAsync("state", new GrainId("lock", "before"), read);
        Assert.Equal(("before", "1"), (read.State.Value, read.ETag));
        read.State = new TestState { Value = "updated after restart" };
        await storage.WriteStateAsync("state", new GrainId("lock", "before"), read);
        Assert.Equal("2", read.ETag);
        foreach (var (key, etag) in committed)
        {
            var durable = new GrainState<TestState>(new TestState());
            await storage.ReadStateAsync("state", new GrainId("lock", key), durable);
            Assert.Equal((key, etag), (durable.State.Value, durable.ETag));
        }

        Assert.True(unavailable > 0, "the outage was observed as StorageUnavailableException");
    }
}
