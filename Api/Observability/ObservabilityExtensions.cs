using OrleansLocks.Api.Endpoints;
using OrleansLocks.Silo.Hosting.Telemetry;

namespace OrleansLocks.Api.Observability;

/// <summary>Metrics, traces and the dashboard of the Api (see docs/observability.md).</summary>
public static class ObservabilityExtensions
{
    /// <summary>
    /// Telemetry (section <c>Telemetry</c>: <c>/metrics</c>, OTLP when configured) and the Api's own instruments
    /// (meter <c>OrleansLocks.Api</c>). Logs are configured by the standard <c>Logging</c> section
    /// (<c>Logging:Console:FormatterName=json</c> for JSON lines).
    /// </summary>
    public static IHostApplicationBuilder AddObservability(this IHostApplicationBuilder builder)
    {
        builder.AddOrleansLocksTelemetry();
        builder.Services.AddSingleton<ApiMetrics>();
        return builder;
    }

    /// <summary><c>GET /metrics</c> and the dashboard at <c>/dashboard</c>.</summary>
    public static IEndpointRouteBuilder MapObservability(this IEndpointRouteBuilder app)
    {
        app.MapPrometheusMetrics();
        app.MapDashboard();
        return app;
    }
}
