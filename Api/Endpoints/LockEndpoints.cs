using System.ComponentModel;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OrleansLocks.Api.Hosting;
using OrleansLocks.Api.Models;
using OrleansLocks.Api.Problems;
using OrleansLocks.Api.Security;
using OrleansLocks.Grains;
using OrleansLocks.Runtime;

namespace OrleansLocks.Api.Endpoints;

/*
 * Design note — the lock endpoints.
 *
 * Each handler validates its input completely before it touches a grain (a rejected request changes nothing), maps
 * the grain's outcome to one typed result, and lets the exception handler turn expected infrastructure failures
 * (storage or silo unavailable) into 503. The Results<...> unions are the OpenAPI description: keep them exact.
 *
 * Acquire long-polls *outside* the grain's turn, so a waiting request never blocks the release that frees it:
 *   AcquireAsync (grant | enqueue | refuse, never blocks)
 *   while queued and the request's wait remains: WaitAsync (interleaved, changes nothing), which answers a grant
 *   made while waiting; PollAsync only when it ended otherwise (timed out, removed).
 * The grain keeps a waiter until its poll deadline (now + wait, refreshed by a repeated acquire with the same
 * request id) plus Locks:WaiterGrace, so a client that retries with its request id keeps its place.
 *
 * Who owns the queue place when the wait ends without a grant:
 *  - a client-given request id: the client. The place is kept for the grace period and the 409 says where it is.
 *  - a server-generated request id: nobody can ever ask for it again, so the handler cancels the waiter at once
 *    (also when the client disconnects) instead of holding the queue up for the grace period.
 * Cancelling races with a grant: a release may hand the lock to the waiter between the last poll and the cancel.
 * So after cancelling, the handler polls once more: a grant that won the race is answered as 200 (the client asked
 * for the lock and got it), or released at once if the client is gone, so no lease is ever orphaned.
 */

/// <summary>The <c>/locks</c> endpoints of HTTP API v1.</summary>
public static class LockEndpoints
{
    /// <summary>The owner label of requests that give none.</summary>
    public const string AnonymousOwner = "anonymous";

