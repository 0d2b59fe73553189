using Microsoft.AspNetCore.Http.HttpResults;
using OrleansLocks.Api.Models;
using OrleansLocks.Silo;

namespace OrleansLocks.Api.Endpoints;

/// <summary>The <c>/cluster</c> endpoint of HTTP API v1.</summary>
public static class ClusterEndpoints
{
    /// <summary>Maps <c>GET /cluster</c>.</summary>
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/cluster", GetCluster)
            .WithTags("Cluster")
            .WithName("GetCluster")
            .WithSummary("List the silos")
            .WithDescription("The silos this silo knows of, with status, address, start time and activation count.");
        return app;
    }

    /// <summary>The silos this silo knows of: today, itself.</summary>
    internal static Ok<ClusterResponse> GetCluster(ILocalSiloDetails silo)
        => TypedResults.Ok(new ClusterResponse(
        [
            new SiloResponse(silo.SiloName, silo.SiloAddress, silo.Status, silo.StartedAt.UtcDateTime, silo.ActivationCount),
        ]));
}
