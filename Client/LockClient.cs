using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace OrleansLocks.Client;

/*
 * Design note: the client of HTTP API v1.
 *
 * Retries. Every call may be retried after a connection failure, an attempt timeout, a 502/503/504 or a 429
 * rate-limited, with exponential backoff and jitter (never sooner than the service's Retry-After). That is safe
 * because every call is idempotent on the service: an acquire always carries a request id (the caller's, or one generated here once per
 * AcquireAsync call and reused for every attempt and every poll), so a retry of an acquire the service already saw
 * returns the same lease, or the same place in the queue; renew and release are idempotent per lease id; reads are
 * reads. A force-release retried after a lost answer bumps the fencing counter once more, which is harmless.
 *
 * Waiting. The service holds one long poll for at most Locks:MaxWait (60 s). A longer or infinite wait is a series
 * of polls with the same request id: each 409 lock-busy with a client-given id keeps the place (for
 * Locks:WaiterGrace), and the next poll resumes it. When the caller's timeout ends, the place is left to lapse on
 * the service (WaiterGrace); the API has no call to leave a queue.
 *
 * Time. Only through the injected TimeProvider (attempt timeouts, retry delays, lease deadlines), so tests can
 * drive it.
 */

/// <summary>
/// A client of the OrleansLocks service. Thread-safe; use one per service (register it with
/// <see cref="LockClientServiceCollectionExtensions.AddLockClient"/>, or construct it over an <see cref="HttpClient"/>).
/// </summary>
public sealed class LockClient
{
    private static readonly AcquireOptions DefaultAcquire = new();

