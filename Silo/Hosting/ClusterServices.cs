using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Placement;
using OrleansLocks.Silo.Runtime;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Silo.Storage.Postgres;
using OrleansLocks.Silo.Transport;

namespace OrleansLocks.Silo.Hosting;

/// <summary>Whether this silo is part of a cluster, decided once from <see cref="ClusterMembershipOptions.Enabled"/> and the storage provider.</summary>
internal sealed class ClusterMode
{
    public ClusterMode(IOptions<ClusterMembershipOptions> cluster, IOptions<GrainStorageOptions> storage)
    {
        Enabled = cluster.Value.Enabled ?? storage.Value.Provider == GrainStorageProvider.Postgres;
        if (Enabled && storage.Value.Provider == GrainStorageProvider.Sqlite)
        {
            throw new InvalidOperationException(
                "Cluster:Enabled is true but Storage:Provider is Sqlite: the silos of a cluster must share their grain storage, " +
                "and a SQLite file belongs to one machine. Use Storage:Provider=Postgres, or Cluster:Enabled=false for a single silo.");
        }
    }

    public bool Enabled { get; }
}

/// <summary>
/// The cluster's part in the silo's life cycle; does nothing for a single silo. Resolves the cluster's services when
/// the silo starts joining, not when the host builds its hosted services, so that options validation reports a bad
/// setting before any of them is created.
/// </summary>
internal sealed class ClusterLifecycleParticipant(IServiceProvider services) : ISiloLifecycleParticipant
{
    private MembershipAgent? _agent;

    public Task OnJoiningAsync(CancellationToken cancellationToken)
    {
        _agent = services.GetRequiredService<ClusterMode>().Enabled ? services.GetRequiredService<MembershipAgent>() : null;
        return _agent?.OnJoiningAsync(cancellationToken) ?? Task.CompletedTask;
    }

    public Task OnActiveAsync(CancellationToken cancellationToken) => _agent?.OnActiveAsync(cancellationToken) ?? Task.CompletedTask;

    public Task OnShuttingDownAsync(bool graceful, CancellationToken cancellationToken)
        => _agent?.OnShuttingDownAsync(graceful, cancellationToken) ?? Task.CompletedTask;

    public Task OnStoppedAsync(bool graceful, CancellationToken cancellationToken)
        => _agent?.OnStoppedAsync(graceful, cancellationToken) ?? Task.CompletedTask;
}

/// <summary>The registrations of the cluster: membership, transport, placement and routing.</summary>
internal static class ClusterServices
{
    /// <summary>
    /// Registers everything a cluster member needs; which router and life-cycle participant the silo uses is decided
    /// when they are resolved (<see cref="ClusterMode"/>), so a single silo resolves none of it.
    /// </summary>
    public static void AddClusterMember(IServiceCollection services, IConfiguration configuration)
    {
        AddClusterCore(services, configuration);
        services.TryAddSingleton<ClusterMode>();
        services.TryAddSingleton<SiloTransportServer>();
        services.TryAddSingleton<SiloMessageHandler>();
        services.TryAddSingleton<ClusterHealthMonitor>();
        services.TryAddSingleton<MembershipAgent>();
        services.TryAddSingleton(sp => new ClusterGrainCallRouter(
            sp.GetRequiredService<MembershipTableManager>(),
            sp.GetRequiredService<SiloTransportClient>(),
            sp.GetRequiredService<Catalog>(),
            sp.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ClusterMetrics>(),
            sp.GetRequiredService<ILogger<ClusterGrainCallRouter>>()));
        services.TryAddSingleton<IGrainCallRouter>(sp => sp.GetRequiredService<ClusterMode>().Enabled
            ? sp.GetRequiredService<ClusterGrainCallRouter>()
            : sp.GetRequiredService<Catalog>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISiloLifecycleParticipant, ClusterLifecycleParticipant>());
        services.TryAddSingleton<IClusterManagement>(sp => sp.GetRequiredService<ClusterMode>().Enabled
            ? new ClusterManagement(
                sp.GetRequiredService<MembershipTableManager>(),
                sp.GetRequiredService<SiloTransportClient>(),
                sp.GetRequiredService<IOptions<ClusterMembershipOptions>>(),
                sp.GetRequiredService<ILocalSiloDetails>())
            : new LocalClusterManagement(sp.GetRequiredService<ILocalSiloDetails>()));
    }

    /// <summary>A cluster client (gateway): see <see cref="SiloServiceCollectionExtensions.AddClusterClient"/>.</summary>
    public static IServiceCollection AddClusterClient(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<SiloOptions>()
            .Bind(configuration.GetSection(SiloOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        AddClusterCore(services, configuration);
        services.TryAddSingleton<GrainClassMap>();
        services.TryAddSingleton(sp => new ClusterGrainCallRouter(
            sp.GetRequiredService<MembershipTableManager>(),
            sp.GetRequiredService<SiloTransportClient>(),
            catalog: null,
            sp.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ClusterMetrics>(),
            sp.GetRequiredService<ILogger<ClusterGrainCallRouter>>()));
        services.TryAddSingleton<IGrainCallRouter>(sp => sp.GetRequiredService<ClusterGrainCallRouter>());
        services.TryAddSingleton<OrleansLocks.Runtime.IGrainFactory, GrainFactory>();
        services.TryAddSingleton<IClusterManagement>(sp => new ClusterManagement(
            sp.GetRequiredService<MembershipTableManager>(),
            sp.GetRequiredService<SiloTransportClient>(),
            sp.GetRequiredService<IOptions<ClusterMembershipOptions>>(),
            localSilo: null));
        services.AddHostedService<ClusterClientHostedService>();
        return services;
    }

    /// <summary>Options, metrics, the membership table and view, and the transport client: what members and clients share.</summary>
    public static void AddClusterCore(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ClusterMembershipOptions>()
            .Bind(configuration.GetSection(ClusterMembershipOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClusterMembershipOptions>, ClusterMembershipOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SiloOptions>, SiloOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SiloOptions>, ClusterSecretValidator>());
        services.TryAddSingleton<ClusterSecretAuthenticator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<ClusterMetrics>();
        services.TryAddSingleton<PostgresDataSources>();
        services.TryAddSingleton<IMembershipTable>(sp => CreatePostgresMembershipTable(sp, configuration));
        services.TryAddSingleton<MembershipTableManager>();
        services.TryAddSingleton<SiloTransportClient>();
    }

    private static PostgresMembershipTable CreatePostgresMembershipTable(IServiceProvider services, IConfiguration configuration)
    {
        var connectionString = services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value.PostgresConnectionString;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            connectionString = services.GetRequiredService<IOptions<GrainStorageOptions>>().Value.PostgresConnectionString;
        }

        if (string.IsNullOrWhiteSpace(connectionString))
        {
            connectionString = configuration.GetConnectionString("Postgres");
        }

        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                "A cluster needs its membership table on PostgreSQL: set Cluster:PostgresConnectionString, Storage:PostgresConnectionString " +
                "or ConnectionStrings:Postgres (or Cluster:Enabled=false for a single silo).");
        }

        var silo = services.GetRequiredService<IOptions<SiloOptions>>().Value;
        return new PostgresMembershipTable(services.GetRequiredService<PostgresDataSources>().Get(connectionString), silo.ServiceId, silo.ClusterId);
    }
}
