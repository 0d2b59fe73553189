using Npgsql;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Storage.Postgres;
using OrleansLocks.Testing;

namespace OrleansLocks.Cluster.Tests.Membership;

/// <summary>The contract on the real PostgreSQL, plus what only a database can get wrong (schema races, outages).</summary>
public sealed class PostgresMembershipTableTests : MembershipTableContractTests
{
    private readonly List<NpgsqlDataSource> _dataSources = [];

    public override async Task DisposeAsync()
    {
        foreach (var dataSource in _dataSources)
        {
            await dataSource.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    [Fact]
    public async Task Initialize_ManySilosAtOnceOnAnEmptyDatabase_CreatesTheSchemaOnce()
    {
        // Twelve silos start together, some initializing grain storage, which shares the schema-version table.
        var tables = Enumerable.Range(0, 8).Select(_ => CreateTable(Store, ClusterId)).ToList();
        var storages = Enumerable.Range(0, 4)
            .Select(_ => new PostgresGrainStorageBackend((string)Store, "svc", maxConcurrentBatches: 1, TimeProvider.System))
            .ToList();
        try
        {
            await Task.WhenAll(
                tables.Select(t => Task.Run(() => t.InitializeAsync(createSchema: true, default)))
                    .Concat(storages.Select(s => Task.Run(() => s.InitializeAsync(createSchema: true, default)))));
        }
        finally
        {
            foreach (var storage in storages)
            {
                await storage.DisposeAsync();
            }
        }

        var data = await tables[0].ReadAllAsync(default);
        Assert.Equal(new TableVersion(0), data.Version);
        await using var connection = new NpgsqlConnection((string)Store);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT component, version FROM orleanslocks_schema_version ORDER BY component", connection);
        await using var reader = await query.ExecuteReaderAsync();
        var components = new List<(string, int)>();
        while (await reader.ReadAsync())
        {
            components.Add((reader.GetString(0), reader.GetInt32(1)));
        }

        Assert.Equal([("membership", PostgresMembershipTable.SchemaVersion), ("storage", PostgresGrainStorageBackend.SchemaVersion)], components);
    }

    [Fact]
    public async Task Initialize_WithoutSchemaCreation_OnAnEmptyDatabase_SaysWhichScriptToRun()
    {
        var table = CreateTable(Store, ClusterId);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => table.InitializeAsync(createSchema: false, default));

        Assert.Contains("PostgreSQL-Membership.sql", error.Message, StringComparison.Ordinal);
        Assert.Contains("Storage:InitializeSchema", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tables_OfTwoServicesWithTheSameClusterId_DoNotSeeEachOther()
    {
        var first = await OpenAsync();
        var other = NewDataSource();
        var second = new PostgresMembershipTable(other, "another-service", ClusterId);
        await second.InitializeAsync(createSchema: true, default);

        Assert.True(await first.InsertRowAsync(Entry(), new TableVersion(1), default));

        Assert.Empty((await second.ReadAllAsync(default)).Members);
    }

    [Fact]
    public async Task Operations_DatabaseUnreachable_ThrowStorageUnavailable()
    {
        await using var unreachable = PostgresDataSources.Create(
            new NpgsqlConnectionStringBuilder((string)Store) { Port = UnusedPort(), Timeout = 2 }.ConnectionString);
        var table = new PostgresMembershipTable(unreachable, "svc", ClusterId);

        await Assert.ThrowsAsync<StorageUnavailableException>(() => table.InitializeAsync(createSchema: true, default));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => table.ReadAllAsync(default));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => table.InsertRowAsync(Entry(), new TableVersion(1), default));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => table.UpdateIAmAliveAsync(Address(), DateTimeOffset.UtcNow, default));
    }

    protected override async Task<object> CreateStoreAsync()
    {
        var server = await PostgresServer.GetAsync();
        return await server.CreateDatabaseAsync("membership");
    }

    protected override async Task DeleteStoreAsync(object store)
    {
        NpgsqlConnection.ClearAllPools();
        var server = await PostgresServer.GetAsync();
        await using var connection = new NpgsqlConnection(server.AdminConnectionString);
        await connection.OpenAsync();
        var name = new NpgsqlConnectionStringBuilder((string)store).Database;
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    private protected override IMembershipTable CreateTable(object store, string clusterId)
        => new PostgresMembershipTable(NewDataSource(), "svc", clusterId);

    private NpgsqlDataSource NewDataSource()
    {
        var dataSource = PostgresDataSources.Create((string)Store);
        lock (_dataSources)
        {
            _dataSources.Add(dataSource);
        }

        return dataSource;
    }

    private static int UnusedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
