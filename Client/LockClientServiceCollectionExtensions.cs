using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace OrleansLocks.Client;

/// <summary>Registers <see cref="LockClient"/> with dependency injection.</summary>
public static class LockClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LockClient"/> as a typed client of <c>IHttpClientFactory</c> (transient, over pooled
    /// handlers), its options (validated at start-up) and <see cref="TimeProvider.System"/> unless a TimeProvider is
    /// registered. The HttpClient gets <see cref="LockClientOptions.BaseAddress"/> and an infinite timeout: the
    /// client bounds each attempt itself (a long poll lasts up to a minute).
    /// </summary>
    /// <returns>The HttpClient builder, to add handlers (e.g. resilience, telemetry).</returns>
    public static IHttpClientBuilder AddLockClient(this IServiceCollection services, Action<LockClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.AddLogging();
        services.AddOptions<LockClientOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LockClientOptions>, LockClientOptionsValidator>());
        return services.AddHttpClient<LockClient>((provider, http) =>
        {
            var options = provider.GetRequiredService<IOptions<LockClientOptions>>().Value;
            http.BaseAddress = options.BaseAddress;
            http.Timeout = Timeout.InfiniteTimeSpan;
        });
    }
}
