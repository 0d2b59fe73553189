using OrleansLocks.Cli.Hosting;

namespace OrleansLocks.Client.Tests.Infrastructure;

/// <summary>
/// The real service (Api, co-hosted silo, lock grain, embedded SQLite storage in a temporary directory) on a real
/// Kestrel loopback port, started the way `locks simulate` starts it. Disposing it is "the service goes away".
/// </summary>
public sealed class LockService : IAsyncDisposable
{
    private readonly EmbeddedLockService _service;

    private LockService(EmbeddedLockService service) => _service = service;

    public Uri BaseAddress => _service.BaseAddress;

    public static async Task<LockService> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
        => new(await EmbeddedLockService.StartAsync(settings));

    /// <summary>A client with fast retries (tests should not wait seconds for backoff).</summary>
    public LockClient CreateClient(Action<LockClientOptions>? configure = null, HttpMessageHandler? handler = null)
    {
        var options = new LockClientOptions
        {
            BaseAddress = BaseAddress,
            RetryBaseDelay = TimeSpan.FromMilliseconds(20),
            RetryMaxDelay = TimeSpan.FromMilliseconds(200),
            Owner = "client-tests",
        };
        configure?.Invoke(options);
        return handler is null
            ? new LockClient(options)
            : new LockClient(new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan }, options);
    }

    public ValueTask DisposeAsync() => _service.DisposeAsync();
}

/// <summary>One service shared by the tests of a class (each test uses its own lock names).</summary>
public sealed class LockServiceFixture : IAsyncLifetime
{
    private LockService? _service;

    public LockService Service => _service ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _service = await LockService.StartAsync();

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }
    }
}

/// <summary>A handler that forwards to the network and lets a test intercept each request.</summary>
public sealed class InterceptingHandler(Func<HttpRequestMessage, Func<CancellationToken, Task<HttpResponseMessage>>, CancellationToken, Task<HttpResponseMessage>> intercept)
    : DelegatingHandler(new SocketsHttpHandler())
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        => intercept(request, ct => base.SendAsync(request, ct), cancellationToken);
}
