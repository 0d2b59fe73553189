using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OrleansLocks.Client.Tests;

public sealed class LockClientServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddLockClient_TypedClient_SendsBaseAddressAndCredentials()
    {
        var seen = new List<HttpRequestMessage>();
        var services = new ServiceCollection();
        services.AddLockClient(o =>
            {
                o.BaseAddress = new Uri("http://locks.test:8080/prefix/");
                o.ApiKey = "key-1";
            })
            .ConfigurePrimaryHttpMessageHandler(() => new RecordingHandler(seen));
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<LockClient>();
        var state = await client.GetStateAsync("orders:42");

        Assert.True(state.IsFree);
        var request = Assert.Single(seen);
        Assert.Equal("http://locks.test:8080/prefix/locks/orders%3A42", request.RequestUri!.AbsoluteUri);
        Assert.Equal("key-1", Assert.Single(request.Headers.GetValues("X-Api-Key")));
        Assert.Null(request.Headers.Authorization);
    }

    [Fact]
    public async Task BearerTokenProvider_IsAskedOnEveryAttempt()
    {
        var seen = new List<HttpRequestMessage>();
        var asked = 0;
        var client = new LockClient(
            new HttpClient(new RecordingHandler(seen)) { BaseAddress = new Uri("http://locks.test/") },
            new LockClientOptions { BearerTokenProvider = _ => ValueTask.FromResult<string?>($"token-{++asked}") });

        await client.GetStateAsync("a");
        await client.GetStateAsync("b");

        Assert.Equal(["Bearer token-1", "Bearer token-2"], seen.Select(r => r.Headers.Authorization!.ToString()));
        Assert.All(seen, r => Assert.False(r.Headers.Contains("X-Api-Key")));
    }

    [Fact]
    public void Options_ApiKeyAndBearerToken_AreRefused()
    {
        using var http = new HttpClient();
        var ex = Assert.Throws<ArgumentException>(() => new LockClient(http, new LockClientOptions
        {
            BaseAddress = new Uri("http://locks.test/"),
            ApiKey = "k",
            BearerToken = "t",
        }));
        Assert.Contains("not both", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddLockClient_BadOption_FailsNamingTheSetting()
    {
        var services = new ServiceCollection();
        services.AddLockClient(o => o.DefaultTtl = TimeSpan.Zero);
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<LockClientOptions>>().Value);
        Assert.Contains("DefaultTtl", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NoBaseAddress_Throws()
    {
        using var http = new HttpClient();
        var ex = Assert.Throws<ArgumentException>(() => new LockClient(http));
        Assert.Contains("BaseAddress", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RetryDelay_GrowsExponentiallyWithJitterAndHonoursRetryAfter()
    {
        var client = new LockClient(new LockClientOptions
        {
            BaseAddress = new Uri("http://x/"),
            RetryBaseDelay = TimeSpan.FromMilliseconds(100),
            RetryMaxDelay = TimeSpan.FromSeconds(2),
        });

        for (var i = 0; i < 50; i++)
        {
            Assert.InRange(client.RetryDelay(1, null).TotalMilliseconds, 50, 100);
            Assert.InRange(client.RetryDelay(3, null).TotalMilliseconds, 200, 400);
            Assert.InRange(client.RetryDelay(20, null).TotalMilliseconds, 1000, 2000);
            Assert.InRange(client.RetryDelay(1, TimeSpan.FromSeconds(1)).TotalMilliseconds, 1000, 1000);
            Assert.InRange(client.RetryDelay(1, TimeSpan.FromMinutes(5)).TotalMilliseconds, 2000, 2000);
        }
    }

    private sealed class RecordingHandler(List<HttpRequestMessage> seen) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            seen.Add(request);
            var body = """{"name":"orders:42","mode":"free","holders":[],"waiters":[],"fencingCounter":0}""";
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") });
        }
    }
}
