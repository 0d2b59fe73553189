using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;

namespace OrleansLocks.Grains;

/// <summary>Registers the lock grain, its options and the lock listing.</summary>
public static class LockGrainsServiceCollectionExtensions
{
    /// <summary>The grain type name of <see cref="ILockGrain"/> (storage rows' grain_type).</summary>
    public const string GrainType = "lock";

    /// <summary>
    /// Binds <see cref="LockOptions"/> to the <c>Locks</c> section and validates it at start-up, registers
    /// <see cref="ILockGrain"/> under grain type "lock", <see cref="TimeProvider.System"/> (unless a
    /// <see cref="TimeProvider"/> is already registered) and <see cref="LockListing"/>.
    /// </summary>
    public static IServiceCollection AddLockGrains(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LockOptions>()
            .Bind(configuration.GetSection(LockOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LockOptions>, LockOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<LockListing>();
        services.AddMetrics();
        services.TryAddSingleton<LockMetrics>();
        services.AddSingleton(new GrainClassRegistration(typeof(ILockGrain), typeof(LockGrain), GrainType));
        return services;
    }
}
