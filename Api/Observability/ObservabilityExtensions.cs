using OrleansLocks.Api.Endpoints;
using OrleansLocks.Api.Security;
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

    /// <summary>
    /// <c>GET /metrics</c> (role viewer, rate limited) and the dashboard at <c>/dashboard</c> (static files, public: the
    /// page holds no data; every call it makes carries the caller's own credentials).
    /// </summary>
    public static IEndpointRouteBuilder MapObservability(this IEndpointRouteBuilder app)
    {
        app.MapPrometheusMetrics(configure: metrics => metrics
            .RequireRole(LockRoles.Viewer)
            .RequireRateLimiting(SecurityExtensions.RateLimitPolicy));
        app.MapDashboard();
        return app;
    }
}
