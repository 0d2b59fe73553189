using Npgsql;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Placement;
using OrleansLocks.Silo.Storage.Postgres;
using OrleansLocks.Testing;

namespace OrleansLocks.Cluster.Tests.Placement;

/// <summary>
/// The behaviour every grain directory must have (Orleans' GrainDirectoryTests), run against each implementation:
/// first writer wins, an activation only ever removes its own entry, dead silos' entries go in one call.
/// </summary>
public abstract class GrainDirectoryContractTests : IAsyncLifetime
{
    private static readonly SiloAddress SiloA = new("10.0.0.1", 11111, 100);
    private static readonly SiloAddress SiloB = new("10.0.0.2", 11111, 100);
    private static readonly SiloAddress SiloC = new("10.0.0.3", 11111, 100);

    private protected IGrainDirectory Directory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory = await CreateDirectoryAsync("cluster-" + Guid.NewGuid().ToString("N")[..8]);
        await Directory.InitializeAsync(createSchema: true, default);
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Register_NewGrain_WinsAndLookupFindsIt()
    {
        var address = Address("a", SiloA);

        var holder = await Directory.RegisterAsync(address, previous: null, default);

        Assert.Equal(address, holder);
        Assert.Equal(address, await Directory.LookupAsync(address.GrainId, default));
        Assert.Null(await Directory.LookupAsync(new GrainId("lock", "other"), default));
    }

    [Fact]
    public async Task Register_GrainAlreadyRegistered_ReturnsTheExistingEntryAndChangesNothing()
    {
        var first = Address("a", SiloA);
        await Directory.RegisterAsync(first, previous: null, default);

        var holder = await Directory.RegisterAsync(Address("a", SiloB), previous: null, default);

        Assert.Equal(first, holder);
        Assert.Equal(first, await Directory.LookupAsync(first.GrainId, default));
    }

    [Fact]
    public async Task Register_ManyConcurrentActivationsOfOneGrain_ExactlyOneWinsAndAllLearnIt()
    {
        var contenders = Enumerable.Range(0, 24).Select(i => Address("contended", i % 2 == 0 ? SiloA : SiloB)).ToList();

        var holders = await Task.WhenAll(contenders.Select(c => Task.Run(() => Directory.RegisterAsync(c, previous: null, default))));

        var winner = Assert.Single(holders.Distinct());
        Assert.Contains(winner, contenders);
        Assert.Equal(winner, await Directory.LookupAsync(winner.GrainId, default));
    }

    [Fact]
    public async Task Register_ManyGrainsAtOnce_EachWinsItsOwn()
    {
        var addresses = Enumerable.Range(0, 700).Select(i => Address("bulk" + i, SiloC)).ToList();

        var holders = await Task.WhenAll(addresses.Select(a => Directory.RegisterAsync(a, previous: null, default)));

        Assert.Equal(addresses, holders);
        Assert.Equal(700, await Directory.CountAsync(default));
    }

    [Fact]
    public async Task Register_WithTheStaleEntryAsPrevious_ReplacesIt()
    {
        var stale = Address("a", SiloA);
        await Directory.RegisterAsync(stale, previous: null, default);
        var successor = Address("a", SiloB);

        var holder = await Directory.RegisterAsync(successor, previous: stale, default);

        Assert.Equal(successor, holder);
        Assert.Equal(successor, await Directory.LookupAsync(stale.GrainId, default));
    }

    [Fact]
    public async Task Register_WithAPreviousThatIsNoLongerTheEntry_ReturnsTheCurrentEntry()
    {
        var stale = Address("a", SiloA);
        await Directory.RegisterAsync(stale, previous: null, default);
        var replacement = Address("a", SiloB);
        await Directory.RegisterAsync(replacement, previous: stale, default);

        // A third silo also saw the stale entry: it must not overwrite the replacement.
        var holder = await Directory.RegisterAsync(Address("a", SiloC), previous: stale, default);

        Assert.Equal(replacement, holder);
    }

    [Fact]
    public async Task Register_WithAPreviousWhoseEntryWasRemoved_Registers()
    {
        var stale = Address("a", SiloA);
        await Directory.RegisterAsync(stale, previous: null, default);
        await Directory.UnregisterAsync(stale, default);
        var successor = Address("a", SiloB);

        Assert.Equal(successor, await Directory.RegisterAsync(successor, previous: stale, default));
    }

    [Fact]
    public async Task Unregister_WithAnotherActivationId_RemovesNothing()
    {
        var registered = Address("a", SiloA);
        await Directory.RegisterAsync(registered, previous: null, default);

        var removed = await Directory.UnregisterAsync(registered with { ActivationId = Guid.NewGuid() }, default);

        Assert.False(removed);
        Assert.Equal(registered, await Directory.LookupAsync(registered.GrainId, default));
    }

