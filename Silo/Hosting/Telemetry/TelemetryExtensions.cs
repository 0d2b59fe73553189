using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OrleansLocks.Silo.Hosting.Telemetry;

/// <summary>Metrics and traces of a silo or Api process: Prometheus text at <c>/metrics</c>, OTLP by configuration.</summary>
public static class TelemetryExtensions
{
    /// <summary>
    /// Binds and validates <see cref="TelemetryOptions"/> (section <c>Telemetry</c>), starts aggregating the selected
    /// meters for <c>/metrics</c> when the host starts, and exports metrics and traces over OTLP when an endpoint is
    /// configured (<c>Telemetry:Otlp:Endpoint</c> or <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>).
    /// </summary>
    public static IHostApplicationBuilder AddOrleansLocksTelemetry(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(sp => new PrometheusMetrics(
            sp.GetRequiredService<IMeterFactory>(), sp.GetRequiredService<IOptions<TelemetryOptions>>().Value.Meters));
        services.AddHostedService<TelemetryHostedService>();
        return builder;
    }

    /// <summary>
    /// Maps <c>GET /metrics</c> (Prometheus text format 0.0.4) unless <c>Telemetry:Prometheus:Enabled</c> is false;
    /// <paramref name="configure"/> adds the host's conventions (the Api: authorization and rate limiting).
    /// </summary>
    public static IEndpointRouteBuilder MapPrometheusMetrics(
        this IEndpointRouteBuilder app, string pattern = "/metrics", Action<IEndpointConventionBuilder>? configure = null)
    {
        if (!app.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value.Prometheus.Enabled)
        {
            return app;
        }

        var endpoint = app.MapGet(pattern, (PrometheusMetrics metrics) => Results.Text(metrics.Scrape(), PrometheusMetrics.ContentType))
            .WithName("Metrics")
            .WithTags("Operations")
            .WithSummary("Metrics in Prometheus text format")
            .WithDescription("Counters, gauges and histograms of the meters selected by Telemetry:Meters (OrleansLocks.* and ASP.NET Core's), since the process started.")
            .Produces<string>(StatusCodes.Status200OK, "text/plain");
        configure?.Invoke(endpoint);
        return app;
    }
}
