using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Grains;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Hosting.Telemetry;

namespace OrleansLocks.Silo;

/// <summary>
/// The headless silo: a cluster member that hosts lock grains (configure <c>Storage:Provider=Postgres</c> and its
/// connection string, <c>Silo:ClusterId</c>, <c>Silo:SiloPort</c>, <c>Silo:AdvertisedAddress</c>). It serves other
/// silos and gateways on the silo port, and health on the web host's URLs (<c>ASPNETCORE_URLS</c> or <c>--urls</c>):
/// <c>/health/live</c>, <c>/health/ready</c> and <c>/metrics</c> (Prometheus text; OTLP by configuration). No lock API: run the Api in front (co-hosting or as a gateway).
/// </summary>
internal static class Program
{
    private const string ReadyTag = "ready";

    private static Task Main(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Services
            .AddGrainRuntime(builder.Configuration)
            .AddGrainStorage(builder.Configuration)
            .AddLockGrains(builder.Configuration);

        // The storage check is registered by AddGrainStorage with the same tag.
        builder.Services.AddHealthChecks().AddSiloHealthCheck(ReadyTag);
        builder.AddOrleansLocksTelemetry();

        var app = builder.Build();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        app.MapPrometheusMetrics();
        return app.RunAsync();
    }
}
