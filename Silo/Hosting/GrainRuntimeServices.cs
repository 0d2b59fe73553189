using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Runtime;

namespace OrleansLocks.Silo.Hosting;

/// <summary>The registrations behind <see cref="SiloServiceCollectionExtensions.AddGrainRuntime"/> and <c>AddGrain</c>.</summary>
internal static class GrainRuntimeServices
{
    public static IServiceCollection AddGrainRuntime(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<SiloOptions>()
            .Bind(configuration.GetSection(SiloOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<GrainCollectionOptions>()
            .Bind(configuration.GetSection(GrainCollectionOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrainCollectionOptions>, GrainCollectionOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<SiloMetrics>();
        services.TryAddSingleton<GrainClassMap>();
        services.TryAddSingleton<LocalSiloStatus>();
        services.TryAddSingleton<Catalog>();
        services.TryAddSingleton<IGrainCallRouter>(sp => sp.GetRequiredService<Catalog>());
        services.TryAddSingleton<IGrainFactory, GrainFactory>();
        services.TryAddSingleton<LocalSiloDetails>();
        services.TryAddSingleton<ILocalSiloDetails>(sp => sp.GetRequiredService<LocalSiloDetails>());
        services.TryAddSingleton<ActivationCollector>();
        services.AddHostedService<SiloHostedService>();
        return services;
    }

    public static IServiceCollection AddGrain(IServiceCollection services, Type grainInterface, Type grainClass, string grainType)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(grainType);
        if (!grainInterface.IsInterface)
        {
            throw new ArgumentException($"{grainInterface.FullName} is not an interface.", nameof(grainInterface));
        }

        if (grainClass.IsAbstract)
        {
            throw new ArgumentException($"Grain class {grainClass.FullName} is abstract.", nameof(grainClass));
        }

        services.AddSingleton(new GrainClassRegistration(grainInterface, grainClass, grainType));
        return services;
    }
}
