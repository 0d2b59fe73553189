using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Silo.Transport;

/// <summary>How a forwarded call ended, as far as the transport can tell.</summary>
internal enum ForwardFailure
{
    /// <summary>The receiver answered (a result or a typed error).</summary>
    None,

    /// <summary>The request never reached the receiver (no connection could be made): it did not run, so it may be retried.</summary>
    NotSent,

    /// <summary>The request may or may not have run (timeout, connection lost mid-call, receiver declared dead).</summary>
    Unknown,
}

/// <summary>The outcome of one forwarded call.</summary>
internal readonly record struct ForwardResult(InvokeResponse? Response, ForwardFailure Failure, Exception? Exception);

/*
 * Design note — the silo's transport client
 *
 * One HttpClient on one SocketsHttpHandler per process (per silo host): HTTP/2 only with prior knowledge (version 2.0,
 * RequestVersionExact, so http:// means h2c), several connections per peer when streams run out (long polls hold
 * streams), keep-alive pings while requests are active so a peer that vanished without a FIN is noticed.
 *
 * Failures are classified by what they say about delivery (HttpRequestException.HttpRequestError): no connection
 * could be made means the call did not run and may go elsewhere; anything after that (timeout, reset, the peer
 * declared dead while we waited) means the outcome is unknown and only the caller may decide to retry (with its
 * idempotency key). In-flight calls to a silo are cancelled once the others declare it dead: it will never answer.
 */

/// <summary>Sends calls, probes and gossip to other silos.</summary>
internal sealed class SiloTransportClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly ClusterMembershipOptions _options;
    private readonly ConcurrentDictionary<SiloAddress, CancellationTokenSource> _silos = new();

    public SiloTransportClient(IOptions<ClusterMembershipOptions> options, ClusterSecretAuthenticator authenticator)
    {
        _options = options.Value;
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            KeepAlivePingDelay = TimeSpan.FromSeconds(5),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            UseProxy = false,
            AllowAutoRedirect = false,
        };
        _http = new HttpClient(new SiloRequestSigningHandler(authenticator) { InnerHandler = handler })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>Sends a call; never throws for transport failures (see <see cref="ForwardResult.Failure"/>).</summary>
    public async Task<ForwardResult> InvokeAsync(SiloAddress target, InvokeRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, SiloToken(target));
        timeout.CancelAfter(_options.ResponseTimeout);
        try
        {
            using var response = await _http.PostAsJsonAsync(Uri(target, SiloTransportServer.InvokePath), request, SiloJson.Options, timeout.Token);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadFromJsonAsync<InvokeResponse>(SiloJson.Options, timeout.Token)
                ?? throw new HttpRequestException("The silo answered with an empty body.");
            return new ForwardResult(body, ForwardFailure.None, null);
        }
        catch (HttpRequestException e) when (IsNotSent(e))
        {
            return new ForwardResult(null, ForwardFailure.NotSent, e);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or System.Text.Json.JsonException
            && !cancellationToken.IsCancellationRequested)
        {
            return new ForwardResult(null, ForwardFailure.Unknown, e);
        }
    }

    /// <summary>Probes <paramref name="target"/>; the answer, or null with the failure.</summary>
    public async Task<(ProbeResponse? Response, Exception? Failure)> ProbeAsync(
        SiloAddress target, ProbeRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            using var response = await _http.PostAsJsonAsync(Uri(target, SiloTransportServer.ProbePath), request, SiloJson.Options, bounded.Token);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return (null, new HttpRequestException($"{target.Endpoint} is another incarnation than {target}."));
            }

            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync<ProbeResponse>(SiloJson.Options, bounded.Token), null);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or System.Text.Json.JsonException
            && !cancellationToken.IsCancellationRequested)
        {
            return (null, e is OperationCanceledException ? new TimeoutException($"No answer from {target} within {timeout}.", e) : e);
        }
    }

    /// <summary>Tells <paramref name="target"/> the table moved to a version; failures are the caller's to log.</summary>
    public async Task GossipAsync(SiloAddress target, GossipRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, SiloToken(target));
        bounded.CancelAfter(timeout);
        using var response = await _http.PostAsJsonAsync(Uri(target, SiloTransportServer.GossipPath), request, SiloJson.Options, bounded.Token);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// Cancels every call in flight to the silos this view shows declared dead by the others (a silo that left
    /// gracefully answers its calls before it stops listening) or gone: they will never answer.
    /// </summary>
    public void OnMembershipChanged(ClusterMembershipSnapshot snapshot)
    {
        foreach (var (silo, cancellation) in _silos)
        {
            var entry = snapshot.TryGet(silo);
            var declaredDead = entry is null || (entry.Status == SiloStatus.Dead && entry.SuspectTimes.Count > 0);
            if (declaredDead && _silos.TryRemove(silo, out _))
            {
                cancellation.Cancel();
                cancellation.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        foreach (var (_, cancellation) in _silos)
        {
            cancellation.Dispose();
        }
    }

    private static Uri Uri(SiloAddress target, string path) => new(target.BaseUri, path);

    private static bool IsNotSent(HttpRequestException exception)
        => exception.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
            or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError;

    private CancellationToken SiloToken(SiloAddress silo)
    {
        while (true)
        {
            if (_silos.TryGetValue(silo, out var existing))
            {
                try
                {
                    return existing.Token;
                }
                catch (ObjectDisposedException)
                {
                    // Just cancelled and removed: the silo is dead, so its token is cancelled.
                    return new CancellationToken(canceled: true);
                }
            }

            var created = new CancellationTokenSource();
            if (_silos.TryAdd(silo, created))
            {
                return created.Token;
            }

            created.Dispose();
        }
    }
}
