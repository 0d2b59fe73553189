using System.Diagnostics;
using Npgsql;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Silo.Storage.Postgres;
using OrleansLocks.Testing;

namespace OrleansLocks.Silo.Tests.Storage;

/// <summary>The storage contract on a real PostgreSQL server: a fresh database per test.</summary>
public sealed class PostgresGrainStorageTests : GrainStorageContractTests
{
    [Fact]
    public async Task Initialize_SchemaMissingAndNotToBeCreated_FailsNamingTheSetting()
    {
        await using var backend = CreateBackend(Store, ServiceId);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => backend.InitializeAsync(createSchema: false, CancellationToken.None));

        Assert.Contains("Storage:InitializeSchema", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Initialize_DatabaseDoesNotExist_FailsAtOnceAsPermanent()
    {
        var missing = new NpgsqlConnectionStringBuilder((string)Store) { Database = "no_such_database_" + Guid.NewGuid().ToString("N")[..8] };
        await using var backend = CreateBackend(missing.ConnectionString, ServiceId);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => backend.InitializeAsync(createSchema: true, CancellationToken.None));

        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Initializer_ServerUnreachable_RetriesThenFailsStartUpWithClearMessage()
    {
        var unreachable = new NpgsqlConnectionStringBuilder((string)Store) { Port = UnusedPort(), Timeout = 2 };
        await using var backend = CreateBackend(unreachable.ConnectionString, ServiceId);
        var logger = new ListLogger<GrainStorageInitializer>();
        var initializer = new GrainStorageInitializer(
            backend, Microsoft.Extensions.Options.Options.Create(new GrainStorageOptions()), TimeProvider.System, logger)
        {
            RetryLimit = TimeSpan.FromSeconds(2),
        };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => initializer.StartingAsync(CancellationToken.None));

        Assert.Contains("not reachable within 2 s", error.Message, StringComparison.Ordinal);
        Assert.IsType<StorageUnavailableException>(error.InnerException);
        Assert.Contains(logger.Entries, e => e.EventId == 2001);
        Assert.Contains(logger.Entries, e => e.EventId == 2002);
        Assert.False(initializer.IsReady);
    }

    [Fact]
    public async Task ExecuteBatch_ReadsAndWritesInterleaved_WritesUseAtMostOneConnectionPerBatchSlot()
    {
        var backend = await CreateInitializedBackendAsync(Store, ServiceId);
        var storage = Compose(backend, maxBatchSize: 8);

        // Many grains activating (reading) while others write, as under load: the reads grow the pool, and batches
        // must still keep to their own slot connections (at most MaxConcurrentBatches = 4) rather than rotate over it.
        var work = Enumerable.Range(0, 200).Select(async i =>
        {
            await backend.ReadAsync(StorageKey.Create(GrainType, StateName, $"read-{i}"), CancellationToken.None);
            await storage.WriteStateAsync(StateName, Grain($"write-{i:D3}"), New($"value {i}"));
        });
        await Task.WhenAll(work);

        var server = await PostgresServer.GetAsync();
        await using var admin = new NpgsqlConnection(server.AdminConnectionString);
        await admin.OpenAsync();
        await using var query = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'INSERT INTO orleanslocks_storage%'", admin);
        query.Parameters.Add(new NpgsqlParameter<string> { TypedValue = new NpgsqlConnectionStringBuilder((string)Store).Database });
        var writers = (long)(await query.ExecuteScalarAsync())!;

        Assert.InRange(writers, 1, 4);
    }

    [Fact]
    public async Task ExecuteBatch_StatementFailsAfterAnotherSucceeded_RollsBackTheWholeBatch()
    {
        var backend = await CreateInitializedBackendAsync(Store, ServiceId);
        var key = StorageKey.Create(GrainType, StateName, "at-max-version");
        var first = await backend.ExecuteBatchAsync([new StorageWrite(key, null, "{}"u8.ToArray(), false)], CancellationToken.None);
        Assert.Equal(1, Assert.Single(first));
        await using (var connection = new NpgsqlConnection((string)Store))
        {
            await connection.OpenAsync();
            await using var update = new NpgsqlCommand($"UPDATE orleanslocks_storage SET version = {int.MaxValue}", connection);
            await update.ExecuteNonQueryAsync();
        }

        // The first statement succeeds; the second overflows the version column, which aborts the transaction.
        var inserted = StorageKey.Create(GrainType, StateName, "inserted-first");
        var error = await Assert.ThrowsAsync<StorageUnavailableException>(() => backend.ExecuteBatchAsync(
            [new StorageWrite(inserted, null, "{}"u8.ToArray(), false), new StorageWrite(key, int.MaxValue, "{}"u8.ToArray(), false)],
            CancellationToken.None));

        Assert.Contains("nothing was written", error.Message, StringComparison.Ordinal);
        Assert.Null(await backend.ReadAsync(inserted, CancellationToken.None));
        Assert.Equal(int.MaxValue, (await backend.ReadAsync(key, CancellationToken.None))!.Value.Version);
    }

