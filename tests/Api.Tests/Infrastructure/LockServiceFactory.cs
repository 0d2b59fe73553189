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
    Action<IServiceCollection>? configureServices = null)
    : WebApplicationFactory<Program>
{
    /// <summary>The admin key the tests use; its SHA-256 is configured in Api:AdminKeyHashes.</summary>
    public const string AdminKey = "test-admin-key-0123456789";

    public static string AdminKeyHash => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AdminKey)));

    public string ConnectionString { get; } = postgresConnectionString;

    /// <summary>Log lines at Warning and above, for tests that check what the service logs.</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Storage:Provider", "Postgres");
        builder.UseSetting("Storage:PostgresConnectionString", ConnectionString);
        builder.UseSetting("Api:AdminKeyHashes:0", AdminKeyHash);
        builder.UseSetting("Api:AllowAnonymousAdmin", "false");
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
}
