using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests.Observability;

/// <summary>The lock, Api, silo and storage instruments after a scripted workload, read with a MeterListener and from /metrics.</summary>
public sealed class LockMetricsTests : IDisposable
{
    private readonly ObservabilityFactory _factory = new();

    [Fact]
    public async Task Metrics_AfterScriptedWorkload_CountEveryStep()
    {
        using var client = new LockClient(_factory.CreateClient());
        using var metrics = new MeasurementLog(_factory.Services.GetRequiredService<IMeterFactory>());
        var name = "metrics-" + Guid.NewGuid().ToString("N")[..8];

        var a = (await client.AcquireAsync(name, new { owner = "a", ttl = 60_000 })).Expect(HttpStatusCode.OK).Json;
        var waitingB = client.AcquireAsync(name, new { owner = "b", ttl = 60_000, wait = 60_000, requestId = "b-1" });
        await Eventually.TrueAsync(async () => (await client.GetStateAsync(name)).Json["waiters"]!.AsArray().Count == 1, "b is queued");
        (await client.ReleaseAsync(name, a["leaseId"]!.GetValue<string>())).Expect(HttpStatusCode.NoContent);
        var b = (await waitingB).Expect(HttpStatusCode.OK).Json;
        (await client.ValidateAsync(name, b["fencingToken"]!.GetValue<long>())).Expect(HttpStatusCode.OK);
        (await client.ValidateAsync(name, a["fencingToken"]!.GetValue<long>())).Expect(HttpStatusCode.OK);
        (await client.AcquireAsync(name, new { owner = "c" })).Expect(HttpStatusCode.Conflict);
        (await client.ForceReleaseAsync(name, "metrics test", adminKey: null)).Expect(HttpStatusCode.NoContent);
        (await client.AcquireAsync(name, new { owner = "d", ttl = 1_000 })).Expect(HttpStatusCode.OK);
        await Eventually.TrueAsync(() => metrics.Sum("orleanslocks.lock.expirations") == 1, "d's lease expires");

        Assert.Equal(3, metrics.Sum("orleanslocks.lock.grants"));
        Assert.Equal(2, metrics.Sum("orleanslocks.lock.grants", ("queued", false)));
        Assert.Equal(1, metrics.Sum("orleanslocks.lock.grants", ("queued", true)));
        Assert.Equal(1, metrics.Sum("orleanslocks.lock.queued"));
        Assert.Equal(1, metrics.Sum("orleanslocks.lock.releases"));
        Assert.Equal(1, metrics.Sum("orleanslocks.lock.force_releases"));
        Assert.Equal(1, metrics.Sum("orleanslocks.lock.fencing.validations", ("result", "valid")));
        Assert.Equal(1, metrics.Sum("orleanslocks.lock.fencing.validations", ("result", "stale")));

        // Histograms: b waited once; three leases ended (released, forceReleased, expired after its 1 s).
        Assert.Equal(1, metrics.Count("orleanslocks.lock.wait.duration"));
        Assert.Equal(3, metrics.Count("orleanslocks.lock.hold.duration"));
        Assert.Equal(1.0, metrics.Values("orleanslocks.lock.hold.duration", ("reason", "expired")).Single(), precision: 3);
        Assert.Equal(1, metrics.Count("orleanslocks.lock.queue.length"));

        // Gauges of this silo: every lease and waiter that came also went.
        Assert.Equal(0, metrics.Sum("orleanslocks.lock.leases.active"));
        Assert.Equal(0, metrics.Sum("orleanslocks.lock.waiters"));

        // The Api's acquire latency by outcome; storage writes; activations.
        Assert.Equal(3, metrics.Count("orleanslocks.api.acquire.duration", ("outcome", "granted")));
        Assert.Equal(1, metrics.Count("orleanslocks.api.acquire.duration", ("outcome", "busy")));
        Assert.True(metrics.Count("orleanslocks.storage.write.duration") >= 6, "every state change is one storage write");
        Assert.Equal(1, metrics.Sum("orleanslocks.silo.activations.created"));

        // The same numbers in Prometheus text format.
        var text = (await client.GetAsync("/metrics")).Expect(HttpStatusCode.OK).RawBody;
        Assert.Contains("orleanslocks_lock_grants_total{mode=\"exclusive\",queued=\"true\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("orleanslocks_lock_grants_total{mode=\"exclusive\",queued=\"false\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("orleanslocks_lock_fencing_validations_total{result=\"stale\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("orleanslocks_lock_hold_duration_seconds_count{reason=\"expired\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("orleanslocks_api_acquire_duration_seconds_count{outcome=\"busy\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE orleanslocks_lock_leases_active gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("orleanslocks_silo_activations 1\n", text, StringComparison.Ordinal);
    }

    public void Dispose() => _factory.Dispose();

    /// <summary>Every measurement of the host's meters (those of its IMeterFactory) from now on.</summary>
    private sealed class MeasurementLog : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = new();

        public MeasurementLog(IMeterFactory scope)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, scope) && instrument.Meter.Name.StartsWith("OrleansLocks.", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, t, _) => _measurements.Enqueue((i.Name, v, t.ToArray())));
            _listener.SetMeasurementEventCallback<int>((i, v, t, _) => _measurements.Enqueue((i.Name, v, t.ToArray())));
            _listener.SetMeasurementEventCallback<double>((i, v, t, _) => _measurements.Enqueue((i.Name, v, t.ToArray())));
            _listener.Start();
        }

        public IEnumerable<double> Values(string instrument, params (string Key, object Value)[] tags)
            => _measurements
                .Where(m => m.Instrument == instrument && tags.All(t => m.Tags.Any(p => p.Key == t.Key && Equals(p.Value, t.Value))))
                .Select(m => m.Value);

        public double Sum(string instrument, params (string Key, object Value)[] tags) => Values(instrument, tags).Sum();

        public int Count(string instrument, params (string Key, object Value)[] tags) => Values(instrument, tags).Count();

        public void Dispose() => _listener.Dispose();
    }
}
