using System.Net;

namespace OrleansLocks.Client;

/// <summary>
/// The lock service refused a request. The subclasses name the outcomes a caller handles; this base type carries
/// the problem details every error of the service has (RFC 9457: status, <c>code</c>, title, detail, trace id).
/// </summary>
public class LockServiceException : Exception
{
    public LockServiceException(string message)
        : base(message)
    {
    }

    public LockServiceException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public LockServiceException()
    {
    }

    internal LockServiceException(ProblemInfo problem, Exception? innerException = null)
        : base(problem.Describe(), innerException)
    {
        StatusCode = problem.Status;
        Code = problem.Code;
        Title = problem.Title;
        Detail = problem.Detail;
        TraceId = problem.TraceId;
    }

    /// <summary>The HTTP status of the answer; null when no answer came (see <see cref="LockServiceUnavailableException"/>).</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The problem's machine-readable <c>code</c> (e.g. <c>invalid-request</c>), when the service gave one.</summary>
    public string? Code { get; }

    /// <summary>The problem's title.</summary>
    public string? Title { get; }

    /// <summary>The problem's detail: what went wrong, in words.</summary>
    public string? Detail { get; }

    /// <summary>The service's trace id of the request; quote it when reporting a bug.</summary>
    public string? TraceId { get; }
}

/// <summary>
/// The lease ended (<c>410 lease-lost</c>): renew or release of a lease that expired, was force-released or is
/// unknown, or a repeated acquire whose granted lease has since ended.
/// </summary>
public sealed class LeaseLostException : LockServiceException
{
    internal LeaseLostException(ProblemInfo problem)
        : base(problem)
    {
        Reason = ParseReason(problem.Reason);
    }

    internal LeaseLostException(string message, LeaseLostReason reason)
        : base(message)
    {
        Reason = reason;
    }

    /// <summary>Why the lease ended.</summary>
    public LeaseLostReason Reason { get; }

    internal static LeaseLostReason ParseReason(string? reason) => reason switch
    {
        "expired" => LeaseLostReason.Expired,
        "released" => LeaseLostReason.Released,
        "forceReleased" => LeaseLostReason.ForceReleased,
        _ => LeaseLostReason.Unknown,
    };
}

/// <summary>The caller's lease holds the lock in the other mode (<c>409 mode-conflict</c>); release, then acquire.</summary>
public sealed class LockModeConflictException : LockServiceException
{
    internal LockModeConflictException(ProblemInfo problem)
        : base(problem)
    {
    }
}

/// <summary>The credentials were missing or refused (<c>401</c>, or <c>403 forbidden</c>, e.g. force-release without admin rights).</summary>
public sealed class LockForbiddenException : LockServiceException
{
    internal LockForbiddenException(ProblemInfo problem)
        : base(problem)
    {
    }
}

/// <summary>The lock's queue is full (<c>429 queue-full</c>); retry after <see cref="RetryAfter"/>.</summary>
public sealed class LockQueueFullException : LockServiceException
{
    internal LockQueueFullException(ProblemInfo problem)
        : base(problem)
    {
        RetryAfter = problem.RetryAfter;
    }

    /// <summary>The service's <c>Retry-After</c>, if it sent one.</summary>
    public TimeSpan? RetryAfter { get; }
}

/// <summary>
/// The service limits the caller (<c>429</c>): <c>rate-limited</c> (too many requests; the client already retried
/// after every <c>Retry-After</c> it allows) or <c>lease-limit</c> (too many leases and queue places of this
/// principal on one lock). Retry after <see cref="RetryAfter"/>.
/// </summary>
public sealed class LockRateLimitedException : LockServiceException
{
    internal LockRateLimitedException(ProblemInfo problem)
        : base(problem)
    {
        RetryAfter = problem.RetryAfter;
    }

    /// <summary>The service's <c>Retry-After</c>, if it sent one.</summary>
    public TimeSpan? RetryAfter { get; }
}

/// <summary>The request was invalid (<c>400</c>: invalid-request, invalid-lock-name, invalid-json); <see cref="Errors"/> names the fields.</summary>
public sealed class InvalidLockRequestException : LockServiceException
{
    internal InvalidLockRequestException(ProblemInfo problem)
        : base(problem)
    {
        Errors = problem.Errors;
    }

    /// <summary>Field name to messages, for <c>invalid-request</c>; empty otherwise.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }
}

/// <summary>
/// The service could not be reached, or kept answering <c>503 unavailable</c>, through every retry the client's
/// options allow. Nothing the service did is unknown to a retry of the same request: acquires carry their request
/// id, renew and release are idempotent.
/// </summary>
public sealed class LockServiceUnavailableException : LockServiceException
{
    internal LockServiceUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal LockServiceUnavailableException(ProblemInfo problem)
        : base(problem)
    {
    }
}
