using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Api.Tests.Infrastructure;

namespace OrleansLocks.Api.Tests.Security;

/// <summary>
/// Secure by default: every endpoint the app maps requires authorization and is rate limited, except an explicit
/// list of public ones. A new endpoint that forgets it fails here rather than ships open.
/// </summary>
public sealed class EndpointProtectionTests(PostgresServiceFixture fixture) : IClassFixture<PostgresServiceFixture>
{
    /// <summary>Endpoints anyone may call: Kubernetes probes and the API description.</summary>
    private static readonly HashSet<string> Public = ["/health/live", "/health/ready", "/openapi/{documentName}.json"];

    [Fact]
    public void EveryEndpoint_ExceptThePublicOnes_RequiresAuthorizationAndIsRateLimited()
    {
        var endpoints = fixture.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.Contains(endpoints, e => e.RoutePattern.RawText == "/locks/{name}/acquire");

        var open = endpoints
            .Where(e => !Public.Contains(e.RoutePattern.RawText ?? ""))
            .Where(e => e.Metadata.GetMetadata<AuthorizationPolicy>() is null && e.Metadata.GetMetadata<IAuthorizeData>() is null
                || e.Metadata.GetMetadata<EnableRateLimitingAttribute>() is null)
            .Select(e => e.DisplayName ?? e.RoutePattern.RawText)
            .ToList();

        Assert.True(open.Count == 0,
            "These endpoints are not protected: give them .RequireRole/.RequireLockRole and .RequireRateLimiting (Api/Security), " +
            "or add them to the public list on purpose: " + string.Join(", ", open));
    }
}