    /// <summary>Maps <c>/locks</c>: acquire, renew, release, validate, force-release, state and listing.</summary>
    public static IEndpointRouteBuilder MapLockApi(this IEndpointRouteBuilder app)
    {
        // Who may call what (docs/security.md): client for the lease operations, viewer to read, admin to force;
        // every call about one lock also needs a prefix of the principal covering the lock's name.
        var locks = app.MapGroup("/locks")
            .WithTags("Locks")
            .RequireRateLimiting(SecurityExtensions.RateLimitPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        locks.MapGet("/", ListAsync)
            .WithName("ListLocks")
            .WithSummary("List held or queued locks")
            .WithDescription("Pages through the locks that are held or have waiters, in ordinal name order. Free locks are not listed. Only locks within the caller's prefixes are listed. Role: viewer.")
            .RequireRole(LockRoles.Viewer);

        locks.MapGet("/{name}", GetStateAsync)
            .WithName("GetLock")
            .WithSummary("Get a lock's state")
            .WithDescription("Mode, holders, waiters and fencing counter. Every valid name exists: a lock never acquired is free with counter 0. Role: viewer.")
            .RequireLockRole(LockRoles.Viewer);

        locks.MapPost("/{name}/acquire", AcquireAsync)
            .WithName("AcquireLock")
            .WithSummary("Acquire a lock, waiting up to `wait`")
            .WithDescription(
                "Grants a lease at once when the lock is compatible and nobody is queued ahead (strict FIFO, no barging). " +
                "With `wait` > 0 the request queues and long-polls up to `wait`; 409 lock-busy when not granted in time. " +
                "Repeating a `requestId` (or Idempotency-Key) returns the same lease, or keeps the same place in the queue. Role: client.")
            .RequireLockRole(LockRoles.Client)
            .WithBodyLimits()
            .AddEndpointFilter<Observability.AcquireMetricsFilter>();

        locks.MapPost("/{name}/renew", RenewAsync)
            .WithName("RenewLease")
            .WithSummary("Extend a lease")
            .WithDescription("Sets the lease's deadline to now + `ttl` (default: the lease's own TTL). 410 lease-lost if the lease has ended. Role: client.")
            .RequireLockRole(LockRoles.Client)
            .WithBodyLimits();

        locks.MapPost("/{name}/release", ReleaseAsync)
            .WithName("ReleaseLease")
            .WithSummary("Release a lease")
            .WithDescription("Releases the lease and grants the next waiters. Idempotent: releasing again is still 204. Role: client.")
            .RequireLockRole(LockRoles.Client)
            .WithBodyLimits();

        locks.MapPost("/{name}/validate", ValidateAsync)
            .WithName("ValidateFencingToken")
            .WithSummary("Check a fencing token")
            .WithDescription("Whether the token belongs to a lease that holds the lock now, and the lock's highest token. Role: client.")
            .RequireLockRole(LockRoles.Client)
            .WithBodyLimits();

        locks.MapPost("/{name}/force-release", ForceReleaseAsync)
            .WithName("ForceReleaseLock")
            .WithSummary("Force a lock open (admin)")
            .WithDescription(
                "Removes every holder, bumps the fencing counter and grants the queue head. Logged, and recorded with the " +
                "removed leases, with who (the principal) and why. Role: admin.")
            .RequireLockRole(LockRoles.Admin)
            .WithBodyLimits();

        locks.MapLockEvents();
        return app;
    }

    /// <summary>Acquires the lock, long-polling up to the request's wait.</summary>
    internal static async Task<Results<Ok<LeaseResponse>, BadRequestProblem, LockConflictProblem, LeaseLostProblem, QueueFullProblem>> AcquireAsync(
        string name,
        AcquireRequest? request,
        [FromHeader(Name = "Idempotency-Key"), Description("The request id, as a header; if the body also has requestId, both must be equal.")] string? idempotencyKey,
        [AsParameters] LockEndpointServices services)
    {
        var http = services.HttpContext;
        if (LockLimits.ValidateName(name) is { } nameError)
        {
            return RequestValidation.InvalidName(http, nameError);
        }

        if (request is null)
        {
            return MissingBody(http, "{}");
        }

        var limits = services.LockOptions.Value;
        var check = new RequestValidation();
        var mode = ParseMode(check, request.Mode);
        var principal = LockPrincipal.From(http);
        var owner = check.Label("owner", request.Owner, required: false) ?? AnonymousOwner;
        var ttl = check.Duration("ttl", request.Ttl, limits.DefaultTtl, limits.MinTtl, limits.MaxTtl);
        var wait = check.Duration("wait", request.Wait, TimeSpan.Zero, TimeSpan.Zero, limits.MaxWait);
        var leaseId = check.Label("leaseId", request.LeaseId, required: false);
        var requestId = check.Label("requestId", request.RequestId, required: false);
        var headerKey = check.Label("Idempotency-Key", idempotencyKey, required: false);
        if (requestId is not null && headerKey is not null && requestId != headerKey)
        {
            check.Add("requestId", "'requestId' differs from the Idempotency-Key header; send one of them, or the same value in both.");
        }

        if (check.HasErrors)
        {
            return check.ToProblem(http);
        }

        requestId ??= headerKey;
        var serverGenerated = requestId is null;
        requestId ??= NewRequestId();

        // Request ids are per principal: another principal repeating this one must not be answered with this
        // principal's lease (and lease id), nor take its queue place.
        var clientRequestId = requestId;
        requestId = ScopedRequestIds.Scope(principal, requestId);

        var log = services.Logger;
        var time = services.Time;
        var grain = services.Grains.GetGrain<ILockGrain>(name);
        var command = new AcquireCommand
        {
            Mode = mode,
            Owner = owner,
            Ttl = ttl,
            Wait = wait,
            RequestId = requestId,
            RequestIdGenerated = serverGenerated,
            LeaseId = leaseId,
            Principal = principal is { IsAnonymous: false } ? principal.Key : null,
            MaxLeasesPerPrincipal = services.Security.Value.MaxLeasesPerPrincipalPerLock,
        };
        log.AcquireReceived(name, owner, mode, ttl, wait, requestId);

        var started = time.GetTimestamp();
        var result = await grain.AcquireAsync(command);
        if (result.Status == AcquireStatus.Queued)
        {
            log.AcquireQueued(name, owner, result.Position, requestId);
        }

        try
        {
            while (result.Status == AcquireStatus.Queued)
            {
                var remaining = wait - time.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    break;
                }

                // A grant comes with the wake-up; anything else (removed, timed out) is asked for.
                var granted = await grain.WaitAsync(requestId, remaining).WaitAsync(http.RequestAborted);
                result = granted ?? await grain.PollAsync(requestId);
            }

            if (result.Status == AcquireStatus.Queued && serverGenerated)
            {
                await grain.CancelWaitAsync(requestId);
                result = await grain.PollAsync(requestId);
            }
        }
        catch (Exception e)
        {
            if (e is OperationCanceledException && http.RequestAborted.IsCancellationRequested)
            {
                log.AcquireAbandoned(name, owner, requestId);
            }

            // The client is gone, or the grain failed mid-wait. A server-generated request can never be asked about
            // again, so it must not keep a place in the queue or a lease granted in the meantime. (A client-given
            // one keeps its place for the grace period: the client may retry with it.)
            if (serverGenerated)
            {
                await AbandonAsync(grain, name, owner, requestId, log);
            }

            throw;
        }

        var elapsedMs = (long)time.GetElapsedTime(started).TotalMilliseconds;
        var now = time.GetUtcNow();
        switch (result.Status)
        {
            case AcquireStatus.Granted:
                var lease = result.Lease ?? throw new InvalidOperationException($"The grain answered Granted for {name} without a lease.");
                log.AcquireGranted(name, owner, lease.FencingToken, requestId, elapsedMs);
                return TypedResults.Ok(LeaseResponse.From(lease, now));

            case AcquireStatus.LeaseEnded:
                var reason = result.LostReason ?? LeaseLostReason.Unknown;
                log.LeaseLost("Acquire", name, reason);
                return LeaseLost(http, name, reason, $"The request id '{clientRequestId}' was granted a lease on '{name}' that has since ended ({reason}). Use a new request id to acquire again.");

            case AcquireStatus.ModeConflict:
                log.AcquireNotGranted(name, owner, result.Status, elapsedMs, requestId, result.QueueLength);
                return new LockConflictProblem(
                    Conflict(http, result, ProblemCodes.ModeConflict, "Mode conflict", position: null,
                        $"The lease already holds '{name}' in the other mode; upgrading or downgrading a lease is not supported. Release it and acquire again."),
                    retryAfter: null);

            case AcquireStatus.QueueFull:
                log.AcquireNotGranted(name, owner, result.Status, elapsedMs, requestId, result.QueueLength);
                return new QueueFullProblem(
                    ApiProblems.Create(new ProblemDetails(), http, StatusCodes.Status429TooManyRequests, ProblemCodes.QueueFull, "Queue full",
                        $"'{name}' already has {result.QueueLength} waiters, the most Locks:MaxQueueLength allows. Retry later."),
                    RetryAfterBusy(result, now));

            case AcquireStatus.LeaseLimit:
                log.AcquireNotGranted(name, owner, result.Status, elapsedMs, requestId, result.QueueLength);
                return new QueueFullProblem(
                    ApiProblems.Create(new ProblemDetails(), http, StatusCodes.Status429TooManyRequests, ProblemCodes.LeaseLimit, "Lease limit",
                        $"The principal '{principal?.Name}' already has {services.Security.Value.MaxLeasesPerPrincipalPerLock} leases and queue places on '{name}', " +
                        "the most Security:MaxLeasesPerPrincipalPerLock allows. Release one first."),
                    RetryAfterBusy(result, now));

            case AcquireStatus.Queued or AcquireStatus.NotGranted:
                log.AcquireNotGranted(name, owner, result.Status, elapsedMs, requestId, result.QueueLength);
                var queued = result.Status == AcquireStatus.Queued;
                var detail = queued
                    ? $"'{name}' was not granted within the wait of {(long)wait.TotalMilliseconds} ms. The request keeps its place {result.Position} in the queue for a short grace period: retry now with the same requestId to keep waiting."
                    : $"'{name}' is held{(wait > TimeSpan.Zero ? $" and was not granted within the wait of {(long)wait.TotalMilliseconds} ms" : "")}.";
                return new LockConflictProblem(
                    Conflict(http, result, ProblemCodes.LockBusy, "Lock busy", queued ? result.Position : null, detail),
                    queued ? TimeSpan.Zero : RetryAfterBusy(result, now));

            default:
                throw new InvalidOperationException($"Unknown acquire status {result.Status} for {name}.");
        }
    }

