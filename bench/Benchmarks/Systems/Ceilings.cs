using System.Net;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace OrleansLocks.Benchmarks.Systems;

/*
 * The trivial endpoint: POST /trivial of a minimal-API app hosted by this program in its own process
 * (serve-trivial), built like the Api (WebApplication.CreateBuilder, Kestrel defaults, warning-level logs).
 * The client sends the same body an acquire sends and reads a small JSON answer: one round trip through
 * HttpClient, the loopback and Kestrel, and nothing else.
 */
internal sealed class TrivialHttpCeiling(HttpClient http) : ICeiling
{
    public static readonly Uri Path = new("trivial", UriKind.Relative);

    public string Id => "ceiling-http";

    public string Description => "one HTTP round trip to a trivial minimal-API endpoint (same Kestrel defaults) — one request, not a pair";

    public string Durability => "n/a (writes nothing)";

    public bool Durable => false;

    public Task<ICeilingClient> ConnectAsync(int client, CancellationToken cancellationToken)
        => Task.FromResult<ICeilingClient>(new Client(http, JsonSerializer.SerializeToUtf8Bytes(
            new ServiceAcquireRequest("exclusive", $"bench-{client}", 30_000, 0), BenchJson.Default.ServiceAcquireRequest)));

    private sealed class Client(HttpClient http, byte[] body) : ICeilingClient
    {
        public async Task OperateAsync(CancellationToken cancellationToken)
        {
            using var request = Http.Post(Path, body);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new BenchProtocolException($"trivial endpoint: {(int)response.StatusCode}");
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/*
 * Raw PostgreSQL commits: each client updates its own row of bench_counter in an autocommit statement
 * (UPDATE bench_counter SET n = n + 1 WHERE id = $1), prepared, on its own connection. This is what durable
 * single-row writes cost on this disk and server, with PostgreSQL's own group commit at higher client counts.
 */
internal sealed class PgCommitCeiling(NpgsqlDataSource dataSource) : ICeiling
{
    public string Id => "ceiling-pg";

    public string Description => "one durable PostgreSQL commit: UPDATE one row (own row per client), autocommit, prepared — one commit, not a pair";

    public string Durability => "durable: synchronous_commit=on, fsync=on";

    public bool Durable => true;

    public async Task<ICeilingClient> ConnectAsync(int client, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var command = await PostgresPeers.PrepareAsync(connection, "UPDATE bench_counter SET n = n + 1 WHERE id = $1", [NpgsqlDbType.Integer], cancellationToken);
        command.Parameters[0].Value = client % 1024;
        return new Client(connection, command);
    }

    private sealed class Client(NpgsqlConnection connection, NpgsqlCommand command) : ICeilingClient
    {
        public async Task OperateAsync(CancellationToken cancellationToken)
        {
            if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                throw new BenchProtocolException("bench_counter row missing");
            }
        }

        public async ValueTask DisposeAsync()
        {
            await command.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