    [Fact]
    public async Task Unregister_ItsOwnEntry_RemovesItOnce()
    {
        var registered = Address("a", SiloA);
        await Directory.RegisterAsync(registered, previous: null, default);

        Assert.True(await Directory.UnregisterAsync(registered, default));
        Assert.False(await Directory.UnregisterAsync(registered, default));
        Assert.Null(await Directory.LookupAsync(registered.GrainId, default));
        Assert.Equal(0, await Directory.CountAsync(default));
    }

    [Fact]
    public async Task UnregisterSilos_RemovesEveryEntryOfThoseIncarnationsOnlyAndIsIdempotent()
    {
        var onA = Enumerable.Range(0, 30).Select(i => Address("a" + i, SiloA)).ToList();
        var onB = Enumerable.Range(0, 5).Select(i => Address("b" + i, SiloB)).ToList();
        var onRestartedA = Address("restarted", SiloA with { Generation = SiloA.Generation + 1 });
        await Task.WhenAll(onA.Concat(onB).Append(onRestartedA).Select(a => Directory.RegisterAsync(a, previous: null, default)));

        var removed = await Directory.UnregisterSilosAsync([SiloA, SiloC], default);
        var again = await Directory.UnregisterSilosAsync([SiloA], default);

        Assert.Equal(30, removed);
        Assert.Equal(0, again);
        Assert.Equal(6, await Directory.CountAsync(default));
        Assert.Null(await Directory.LookupAsync(onA[0].GrainId, default));
        Assert.Equal(onB[0], await Directory.LookupAsync(onB[0].GrainId, default));
        Assert.Equal(onRestartedA, await Directory.LookupAsync(onRestartedA.GrainId, default));
    }

    private protected abstract Task<IGrainDirectory> CreateDirectoryAsync(string clusterId);

    private static GrainAddress Address(string key, SiloAddress silo) => new(new GrainId("lock", key), silo, Guid.NewGuid());
}

/// <summary>The contract on the in-memory directory of in-process test clusters.</summary>
public sealed class InMemoryGrainDirectoryTests : GrainDirectoryContractTests
{
    private protected override Task<IGrainDirectory> CreateDirectoryAsync(string clusterId) => Task.FromResult<IGrainDirectory>(new InMemoryGrainDirectory());
}

/// <summary>The contract on the real PostgreSQL, plus what only a database can get wrong (schema, clusters sharing it, outages).</summary>
public sealed class PostgresGrainDirectoryTests : GrainDirectoryContractTests
{
    private readonly List<NpgsqlDataSource> _dataSources = [];
    private readonly List<string> _databases = [];
    private string? _connectionString;

