using OrleansLocks.Silo;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Cluster.Tests.Membership;

/// <summary>
/// The behaviour every membership table must have (Orleans' MembershipTableTestsBase), run against each
/// implementation. A subclass supplies a store and tables of named clusters on it.
/// </summary>
public abstract class MembershipTableContractTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private int _nextPort = 20000;

    /// <summary>The store of the current test (a database, or a set of in-memory tables).</summary>
    protected object Store { get; private set; } = null!;

    /// <summary>A cluster id of the current test.</summary>
    protected string ClusterId { get; } = "c-" + Guid.NewGuid().ToString("N")[..12];

    public async Task InitializeAsync() => Store = await CreateStoreAsync();

    public virtual Task DisposeAsync() => DeleteStoreAsync(Store);

    [Fact]
    public async Task ReadAll_NewCluster_HasNoRowsAtVersionZero()
    {
        var table = await OpenAsync();

        var data = await table.ReadAllAsync(default);

        Assert.Empty(data.Members);
        Assert.Equal(new TableVersion(0), data.Version);
    }

    [Fact]
    public async Task Initialize_Again_KeepsRowsAndVersion()
    {
        var table = await OpenAsync();
        Assert.True(await table.InsertRowAsync(Entry(), new TableVersion(1), default));

        await table.InitializeAsync(createSchema: true, default);
        var data = await table.ReadAllAsync(default);

        Assert.Single(data.Members);
        Assert.Equal(new TableVersion(1), data.Version);
    }

    [Fact]
    public async Task InsertRow_AtNextVersion_InsertsTheRowAndMovesTheVersion()
    {
        var table = await OpenAsync();
        var entry = Entry(status: SiloStatus.Joining) with
        {
            SuspectTimes = [new SuspectTime(Address(), T0.AddSeconds(1)), new SuspectTime(Address(), T0.AddSeconds(2))],
        };

        Assert.True(await table.InsertRowAsync(entry, new TableVersion(1), default));
        var data = await table.ReadAllAsync(default);

        Assert.Equal(new TableVersion(1), data.Version);
        AssertSameEntry(entry, Assert.Single(data.Members));
    }

    [Fact]
    public async Task InsertRow_StaleVersion_ReturnsFalseAndChangesNothing()
    {
        var table = await OpenAsync();
        Assert.True(await table.InsertRowAsync(Entry(), new TableVersion(1), default));

        Assert.False(await table.InsertRowAsync(Entry(), new TableVersion(1), default)); // based on the read of version 0
        Assert.False(await table.InsertRowAsync(Entry(), new TableVersion(3), default)); // skips a version
        var data = await table.ReadAllAsync(default);

        Assert.Single(data.Members);
        Assert.Equal(new TableVersion(1), data.Version);
    }

    [Fact]
    public async Task InsertRow_RowExists_ReturnsFalseAndLeavesTheVersion()
    {
        var table = await OpenAsync();
        var entry = Entry();
        Assert.True(await table.InsertRowAsync(entry, new TableVersion(1), default));

        Assert.False(await table.InsertRowAsync(entry with { SiloName = "impostor" }, new TableVersion(2), default));
        var data = await table.ReadAllAsync(default);

        Assert.Equal(new TableVersion(1), data.Version);
        Assert.Equal(entry.SiloName, Assert.Single(data.Members).SiloName);
    }

    [Fact]
    public async Task UpdateRow_AtNextVersion_ReplacesTheRow()
    {
        var table = await OpenAsync();
        var entry = Entry(status: SiloStatus.Joining);
        Assert.True(await table.InsertRowAsync(entry, new TableVersion(1), default));
        var updated = entry with
        {
            Status = SiloStatus.Dead,
            IAmAliveTime = T0.AddMinutes(1),
            SuspectTimes = [new SuspectTime(Address(), T0.AddSeconds(30))],
        };

        Assert.True(await table.UpdateRowAsync(updated, new TableVersion(2), default));
        var data = await table.ReadAllAsync(default);

        Assert.Equal(new TableVersion(2), data.Version);
        AssertSameEntry(updated, Assert.Single(data.Members));
    }

    [Fact]
    public async Task UpdateRow_StaleVersion_ReturnsFalseAndChangesNothing()
    {
        var table = await OpenAsync();
        var entry = Entry(status: SiloStatus.Joining);
        Assert.True(await table.InsertRowAsync(entry, new TableVersion(1), default));
        Assert.True(await table.InsertRowAsync(Entry(), new TableVersion(2), default));

        Assert.False(await table.UpdateRowAsync(entry with { Status = SiloStatus.Active }, new TableVersion(2), default));
        var data = await table.ReadAllAsync(default);

        Assert.Equal(new TableVersion(2), data.Version);
        Assert.Equal(SiloStatus.Joining, data.TryGet(entry.SiloAddress)!.Status);
    }

    [Fact]
    public async Task UpdateRow_MissingRow_ReturnsFalseAndLeavesTheVersion()
    {
        var table = await OpenAsync();
        Assert.True(await table.InsertRowAsync(Entry(), new TableVersion(1), default));

        Assert.False(await table.UpdateRowAsync(Entry(), new TableVersion(2), default));

        Assert.Equal(new TableVersion(1), (await table.ReadAllAsync(default)).Version);
    }

    [Fact]
    public async Task UpdateIAmAlive_SetsTheTimeAndLeavesTheVersion()
    {
        var table = await OpenAsync();
        var entry = Entry();
        Assert.True(await table.InsertRowAsync(entry, new TableVersion(1), default));

        await table.UpdateIAmAliveAsync(entry.SiloAddress, T0.AddSeconds(42), default);
        var data = await table.ReadAllAsync(default);

        Assert.Equal(new TableVersion(1), data.Version);
        Assert.Equal(T0.AddSeconds(42), Assert.Single(data.Members).IAmAliveTime);
    }

    [Fact]
    public async Task UpdateRow_ManyWritersOnOneSnapshot_ExactlyOneWins()
    {
        var table = await OpenAsync();
        var suspect = Entry();
        Assert.True(await table.InsertRowAsync(suspect, new TableVersion(1), default));
        var snapshot = await table.ReadAllAsync(default);
        using var start = new ManualResetEventSlim();

        // Ten voters decide on the same snapshot; the version CAS must let exactly one of them write.
        var voters = Enumerable.Range(0, 10).Select(i => Task.Run(async () =>
        {
            start.Wait();
            var vote = suspect with { SuspectTimes = [new SuspectTime(Address(), T0.AddSeconds(i))] };
            return await table.UpdateRowAsync(vote, snapshot.Version.Next(), default);
        })).ToList();
        start.Set();
        var outcomes = await Task.WhenAll(voters);

        Assert.Equal(1, outcomes.Count(won => won));
        var data = await table.ReadAllAsync(default);
        Assert.Equal(new TableVersion(2), data.Version);
        Assert.Single(Assert.Single(data.Members).SuspectTimes);
    }

    [Fact]
    public async Task InsertRow_ConcurrentJoinsWithRetries_EveryJoinLandsOnceAndTheVersionCountsThem()
    {
        var table = await OpenAsync();
        const int Joiners = 16;
        var entries = Enumerable.Range(0, Joiners).Select(_ => Entry(status: SiloStatus.Joining)).ToList();
        var conflicts = 0;
        using var start = new ManualResetEventSlim();

        // Each joiner does what a joining silo does: read, insert at the next version, re-read and retry on a conflict.
        var joins = entries.Select(entry => Task.Run(async () =>
        {
            start.Wait();
            while (true)
            {
                var data = await table.ReadAllAsync(default);
                if (await table.InsertRowAsync(entry, data.Version.Next(), default))
                {
                    return;
                }

                Interlocked.Increment(ref conflicts);
            }
        })).ToList();
        start.Set();
        await Task.WhenAll(joins).WaitAsync(TimeSpan.FromSeconds(60));

        var final = await table.ReadAllAsync(default);
        Assert.Equal(new TableVersion(Joiners), final.Version);
        Assert.Equal(
            entries.Select(e => e.SiloAddress).Order(),
            final.Members.Select(m => m.SiloAddress).Order());
    }

    [Fact]
    public async Task CleanupDefunctSiloEntries_DeletesOnlyOldRowsOfSilosThatAreNotActive()
    {
        var table = await OpenAsync();
        var oldDead = Entry(status: SiloStatus.Dead, iAmAlive: T0);
        var oldJoining = Entry(status: SiloStatus.Joining, iAmAlive: T0);
        var oldActive = Entry(status: SiloStatus.Active, iAmAlive: T0);
        var recentDead = Entry(status: SiloStatus.Dead, iAmAlive: T0.AddHours(2));
        var version = new TableVersion(0);
        foreach (var entry in new[] { oldDead, oldJoining, oldActive, recentDead })
        {
            version = version.Next();
            Assert.True(await table.InsertRowAsync(entry, version, default));
        }

        var deleted = await table.CleanupDefunctSiloEntriesAsync(T0.AddHours(1), default);

        Assert.Equal(2, deleted);
        var data = await table.ReadAllAsync(default);
        Assert.Equal(
            new[] { oldActive.SiloAddress, recentDead.SiloAddress }.Order(),
            data.Members.Select(m => m.SiloAddress).Order());
        Assert.Equal(version, data.Version);
    }

    [Fact]
    public async Task Tables_OfTwoClusters_DoNotSeeEachOther()
    {
        var first = await OpenAsync();
        var second = await OpenAsync("other-" + ClusterId);
        Assert.True(await first.InsertRowAsync(Entry(), new TableVersion(1), default));

        var other = await second.ReadAllAsync(default);
        Assert.Empty(other.Members);
        Assert.Equal(new TableVersion(0), other.Version);
        Assert.True(await second.InsertRowAsync(Entry(), new TableVersion(1), default));
        Assert.Single((await first.ReadAllAsync(default)).Members);
    }

    protected abstract Task<object> CreateStoreAsync();

    protected abstract Task DeleteStoreAsync(object store);

    private protected abstract IMembershipTable CreateTable(object store, string clusterId);

    private protected async Task<IMembershipTable> OpenAsync(string? clusterId = null)
    {
        var table = CreateTable(Store, clusterId ?? ClusterId);
        await table.InitializeAsync(createSchema: true, default);
        return table;
    }

    private protected SiloAddress Address() => new("127.0.0.1", Interlocked.Increment(ref _nextPort), 1000);

    private protected MembershipEntry Entry(SiloStatus status = SiloStatus.Active, DateTimeOffset? iAmAlive = null)
    {
        var address = Address();
        return new MembershipEntry
        {
            SiloAddress = address,
            SiloName = "silo-" + address.Port,
            HostName = "host-" + address.Port,
            Status = status,
            StartTime = T0,
            IAmAliveTime = iAmAlive ?? T0,
        };
    }

    private static void AssertSameEntry(MembershipEntry expected, MembershipEntry actual)
    {
        Assert.Equal(expected.SiloAddress, actual.SiloAddress);
        Assert.Equal(expected.SiloName, actual.SiloName);
        Assert.Equal(expected.HostName, actual.HostName);
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.StartTime, actual.StartTime);
        Assert.Equal(expected.IAmAliveTime, actual.IAmAliveTime);
        Assert.Equal(expected.SuspectTimes, actual.SuspectTimes);
    }
}

/// <summary>The contract on the in-memory table of in-process test clusters.</summary>
public sealed class InMemoryMembershipTableTests : MembershipTableContractTests
{
    protected override Task<object> CreateStoreAsync() => Task.FromResult<object>(new Dictionary<string, InMemoryMembershipTable>());

    protected override Task DeleteStoreAsync(object store) => Task.CompletedTask;

    private protected override IMembershipTable CreateTable(object store, string clusterId)
    {
        var tables = (Dictionary<string, InMemoryMembershipTable>)store;
        lock (tables)
        {
            if (!tables.TryGetValue(clusterId, out var table))
            {
                tables[clusterId] = table = new InMemoryMembershipTable();
            }

            return table;
        }
    }
}
