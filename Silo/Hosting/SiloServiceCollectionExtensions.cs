using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Storage;

namespace OrleansLocks.Silo.Hosting;

/// <summary>Registers the grain runtime, grain classes and grain storage.</summary>
public static class SiloServiceCollectionExtensions
{
    /// <summary>
    /// Adds the grain runtime of a silo: the catalog of activations, <see cref="IGrainFactory"/>,
    /// <see cref="ILocalSiloDetails"/>, <see cref="Membership.IClusterManagement"/>, idle collection and the hosted
    /// service that starts and stops the silo. When the silo is part of a cluster (<c>Cluster:Enabled</c>; by default
    /// when <c>Storage:Provider</c> is Postgres) it also joins the cluster's membership, serves the silo transport on
    /// <c>Silo:SiloPort</c> and routes every grain call to the grain's owner silo; otherwise it behaves as a single
    /// silo. Binds and validates <see cref="SiloOptions"/>, <see cref="GrainCollectionOptions"/> and
    /// <see cref="Membership.ClusterMembershipOptions"/> at start-up.
    /// </summary>
    public static IServiceCollection AddGrainRuntime(this IServiceCollection services, IConfiguration configuration)
        => GrainRuntimeServices.AddGrainRuntime(services, configuration);

    /// <summary>Registers grain class <typeparamref name="TGrain"/> for interface <typeparamref name="TGrainInterface"/> under grain type name <paramref name="grainType"/>.</summary>
    public static IServiceCollection AddGrain<TGrainInterface, TGrain>(this IServiceCollection services, string grainType)
        where TGrainInterface : IGrainWithStringKey
        where TGrain : class, IGrainBase, TGrainInterface
        => GrainRuntimeServices.AddGrain(services, typeof(TGrainInterface), typeof(TGrain), grainType);

    /// <summary>
    /// Adds a cluster client (a gateway) instead of a silo: <see cref="IGrainFactory"/> whose every call goes to the
    /// grain's owner silo over the silo transport, the membership view read from the cluster's PostgreSQL table
    /// (sections <c>Silo</c> for the service and cluster ids, <c>Cluster</c> for the table and timings), and
    /// <see cref="Membership.IClusterManagement"/>. Hosts no grains; grain classes must still be registered (e.g.
    /// AddLockGrains) so that their interfaces are known. Pair with <see cref="AddClusterClientHealthCheck"/>.
    /// </summary>
    public static IServiceCollection AddClusterClient(this IServiceCollection services, IConfiguration configuration)
        => ClusterServices.AddClusterClient(services, configuration);

    /// <summary>Adds the cluster client's health check ("cluster"): healthy while at least one silo is active.</summary>
    public static IHealthChecksBuilder AddClusterClientHealthCheck(this IHealthChecksBuilder builder, params string[] tags)
        => builder.AddCheck<Membership.ClusterClientHealthCheck>(Membership.ClusterClientHealthCheck.Name, tags: tags);

    /// <summary>
    /// Adds the grain storage chosen by the <c>Storage</c> section (<see cref="GrainStorageOptions"/>):
    /// <see cref="IGrainStorage"/>, <see cref="IGrainStorageIndex"/> and its health check. Validated at start-up.
    /// </summary>
    public static IServiceCollection AddGrainStorage(this IServiceCollection services, IConfiguration configuration)
        => GrainStorageRegistration.AddGrainStorage(services, configuration);
}
