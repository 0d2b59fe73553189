using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Silo.Runtime;

namespace OrleansLocks.Silo.Hosting;

/// <summary>Registers the silo's health check.</summary>
public static class SiloHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="SiloHealthCheck"/> under the name <see cref="SiloHealthCheck.Name"/> ("silo"): healthy only while
    /// the local silo is Active. Needs <see cref="SiloServiceCollectionExtensions.AddGrainRuntime"/>.
    /// </summary>
    public static IHealthChecksBuilder AddSiloHealthCheck(this IHealthChecksBuilder builder, params string[] tags)
        => builder.AddCheck<SiloHealthCheck>(SiloHealthCheck.Name, tags: tags);
}
