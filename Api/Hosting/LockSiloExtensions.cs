using OrleansLocks.Grains;
using OrleansLocks.Silo.Hosting;

namespace OrleansLocks.Api.Hosting;

/// <summary>Co-hosts a silo in the web app.</summary>
public static class LockSiloExtensions
{
    /// <summary>The tag of the health checks that decide readiness (<c>/health/ready</c>).</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// The grain runtime (section <c>Silo</c>, <c>GrainCollection</c>), its storage (section <c>Storage</c>) and the
    /// lock grain (section <c>Locks</c>), all validated at start-up; the "silo" health check.
    /// </summary>
    public static IHostApplicationBuilder AddLockSilo(this IHostApplicationBuilder builder)
    {
        builder.Services
            .AddGrainRuntime(builder.Configuration)
            .AddGrainStorage(builder.Configuration)
            .AddLockGrains(builder.Configuration);

        // The storage check is registered by AddGrainStorage with the same tag.
        builder.Services.AddHealthChecks().AddSiloHealthCheck(ReadyTag);
        return builder;
    }
}
