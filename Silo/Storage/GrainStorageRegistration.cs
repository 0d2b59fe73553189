using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Storage.Memory;
using OrleansLocks.Silo.Storage.Postgres;
using OrleansLocks.Silo.Storage.Sqlite;

namespace OrleansLocks.Silo.Storage;

/// <summary>The registrations behind <see cref="SiloServiceCollectionExtensions.AddGrainStorage"/>.</summary>
internal static class GrainStorageRegistration
{
    /// <summary>See <see cref="SiloServiceCollectionExtensions.AddGrainStorage"/>.</summary>
    public static IServiceCollection AddGrainStorage(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(GrainStorage)))
        {
            return services; // already added: a second health check named "storage" would fail at start-up.
        }

        services.AddOptions<GrainStorageOptions>()
            .Bind(configuration.GetSection(GrainStorageOptions.SectionName))
            .PostConfigure(o =>
            {
                if (string.IsNullOrWhiteSpace(o.PostgresConnectionString))
                {
                    o.PostgresConnectionString = configuration.GetConnectionString("Postgres");
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrainStorageOptions>, GrainStorageOptionsValidator>());

        // Rows are keyed by SiloOptions.ServiceId. AddGrainRuntime binds (and validates) the section too; binding it
        // twice sets the same values, and lets storage stand alone (tools, tests).
        services.AddOptions<SiloOptions>().Bind(configuration.GetSection(SiloOptions.SectionName));

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<IGrainStorageSerializer, JsonGrainStorageSerializer>();
        services.TryAddSingleton<GrainStorageMetrics>();
        services.TryAddSingleton<MemoryGrainStorageDatabase>();
        services.TryAddSingleton(CreateGrainStorageBackend);
        services.TryAddSingleton(sp => new GrainStorage(
            sp.GetRequiredService<IGrainStorageBackend>(),
            sp.GetRequiredService<IGrainStorageSerializer>(),
            sp.GetRequiredService<GrainStorageMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<GrainStorageOptions>>().Value.MaxBatchSize,
            sp.GetRequiredService<ILogger<GrainStorage>>()));
        services.TryAddSingleton<IGrainStorage>(sp => sp.GetRequiredService<GrainStorage>());
        services.TryAddSingleton<IGrainStorageIndex>(sp => sp.GetRequiredService<GrainStorage>());
        services.TryAddSingleton<GrainStorageInitializer>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<GrainStorageInitializer>());
        services.AddHealthChecks().AddCheck<GrainStorageHealthCheck>(
            GrainStorageHealthCheck.Name, failureStatus: null, tags: ["ready"], timeout: TimeSpan.FromSeconds(5));
        return services;
    }

    private static IGrainStorageBackend CreateGrainStorageBackend(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<GrainStorageOptions>>().Value;
        var serviceId = services.GetRequiredService<IOptions<SiloOptions>>().Value.ServiceId;
        var timeProvider = services.GetRequiredService<TimeProvider>();
        switch (options.Provider)
        {
            case GrainStorageProvider.Postgres:
                return new PostgresGrainStorageBackend(options.PostgresConnectionString!, serviceId, options.MaxConcurrentBatches, timeProvider);
            case GrainStorageProvider.Memory:
                return new MemoryGrainStorageBackend(services.GetRequiredService<MemoryGrainStorageDatabase>(), serviceId, options.MaxConcurrentBatches);
            default:
                // Relative to the content root (the app's directory in ASP.NET Core), else the current directory.
                var root = services.GetService<IHostEnvironment>()?.ContentRootPath ?? Directory.GetCurrentDirectory();
                return new SqliteGrainStorageBackend(Path.GetFullPath(options.SqlitePath, root), serviceId, timeProvider);
        }
    }
}
