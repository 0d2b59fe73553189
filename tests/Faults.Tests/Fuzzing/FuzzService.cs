using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using OrleansLocks.FaultChecker.Checking;
using OrleansLocks.FaultChecker.History;
using OrleansLocks.FaultChecker.Workload;
using OrleansLocks.Testing;

namespace OrleansLocks.Faults.Tests.Fuzzing;

/// <summary>The real service in process (WebApplicationFactory) on a fresh database of a real PostgreSQL.</summary>
public sealed class FuzzServiceFactory(string connectionString) : WebApplicationFactory<Program>
{
    /// <summary>The API key every fuzz request carries.</summary>
    public const string ApiKey = "fuzz-client-key-0123456789abcdef";

    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Storage:Provider", "Postgres");
        builder.UseSetting("Storage:PostgresConnectionString", connectionString);
        builder.UseSetting("ConnectionStrings:Postgres", connectionString);

        // On PostgreSQL the silo is a cluster member (a cluster of one): any free loopback port for its silo port.
        builder.UseSetting("Silo:SiloPort", "0");
        builder.UseSetting("Silo:AdvertisedAddress", "127.0.0.1");
        builder.UseSetting("Silo:ListenAddress", "127.0.0.1");
        builder.UseSetting("Silo:ClusterSecret", TestSecrets.ClusterSecret);

        // A client and viewer on every lock, without admin rights: force-release stays refused (403), as before.
        builder.UseSetting("Security:ApiKeys:0:Name", "fuzzer");
        builder.UseSetting("Security:ApiKeys:0:KeyHash", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(ApiKey))));
        builder.UseSetting("Security:ApiKeys:0:Roles:0", "client");
        builder.UseSetting("Security:ApiKeys:0:Roles:1", "viewer");
        builder.UseSetting("Security:ApiKeys:0:Prefixes:0", "*");
        builder.UseSetting("Security:RateLimit:TokenLimit", "0");
        builder.ConfigureLogging(logging => logging.ClearProviders().SetMinimumLevel(LogLevel.Warning));
    }
}

/// <summary>One service for every fuzz test of the class, plus the lock names they touched (checked at the end).</summary>
public sealed class FuzzServiceFixture : IAsyncLifetime
{
    private FuzzServiceFactory? _factory;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>Valid lock names the fuzz cases used; their state must be well-formed afterwards.</summary>
    public ConcurrentDictionary<string, bool> Touched { get; } = new(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        var postgres = await PostgresServer.GetAsync();
        var connectionString = await postgres.CreateDatabaseAsync("faults_fuzz");
        _factory = new FuzzServiceFactory(connectionString);
        Client = _factory.CreateClient();
        Client.Timeout = TimeSpan.FromSeconds(90);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }

    /// <summary>GET /locks/{name} parsed into the checker's snapshot.</summary>
    internal async Task<LockSnapshot> ReadStateAsync(string name)
    {
        using var response = await Client.GetAsync($"locks/{Uri.EscapeDataString(name)}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /locks/{name} answered {(int)response.StatusCode}: {text}");
        using var json = JsonDocument.Parse(text);
        var op = LockServiceClient.ReadState(
            new Operation { Process = "fuzz", Kind = OpKind.Read, Outcome = OpOutcome.Ok, InvokedMs = 0, CompletedMs = 0 },
            json.RootElement);
        return op.State!;
    }

    /// <summary>What is wrong with the state of every touched lock and every listed lock (empty: the invariants hold).</summary>
    internal async Task<List<string>> InvariantProblemsAsync()
    {
        var problems = new List<string>();
        foreach (var name in Touched.Keys.Order(StringComparer.Ordinal))
        {
            var state = await ReadStateAsync(name);
            problems.AddRange(HistoryChecker.StateProblems(state).Select(p => $"{name}: {p}"));
        }

        string? cursor = null;
        var pages = 0;
        do
        {
            var url = "locks?limit=1000" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            using var response = await Client.GetAsync(url);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {url} answered {(int)response.StatusCode}: {text}");
            using var json = JsonDocument.Parse(text);
            foreach (var item in json.RootElement.GetProperty("items").EnumerateArray())
            {
                var op = LockServiceClient.ReadState(
                    new Operation { Process = "fuzz", Kind = OpKind.Read, Outcome = OpOutcome.Ok, InvokedMs = 0, CompletedMs = 0 },
                    item);
                problems.AddRange(HistoryChecker.StateProblems(op.State!).Select(p => $"{item.GetProperty("name").GetString()} (listed): {p}"));
            }

            cursor = json.RootElement.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null && ++pages < 100);

        return problems;
    }
}
