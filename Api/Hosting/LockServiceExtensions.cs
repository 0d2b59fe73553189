using OrleansLocks.Api.Endpoints;
using OrleansLocks.Api.Observability;
using OrleansLocks.Api.OpenApi;
using OrleansLocks.Api.Security;

namespace OrleansLocks.Api.Hosting;

/// <summary>
/// The whole lock service in two calls: what <c>Program.cs</c> runs, and what any other host of the service (the
/// <c>locks</c> tool's embedded service) runs too, so that every host serves the same endpoints with the same
/// security, limits and telemetry.
/// </summary>
public static class LockServiceExtensions
{
    /// <summary>Registers the silo (or the cluster client), the API, its security and its telemetry.</summary>
    public static WebApplicationBuilder AddLockService(this WebApplicationBuilder builder)
    {
        builder.AddServiceDefaults();
        builder.AddLockSilo();
        builder.AddLockApi();
        builder.AddLockSecurity();
        builder.AddObservability();
        return builder;
    }

    /// <summary>Adds the middleware and maps every endpoint: locks, cluster, health, OpenAPI and Swagger UI, metrics, dashboard.</summary>
    public static WebApplication MapLockService(this WebApplication app)
    {
        app.UseServiceDefaults();
        app.UseLockSecurity();
        app.MapLockApi();
        app.MapClusterApi();
        app.MapDefaultEndpoints();
        app.MapLockApiDocs();
        app.MapObservability();
        return app;
    }
}
