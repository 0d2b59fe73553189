using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Mvc;
using OrleansLocks.Api.Problems;

namespace OrleansLocks.Api.Security;

/// <summary>What an endpoint needs from the caller: a role, and for endpoints with a <c>{name}</c>, that lock.</summary>
/// <param name="Role">The role the endpoint needs (admin implies the others).</param>
/// <param name="LockRouteValue">The route value holding the lock name, or null for endpoints about no single lock.</param>
internal sealed record LockAccessRequirement(LockRoles Role, string? LockRouteValue) : IAuthorizationRequirement;

/// <summary>Grants a <see cref="LockAccessRequirement"/> to a principal with the role and, for a lock, a prefix covering it.</summary>
internal sealed class LockAccessHandler : AuthorizationHandler<LockAccessRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, LockAccessRequirement requirement)
    {
        if (LockPrincipal.From(context.User) is not { } principal)
        {
            return Task.CompletedTask;
        }

        if (!principal.Has(requirement.Role))
        {
            context.Fail(new AuthorizationFailureReason(this,
                $"The principal '{principal.Name}' does not have the {requirement.Role.ToString().ToLowerInvariant()} role this endpoint needs."));
            return Task.CompletedTask;
        }

        if (requirement.LockRouteValue is { } routeValue && context.Resource is HttpContext http)
        {
            var name = http.GetRouteValue(routeValue) as string ?? "";
            if (!principal.Covers(name))
            {
                context.Fail(new AuthorizationFailureReason(this,
                    $"The lock '{Shorten(name)}' is outside the lock-name prefixes of the principal '{principal.Name}' ({principal.DescribePrefixes()})."));
                return Task.CompletedTask;
            }
        }

        context.Succeed(requirement);
        return Task.CompletedTask;
    }

    private static string Shorten(string name) => name.Length > 60 ? name[..60] + "…" : name;
}

/// <summary>Endpoint conventions for the lock API's authorization.</summary>
internal static class LockAuthorizationEndpointExtensions
{
    /// <summary>Requires <paramref name="role"/> on the lock named by the <c>{name}</c> route value.</summary>
    public static TBuilder RequireLockRole<TBuilder>(this TBuilder builder, LockRoles role)
        where TBuilder : IEndpointConventionBuilder
        => builder.RequireAuthorization(new AuthorizationPolicyBuilder(LockAuthenticationHandler.SchemeName)
            .RequireAuthenticatedUser()
            .AddRequirements(new LockAccessRequirement(role, "name"))
            .Build());

    /// <summary>Requires <paramref name="role"/>, about no single lock (listings filter by prefix themselves; the cluster view has no locks).</summary>
    public static TBuilder RequireRole<TBuilder>(this TBuilder builder, LockRoles role)
        where TBuilder : IEndpointConventionBuilder
        => builder.RequireAuthorization(new AuthorizationPolicyBuilder(LockAuthenticationHandler.SchemeName)
            .RequireAuthenticatedUser()
            .AddRequirements(new LockAccessRequirement(role, LockRouteValue: null))
            .Build());
}

/// <summary>
/// Answers refused requests as the API's other errors: 401 <c>unauthorized</c> (no or bad credentials, with
/// <c>WWW-Authenticate</c>) and 403 <c>forbidden</c> (a role or prefix missing), as problem details saying why.
/// </summary>
internal sealed partial class LockAuthorizationResultHandler(ILogger<LockAuthorizationResultHandler> logger) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
        => authorizeResult.Challenged || authorizeResult.Forbidden
            ? RefuseAsync(context, authorizeResult)
            : _default.HandleAsync(next, context, policy, authorizeResult); // the common case, without a state machine

    private async Task RefuseAsync(HttpContext context, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged)
        {
            var failure = context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult?.Failure;
            var detail = failure is AuthenticationFailure
                ? failure.Message
                : $"This endpoint needs credentials: an API key in the {LockAuthenticationHandler.ApiKeyHeader} header, or 'Authorization: Bearer <token>'.";
            LogUnauthenticated(logger, context.Request.Method, context.Request.Path.Value ?? "", Remote(context), detail);
            context.Response.Headers.WWWAuthenticate = $"ApiKey header=\"{LockAuthenticationHandler.ApiKeyHeader}\", Bearer";
            await WriteAsync(context, StatusCodes.Status401Unauthorized, ProblemCodes.Unauthorized, "Unauthorized", detail);
            return;
        }

        if (authorizeResult.Forbidden)
        {
            var reasons = authorizeResult.AuthorizationFailure?.FailureReasons.Select(r => r.Message).ToList() ?? [];
            var detail = reasons.Count > 0 ? string.Join(" ", reasons) : "The principal may not use this endpoint.";
            LogForbidden(logger, context.Request.Method, context.Request.Path.Value ?? "", LockPrincipal.From(context)?.Describe() ?? "?", detail);
            await WriteAsync(context, StatusCodes.Status403Forbidden, ProblemCodes.Forbidden, "Forbidden", detail);
        }
    }

    private static string Remote(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown address";

    private static Task WriteAsync(HttpContext context, int status, string code, string title, string detail)
    {
        var problem = ApiProblems.Create(new ProblemDetails(), context, status, code, title, detail);
        return TypedResults.Problem(problem).ExecuteAsync(context);
    }

    [LoggerMessage(4501, LogLevel.Information, "{Method} {Path} refused with 401 for a caller from {Remote}: {Detail}")]
    private static partial void LogUnauthenticated(ILogger logger, string method, string path, string remote, string detail);

    [LoggerMessage(4502, LogLevel.Information, "{Method} {Path} refused with 403 for {Principal}: {Detail}")]
    private static partial void LogForbidden(ILogger logger, string method, string path, string principal, string detail);
}