    /// <summary>Extends a lease.</summary>
    internal static async Task<Results<Ok<LeaseResponse>, BadRequestProblem, LeaseLostProblem>> RenewAsync(
        string name,
        RenewRequest? request,
        [AsParameters] LockEndpointServices services)
    {
        var http = services.HttpContext;
        if (LockLimits.ValidateName(name) is { } nameError)
        {
            return RequestValidation.InvalidName(http, nameError);
        }

        if (request is null)
        {
            return MissingBody(http, "{\"leaseId\": \"…\"}");
        }

        var limits = services.LockOptions.Value;
        var check = new RequestValidation();
        var leaseId = check.Label("leaseId", request.LeaseId, required: true);
        TimeSpan? ttl = request.Ttl is null ? null : check.Duration("ttl", request.Ttl, limits.DefaultTtl, limits.MinTtl, limits.MaxTtl);
        if (check.HasErrors)
        {
            return check.ToProblem(http);
        }

        var result = await services.Grains.GetGrain<ILockGrain>(name).RenewAsync(leaseId!, ttl);
        if (result.Lease is { } lease)
        {
            return TypedResults.Ok(LeaseResponse.From(lease, services.Time.GetUtcNow()));
        }

        var reason = result.LostReason ?? LeaseLostReason.Unknown;
        services.Logger.LeaseLost("Renew", name, reason);
        return LeaseLost(http, name, reason, $"The lease is no longer held on '{name}' ({reason}); acquire the lock again.");
    }

