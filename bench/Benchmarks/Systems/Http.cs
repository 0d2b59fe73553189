using System.Net;
using System.Net.Http.Headers;

namespace OrleansLocks.Benchmarks.Systems;

/// <summary>The one HTTP client set-up every HTTP target shares, so that they differ only in what the server does.</summary>
internal static class Http
{
    public static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>
    /// Keep-alive connections, enough of them for every client (MaxConnectionsPerServer above the largest client
    /// count), no proxy, no cookies, no redirects, no decompression: nothing on the client's side that a server-side
    /// difference could hide behind. HTTP/1.1, as Kestrel serves cleartext by default and etcd's gateway expects.
    /// </summary>
    public static HttpClient CreateClient(Uri baseAddress) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 2048,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
    })
    {
        BaseAddress = baseAddress,
        DefaultRequestVersion = HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        // Every call also carries a cancellation token bounded by the cell; this is the backstop.
        Timeout = TimeSpan.FromMinutes(2),
    };

    public static HttpRequestMessage Post(Uri uri, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = Json;
        return new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
    }
}
