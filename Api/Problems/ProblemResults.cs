using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace OrleansLocks.Api.Problems;

// Typed results for the error statuses the framework has no typed result for (410, 429, 503), and for 400/403/409
// so that every error is written as application/problem+json and declared as such in the OpenAPI document
// (TypedResults.Conflict<T> declares application/json). Each class declares its status and schema through
// IEndpointMetadataProvider, which is what makes a handler's Results<...> union an exact OpenAPI description.

/// <summary>An error response carrying RFC 9457 problem details, optionally with a Retry-After header.</summary>
public abstract class ProblemResult<TProblem> : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<TProblem>, IContentTypeHttpResult
    where TProblem : ProblemDetails
{
    private protected ProblemResult(TProblem problem, TimeSpan? retryAfter = null)
    {
        Value = problem;
        RetryAfter = retryAfter;
    }

    /// <summary>The problem details written as the body.</summary>
    public TProblem Value { get; }

    /// <summary>When set, sent as the Retry-After header in whole seconds (rounded up).</summary>
    public TimeSpan? RetryAfter { get; }

    /// <inheritdoc/>
    public int StatusCode => Value.Status ?? StatusCodes.Status500InternalServerError;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    object? IValueHttpResult.Value => Value;

    /// <inheritdoc/>
    public string ContentType => "application/problem+json";

    /// <inheritdoc/>
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCode;
        if (RetryAfter is { } retryAfter)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterHeader.Seconds(retryAfter).ToString(CultureInfo.InvariantCulture);
        }

        var json = httpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        return httpContext.Response.WriteAsJsonAsync(Value, Value.GetType(), json, ContentType, httpContext.RequestAborted);
    }

    private protected static void Declare(EndpointBuilder builder, int statusCode)
        => builder.Metadata.Add(new ProducesResponseTypeMetadata(statusCode, typeof(TProblem), ["application/problem+json"]));
}

/// <summary>The Retry-After header value.</summary>
internal static class RetryAfterHeader
{
    /// <summary>Whole seconds, rounded up, never negative.</summary>
    public static long Seconds(TimeSpan retryAfter) => Math.Max(0, (long)Math.Ceiling(retryAfter.TotalSeconds));
}

/// <summary>400 with the offending fields in <c>errors</c>.</summary>
public sealed class BadRequestProblem(HttpValidationProblemDetails problem)
    : ProblemResult<HttpValidationProblemDetails>(problem), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Declare(builder, StatusCodes.Status400BadRequest);
}

/// <summary>403: the caller lacks admin rights.</summary>
public sealed class ForbiddenProblem(ProblemDetails problem) : ProblemResult<ProblemDetails>(problem), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Declare(builder, StatusCodes.Status403Forbidden);
}

/// <summary>409: lock-busy or mode-conflict, with the holders and queue length.</summary>
public sealed class LockConflictProblem(LockConflictProblemDetails problem, TimeSpan? retryAfter)
    : ProblemResult<LockConflictProblemDetails>(problem, retryAfter), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Declare(builder, StatusCodes.Status409Conflict);
}

/// <summary>410: the lease has ended.</summary>
public sealed class LeaseLostProblem(LeaseLostProblemDetails problem)
    : ProblemResult<LeaseLostProblemDetails>(problem), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Declare(builder, StatusCodes.Status410Gone);
}

/// <summary>429: the lock's queue is full.</summary>
public sealed class QueueFullProblem(ProblemDetails problem, TimeSpan retryAfter)
    : ProblemResult<ProblemDetails>(problem, retryAfter), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Declare(builder, StatusCodes.Status429TooManyRequests);
}

/// <summary>503: the silo or its storage cannot serve the request now.</summary>
public sealed class UnavailableProblem(ProblemDetails problem, TimeSpan retryAfter)
    : ProblemResult<ProblemDetails>(problem, retryAfter), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Declare(builder, StatusCodes.Status503ServiceUnavailable);
}
