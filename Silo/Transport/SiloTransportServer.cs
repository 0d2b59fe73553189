using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Silo.Transport;

/// <summary>What a silo answers on its transport; implemented by the cluster.</summary>
internal interface ISiloMessageHandler
{
    Task<InvokeResponse> InvokeAsync(InvokeRequest request, CancellationToken cancellationToken);

    /// <summary>The probe's answer, or null when the probe names another incarnation.</summary>
    ProbeResponse? Probe(ProbeRequest request);

    Task GossipAsync(GossipRequest request, CancellationToken cancellationToken);
}

/*
 * Design note — the silo's transport listener
 *
 * A minimal Kestrel app of its own (not the host's web server), owned by the silo, so the Api process (which also
 * serves HTTP/1.1 clients) and the headless silo serve it alike, and a kill can tear it down on its own. It speaks
 * HTTP/2 only, in cleartext with prior knowledge (h2c): no TLS between silos inside a cluster network, and no HTTP/1.1
 * upgrade dance. Requests dispatch on the path with no routing middleware; the handlers are the cluster's.
 *
 * Stop: graceful waits (bounded) for requests in flight; abort (a kill, or a silo declared dead) closes every
 * connection at once, so the silo stops answering probes and calls immediately.
 */

/// <summary>The silo's HTTP/2 listener for other silos (port <c>Silo:SiloPort</c>).</summary>
internal sealed class SiloTransportServer(ILoggerFactory loggerFactory, ClusterSecretAuthenticator authenticator) : IAsyncDisposable
{
    /// <summary>The largest request body accepted (calls carry a few hundred bytes of JSON).</summary>
    private const int MaxRequestBytes = 1024 * 1024;

    public const string InvokePath = "/silo/v1/invoke";
    public const string ProbePath = "/silo/v1/probe";
    public const string GossipPath = "/silo/v1/gossip";

    private static readonly TimeSpan GracefulStopTimeout = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger = loggerFactory.CreateLogger<SiloTransportServer>();
    private readonly Lock _lock = new();
    private WebApplication? _app;

    /// <summary>Starts listening on <paramref name="listenAddress"/> (all interfaces when null) and <paramref name="port"/> (0: any free port); returns the port.</summary>
    public async Task<int> StartAsync(IPAddress? listenAddress, int port, ISiloMessageHandler handler, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // Long polls (a lock wait of up to a minute per waiter) hold streams; the client also opens more connections.
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            if (listenAddress is null)
            {
                kestrel.ListenAnyIP(port, endpoint => endpoint.Protocols = HttpProtocols.Http2);
            }
            else
            {
                kestrel.Listen(listenAddress, port, endpoint => endpoint.Protocols = HttpProtocols.Http2);
            }
        });
        var app = builder.Build();
        app.Run(context => HandleAsync(context, handler));
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new InvalidOperationException(
                $"The silo port could not be opened on {listenAddress?.ToString() ?? "every interface"}, port {port}: {e.Message}. " +
                "Check Silo:SiloPort (is another process or the web host using it?) and Silo:ListenAddress.",
                e);
        }

        lock (_lock)
        {
            _app = app;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port;
    }

    /// <summary>Stops listening: gracefully (requests in flight may finish, for a few seconds) or at once.</summary>
    public async Task StopAsync(bool abort)
    {
        WebApplication? app;
        lock (_lock)
        {
            app = _app;
            _app = null;
        }

        if (app is null)
        {
            return;
        }

        using (var timeout = new CancellationTokenSource(abort ? TimeSpan.Zero : GracefulStopTimeout))
        {
            try
            {
                await app.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // Connections were aborted: what a kill wants.
            }
        }

        await app.DisposeAsync();
    }

    public ValueTask DisposeAsync() => new(StopAsync(abort: true));

    private async Task HandleAsync(HttpContext context, ISiloMessageHandler handler)
    {
        var path = context.Request.Path.Value;
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        try
        {
            // The whole body first: the signature covers it, and nothing is parsed before it is checked.
            var body = await ReadBodyAsync(context);
            if (body is null)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                return;
            }

            if (authenticator.Verify(context.Request, body) is { } refused)
            {
                authenticator.LogRefused(path ?? string.Empty, context.Connection.RemoteIpAddress?.ToString() ?? "unknown address", refused);
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }

            switch (path)
            {
                case InvokePath:
                {
                    var request = Read<InvokeRequest>(context, body);
                    var response = await handler.InvokeAsync(request, context.RequestAborted);
                    await context.Response.WriteAsJsonAsync(response, SiloJson.Options, context.RequestAborted);
                    break;
                }

                case ProbePath:
                {
                    var response = handler.Probe(Read<ProbeRequest>(context, body));
                    if (response is null)
                    {
                        context.Response.StatusCode = StatusCodes.Status404NotFound;
                    }
                    else
                    {
                        await context.Response.WriteAsJsonAsync(response, SiloJson.Options, context.RequestAborted);
                    }

                    break;
                }

                case GossipPath:
                    await handler.GossipAsync(Read<GossipRequest>(context, body), context.RequestAborted);
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    break;
                default:
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    break;
            }
        }
        catch (JsonException e)
        {
            _logger.TransportRequestFailed(e, path ?? string.Empty);
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away (or the listener is being aborted).
        }
    }

    private static T Read<T>(HttpContext context, byte[] body)
        => (body.Length == 0 ? default : JsonSerializer.Deserialize<T>(body, SiloJson.Options))
            ?? throw new JsonException(string.Create(CultureInfo.InvariantCulture, $"The body of {context.Request.Path} is empty."));

    /// <summary>The request body, or null when it is larger than <see cref="MaxRequestBytes"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxRequestBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxRequestBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