    /// <summary>Releases a lease.</summary>
    internal static async Task<Results<NoContent, BadRequestProblem, LeaseLostProblem>> ReleaseAsync(
        string name,
        ReleaseRequest? request,
        [AsParameters] LockEndpointServices services)
    {
        var http = services.HttpContext;
        if (LockLimits.ValidateName(name) is { } nameError)
        {
            return RequestValidation.InvalidName(http, nameError);
        }

        if (request is null)
        {
            return MissingBody(http, "{\"leaseId\": \"…\"}");
        }

        var check = new RequestValidation();
        var leaseId = check.Label("leaseId", request.LeaseId, required: true);
        if (check.HasErrors)
        {
            return check.ToProblem(http);
        }

        var result = await services.Grains.GetGrain<ILockGrain>(name).ReleaseAsync(leaseId!);
        if (result.Released)
        {
            return TypedResults.NoContent();
        }

        var reason = result.LostReason ?? LeaseLostReason.Unknown;
        services.Logger.LeaseLost("Release", name, reason);
        return LeaseLost(http, name, reason, $"The lease had already ended on '{name}' before this release ({reason}).");
    }

    /// <summary>Checks a fencing token.</summary>
    internal static async Task<Results<Ok<ValidateResponse>, BadRequestProblem>> ValidateAsync(
        string name,
        ValidateRequest? request,
        [AsParameters] LockEndpointServices services)
    {
        var http = services.HttpContext;
        if (LockLimits.ValidateName(name) is { } nameError)
        {
            return RequestValidation.InvalidName(http, nameError);
        }

        if (request is null)
        {
            return MissingBody(http, "{\"fencingToken\": 42}");
        }

        var check = new RequestValidation();
        if (request.FencingToken is not { } token)
        {
            check.Add("fencingToken", "'fencingToken' is required.");
        }
        else if (token <= 0)
        {
            check.Add("fencingToken", $"'fencingToken' must be a positive integer; got {token}.");
        }

        if (check.HasErrors)
        {
            return check.ToProblem(http);
        }

        var result = await services.Grains.GetGrain<ILockGrain>(name).ValidateAsync(request.FencingToken!.Value);
        return TypedResults.Ok(new ValidateResponse(result.Valid, result.CurrentToken));
    }

