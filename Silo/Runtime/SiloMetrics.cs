using System.Diagnostics.Metrics;
using OrleansLocks.Silo.Hosting;

namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// The runtime's instruments on the meter <see cref="SiloTelemetry.MeterName"/>. Recording is guarded by
/// <see cref="Instrument.Enabled"/> so that the hot path costs nothing when nobody listens.
/// </summary>
internal sealed class SiloMetrics
{
    public SiloMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(SiloTelemetry.MeterName);
        ActivationsCreated = Meter.CreateCounter<long>(
            "orleanslocks.silo.activations.created", "{activation}", "Grain activations created (state read, OnActivateAsync done).");
        ActivationsCollected = Meter.CreateCounter<long>(
            "orleanslocks.silo.activations.collected", "{activation}", "Idle grain activations collected.");
        GrainCallDuration = Meter.CreateHistogram<double>(
            "orleanslocks.silo.grain_call.duration", "s", "Duration of grain calls, from the call to its result, including queueing and activation.");
    }

    public Meter Meter { get; }

    public Counter<long> ActivationsCreated { get; }

    public Counter<long> ActivationsCollected { get; }

    public Histogram<double> GrainCallDuration { get; }

    /// <summary>Publishes the number of activations the catalog holds, observed when a listener collects.</summary>
    public void ObserveActivationCount(Func<int> activationCount)
        => Meter.CreateObservableGauge(
            "orleanslocks.silo.activations", activationCount, "{activation}", "Grain activations this silo hosts now.");
}