    [Fact]
    public async Task ExecuteBatch_SlotReusedForBatchesOfOtherSizesAndKinds_EachBatchWritesExactlyItsWrites()
    {
        // One batch slot at a time (sequential batches), so every batch after the first refills commands that an
        // earlier, larger or differently mixed batch left behind: none of their values may leak into a later batch.
        var backend = await CreateInitializedBackendAsync(Store, ServiceId);
        StorageKey Key(int i) => StorageKey.Create(GrainType, StateName, $"reuse-{i}");
        byte[] Payload(string text) => System.Text.Encoding.UTF8.GetBytes($"\"{text}\"");

        var inserted = await backend.ExecuteBatchAsync([.. Enumerable.Range(0, 5).Select(i => new StorageWrite(Key(i), null, Payload($"a{i}"), i % 2 == 0))], CancellationToken.None);
        Assert.Equal([1, 1, 1, 1, 1], inserted);

        // Fewer commands, mixed: one update, one insert of a new row, one update expecting a stale version.
        var mixed = await backend.ExecuteBatchAsync(
            [new StorageWrite(Key(1), 1, Payload("b1"), true), new StorageWrite(Key(7), null, Payload("b7"), false), new StorageWrite(Key(3), 5, Payload("stale"), false)],
            CancellationToken.None);
        Assert.Equal([2, 1, 0], mixed);

        // A single write, then a larger batch again.
        var single = await backend.ExecuteBatchAsync([new StorageWrite(Key(1), 2, Payload("c1"), false)], CancellationToken.None);
        Assert.Equal(3, Assert.Single(single));
        var updated = await backend.ExecuteBatchAsync([.. Enumerable.Range(0, 5).Where(i => i != 1).Select(i => new StorageWrite(Key(i), 1, Payload($"d{i}"), false))], CancellationToken.None);
        Assert.Equal([2, 2, 2, 2], updated);

        var expected = new Dictionary<int, (int Version, string Payload)>
        {
            [0] = (2, "\"d0\""), [1] = (3, "\"c1\""), [2] = (2, "\"d2\""), [3] = (2, "\"d3\""), [4] = (2, "\"d4\""), [7] = (1, "\"b7\""),
        };
        foreach (var (i, (version, payload)) in expected)
        {
            var row = (await backend.ReadAsync(Key(i), CancellationToken.None))!.Value;
            Assert.Equal(version, row.Version);
            Assert.Equal(payload, System.Text.Encoding.UTF8.GetString(row.Payload));
        }
    }

    [Fact]
    public async Task Schema_KeysUseCCollationAndListingsUseThePartialIndex()
    {
        await CreateInitializedBackendAsync(Store, ServiceId);
        await using var connection = new NpgsqlConnection((string)Store);
        await connection.OpenAsync();

        await using var collations = new NpgsqlCommand(
            "SELECT string_agg(DISTINCT collation_name, ',') FROM information_schema.columns " +
            "WHERE table_name = 'orleanslocks_storage' AND column_name IN ('service_id', 'grain_type', 'state_name', 'grain_key')",
            connection);
        Assert.Equal("C", await collations.ExecuteScalarAsync());
        await using var index = new NpgsqlCommand(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_orleanslocks_storage_listed'", connection);
        Assert.EndsWith("WHERE listed", (string)(await index.ExecuteScalarAsync())!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schema_ShippedScript_RunsTwiceThroughPsqlAsDbasWould()
    {
        var psql = Directory.GetDirectories("/usr/lib/postgresql")
            .Select(d => Path.Combine(d, "bin", "psql"))
            .FirstOrDefault(File.Exists) ?? throw new InvalidOperationException("psql not found under /usr/lib/postgresql/*/bin");
        var script = Path.Combine(Path.GetTempPath(), $"orleanslocks-{Guid.NewGuid():N}.sql");
        await File.WriteAllTextAsync(script, SchemaScripts.Load("PostgreSQL-Storage.sql"));
        var settings = new NpgsqlConnectionStringBuilder((string)Store);
        try
        {
            for (var run = 0; run < 2; run++)
            {
                var start = new ProcessStartInfo(psql)
                {
                    ArgumentList =
                    {
                        $"host={settings.Host} port={settings.Port} user={settings.Username} dbname={settings.Database}",
                        "-v", "ON_ERROR_STOP=1", "-q", "-f", script,
                    },
                    RedirectStandardError = true,
                    RedirectStandardOutput = true,
                };
                if (settings.Password is { } password)
                {
                    start.Environment["PGPASSWORD"] = password;
                }

                using var process = Process.Start(start)!;
                var stderr = process.StandardError.ReadToEndAsync();
                await process.StandardOutput.ReadToEndAsync();
                await process.WaitForExitAsync();
                Assert.True(process.ExitCode == 0, $"psql run {run + 1} failed: {await stderr}");
            }
        }
        finally
        {
            File.Delete(script);
        }

        await using var backend = CreateBackend(Store, ServiceId);
        Assert.Equal(PostgresGrainStorageBackend.SchemaVersion, await backend.InitializeAsync(createSchema: false, CancellationToken.None));
    }

    protected override async Task<object> CreateStoreAsync()
    {
        var server = await PostgresServer.GetAsync();
        return await server.CreateDatabaseAsync("storage");
    }

    protected override async Task DeleteStoreAsync(object store)
    {
        var server = await PostgresServer.GetAsync();
        await using var connection = new NpgsqlConnection(server.AdminConnectionString);
        await connection.OpenAsync();
        var name = new NpgsqlConnectionStringBuilder((string)store).Database;
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    private protected override IGrainStorageBackend CreateBackend(object store, string serviceId)
        => new PostgresGrainStorageBackend((string)store, serviceId, maxConcurrentBatches: 4, TimeProvider.System);

    private static int UnusedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