    /// <summary>Forces a lock open (admin).</summary>
    internal static async Task<Results<NoContent, BadRequestProblem>> ForceReleaseAsync(
        string name,
        ForceReleaseRequest? request,
        [AsParameters] LockEndpointServices services)
    {
        var http = services.HttpContext;
        if (LockLimits.ValidateName(name) is { } nameError)
        {
            return RequestValidation.InvalidName(http, nameError);
        }

        // Rights were checked by authorization before the body was read: a caller without them learns nothing
        // about what a valid request looks like.
        var requestedBy = $"{LockPrincipal.From(http)?.Describe() ?? "unknown principal"} from {http.Connection.RemoteIpAddress?.ToString() ?? "unknown address"}";
        if (request is null)
        {
            return MissingBody(http, "{\"reason\": \"…\"}");
        }

        var check = new RequestValidation();
        var reason = check.Label("reason", request.Reason, required: true);
        if (check.HasErrors)
        {
            return check.ToProblem(http);
        }

        var result = await services.Grains.GetGrain<ILockGrain>(name).ForceReleaseAsync(requestedBy, reason!);
        services.Logger.ForceReleased(name, requestedBy, reason!, result.HoldersRemoved, result.FencingCounter);
        return TypedResults.NoContent();
    }

    /// <summary>The public state of one lock.</summary>
    internal static async Task<Results<Ok<LockStateResponse>, BadRequestProblem>> GetStateAsync(
        string name,
        [AsParameters] LockEndpointServices services)
    {
        if (LockLimits.ValidateName(name) is { } nameError)
        {
            return RequestValidation.InvalidName(services.HttpContext, nameError);
        }

        var state = await services.Grains.GetGrain<ILockGrain>(name).GetStateAsync();
        return TypedResults.Ok(LockStateResponse.From(state));
    }

