using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using OrleansLocks.Cluster.Tests.Infrastructure;
using OrleansLocks.Testing;
using Xunit.Abstractions;

namespace OrleansLocks.Cluster.Tests.Api;

/// <summary>The Api as a gateway of a silo cluster (<c>Api:Mode=Gateway</c>): it hosts no grains and routes every call.</summary>
public sealed class GatewayTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestCluster _cluster = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _cluster = await TestCluster.StartAsync(ClusterBackend.Postgres, silos: 3);
        _gateway = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Api:Mode"] = "Gateway",
            ["Storage:Provider"] = "Postgres",
            ["Storage:PostgresConnectionString"] = _cluster.ConnectionString,
            ["Silo:ServiceId"] = _cluster.ServiceId,
            ["Silo:ClusterId"] = _cluster.ClusterId,
            ["Silo:ClusterSecret"] = OrleansLocks.Testing.TestSecrets.ClusterSecret,
            ["Security:AllowAnonymous"] = "true",
        });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        output.WriteLine(_cluster.Logs.Dump());
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task Acquire_ThroughTheGateway_RunsOnTheOwnerSiloAndClusterListsEverySilo()
    {
        using var http = _gateway.CreateClient();
        var name = _cluster.LockOwnedBy(_cluster.Silos[2], "gw");

        var lease = await AcquireAsync(http, name, "r1");
        var cluster = await http.GetFromJsonAsync<JsonObject>("/cluster");
        var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));

        Assert.Equal(1, lease["fencingToken"]!.GetValue<long>());
        Assert.True(_cluster.Silos[2].Hosts(name));
        var silos = cluster!["silos"]!.AsArray();
        Assert.Equal(_cluster.Silos.Select(s => s.Details.SiloAddress), silos.Select(s => s!["address"]!.GetValue<string>()));
        Assert.All(silos, s => Assert.Equal("active", s!["status"]!.GetValue<string>()));
        Assert.Equal(1, silos.Sum(s => s!["activationCount"]!.GetValue<int>()));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var listed = await http.GetFromJsonAsync<JsonObject>("/locks?prefix=gw");
        Assert.Equal(name, Assert.Single(listed!["items"]!.AsArray())!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task KillSilo_TheGatewayServesItsLocksAgainWithTheirState()
    {
        using var http = _gateway.CreateClient();
        var victim = _cluster.Silos[1];
        var name = _cluster.LockOwnedBy(victim, "gwkill");
        var lease = await AcquireAsync(http, name, "r1");

        await _cluster.KillSiloAsync(victim);

        // A client retries on 503 (the Api's answer while the owner is unreachable) until a survivor serves the lock.
        JsonObject? state = null;
        await Eventually.TrueAsync(
            async () =>
            {
                using var response = await http.GetAsync(new Uri($"/locks/{name}", UriKind.Relative));
                Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, response.StatusCode.ToString());
                state = response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadFromJsonAsync<JsonObject>() : null;
                return state is not null;
            },
            "the lock is served again after the kill");

        Assert.Equal(lease["fencingToken"]!.GetValue<long>(), Assert.Single(state!["holders"]!.AsArray())!["fencingToken"]!.GetValue<long>());
        using var release = await http.PostAsJsonAsync($"/locks/{name}/release", new { leaseId = lease["leaseId"]!.GetValue<string>() });
        Assert.Equal(HttpStatusCode.NoContent, release.StatusCode);
    }

    private static async Task<JsonObject> AcquireAsync(HttpClient http, string name, string requestId)
    {
        using var response = await http.PostAsJsonAsync($"/locks/{name}/acquire", new { owner = "gateway-client", requestId });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private sealed class GatewayFactory(Dictionary<string, string?> settings) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureLogging(logging => logging.ClearProviders());
        }
    }
}

/// <summary>The gateway's configuration is checked at start-up.</summary>
public sealed class GatewayConfigurationTests
{
    [Fact]
    public void Start_GatewayWithoutPostgres_FailsNamingTheSettings()
    {
        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("Api:Mode", "Gateway");
            builder.UseSetting("Storage:Provider", "Sqlite");
            builder.UseSetting("Security:AllowAnonymous", "true");
            builder.UseSetting("Silo:ClusterSecret", OrleansLocks.Testing.TestSecrets.ClusterSecret);
            builder.ConfigureLogging(logging => logging.ClearProviders());
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("Api:Mode is Gateway", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Storage:Provider=Postgres", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Start_UnknownMode_FailsNamingIt()
    {
        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("Api:Mode", "Sidecar");
            builder.UseSetting("Security:AllowAnonymous", "true");
            builder.UseSetting("Silo:ClusterSecret", OrleansLocks.Testing.TestSecrets.ClusterSecret);
            builder.ConfigureLogging(logging => logging.ClearProviders());
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("Api:Mode", error.ToString(), StringComparison.Ordinal);
    }
}
