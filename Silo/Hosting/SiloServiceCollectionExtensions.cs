using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Storage;

namespace OrleansLocks.Silo.Hosting;

/// <summary>Registers the grain runtime, grain classes and grain storage.</summary>
public static class SiloServiceCollectionExtensions
{
    /// <summary>
    /// Adds the grain runtime of a single silo: the catalog of activations, <see cref="IGrainFactory"/>,
    /// <see cref="ILocalSiloDetails"/>, idle collection and the hosted service that starts and stops the silo.
    /// Binds and validates <see cref="SiloOptions"/> and <see cref="GrainCollectionOptions"/> at start-up.
    /// </summary>
    public static IServiceCollection AddGrainRuntime(this IServiceCollection services, IConfiguration configuration)
        => GrainRuntimeServices.AddGrainRuntime(services, configuration);

    /// <summary>Registers grain class <typeparamref name="TGrain"/> for interface <typeparamref name="TGrainInterface"/> under grain type name <paramref name="grainType"/>.</summary>
    public static IServiceCollection AddGrain<TGrainInterface, TGrain>(this IServiceCollection services, string grainType)
        where TGrainInterface : IGrainWithStringKey
        where TGrain : class, IGrainBase, TGrainInterface
        => GrainRuntimeServices.AddGrain(services, typeof(TGrainInterface), typeof(TGrain), grainType);

    /// <summary>
    /// Adds the grain storage chosen by the <c>Storage</c> section (<see cref="GrainStorageOptions"/>):
    /// <see cref="IGrainStorage"/>, <see cref="IGrainStorageIndex"/> and its health check. Validated at start-up.
    /// </summary>
    public static IServiceCollection AddGrainStorage(this IServiceCollection services, IConfiguration configuration)
        => GrainStorageRegistration.AddGrainStorage(services, configuration);
}
