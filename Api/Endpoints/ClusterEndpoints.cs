using Microsoft.AspNetCore.Http.HttpResults;
using OrleansLocks.Api.Models;
using OrleansLocks.Api.Security;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Api.Endpoints;

/// <summary>The <c>/cluster</c> endpoint of HTTP API v1.</summary>
public static class ClusterEndpoints
{
    /// <summary>Maps <c>GET /cluster</c>.</summary>
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/cluster", GetClusterAsync)
            .WithTags("Cluster")
            .WithName("GetCluster")
            .WithSummary("List the silos")
            .WithDescription(
                "Every silo of the cluster's membership table (a single silo: itself), with status, address, start time and " +
                "activation count. Each running silo is asked for its activation count with a short timeout; the count is null " +
                "when it could not be asked (the silo is dead or did not answer). Role: viewer (any prefixes: the view names no locks).")
            .RequireRole(LockRoles.Viewer)
            .RequireRateLimiting(SecurityExtensions.RateLimitPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        return app;
    }

    /// <summary>The silos of the membership table, with their activation counts.</summary>
    internal static async Task<Ok<ClusterResponse>> GetClusterAsync(IClusterManagement cluster, CancellationToken cancellationToken)
    {
        var silos = await cluster.GetSilosAsync(cancellationToken);
        return TypedResults.Ok(new ClusterResponse(
            [.. silos.Select(s => new SiloResponse(s.Name, s.Address, s.Status, s.StartedAt.UtcDateTime, s.ActivationCount))]));
    }
}
