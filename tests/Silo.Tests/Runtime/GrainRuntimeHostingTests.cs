using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Hosting;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>AddGrainRuntime / AddGrain: options validation at start-up, registration errors, metrics.</summary>
public sealed class GrainRuntimeHostingTests
{
    [Theory]
    [InlineData("CollectionAge", "00:00:00")]
    [InlineData("CollectionQuantum", "-00:00:01")]
    [InlineData("ActivationTimeout", "00:00:00")]
    [InlineData("DeactivationTimeout", "100.00:00:00")]
    public async Task AddGrainRuntime_BadGrainCollectionSetting_StartFailsNamingIt(string setting, string value)
    {
        using var host = TestSilo.Build(
            new Dictionary<string, string?> { [$"GrainCollection:{setting}"] = value }, manualClock: true, null, out _);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains($"GrainCollection:{setting}", error.Message);
    }

    [Fact]
    public async Task AddGrainRuntime_BadSiloOption_StartFailsNamingIt()
    {
        using var host = TestSilo.Build(
            new Dictionary<string, string?> { ["Silo:ServiceId"] = "not a valid id!" }, manualClock: true, null, out _);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("ServiceId", error.Message);
    }

    [Fact]
    public async Task AddGrain_InterfaceRegisteredForTwoGrainTypes_StartFails()
    {
        using var host = TestSilo.Build(null, manualClock: true, s => s.AddGrain<ITestGrain, TestGrain>("other"), out _);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("'test' and 'other'", error.Message);
    }

    [Fact]
    public void AddGrain_BlankGrainType_Throws()
        => Assert.Throws<ArgumentException>(() => new ServiceCollection().AddGrain<ITestGrain, TestGrain>(" "));

    [Fact]
    public async Task AddGrainRuntime_DefaultsToSystemClock_AndKeepsAGivenOne()
    {
        await using var silo = await TestSilo.StartAsync(manualClock: false);
        Assert.Same(TimeProvider.System, silo.Services.GetRequiredService<TimeProvider>());
        await using var manual = await TestSilo.StartAsync();
        Assert.Same(manual.Time, manual.Services.GetRequiredService<TimeProvider>());
    }

    [Fact]
    public async Task Metrics_ActivationsAndCalls_AreRecordedOnTheSiloMeter()
    {
        await using var silo = await TestSilo.StartAsync();
        var meterFactory = silo.Services.GetRequiredService<IMeterFactory>();
        var measurements = new List<(string Instrument, double Value, string? Method)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SiloTelemetry.MeterName && instrument.Meter.Scope == meterFactory)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        listener.Start();

        await silo.Grain("m1").PingAsync();
        await silo.Grain("m2").IncrementAsync();
        listener.RecordObservableInstruments();

        lock (measurements)
        {
            Assert.Equal(2, measurements.Count(m => m.Instrument == "orleanslocks.silo.activations.created"));
            Assert.Contains(measurements, m => m.Instrument == "orleanslocks.silo.activations" && m.Value == 2);
            Assert.Contains(measurements, m => m.Instrument == "orleanslocks.silo.grain_call.duration" && m.Method == "ITestGrain.IncrementAsync");
        }

        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? method = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "method")
                {
                    method = tag.Value as string;
                }
            }

            lock (measurements)
            {
                measurements.Add((instrument.Name, value, method));
            }
        }
    }
}
