using OrleansLocks.Grains;
using OrleansLocks.Silo.Hosting;

namespace OrleansLocks.Api.Hosting;

/// <summary>Connects the web app to the lock grains: a co-hosted silo, or a gateway to a silo cluster.</summary>
public static class LockSiloExtensions
{
    /// <summary>The tag of the health checks that decide readiness (<c>/health/ready</c>).</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// With <c>Api:Mode=CoHosted</c> (the default): the grain runtime (sections <c>Silo</c>, <c>GrainCollection</c>,
    /// <c>Cluster</c>), its storage (section <c>Storage</c>) and the lock grain (section <c>Locks</c>), all validated at
    /// start-up, and the "silo" health check; on PostgreSQL the silo joins its cluster. With <c>Api:Mode=Gateway</c>:
    /// a cluster client that sends every call to the owner silo, storage for lock listings, and the "cluster" health
    /// check; no grains are hosted here.
    /// </summary>
    public static IHostApplicationBuilder AddLockSilo(this IHostApplicationBuilder builder)
    {
        // Decided while registering services: a gateway and a silo need different ones. A value that is not a mode
        // fails here, naming Api:Mode.
        var mode = builder.Configuration.GetValue($"{ApiOptions.SectionName}:{nameof(ApiOptions.Mode)}", ApiMode.CoHosted);
        if (mode == ApiMode.Gateway)
        {
            builder.Services
                .AddClusterClient(builder.Configuration)
                .AddGrainStorage(builder.Configuration)
                .AddLockGrains(builder.Configuration);
            builder.Services.AddHealthChecks().AddClusterClientHealthCheck(ReadyTag);
            return builder;
        }

        builder.Services
            .AddGrainRuntime(builder.Configuration)
            .AddGrainStorage(builder.Configuration)
            .AddLockGrains(builder.Configuration);

        // The storage check is registered by AddGrainStorage with the same tag.
        builder.Services.AddHealthChecks().AddSiloHealthCheck(ReadyTag);
        return builder;
    }
}
