using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using OrleansLocks.Api.Models;
using OrleansLocks.Runtime;

namespace OrleansLocks.Api.Problems;

/*
 * Design note — the last line of defence.
 *
 * Bad input is normally answered by the handlers (validation) or by the framework's binding, which is configured
 * to throw BadHttpRequestException (RouteHandlerOptions.ThrowOnBadRequest) so that it arrives here and gets the
 * same problem-details shape as everything else: invalid JSON names its JSON path, a non-JSON body is 415, an
 * oversized body 413. Expected failures of the grain layer (storage down, silo shutting down, version conflicts
 * exhausted) become 503 with Retry-After: the client retries idempotently. A client that went away needs no answer.
 * Everything else is a bug: 500, logged as an error, with no exception text in the response.
 */
internal sealed class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>What a 503 asks the client to wait before retrying.</summary>
    public static readonly TimeSpan UnavailableRetryAfter = TimeSpan.FromSeconds(1);

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var method = httpContext.Request.Method;
        var path = httpContext.Request.Path.Value ?? "";
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            logger.ClientDisconnected(method, path);

            // 499 (nginx's "client closed request") only ever shows in server-side logs and metrics.
            httpContext.Response.StatusCode = 499;
            return true;
        }

        IResult result;
        switch (exception)
        {
            case BadHttpRequestException { InnerException: JsonException json }:
                result = new BadRequestProblem(InvalidJson(httpContext, json));
                break;

            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                result = Plain(httpContext, StatusCodes.Status413PayloadTooLarge, ProblemCodes.PayloadTooLarge, "Payload too large",
                    "The request body is larger than this endpoint accepts (Api:MaxRequestBodyBytes).");
                break;

            case BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType }:
                result = Plain(httpContext, StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType, "Unsupported media type",
                    "The request body must be JSON with Content-Type: application/json.");
                break;

            case BadHttpRequestException bad when bad.StatusCode is >= 400 and < 500:
                // Parameter binding (e.g. a query value that is not a number). The message names the parameter and
                // the value, never server internals.
                var errors = new Dictionary<string, string[]> { ["request"] = [bad.Message] };
                result = bad.StatusCode == StatusCodes.Status400BadRequest
                    ? new BadRequestProblem(ApiProblems.Validation(httpContext, ProblemCodes.InvalidRequest, "Invalid request", bad.Message, errors))
                    : Plain(httpContext, bad.StatusCode, ProblemCodes.InvalidRequest, "Invalid request", bad.Message);
                break;

            case SiloUnavailableException or StorageUnavailableException or InconsistentStateException:
                logger.Unavailable(method, path, $"{exception.GetType().Name}: {exception.Message}", exception);
                result = new UnavailableProblem(
                    ApiProblems.Create(new Microsoft.AspNetCore.Mvc.ProblemDetails(), httpContext, StatusCodes.Status503ServiceUnavailable,
                        ProblemCodes.Unavailable, "Service unavailable",
                        "The lock service cannot serve this request right now (its storage or silo is unavailable). " +
                        "Nothing was changed unless a retry shows otherwise: retry the same request after Retry-After."),
                    UnavailableRetryAfter);
                break;

            default:
                logger.UnhandledException(method, path, exception);
                result = Plain(httpContext, StatusCodes.Status500InternalServerError, ProblemCodes.InternalError, "Internal server error",
                    "An unexpected error occurred. This is a bug; please report it with the traceId.");
                break;
        }

        if (result is IStatusCodeHttpResult { StatusCode: < 500 and { } status } && result is IValueHttpResult { Value: Microsoft.AspNetCore.Mvc.ProblemDetails problem })
        {
            logger.RequestRejected(method, path, status, problem.Extensions[ApiProblems.CodeKey] as string ?? "", problem.Detail);
        }

        await result.ExecuteAsync(httpContext);
        return true;
    }

    private static PlainProblem Plain(HttpContext http, int status, string code, string title, string detail)
        => new(ApiProblems.Create(new Microsoft.AspNetCore.Mvc.ProblemDetails(), http, status, code, title, detail));

    /// <summary>
    /// A body that does not parse, or a value of the wrong JSON type. Names the JSON path (e.g. <c>$.ttl</c>).
    /// Only our own converters' messages are shown verbatim; System.Text.Json's name .NET types, so they are
    /// replaced by a description of what went wrong.
    /// </summary>
    internal static HttpValidationProblemDetails InvalidJson(HttpContext http, JsonException json)
    {
        var path = string.IsNullOrEmpty(json.Path) ? "$" : json.Path;
        var message = json is ApiJsonException ? json.Message : Describe(json);
        var detail = $"The request body is not valid for this endpoint at '{path}': {message}";
        var errors = new Dictionary<string, string[]> { [path] = [message] };
        return ApiProblems.Validation(http, ProblemCodes.InvalidJson, "Invalid JSON", detail, errors);
    }

    private static string Describe(JsonException json)
    {
        // A syntax error carries line and byte position; a conversion error (valid JSON, wrong type) does not come
        // from the reader. System.Text.Json exposes no error kind, so the position is the only structured signal.
        if (json.InnerException is JsonException || json.BytePositionInLine is null)
        {
            return "the JSON is malformed.";
        }

        return json.Message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal)
            ? "this property is not part of the request (see the schema in /openapi/v1.json)."
            : json.Message.Contains("could not be converted", StringComparison.Ordinal)
                ? "the value has the wrong JSON type or is out of range for this field (see the schema in /openapi/v1.json)."
                : "the JSON is malformed.";
    }

    /// <summary>A problem result for statuses without a typed result of their own (413, 415, 500).</summary>
    private sealed class PlainProblem(Microsoft.AspNetCore.Mvc.ProblemDetails problem) : ProblemResult<Microsoft.AspNetCore.Mvc.ProblemDetails>(problem);
}