    /// <summary>A page of held or queued locks.</summary>
    internal static async Task<Results<Ok<LockListResponse>, BadRequestProblem>> ListAsync(
        [AsParameters] ListLocksQuery query,
        [AsParameters] LockEndpointServices services,
        [FromServices] LockListing listing)
    {
        var http = services.HttpContext;
        var check = new RequestValidation();
        var limit = ListLocksQuery.DefaultLimit;
        if (!string.IsNullOrEmpty(query.Limit)
            && (!int.TryParse(query.Limit, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > ListLocksQuery.MaxLimit))
        {
            var shown = query.Limit.Length > 20 ? query.Limit[..20] + "…" : query.Limit;
            check.Add("limit", $"'limit' must be an integer between 1 and {ListLocksQuery.MaxLimit}; got '{shown}'.");
        }

        if (!string.IsNullOrEmpty(query.Prefix) && LockLimits.ValidateName(query.Prefix) is { } prefixError)
        {
            check.Add("prefix", "'prefix' can never match a lock name: " + prefixError);
        }

        if (!string.IsNullOrEmpty(query.Cursor) && LockLimits.ValidateName(query.Cursor) is not null)
        {
            check.Add("cursor", "'cursor' is not a cursor this service returned; pass nextCursor from the previous page unchanged.");
        }

        if (check.HasErrors)
        {
            return check.ToProblem(http);
        }

        var page = await ScopedListing.ListAsync(
            listing,
            LockPrincipal.From(http)?.Prefixes ?? [],
            string.IsNullOrEmpty(query.Prefix) ? null : query.Prefix,
            limit,
            string.IsNullOrEmpty(query.Cursor) ? null : query.Cursor,
            http.RequestAborted);
        return TypedResults.Ok(new LockListResponse([.. page.Items.Select(LockStateResponse.From)], page.NextCursor));
    }

    private static RouteHandlerBuilder WithBodyLimits(this RouteHandlerBuilder endpoint)
        => endpoint
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

    private static LockMode ParseMode(RequestValidation check, string? mode)
    {
        if (mode is null || mode.Equals("exclusive", StringComparison.OrdinalIgnoreCase))
        {
            return LockMode.Exclusive;
        }

        if (mode.Equals("shared", StringComparison.OrdinalIgnoreCase))
        {
            return LockMode.Shared;
        }

        check.Add("mode", $"'mode' must be \"exclusive\" or \"shared\"; got \"{(mode.Length > 40 ? mode[..40] + "…" : mode)}\".");
        return LockMode.Exclusive;
    }

    private static BadRequestProblem MissingBody(HttpContext http, string example)
        => new(ApiProblems.Validation(
            http,
            ProblemCodes.InvalidRequest,
            "Invalid request",
            $"A JSON body is required (Content-Type: application/json), e.g. {example}.",
            new Dictionary<string, string[]> { ["body"] = ["A JSON body is required."] }));

    private static LeaseLostProblem LeaseLost(HttpContext http, string name, LeaseLostReason reason, string detail)
        => new(ApiProblems.Create(new LeaseLostProblemDetails { Reason = reason }, http, StatusCodes.Status410Gone, ProblemCodes.LeaseLost, "Lease lost", detail));

    private static LockConflictProblemDetails Conflict(HttpContext http, AcquireResult result, string code, string title, int? position, string detail)
        => ApiProblems.Create(
            new LockConflictProblemDetails
            {
                Holders = [.. result.Holders.Select(HolderResponse.From)],
                QueueLength = result.QueueLength,
                Position = position,
            },
            http,
            StatusCodes.Status409Conflict,
            code,
            title,
            detail);

    /// <summary>
    /// A hint for a client that is not queued: the time until the first holder's lease ends, at least 1 s and at
    /// most 30 s. Holders may renew, so it is only a hint; a client that must get the lock should wait in the queue.
    /// </summary>
    private static TimeSpan RetryAfterBusy(AcquireResult result, DateTimeOffset now)
    {
        var untilFirstExpiry = result.Holders.Count == 0 ? TimeSpan.Zero : result.Holders.Min(h => h.ExpiresAt) - now;
        return TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(untilFirstExpiry.TotalSeconds), 1, 30));
    }

    /// <summary>A request id for a client that gave none: 128 random bits, so it cannot collide with anyone's.</summary>
    private static string NewRequestId() => "srv-" + Base64Url(RandomNumberGenerator.GetBytes(16));

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    /// <summary>Removes a server-generated request from the queue, releasing a lease granted to it meanwhile.</summary>
    private static async Task AbandonAsync(ILockGrain grain, string name, string owner, string requestId, ILogger log)
    {
        try
        {
            await grain.CancelWaitAsync(requestId);
            var after = await grain.PollAsync(requestId);
            if (after is { Status: AcquireStatus.Granted, Lease: { } orphan })
            {
                await grain.ReleaseAsync(orphan.LeaseId);
                log.OrphanLeaseReleased(name, owner, orphan.FencingToken);
            }
        }
        catch (Exception e) when (e is SiloUnavailableException or StorageUnavailableException or InconsistentStateException)
        {
            // Nothing more to do: the grain drops the waiter after its poll deadline plus the grace period, and a
            // lease granted to it after the deadline lasts at most the grace period.
        }
    }
}

/// <summary>Query of <c>GET /locks</c>.</summary>
/// <remarks>
/// <c>limit</c> is bound as text so that "abc" is answered like "0", as invalid-request naming the field; the
/// OpenAPI document still declares it an integer (see <see cref="OpenApi.LockApiOpenApiExtensions"/>).
/// </remarks>
internal readonly record struct ListLocksQuery(
    [property: FromQuery(Name = "prefix"), Description("Only locks whose name starts with this (ordinal, case-sensitive).")] string? Prefix,
    [property: FromQuery(Name = "limit"), Description("Most locks per page, 1-1000. Default 100.")] string? Limit,
    [property: FromQuery(Name = "cursor"), Description("The nextCursor of the previous page.")] string? Cursor)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
}

/// <summary>What the lock handlers need, bound per request.</summary>
internal sealed class LockEndpointServices(
    HttpContext httpContext,
    IGrainFactory grains,
    IOptions<LockOptions> lockOptions,
    IOptions<SecurityOptions> security,
    TimeProvider time,
    ILogger<LockEndpointServices> logger)
{
    public HttpContext HttpContext { get; } = httpContext;

    public IGrainFactory Grains { get; } = grains;

    public IOptions<LockOptions> LockOptions { get; } = lockOptions;

    public IOptions<SecurityOptions> Security { get; } = security;

    public TimeProvider Time { get; } = time;

    public ILogger<LockEndpointServices> Logger { get; } = logger;
}
