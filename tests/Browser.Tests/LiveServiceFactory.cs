using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OrleansLocks.Browser.Tests;

/// <summary>
/// The real service (Program) on a real Kestrel loopback port, so a browser can reach it. Storage in memory: these
/// tests are about what a person sees; storage is tested against PostgreSQL elsewhere.
/// </summary>
public sealed class LiveServiceFactory : WebApplicationFactory<Program>
{
    public LiveServiceFactory() => UseKestrel(options => options.Listen(System.Net.IPAddress.Loopback, 0));

    /// <summary>The service's base address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>An HttpClient on the real port (not the in-memory test server).</summary>
    public HttpClient Http { get; private set; } = null!;

    public void Start()
    {
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(90) };
    }

    public async Task<Lease> AcquireAsync(string name, object body)
    {
        using var response = await Http.PostAsJsonAsync($"locks/{name}/acquire", body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<Lease>())!;
    }

    public async Task ReleaseAsync(string name, string leaseId)
    {
        using var response = await Http.PostAsJsonAsync($"locks/{name}/release", new { leaseId });
        response.EnsureSuccessStatusCode();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Storage:Provider", "Memory");
        builder.UseSetting("Security:AllowAnonymous", "true");
        builder.ConfigureLogging(logging => logging.ClearProviders().SetMinimumLevel(LogLevel.Warning));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Http?.Dispose();
        }

        base.Dispose(disposing);
    }

    public sealed record Lease(string Name, string LeaseId, string Mode, long FencingToken, string Owner);
}