    public override async Task DisposeAsync()
    {
        foreach (var dataSource in _dataSources)
        {
            await dataSource.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        var server = await PostgresServer.GetAsync();
        await using var connection = new NpgsqlConnection(server.AdminConnectionString);
        await connection.OpenAsync();
        foreach (var database in _databases)
        {
            var name = new NpgsqlConnectionStringBuilder(database).Database;
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task Register_FromManySilosAtOnceOnManyGrains_ExactlyOneWinnerPerGrain()
    {
        // Eight "silos" (own directory instances, own connection pools: their batches race in the database).
        var silos = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => OpenAsync("svc", "shared")));
        var grains = Enumerable.Range(0, 200).Select(i => new GrainId("lock", "g" + i)).ToList();

        var outcomes = await Task.WhenAll(silos.Select((directory, s) => Task.Run(async () =>
        {
            var silo = new SiloAddress("10.0.1." + s, 11111, 1);
            var mine = grains.Select(g => new GrainAddress(g, silo, Guid.NewGuid())).ToList();
            var holders = await Task.WhenAll(mine.Select(a => directory.RegisterAsync(a, previous: null, default)));
            return mine.Zip(holders).ToList();
        })));

        foreach (var grain in grains)
        {
            var holders = outcomes.SelectMany(o => o).Where(o => o.First.GrainId == grain).Select(o => o.Second).Distinct().ToList();
            var winner = Assert.Single(holders);
            Assert.Equal(winner, await silos[0].LookupAsync(grain, default));
            Assert.Single(outcomes.SelectMany(o => o), o => o.First == winner);
        }
    }

    [Fact]
    public async Task UnregisterAndRegister_OfOneSetOfGrainsByTwoSilosAtOnce_NeverDeadlock()
    {
        // A leaving silo unregisters a batch of grains while their new owner registers them: both statements lock
        // the same rows, and must do so in one order (a deadlock costs deadlock_timeout, 1 s, before PostgreSQL breaks it).
        var leaving = (PostgresGrainDirectory)await OpenAsync("svc", "handover");
        var arriving = (PostgresGrainDirectory)await OpenAsync("svc", "handover");
        var random = new Random(7);
        for (var round = 0; round < 20; round++)
        {
            var grains = Enumerable.Range(0, 100).Select(i => new GrainId("lock", $"r{round}-{i:000}")).ToList();
            var old = grains.Select(g => new GrainAddress(g, new SiloAddress("10.0.2.1", 1, 1), Guid.NewGuid())).ToList();
            await Task.WhenAll(old.Select(a => leaving.RegisterAsync(a, null, default)));

            // Different arrival orders on each side; each directory batches what arrives together.
            var unregisters = old.OrderBy(_ => random.Next()).Select(a => leaving.UnregisterAsync(a, default)).ToList();
            var registers = grains.OrderBy(_ => random.Next())
                .Select(g => arriving.RegisterAsync(new GrainAddress(g, new SiloAddress("10.0.2.2", 1, 1), Guid.NewGuid()), null, default))
                .ToList();
            await Task.WhenAll(Task.WhenAll(unregisters), Task.WhenAll(registers));
        }

        Assert.Equal(0, leaving.DeadlocksRetried + arriving.DeadlocksRetried);
    }

    [Fact]
    public async Task Directories_OfTwoClustersOrServicesInOneDatabase_DoNotSeeEachOther()
    {
        var first = await OpenAsync("svc", "one");
        var otherCluster = await OpenAsync("svc", "two");
        var otherService = await OpenAsync("other", "one");
        var grain = new GrainId("lock", "same-name");

        var a = await first.RegisterAsync(new GrainAddress(grain, new SiloAddress("10.0.0.1", 1, 1), Guid.NewGuid()), null, default);
        var b = await otherCluster.RegisterAsync(new GrainAddress(grain, new SiloAddress("10.0.0.2", 1, 1), Guid.NewGuid()), null, default);
        var c = await otherService.RegisterAsync(new GrainAddress(grain, new SiloAddress("10.0.0.3", 1, 1), Guid.NewGuid()), null, default);

        Assert.Equal(3, new[] { a, b, c }.Distinct().Count());
        Assert.Equal(1, await otherCluster.UnregisterSilosAsync([new SiloAddress("10.0.0.2", 1, 1)], default));
        Assert.Equal(a, await first.LookupAsync(grain, default));
    }

    [Fact]
    public async Task UnregisterSilos_MoreEntriesThanOneChunk_RemovesThemAll()
    {
        var silo = new SiloAddress("10.0.9.9", 11111, 7);
        await using (var connection = new NpgsqlConnection(_connectionString))
        {
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand(
                "INSERT INTO orleanslocks_grain_directory (service_id, cluster_id, grain_type, grain_key, address, port, generation, activation_id) " +
                "SELECT 'svc', 'bulk', 'lock', 'k' || i, '10.0.9.9', 11111, 7, gen_random_uuid() FROM generate_series(1, 12001) AS i",
                connection);
            await insert.ExecuteNonQueryAsync();
        }

        var directory = await OpenAsync("svc", "bulk");

        Assert.Equal(12001, await directory.UnregisterSilosAsync([silo], default));
        Assert.Equal(0, await directory.CountAsync(default));
    }

    [Fact]
    public async Task Initialize_WithoutSchemaCreation_OnAnEmptyDatabase_SaysWhichScriptToRun()
    {
        var server = await PostgresServer.GetAsync();
        var empty = await server.CreateDatabaseAsync("directory-empty");
        _databases.Add(empty);
        var dataSource = PostgresDataSources.Create(empty);
        _dataSources.Add(dataSource);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => new PostgresGrainDirectory(dataSource, "svc", "c").InitializeAsync(createSchema: false, default));

        Assert.Contains("PostgreSQL-Directory.sql", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operations_DatabaseUnreachable_ThrowStorageUnavailable()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var dataSource = PostgresDataSources.Create(new NpgsqlConnectionStringBuilder(_connectionString) { Port = port, Timeout = 2 }.ConnectionString);
        _dataSources.Add(dataSource);
        var directory = new PostgresGrainDirectory(dataSource, "svc", "c");
        var address = new GrainAddress(new GrainId("lock", "x"), new SiloAddress("10.0.0.1", 1, 1), Guid.NewGuid());

        await Assert.ThrowsAsync<Runtime.StorageUnavailableException>(() => directory.RegisterAsync(address, null, default));
        await Assert.ThrowsAsync<Runtime.StorageUnavailableException>(() => directory.UnregisterAsync(address, default));
        await Assert.ThrowsAsync<Runtime.StorageUnavailableException>(() => directory.UnregisterSilosAsync([address.Silo], default));
    }

    private protected override async Task<IGrainDirectory> CreateDirectoryAsync(string clusterId)
    {
        var server = await PostgresServer.GetAsync();
        _connectionString = await server.CreateDatabaseAsync("directory");
        _databases.Add(_connectionString);
        return new PostgresGrainDirectory(NewDataSource(), "svc", clusterId);
    }

    private async Task<IGrainDirectory> OpenAsync(string serviceId, string clusterId)
    {
        var directory = new PostgresGrainDirectory(NewDataSource(), serviceId, clusterId);
        await directory.InitializeAsync(createSchema: true, default);
        return directory;
    }

    private NpgsqlDataSource NewDataSource()
    {
        var dataSource = PostgresDataSources.Create(_connectionString!);
        lock (_dataSources)
        {
            _dataSources.Add(dataSource);
        }

        return dataSource;
    }
}
