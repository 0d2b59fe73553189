using System.Diagnostics;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using OrleansLocks.Api.Models;

namespace OrleansLocks.Api.Problems;

/// <summary>The stable, machine-readable <c>code</c> of every error the API answers (RFC 9457 extension member).</summary>
public static class ProblemCodes
{
    /// <summary>400: the lock name in the route breaks the naming rules.</summary>
    public const string InvalidLockName = "invalid-lock-name";

    /// <summary>400: a field is missing, out of range or malformed; <c>errors</c> names each field.</summary>
    public const string InvalidRequest = "invalid-request";

    /// <summary>400: the body is not JSON, or a value has the wrong JSON type; <c>errors</c> names the JSON path.</summary>
    public const string InvalidJson = "invalid-json";

    /// <summary>401: no credentials, or bad ones (an unknown API key; a forged, expired or foreign bearer token).</summary>
    public const string Unauthorized = "unauthorized";

    /// <summary>403: the principal lacks the role the endpoint needs, or the lock is outside its prefixes.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>404: no such route.</summary>
    public const string NotFound = "not-found";

    /// <summary>405: the route exists but not with this method.</summary>
    public const string MethodNotAllowed = "method-not-allowed";

    /// <summary>409: not granted within the request's wait.</summary>
    public const string LockBusy = "lock-busy";

    /// <summary>409: the caller holds the lock in the other mode.</summary>
    public const string ModeConflict = "mode-conflict";

    /// <summary>410: the lease (or the lease of this request id) has ended; <c>reason</c> says how.</summary>
    public const string LeaseLost = "lease-lost";

    /// <summary>413: the body is larger than Api:MaxRequestBodyBytes.</summary>
    public const string PayloadTooLarge = "payload-too-large";

    /// <summary>415: the body is not <c>application/json</c>.</summary>
    public const string UnsupportedMediaType = "unsupported-media-type";

    /// <summary>429: the lock's waiter queue is full.</summary>
    public const string QueueFull = "queue-full";

    /// <summary>429: the principal sent more requests than Security:RateLimit allows; see <c>Retry-After</c>.</summary>
    public const string RateLimited = "rate-limited";

    /// <summary>429: the principal already has Security:MaxLeasesPerPrincipalPerLock leases and queue places on the lock.</summary>
    public const string LeaseLimit = "lease-limit";

    /// <summary>503: the silo or its storage cannot serve the request now; retry after <c>Retry-After</c>.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>500: a bug. Quote the <c>traceId</c>.</summary>
    public const string InternalError = "internal-error";
}

/// <summary>A 409 answer to an acquire: who holds the lock and how long the queue is.</summary>
public sealed class LockConflictProblemDetails : ProblemDetails
{
    /// <summary>The current holders (never their lease ids).</summary>
    public IReadOnlyList<HolderResponse> Holders { get; init; } = [];

    /// <summary>How many requests wait in the lock's queue.</summary>
    public int QueueLength { get; init; }

    /// <summary>
    /// The request's place in the queue, present only while it still holds one: a queued request with a
    /// client-given request id keeps its place for Locks:WaiterGrace after its wait ended.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Position { get; init; }
}

/// <summary>A 410 answer: the lease has ended.</summary>
public sealed class LeaseLostProblemDetails : ProblemDetails
{
    /// <summary>How the lease ended: expired, released, forceReleased, or unknown (no record of it).</summary>
    public LeaseLostReason Reason { get; init; }
}

/// <summary>Builds the problem details of every error response, so that they all carry the same members.</summary>
internal static class ApiProblems
{
    public const string CodeKey = "code";
    public const string TraceIdKey = "traceId";

    private static readonly Dictionary<int, (string Code, string Title)> ByStatus = new()
    {
        [StatusCodes.Status400BadRequest] = (ProblemCodes.InvalidRequest, "Invalid request"),
        [StatusCodes.Status401Unauthorized] = (ProblemCodes.Unauthorized, "Unauthorized"),
        [StatusCodes.Status403Forbidden] = (ProblemCodes.Forbidden, "Forbidden"),
        [StatusCodes.Status404NotFound] = (ProblemCodes.NotFound, "Not found"),
        [StatusCodes.Status405MethodNotAllowed] = (ProblemCodes.MethodNotAllowed, "Method not allowed"),
        [StatusCodes.Status413PayloadTooLarge] = (ProblemCodes.PayloadTooLarge, "Payload too large"),
        [StatusCodes.Status415UnsupportedMediaType] = (ProblemCodes.UnsupportedMediaType, "Unsupported media type"),
        [StatusCodes.Status429TooManyRequests] = (ProblemCodes.QueueFull, "Queue full"),
        [StatusCodes.Status500InternalServerError] = (ProblemCodes.InternalError, "Internal server error"),
        [StatusCodes.Status503ServiceUnavailable] = (ProblemCodes.Unavailable, "Service unavailable"),
    };

