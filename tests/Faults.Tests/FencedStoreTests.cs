using OrleansLocks.FaultChecker.Checking;
using OrleansLocks.FaultChecker.Harness;
using OrleansLocks.Testing;

namespace OrleansLocks.Faults.Tests;

/// <summary>The fenced store on a real PostgreSQL: it accepts only tokens at least the last accepted one, and logs exactly those.</summary>
public sealed class FencedStoreTests
{
    [Fact]
    public async Task Write_TokensOutOfOrder_AcceptsOnlyNonDecreasingAndLogsExactlyThose()
    {
        var postgres = await PostgresServer.GetAsync();
        await using var store = FencedStore.Create(await postgres.CreateDatabaseAsync("faults_store"), ["a", "b"]);
        await store.InitializeAsync(CancellationToken.None);
        await store.InitializeAsync(CancellationToken.None); // idempotent

        Assert.Equal(1, await store.WriteAsync("a", 1, "c1", "c1#1", CancellationToken.None));
        Assert.Equal(2, await store.WriteAsync("a", 3, "c2", "c2#1", CancellationToken.None));
        Assert.Null(await store.WriteAsync("a", 2, "c1", "c1#2", CancellationToken.None));
        Assert.Equal(3, await store.WriteAsync("a", 3, "c2", "c2#2", CancellationToken.None));
        Assert.Equal(1, await store.WriteAsync("b", 1, "c3", "c3#1", CancellationToken.None));

        var dumps = await store.DumpAsync(CancellationToken.None);

        var a = Assert.Single(dumps, d => d.Lock == "a");
        Assert.Equal(3, a.LastToken);
        Assert.Equal(3, a.WriteCount);
        Assert.Equal(
            [new FencedLogEntry(1, 1, "c1", "c1#1"), new FencedLogEntry(2, 3, "c2", "c2#1"), new FencedLogEntry(3, 3, "c2", "c2#2")],
            a.Log);
        var b = Assert.Single(dumps, d => d.Lock == "b");
        Assert.Equal(1, b.WriteCount);
    }

    [Fact]
    public async Task Write_ConcurrentWriters_LogIsTheOrderOfAcceptance()
    {
        var postgres = await PostgresServer.GetAsync();
        await using var store = FencedStore.Create(await postgres.CreateDatabaseAsync("faults_store"), ["a"]);
        await store.InitializeAsync(CancellationToken.None);

        var results = await Task.WhenAll(Enumerable.Range(1, 40).Select(token =>
            Task.Run(() => store.WriteAsync("a", token, $"c{token}", $"c{token}#1", CancellationToken.None))));

        var dump = Assert.Single(await store.DumpAsync(CancellationToken.None));
        Assert.Equal(results.Count(r => r is not null), dump.Log.Count);
        Assert.Equal(dump.Log.Count, dump.WriteCount);
        Assert.Equal(dump.Log.Select(e => e.Token).Order(), dump.Log.Select(e => e.Token));
        Assert.Equal(40, dump.LastToken);
    }
}
