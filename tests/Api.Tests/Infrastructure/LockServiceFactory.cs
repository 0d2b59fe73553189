using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OrleansLocks.Api.Tests.Infrastructure;

/// <summary>
/// The real service (Program: co-hosted silo, lock grain, storage) in process, on a PostgreSQL database given by
/// connection string. Settings are applied with UseSetting so they are visible while Program registers services.
/// </summary>
public sealed class LockServiceFactory(
    string postgresConnectionString,
    IReadOnlyDictionary<string, string?>? settings = null,
    Action<IServiceCollection>? configureServices = null,
    bool configureApiKeys = true)
    : WebApplicationFactory<Program>
{
    /// <summary>The admin key the tests use (principal <c>test-admin</c>: admin on every lock).</summary>
    public const string AdminKey = "test-admin-key-0123456789";

    /// <summary>The key every client of <see cref="WebApplicationFactory{T}.CreateClient()"/> sends (principal <c>test-client</c>: client and viewer on every lock).</summary>
    public const string ClientKey = "test-client-key-0123456789";

    public static string AdminKeyHash => Hash(AdminKey);

    /// <summary>The SHA-256 hex of a key, as configured in Security:ApiKeys.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public string ConnectionString { get; } = postgresConnectionString;

    /// <summary>Log lines at Warning and above, for tests that check what the service logs.</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Storage:Provider", "Postgres");
        builder.UseSetting("Storage:PostgresConnectionString", ConnectionString);

        // On PostgreSQL the silo is a cluster member (a cluster of one, per test database): its silo-to-silo port is
        // any free loopback port, so test classes running side by side do not compete for 11111.
        builder.UseSetting("Silo:SiloPort", "0");
        builder.UseSetting("Silo:AdvertisedAddress", "127.0.0.1");
        builder.UseSetting("Silo:ListenAddress", "127.0.0.1");
        builder.UseSetting("Silo:ClusterSecret", OrleansLocks.Testing.TestSecrets.ClusterSecret);
        if (configureApiKeys)
        {
            ConfigureApiKeys(builder);
        }

        // Tests send requests in bursts from one principal; the rate limit has tests of its own.
        builder.UseSetting("Security:RateLimit:TokenLimit", "0");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        if (configureServices is not null)
        {
            builder.ConfigureTestServices(configureServices);
        }

        builder.ConfigureLogging(logging =>
        {
            logging.ClearProviders();
            logging.SetMinimumLevel(LogLevel.Warning);
            logging.AddProvider(Logs);
        });
    }

    private static void ConfigureApiKeys(IWebHostBuilder builder)
    {
        builder.UseSetting("Security:ApiKeys:0:Name", "test-client");
        builder.UseSetting("Security:ApiKeys:0:KeyHash", Hash(ClientKey));
        builder.UseSetting("Security:ApiKeys:0:Roles:0", "client");
        builder.UseSetting("Security:ApiKeys:0:Roles:1", "viewer");
        builder.UseSetting("Security:ApiKeys:0:Prefixes:0", "*");
        builder.UseSetting("Security:ApiKeys:1:Name", "test-admin");
        builder.UseSetting("Security:ApiKeys:1:KeyHash", AdminKeyHash);
        builder.UseSetting("Security:ApiKeys:1:Roles:0", "admin");
        builder.UseSetting("Security:ApiKeys:1:Prefixes:0", "*");
    }

    /// <summary>Clients send the client key unless the test says otherwise (<c>Server.CreateClient()</c> sends none).</summary>
    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        client.DefaultRequestHeaders.Add("X-Api-Key", ClientKey);
    }
}
