using OrleansLocks.Grains;
using OrleansLocks.Silo.Hosting;

namespace OrleansLocks.Api.Hosting;

/// <summary>Co-hosts a silo in the web app.</summary>
public static class LockSiloExtensions
{
    /// <summary>
    /// The grain runtime (section <c>Silo</c>, <c>GrainCollection</c>), its storage (section <c>Storage</c>) and the
    /// lock grain (section <c>Locks</c>), all validated at start-up.
    /// </summary>
    public static IHostApplicationBuilder AddLockSilo(this IHostApplicationBuilder builder)
    {
        builder.Services
            .AddGrainRuntime(builder.Configuration)
            .AddGrainStorage(builder.Configuration)
            .AddLockGrains(builder.Configuration);
        return builder;
    }
}
