using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OrleansLocks.Api.Problems;

namespace OrleansLocks.Api.Hosting;

/// <summary>Cross-cutting set-up of the web app: problem details, errors, JSON, limits, options, health.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// Problem details for every error (RFC 9457, with <c>code</c> and <c>traceId</c>), the exception handler,
    /// JSON conventions (camelCase, enums as camelCase strings, strict numbers), binding failures as exceptions so
    /// they get the same shape, <see cref="ApiOptions"/> validated at start-up, and health checks.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);

        services.AddProblemDetails(options => options.CustomizeProblemDetails = context => ApiProblems.CompleteFrameworkProblem(context.ProblemDetails, context.HttpContext));
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(options => ConfigureJson(options.SerializerOptions));

        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();

        services.AddHealthChecks();
        return builder;
    }

    /// <summary>The error-handling middleware and the request body limit; call first.</summary>
    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        return app;
    }

    /// <summary>
    /// <c>/health/live</c>: the process answers (no checks, so a slow database never gets a healthy process
    /// restarted). <c>/health/ready</c>: the checks tagged "ready" (the silo and its storage); 503 when one fails.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealthAsync })
            .ExcludeFromDescription();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
            {
                Predicate = check => check.Tags.Contains(LockSiloExtensions.ReadyTag),
                ResponseWriter = WriteHealthAsync,
            })
            .ExcludeFromDescription();
        return app;
    }

    /// <summary>The JSON conventions of the API, shared by serialization and the OpenAPI document.</summary>
    internal static void ConfigureJson(JsonSerializerOptions options)
    {
        // Enums as camelCase names only: an integer would silently select an enum member a client never named.
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));

        // The web defaults read numbers from strings; the contract says integers are JSON numbers.
        options.NumberHandling = JsonNumberHandling.Strict;

        // Generated metadata for the hot request/response types first; reflection for everything else.
        options.TypeInfoResolverChain.Insert(0, Models.ApiJsonContext.Default);
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        var body = new
        {
            status = report.Status.ToString(),
            totalDurationMs = (long)report.TotalDuration.TotalMilliseconds,
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description, durationMs = (long)e.Value.Duration.TotalMilliseconds }),
        };
        return context.Response.WriteAsJsonAsync(body, context.RequestAborted);
    }
}