    // Clients constructed without an HttpClient share one handler for the process, as .NET advises for
    // long-lived HttpClients outside IHttpClientFactory: pooled connections, refreshed every few minutes so DNS
    // changes (a service moved in Kubernetes) are seen. Never disposed, so the client needs no disposal.
    private static readonly Lazy<HttpMessageHandler> SharedHandler = new(() => new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
    });

    private readonly HttpClient _http;
    private readonly LockClientOptions _options;
    private readonly Uri _base;

    /// <summary>A client of the service at <paramref name="baseAddress"/> with default options (connections pooled per process).</summary>
    public LockClient(Uri baseAddress)
        : this(SharedHttpClient(), new LockClientOptions { BaseAddress = baseAddress }, null, null)
    {
    }

    /// <summary>A client configured by <paramref name="options"/> (connections pooled per process).</summary>
    public LockClient(LockClientOptions options, TimeProvider? timeProvider = null, ILogger<LockClient>? logger = null)
        : this(SharedHttpClient(), options, timeProvider, logger)
    {
    }

    /// <summary>
    /// A client over <paramref name="httpClient"/> (not disposed by this client). The service's address is
    /// <see cref="LockClientOptions.BaseAddress"/>, or else the HttpClient's BaseAddress. Set the HttpClient's
    /// Timeout to infinite or above <see cref="LockClientOptions.MaxWaitPerRequest"/>: long polls last up to a minute.
    /// </summary>
    public LockClient(HttpClient httpClient, LockClientOptions? options = null, TimeProvider? timeProvider = null, ILogger<LockClient>? logger = null)
        : this(httpClient, options ?? new LockClientOptions(), timeProvider, (ILogger?)logger)
    {
    }

    /// <summary>The constructor the typed HttpClient registration (<c>AddLockClient</c>) uses.</summary>
    [ActivatorUtilitiesConstructor]
    public LockClient(HttpClient httpClient, IOptions<LockClientOptions> options, TimeProvider timeProvider, ILogger<LockClient> logger)
        : this(httpClient, options.Value, timeProvider, (ILogger?)logger)
    {
    }

    private LockClient(HttpClient httpClient, LockClientOptions options, TimeProvider? timeProvider, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        var errors = LockClientOptionsValidator.Errors(options).ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        var baseAddress = options.BaseAddress ?? httpClient.BaseAddress;
        if (baseAddress is null || !baseAddress.IsAbsoluteUri)
        {
            throw new ArgumentException("The lock service's address is not set: give LockClientOptions.BaseAddress or the HttpClient's BaseAddress.", nameof(options));
        }

        // Relative paths resolve under the base's path only when it ends with '/'.
        _base = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        _http = httpClient;
        _options = options;
        Time = timeProvider ?? TimeProvider.System;
        Logger = logger ?? NullLogger<LockClient>.Instance;
    }

    /// <summary>The service's address.</summary>
    public Uri BaseAddress => _base;

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal LockClientOptions Options => _options;

    /// <summary>
    /// Acquires <paramref name="name"/>, waiting up to <paramref name="timeout"/> (null: as long as it takes).
    /// The handle renews the lease in the background; dispose it to release.
    /// </summary>
    /// <exception cref="TimeoutException">The lock was not granted within <paramref name="timeout"/>.</exception>
    /// <exception cref="LockServiceUnavailableException">The service could not be reached through every retry.</exception>
    public async Task<LockHandle> AcquireAsync(string name, TimeSpan? timeout = null, AcquireOptions? options = null, CancellationToken cancellationToken = default)
    {
        var wait = timeout ?? Timeout.InfiniteTimeSpan;
        return await AcquireCoreAsync(name, wait, options, cancellationToken)
            ?? throw new TimeoutException($"Lock '{name}' was not granted within {wait.TotalMilliseconds:0} ms.");
    }

    /// <summary>
    /// Tries to acquire <paramref name="name"/>, waiting up to <paramref name="timeout"/> (default zero: a try-lock).
    /// Returns null when it was not granted in time.
    /// </summary>
    public Task<LockHandle?> TryAcquireAsync(string name, TimeSpan timeout = default, AcquireOptions? options = null, CancellationToken cancellationToken = default)
        => AcquireCoreAsync(name, timeout, options, cancellationToken);

    /// <summary><see cref="AcquireAsync"/> in shared (reader) mode.</summary>
    public Task<LockHandle> AcquireSharedAsync(string name, TimeSpan? timeout = null, AcquireOptions? options = null, CancellationToken cancellationToken = default)
        => AcquireAsync(name, timeout, (options ?? DefaultAcquire) with { Mode = LockMode.Shared }, cancellationToken);

    /// <summary><see cref="TryAcquireAsync"/> in shared (reader) mode.</summary>
    public Task<LockHandle?> TryAcquireSharedAsync(string name, TimeSpan timeout = default, AcquireOptions? options = null, CancellationToken cancellationToken = default)
        => TryAcquireAsync(name, timeout, (options ?? DefaultAcquire) with { Mode = LockMode.Shared }, cancellationToken);

    /// <summary>
    /// Renews a lease by id (for scripts and processes that did not acquire it; a <see cref="LockHandle"/> renews
    /// itself). <paramref name="ttl"/> null keeps the lease's own TTL.
    /// </summary>
    /// <exception cref="LeaseLostException">The lease has ended.</exception>
    public async Task<Lease> RenewAsync(string name, string leaseId, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
        => (await RenewCoreAsync(name, leaseId, ttl, cancellationToken)).Lease;

    /// <summary>Releases a lease by id. Releasing an already released lease succeeds.</summary>
    /// <exception cref="LeaseLostException">The lease ended some other way (expired, force-released, unknown).</exception>
    public async Task ReleaseAsync(string name, string leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        var body = Wire.Body(w => w.WriteString("leaseId", leaseId));
        var response = await SendAsync(HttpMethod.Post, LockPath(name, "release"), body, TimeSpan.Zero, cancellationToken);
        EnsureSuccess(response);
    }

    /// <summary>Asks whether <paramref name="fencingToken"/> belongs to a lease that holds <paramref name="name"/> now.</summary>
    public async Task<FencingValidation> ValidateAsync(string name, long fencingToken, CancellationToken cancellationToken = default)
    {
        var body = Wire.Body(w => w.WriteNumber("fencingToken", fencingToken));
        var response = await SendAsync(HttpMethod.Post, LockPath(name, "validate"), body, TimeSpan.Zero, cancellationToken);
        return Wire.ParseValidation(EnsureSuccess(response).Json());
    }

    /// <summary>The public state of <paramref name="name"/>: holders, queue, fencing counter.</summary>
    public async Task<LockState> GetStateAsync(string name, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync(HttpMethod.Get, LockPath(name, null), null, TimeSpan.Zero, cancellationToken);
        return Wire.ParseState(EnsureSuccess(response).Json());
    }

    /// <summary>One page of held or queued locks whose names start with <paramref name="prefix"/>, in name order.</summary>
    public async Task<LockPage> ListAsync(string? prefix = null, int? limit = null, string? cursor = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string>();
        if (!string.IsNullOrEmpty(prefix))
        {
            query.Add("prefix=" + Uri.EscapeDataString(prefix));
        }

        if (limit is { } l)
        {
            query.Add("limit=" + Wire.Invariant(l));
        }

        if (!string.IsNullOrEmpty(cursor))
        {
            query.Add("cursor=" + Uri.EscapeDataString(cursor));
        }

        var path = query.Count == 0 ? "locks" : "locks?" + string.Join('&', query);
        var response = await SendAsync(HttpMethod.Get, path, null, TimeSpan.Zero, cancellationToken);
        return Wire.ParsePage(EnsureSuccess(response).Json());
    }

    /// <summary>Every held or queued lock whose name starts with <paramref name="prefix"/>, page by page.</summary>
    public async IAsyncEnumerable<LockState> ListAllAsync(string? prefix = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? cursor = null;
        do
        {
            var page = await ListAsync(prefix, limit: null, cursor, cancellationToken);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary>
    /// Ends every lease of <paramref name="name"/> and bumps its fencing counter. Needs the admin role on the lock
    /// (an API key or token whose principal has it). The service records who and why.
    /// </summary>
    /// <exception cref="LockForbiddenException">The caller has no admin rights.</exception>
    public async Task ForceReleaseAsync(string name, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        var body = Wire.Body(w => w.WriteString("reason", reason));
        var response = await SendAsync(HttpMethod.Post, LockPath(name, "force-release"), body, TimeSpan.Zero, cancellationToken);
        EnsureSuccess(response);
    }

    internal async Task<(Lease Lease, long MeasuredFrom)> RenewCoreAsync(string name, string leaseId, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        var body = Wire.Body(w =>
        {
            w.WriteString("leaseId", leaseId);
            if (ttl is { } t)
            {
                w.WriteNumber("ttl", Wire.Milliseconds(t));
            }
        });
        var response = await SendAsync(HttpMethod.Post, LockPath(name, "renew"), body, TimeSpan.Zero, cancellationToken);
        var lease = Wire.ParseLease(EnsureSuccess(response).Json());

        // The service computed ttlMs after it received the attempt, so the deadline measured from the attempt's
        // start is never later than the service's.
        return (lease, response.SentAt);
    }

    private async Task<LockHandle?> AcquireCoreAsync(string name, TimeSpan timeout, AcquireOptions? options, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be zero or more, or Timeout.InfiniteTimeSpan.");
        }

        options ??= DefaultAcquire;
        var requestId = options.RequestId ?? NewRequestId();
        var ttl = options.Ttl ?? _options.DefaultTtl;
        var owner = options.Owner ?? _options.Owner;
        var infinite = timeout == Timeout.InfiniteTimeSpan;
        var started = Time.GetTimestamp();
        var path = LockPath(name, "acquire");
        while (true)
        {
            var remaining = infinite ? _options.MaxWaitPerRequest : timeout - Time.GetElapsedTime(started);
            var wait = remaining <= TimeSpan.Zero ? TimeSpan.Zero : (remaining < _options.MaxWaitPerRequest ? remaining : _options.MaxWaitPerRequest);
            var body = Wire.Body(w =>
            {
                w.WriteString("mode", Wire.ModeName(options.Mode));
                w.WriteString("owner", owner);
                w.WriteNumber("ttl", Wire.Milliseconds(ttl));
                w.WriteNumber("wait", (long)wait.TotalMilliseconds);
                w.WriteString("requestId", requestId);
            });
            var response = await SendAsync(HttpMethod.Post, path, body, wait, cancellationToken);
            if (response.IsSuccess)
            {
                var lease = Wire.ParseLease(response.Json());
                Logger.Acquired(lease.Name, lease.Mode, lease.FencingToken, (long)lease.TimeToLive.TotalMilliseconds);

                // A try-lock's answer came from the attempt's own turn: measure the deadline from its start. A long
                // poll may have been granted at any moment of its wait; the answer's arrival is the best bound there
                // is, and the first renew (at a third of the TTL) is measured from its start again.
                var measuredFrom = wait == TimeSpan.Zero ? response.SentAt : response.ReceivedAt;
                return new LockHandle(this, lease, ttl, measuredFrom, options.AutoRenew);
            }

            var problem = response.Problem();
            if (problem.Code != "lock-busy")
            {
                throw ToException(response);
            }

            if (!infinite && Time.GetElapsedTime(started) >= timeout)
            {
                return null;
            }

            Logger.StillQueued(name, problem.Position);
            if (problem.Position is null && problem.RetryAfter is { } retryAfter && retryAfter > TimeSpan.Zero)
            {
                // Not holding a place (the service answered before the wait, e.g. a try-lock slice): poll again when
                // it suggests, not in a tight loop, and not past the caller's timeout.
                var left = infinite ? retryAfter : timeout - Time.GetElapsedTime(started);
                await Task.Delay(left < retryAfter ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : retryAfter, Time, cancellationToken);
            }
        }
    }

    /// <summary>Sends one request, retrying transient failures; returns the first non-transient answer.</summary>
    private async Task<ServiceResponse> SendAsync(HttpMethod method, string path, byte[]? body, TimeSpan wait, CancellationToken cancellationToken)
    {
        var uri = new Uri(_base, path);
        for (var attempt = 1; ; attempt++)
        {
            ServiceResponse? transient = null;
            Exception? error = null;
            string failure;
            var sentAt = Time.GetTimestamp();
            using (var request = new HttpRequestMessage(method, uri))
            {
                if (body is not null)
                {
                    request.Content = new ByteArrayContent(body);
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                }

                await AuthorizeAsync(request, cancellationToken);
                using var attemptTimeout = new CancellationTokenSource(wait + _options.RequestTimeout, Time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, attemptTimeout.Token);
                try
                {
                    using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token);
                    var bytes = await response.Content.ReadAsByteArrayAsync(linked.Token);
                    var answer = new ServiceResponse(response.StatusCode, bytes, Wire.RetryAfter(response, Time.GetUtcNow()))
                    {
                        SentAt = sentAt,
                        ReceivedAt = Time.GetTimestamp(),
                    };
                    if (!IsTransient(answer))
                    {
                        return answer;
                    }

                    transient = answer;
                    failure = $"{(int)response.StatusCode} {response.ReasonPhrase}";
                }
                catch (HttpRequestException ex)
                {
                    error = ex;
                    failure = ex.Message;
                }
                catch (IOException ex)
                {
                    error = ex;
                    failure = ex.Message;
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    error = ex;
                    failure = $"no answer within {(wait + _options.RequestTimeout).TotalSeconds:0.#} s";
                }
            }

            if (attempt > _options.MaxRetries)
            {
                Logger.GaveUp(method.Method, path, attempt, failure);
                throw transient is not null
                    ? (transient.Status == HttpStatusCode.TooManyRequests ? ToException(transient) : new LockServiceUnavailableException(transient.Problem()))
                    : new LockServiceUnavailableException($"The lock service at {_base} could not be reached ({method.Method} {path}, {attempt} attempts): {failure}", error);
            }

            var delay = RetryDelay(attempt, transient?.RetryAfter);
            Logger.Retrying(method.Method, path, failure, attempt, (long)delay.TotalMilliseconds);
            await Task.Delay(delay, Time, cancellationToken);
        }
    }

    private async ValueTask AuthorizeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(_options.ApiKey))
        {
            request.Headers.TryAddWithoutValidation("X-Api-Key", _options.ApiKey);
        }

        var token = _options.BearerTokenProvider is { } provider ? await provider(cancellationToken) : _options.BearerToken;
        if (!string.IsNullOrEmpty(token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

    }

    /// <summary>Exponential backoff with jitter (half to all of the doubled delay), never below Retry-After (capped).</summary>
    internal TimeSpan RetryDelay(int attempt, TimeSpan? retryAfter)
    {
        var exponential = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(exponential, _options.RetryMaxDelay.TotalMilliseconds);
        var jittered = capped * (0.5 + (0.5 * Random.Shared.NextDouble()));
        var floor = retryAfter is { } r ? Math.Min(r.TotalMilliseconds, _options.RetryMaxDelay.TotalMilliseconds) : 0;
        return TimeSpan.FromMilliseconds(Math.Max(jittered, floor));
    }

    private static HttpClient SharedHttpClient() => new(SharedHandler.Value, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>
    /// Worth the same request again: 502/503/504 (the service or a proxy in front of it cannot answer now), and
    /// 429 <c>rate-limited</c> (the caller's request budget refills; Retry-After says when). Not 429 queue-full or
    /// lease-limit: those wait on other holders, which a retry storm would not speed up.
    /// </summary>
    private static bool IsTransient(ServiceResponse answer)
        => answer.Status is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout
            || (answer.Status == HttpStatusCode.TooManyRequests && answer.Problem().Code == "rate-limited");

    private static ServiceResponse EnsureSuccess(ServiceResponse response)
        => response.IsSuccess ? response : throw ToException(response);

    internal static LockServiceException ToException(ServiceResponse response)
    {
        var problem = response.Problem();
        return problem switch
        {
            { Code: "lease-lost" } or { Status: HttpStatusCode.Gone } => new LeaseLostException(problem),
            { Code: "mode-conflict" } => new LockModeConflictException(problem),
            { Code: "queue-full" } => new LockQueueFullException(problem),
            { Status: HttpStatusCode.TooManyRequests } => new LockRateLimitedException(problem),
            { Status: HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden } => new LockForbiddenException(problem),
            { Status: HttpStatusCode.BadRequest } => new InvalidLockRequestException(problem),
            { Status: HttpStatusCode.ServiceUnavailable } => new LockServiceUnavailableException(problem),
            _ => new LockServiceException(problem),
        };
    }

    private static string LockPath(string name, string? action)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var path = "locks/" + Uri.EscapeDataString(name);
        return action is null ? path : path + "/" + action;
    }

    [SuppressMessage("Security", "CA5394", Justification = "Not a secret: request ids only need to be unique.")]
    private static string NewRequestId() => "c-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}
