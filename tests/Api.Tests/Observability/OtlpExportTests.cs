using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests.Observability;

/// <summary>With Telemetry:Otlp:Endpoint set, metrics and traces are pushed to the collector over OTLP/HTTP.</summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Otlp_EndpointConfigured_PushesLockMetricsAndGrainCallSpans()
    {
        await using var collector = await FakeCollector.StartAsync();
        using var factory = new ObservabilityFactory(new Dictionary<string, string?>
        {
            ["Telemetry:Otlp:Endpoint"] = collector.BaseAddress,
            ["Telemetry:Otlp:Protocol"] = "HttpProtobuf",
            ["Telemetry:Otlp:MetricsInterval"] = "00:00:00.200",
        });
        using var client = new LockClient(factory.CreateClient());

        (await client.AcquireAsync("otlp-" + Guid.NewGuid().ToString("N")[..8], new { owner = "otlp", ttl = 60_000 })).Expect(HttpStatusCode.OK);

        // Protobuf keeps strings as UTF-8 bytes: the instrument and span names are in the bodies as they are.
        await Eventually.TrueAsync(() => collector.Received("/v1/metrics", "orleanslocks.lock.grants"), "the grant counter reaches the collector");
        Assert.True(collector.Received("/v1/metrics", "obs-silo"), "the resource names the silo (service.instance.id)");
        Assert.Equal("application/x-protobuf", collector.ContentTypes["/v1/metrics"]);

        // Spans are batched (up to 5 s); stopping the host flushes them.
        await factory.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHost>().StopAsync();
        await Eventually.TrueAsync(() => collector.Received("/v1/traces", "ILockGrain.AcquireAsync"), "the grain call's span reaches the collector");
        Assert.True(collector.Received("/v1/traces", "Microsoft.AspNetCore"), "the request's span too");
    }

    /// <summary>An OTLP/HTTP receiver that keeps every request body by path.</summary>
    private sealed class FakeCollector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<(string Path, byte[] Body)> _requests = new();

        private FakeCollector(WebApplication app) => _app = app;

        public string BaseAddress { get; private set; } = "";

        public ConcurrentDictionary<string, string?> ContentTypes { get; } = new();

        public static async Task<FakeCollector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var collector = new FakeCollector(app);
            app.Run(async context =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                collector._requests.Enqueue((context.Request.Path, body.ToArray()));
                collector.ContentTypes[context.Request.Path] = context.Request.ContentType;
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
            });
            await app.StartAsync();
            collector.BaseAddress = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return collector;
        }

        public bool Received(string path, string text)
        {
            var needle = Encoding.UTF8.GetBytes(text);
            return _requests.Any(r => r.Path == path && r.Body.AsSpan().IndexOf(needle) >= 0);
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
