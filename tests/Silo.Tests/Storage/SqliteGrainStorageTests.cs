using Microsoft.Data.Sqlite;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Silo.Storage.Sqlite;

namespace OrleansLocks.Silo.Tests.Storage;

/// <summary>The storage contract on SQLite: a fresh file (in a directory that does not exist yet) per test.</summary>
public sealed class SqliteGrainStorageTests : GrainStorageContractTests
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "orleanslocks-sqlite-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Initialize_FreshPath_CreatesDirectoryAndWalDatabase()
    {
        var path = (string)Store;
        Assert.False(Directory.Exists(Path.GetDirectoryName(path)));

        await CreateInitializedBackendAsync(Store, ServiceId);

        Assert.True(File.Exists(path));
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Initialize_SchemaMissingAndNotToBeCreated_FailsNamingTheSetting()
    {
        await using var backend = CreateBackend(Store, ServiceId);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => backend.InitializeAsync(createSchema: false, CancellationToken.None));

        Assert.Contains("Storage:InitializeSchema", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_TwoProvidersOnOneFileConcurrently_KeepVersionChecksAndFileIntact()
    {
        // What a second process opening the file amounts to: SQLite's locks serialize the writers.
        var first = await OpenAsync();
        var second = await OpenAsync();
        await first.WriteStateAsync(StateName, Grain("shared"), New("v1"));
        var successes = 0;
        var writers = Enumerable.Range(0, 8).Select(async i =>
        {
            var storage = i % 2 == 0 ? first : second;
            for (var n = 0; n < 25; n++)
            {
                await storage.WriteStateAsync(StateName, Grain($"own-{i}-{n}"), New("own"));
                var state = await ReadAsync(storage, "shared");
                state.State = new TestState { Value = $"writer {i}" };
                try
                {
                    await storage.WriteStateAsync(StateName, Grain("shared"), state);
                    Interlocked.Increment(ref successes);
                }
                catch (OrleansLocks.Runtime.InconsistentStateException)
                {
                    // Another writer got this version first.
                }
            }
        });

        await Task.WhenAll(writers);

        Assert.Equal((successes + 1).ToString(), (await ReadAsync(first, "shared")).ETag);
        await using var connection = new SqliteConnection($"Data Source={Store};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", await command.ExecuteScalarAsync());
        command.CommandText = "SELECT count(*) FROM orleanslocks_storage";
        Assert.Equal(201L, await command.ExecuteScalarAsync());
    }

    protected override Task<object> CreateStoreAsync()
        => Task.FromResult<object>(Path.Combine(_root, "nested", "orleanslocks.db"));

    private protected override IGrainStorageBackend CreateBackend(object store, string serviceId)
        => new SqliteGrainStorageBackend((string)store, serviceId, TimeProvider.System);

    protected override Task DeleteStoreAsync(object store)
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        return Task.CompletedTask;
    }
}
