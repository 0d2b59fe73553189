using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansLocks.Silo.Membership;

/// <summary>The cluster's instruments on the meter <see cref="MeterName"/> (OpenTelemetry-compatible names and units).</summary>
internal sealed class ClusterMetrics
{
    /// <summary>The cluster's meter.</summary>
    public const string MeterName = "OrleansLocks.Cluster";

    private readonly Counter<long> _membershipWrites;
    private readonly Counter<long> _probes;
    private readonly Counter<long> _declaredDead;
    private readonly Counter<long> _forwardedCalls;
    private readonly Histogram<double> _forwardDuration;
    private readonly Counter<long> _activationsMoved;
    private readonly Counter<long> _directoryOperations;
    private readonly Counter<long> _viewChanges;

    public ClusterMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        _membershipWrites = Meter.CreateCounter<long>(
            "orleanslocks.cluster.membership.writes", "{write}", "Compare-and-swap writes to the membership table, by operation and outcome.");
        _probes = Meter.CreateCounter<long>("orleanslocks.cluster.probes", "{probe}", "Liveness probes sent to other silos, by outcome.");
        _declaredDead = Meter.CreateCounter<long>("orleanslocks.cluster.silos.declared_dead", "{silo}", "Silos this silo declared dead.");
        _forwardedCalls = Meter.CreateCounter<long>(
            "orleanslocks.cluster.calls.forwarded", "{call}", "Grain calls sent to another silo, by outcome.");
        _forwardDuration = Meter.CreateHistogram<double>(
            "orleanslocks.cluster.calls.forwarded.duration", "s", "Duration of grain calls sent to another silo, including retries.");
        _activationsMoved = Meter.CreateCounter<long>(
            "orleanslocks.cluster.activations.moved", "{activation}", "Activations deactivated because membership placed their grain on another silo.");
        _directoryOperations = Meter.CreateCounter<long>(
            "orleanslocks.cluster.directory.operations", "{operation}", "Grain directory operations of this silo, by operation and outcome.");
        _viewChanges = Meter.CreateCounter<long>(
            "orleanslocks.cluster.membership.changes", "{change}", "Times this process's membership view moved to a newer table version (a silo joined, left, changed status or was voted on).");
    }

    public Meter Meter { get; }

    /// <summary>Publishes the membership version and the number of active silos of the current view.</summary>
    public void ObserveView(Func<int> version, Func<int> activeSilos)
    {
        Meter.CreateObservableGauge("orleanslocks.cluster.membership.version", version, "{version}", "The membership table version of this silo's view.");
        Meter.CreateObservableGauge("orleanslocks.cluster.silos.active", activeSilos, "{silo}", "Active silos in this silo's membership view.");
    }

    public void MembershipWrite(string operation, string outcome)
        => _membershipWrites.Add(1, new TagList { { "operation", operation }, { "outcome", outcome } });

    public void Probe(bool succeeded) => _probes.Add(1, new KeyValuePair<string, object?>("outcome", succeeded ? "ok" : "failed"));

    public void SiloDeclaredDead() => _declaredDead.Add(1);

    public void ForwardedCall(string outcome, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        _forwardedCalls.Add(1, tag);
        if (_forwardDuration.Enabled)
        {
            _forwardDuration.Record(duration.TotalSeconds, tag);
        }
    }

    public void ActivationsMoved(int count) => _activationsMoved.Add(count);

    /// <summary>A grain directory operation: register (registered, duplicate, replaced-stale, failed), unregister, cleanup.</summary>
    public void DirectoryOperation(string operation, string outcome, long count = 1)
        => _directoryOperations.Add(count, new TagList { { "operation", operation }, { "outcome", outcome } });

    public void ViewChanged() => _viewChanges.Add(1);
}
