using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using OrleansLocks.Api.Endpoints;
using OrleansLocks.Api.Hosting;
using OrleansLocks.Api.OpenApi;
using OrleansLocks.Api.Security;

namespace OrleansLocks.Cli.Hosting;

/// <summary>
/// The real lock service (the Api with its co-hosted silo) inside this process, on a free loopback port, with
/// embedded SQLite storage in a temporary directory that is deleted on dispose. For `locks simulate` without --url:
/// the same endpoints, grain and storage as a deployed service, nothing reachable from outside the machine, and
/// anonymous access (Development-style admin, so a simulation may force-release).
/// </summary>
internal sealed class EmbeddedLockService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _directory;

    private EmbeddedLockService(WebApplication app, string directory, Uri baseAddress)
    {
        _app = app;
        _directory = directory;
        BaseAddress = baseAddress;
    }

    /// <summary>Where the service listens, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Starts the service; <paramref name="settings"/> override the defaults (e.g. <c>Locks:MaxWait</c>).</summary>
    public static async Task<EmbeddedLockService> StartAsync(
        IReadOnlyDictionary<string, string?>? settings = null,
        LogLevel minimumLogLevel = LogLevel.Warning,
        CancellationToken cancellationToken = default)
    {
        var directory = Directory.CreateTempSubdirectory("orleanslocks-cli-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [],
            EnvironmentName = Environments.Production,
            ContentRootPath = directory,
        });

        var configuration = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "Sqlite",
            ["Storage:SqlitePath"] = Path.Combine(directory, "locks.db"),
            // With the security layer: requests without credentials act as "anonymous" with every role, and the
            // simulation's bursts are not rate limited (it measures the lock, not the abuse limits).
            ["Security:AllowAnonymous"] = "true",
            ["Security:RateLimit:TokenLimit"] = "0",
            ["Api:Mode"] = "CoHosted",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(minimumLogLevel);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddFilter((category, level) => level >= minimumLogLevel);

        // Anonymous admin is what an embedded, loopback-only service wants; its start-up warning would only alarm.
        builder.Logging.AddFilter("OrleansLocks.Api.Security", LogLevel.Error);
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));

        // The same service as Api/Program.cs runs.
        builder.AddLockService();
        var app = builder.Build();
        app.MapLockService();

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            TryDelete(directory);
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EmbeddedLockService(app, directory, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync(CancellationToken.None);
        }
        finally
        {
            await _app.DisposeAsync();
            TryDelete(_directory);
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A temporary directory left behind is not worth failing for.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
