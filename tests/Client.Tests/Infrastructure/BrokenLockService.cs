using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OrleansLocks.Client.Tests.Infrastructure;

/// <summary>
/// A test double of the HTTP API that is a deliberately broken lock: every acquire is granted at once, whoever
/// holds the lock, and each fencing token is handed out twice. The simulation must catch it.
/// </summary>
public sealed class BrokenLockService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _grants;

    private BrokenLockService(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<BrokenLockService> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var service = new BrokenLockService(app);
        app.MapPost("/locks/{name}/acquire", (string name) => Results.Json(service.Lease(name, (Interlocked.Increment(ref service._grants) + 1) / 2)));
        app.MapPost("/locks/{name}/renew", (string name) => Results.Json(service.Lease(name, Interlocked.Read(ref service._grants))));
        app.MapPost("/locks/{name}/release", () => Results.NoContent());
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        service.BaseAddress = new Uri(address + "/");
        return service;
    }

    private object Lease(string name, long token)
    {
        var now = DateTimeOffset.UtcNow;
        return new
        {
            name,
            leaseId = Guid.NewGuid().ToString("N")[..22],
            mode = "exclusive",
            fencingToken = token,
            owner = "broken",
            acquiredAt = now,
            expiresAt = now.AddSeconds(30),
            ttlMs = 30000,
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
