using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Silo.Storage.Memory;

namespace OrleansLocks.Silo.Tests.Storage;

public sealed class GrainStorageMetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();

    public GrainStorageMetricsTests()
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Only the meter of this test's factory: other tests run in parallel with their own.
            if (instrument.Meter.Name == GrainStorageMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }

    [Fact]
    public async Task Writes_RecordLatencyBatchSizeAndConflicts()
    {
        var metrics = new GrainStorageMetrics(_services.GetRequiredService<IMeterFactory>());
        await using var storage = new GrainStorage(
            new MemoryGrainStorageBackend(new MemoryGrainStorageDatabase(), "svc", 1),
            new JsonGrainStorageSerializer(),
            metrics,
            TimeProvider.System,
            16,
            NullLogger<GrainStorage>.Instance);

        await storage.WriteStateAsync("state", new GrainId("lock", "k"), new GrainState<TestState>(new TestState()));
        await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteStateAsync("state", new GrainId("lock", "k"), new GrainState<TestState>(new TestState())));

        var conflict = Assert.Single(_measurements, m => m.Instrument == "orleanslocks.storage.version_conflicts");
        Assert.Equal(("memory", "lock"), (conflict.Tags["storage.provider"], conflict.Tags["grain.type"]));
        var writes = _measurements.Where(m => m.Instrument == "orleanslocks.storage.write.duration").ToList();
        Assert.Equal(["committed", "conflict"], writes.Select(m => m.Tags["outcome"]));
        Assert.All(writes, m => Assert.True(m.Value >= 0));
        Assert.Equal([1.0, 1.0], _measurements.Where(m => m.Instrument == "orleanslocks.storage.batch.size").Select(m => m.Value));
    }

    private void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        where T : struct
        => _measurements.Enqueue((instrument.Name, Convert.ToDouble(value), new Dictionary<string, object?>(tags.ToArray())));
}
