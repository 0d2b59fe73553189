// TEMPORARY until Grains' LockListing and AddLockGrains are merged: lets the Api compile against their shape.
// Delete this file when merging main.
using Microsoft.Extensions.Configuration;

namespace OrleansLocks.Grains;

public sealed record LockPage(IReadOnlyList<LockStateView> Items, string? NextCursor);

public sealed class LockListing
{
    public Task<LockPage> ListAsync(string? prefix, int limit, string? cursor, CancellationToken cancellationToken)
        => throw new NotImplementedException();
}

public static class LockGrainsServiceCollectionExtensions
{
    public static IServiceCollection AddLockGrains(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LockOptions>().Bind(configuration.GetSection(LockOptions.SectionName));
        services.AddSingleton<LockListing>();
        return services;
    }
}