    private static readonly Dictionary<int, string> TypeByStatus = new()
    {
        [400] = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1",
        [401] = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2",
        [403] = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.4",
        [404] = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.5",
        [405] = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6",
        [409] = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.10",
        [410] = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.11",
        [413] = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14",
        [415] = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.16",
        [429] = "https://www.rfc-editor.org/rfc/rfc6585#section-4",
        [500] = "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.1",
        [503] = "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
    };

    /// <summary>Fills <paramref name="problem"/> with the members every error carries.</summary>
    public static T Create<T>(T problem, HttpContext http, int status, string code, string title, string detail)
        where T : ProblemDetails
    {
        problem.Status = status;
        problem.Title = title;
        problem.Detail = detail;
        problem.Extensions[CodeKey] = code;
        return Complete(problem, http);
    }

    /// <summary>A 400 naming the offending fields.</summary>
    public static HttpValidationProblemDetails Validation(
        HttpContext http, string code, string title, string detail, IDictionary<string, string[]> errors)
        => Create(new HttpValidationProblemDetails(errors), http, StatusCodes.Status400BadRequest, code, title, detail);

    /// <summary>
    /// Completes a problem written by anyone (handlers, the framework's status-code pages and exception handler):
    /// <c>type</c>, <c>title</c>, <c>code</c>, <c>detail</c>, <c>instance</c> and <c>traceId</c> are always present.
    /// </summary>
    public static T Complete<T>(T problem, HttpContext http)
        where T : ProblemDetails
        => Complete(problem, http, replaceTypeAndTitle: false);

    /// <summary>
    /// Completes a problem the framework wrote (status-code pages: 404, 405, 413, 415), replacing its generic
    /// <c>type</c> and <c>title</c> by ours so every error reads alike.
    /// </summary>
    public static void CompleteFrameworkProblem(ProblemDetails problem, HttpContext http)
        => Complete(problem, http, replaceTypeAndTitle: !problem.Extensions.ContainsKey(CodeKey));

    private static T Complete<T>(T problem, HttpContext http, bool replaceTypeAndTitle)
        where T : ProblemDetails
    {
        var status = problem.Status ?? (http.Response.StatusCode >= 400 ? http.Response.StatusCode : StatusCodes.Status500InternalServerError);
        problem.Status = status;
        var defaults = ByStatus.TryGetValue(status, out var d) ? d : (Code: ProblemCodes.InvalidRequest, Title: "Error");
        if ((replaceTypeAndTitle || problem.Type is null or "about:blank") && TypeByStatus.TryGetValue(status, out var type))
        {
            problem.Type = type;
        }

        if (replaceTypeAndTitle)
        {
            problem.Title = defaults.Title;
        }

        problem.Title ??= defaults.Title;
        if (!problem.Extensions.ContainsKey(CodeKey))
        {
            problem.Extensions[CodeKey] = defaults.Code;
        }

        problem.Detail ??= DefaultDetail(status, http);
        problem.Instance ??= http.Request.Path.Value;
        if (!problem.Extensions.ContainsKey(TraceIdKey))
        {
            problem.Extensions[TraceIdKey] = Activity.Current?.Id ?? http.TraceIdentifier;
        }

        return problem;
    }

    private static string DefaultDetail(int status, HttpContext http) => status switch
    {
        StatusCodes.Status404NotFound => $"There is no resource at '{http.Request.Path}'. See /openapi/v1.json for the API.",
        StatusCodes.Status405MethodNotAllowed => $"'{http.Request.Path}' does not accept {http.Request.Method}.",
        StatusCodes.Status413PayloadTooLarge => "The request body is larger than this endpoint accepts.",
        StatusCodes.Status415UnsupportedMediaType => "The request body must be JSON with Content-Type: application/json.",
        StatusCodes.Status500InternalServerError => "An unexpected error occurred. This is a bug; please report it with the traceId.",
        StatusCodes.Status503ServiceUnavailable => "The service cannot serve the request now. Retry after the Retry-After interval.",
        _ => "The request could not be processed.",
    };
}
