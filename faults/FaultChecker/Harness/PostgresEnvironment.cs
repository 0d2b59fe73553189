using Npgsql;
using OrleansLocks.Testing;

namespace OrleansLocks.FaultChecker.Harness;

/// <summary>
/// The PostgreSQL the run uses, with two fresh databases — the service's and the fenced store's — dropped again at
/// the end. A run that restarts PostgreSQL gets a throwaway server of its own (a restart would break everyone else's
/// connections to a shared one); otherwise the shared test server (ORLEANSLOCKS_TEST_POSTGRES, or one started from
/// the OS binaries).
/// </summary>
internal sealed class PostgresEnvironment : IAsyncDisposable
{
    private readonly PostgresServer _server;

    private PostgresEnvironment(PostgresServer server, bool dedicated, string serviceConnectionString, string storeConnectionString)
    {
        _server = server;
        CanRestart = dedicated;
        ServiceConnectionString = serviceConnectionString;
        StoreConnectionString = storeConnectionString;
    }

    public string ServiceConnectionString { get; }

    public string StoreConnectionString { get; }

    public string ServiceDatabase => new NpgsqlConnectionStringBuilder(ServiceConnectionString).Database!;

    public string StoreDatabase => new NpgsqlConnectionStringBuilder(StoreConnectionString).Database!;

    /// <summary>Only a server of the run's own can be restarted.</summary>
    public bool CanRestart { get; }

    public static async Task<PostgresEnvironment> StartAsync(bool restartable)
    {
        var server = restartable ? await PostgresServer.StartDedicatedAsync() : await PostgresServer.GetAsync();
        var service = await server.CreateDatabaseAsync("faults_service");
        var store = await server.CreateDatabaseAsync("faults_store");
        return new PostgresEnvironment(server, restartable, service, store);
    }

    /// <summary>Immediate stop (like a crash) and start on the same data.</summary>
    public Task RestartAsync() => _server.RestartAsync();

    /// <summary>Terminates every connection to the service's database; returns how many there were.</summary>
    public async Task<int> TerminateServiceConnectionsAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_server.AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ServiceDatabase });
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Connections to the service's database (the soak's leak check); null when PostgreSQL could not be asked.</summary>
    public async Task<int?> CountServiceConnectionsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(_server.AdminConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT count(*)::int FROM pg_stat_activity WHERE datname = $1", connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ServiceDatabase });
            return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (NpgsqlException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_server.AdminConnectionString);
        await connection.OpenAsync();
        foreach (var database in new[] { ServiceDatabase, StoreDatabase })
        {
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
