using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansLocks.Grains;

/// <summary>
/// The lock protocol's instruments on the meter <see cref="MeterName"/> (OpenTelemetry-compatible names and units).
/// Recorded by the lock grain after each commit, so they count what storage holds, never an unwritten decision.
/// Gauges of this silo (active leases, waiters) are up-down counters that each activation adjusts by its own
/// change and takes back when it goes away, so they stay right when locks move between silos.
/// </summary>
public sealed class LockMetrics
{
    /// <summary>The lock protocol's meter.</summary>
    public const string MeterName = "OrleansLocks.Locks";

    private static readonly double[] SecondsBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

    private readonly Counter<long> _grants;
    private readonly Counter<long> _queued;
    private readonly Counter<long> _releases;
    private readonly Counter<long> _expirations;
    private readonly Counter<long> _forceReleases;
    private readonly Counter<long> _dequeued;
    private readonly Counter<long> _renewals;
    private readonly Counter<long> _validations;
    private readonly Histogram<double> _waitTime;
    private readonly Histogram<double> _holdTime;
    private readonly Histogram<int> _queueLength;
    private readonly UpDownCounter<long> _activeLeases;
    private readonly UpDownCounter<long> _waiters;

    /// <summary>Creates the instruments on a meter of <paramref name="meterFactory"/>.</summary>
    public LockMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _grants = meter.CreateCounter<long>("orleanslocks.lock.grants", "{lease}", "Leases granted, by mode and whether the request waited in the queue.");
        _queued = meter.CreateCounter<long>("orleanslocks.lock.queued", "{request}", "Acquire requests that joined a lock's queue.");
        _releases = meter.CreateCounter<long>("orleanslocks.lock.releases", "{lease}", "Leases released by their holders.");
        _expirations = meter.CreateCounter<long>("orleanslocks.lock.expirations", "{lease}", "Leases that ended because their deadline passed.");
        _forceReleases = meter.CreateCounter<long>("orleanslocks.lock.force_releases", "{lease}", "Leases removed by an administrator's force-release.");
        _dequeued = meter.CreateCounter<long>("orleanslocks.lock.dequeued", "{request}", "Waiters that left a queue without a grant, by reason (abandoned, cancelled).");
        _renewals = meter.CreateCounter<long>("orleanslocks.lock.renewals", "{lease}", "Leases renewed.");
        _validations = meter.CreateCounter<long>("orleanslocks.lock.fencing.validations", "{validation}", "Fencing-token validations, by result (valid, stale).");
        _waitTime = meter.CreateHistogram(
            "orleanslocks.lock.wait.duration", "s", "Time a granted request spent in the queue, from joining it to its grant.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _holdTime = meter.CreateHistogram(
            "orleanslocks.lock.hold.duration", "s", "Time a lease was held, from grant to its end, by how it ended (released, expired, forceReleased).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _queueLength = meter.CreateHistogram(
            "orleanslocks.lock.queue.length", "{request}", "A lock's queue length seen by each request that joined it (its position): how contended locks are.",
            tags: null, advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 10000] });
        _activeLeases = meter.CreateUpDownCounter<long>("orleanslocks.lock.leases.active", "{lease}", "Leases held on the locks this silo hosts now.");
        _waiters = meter.CreateUpDownCounter<long>("orleanslocks.lock.waiters", "{request}", "Waiters queued on the locks this silo hosts now.");
    }

    internal void Granted(LockMode mode, TimeSpan? waited)
    {
        _grants.Add(1, new TagList { { "mode", ModeTag(mode) }, { "queued", waited is not null } });
        if (waited is { } w)
        {
            _waitTime.Record(Math.Max(0, w.TotalSeconds), new KeyValuePair<string, object?>("mode", ModeTag(mode)));
        }
    }

    internal void Queued(LockMode mode, int position)
    {
        _queued.Add(1, new KeyValuePair<string, object?>("mode", ModeTag(mode)));
        _queueLength.Record(position);
    }

    internal void LeaseEnded(string reason, TimeSpan? held)
    {
        var tag = new KeyValuePair<string, object?>("reason", reason);
        switch (reason)
        {
            case "released":
                _releases.Add(1);
                break;
            case "expired":
                _expirations.Add(1);
                break;
            default:
                _forceReleases.Add(1);
                break;
        }

        if (held is { } h)
        {
            _holdTime.Record(Math.Max(0, h.TotalSeconds), tag);
        }
    }

    internal void Dequeued(string reason) => _dequeued.Add(1, new KeyValuePair<string, object?>("reason", reason));

    internal void Renewed() => _renewals.Add(1);

    internal void Validated(bool valid) => _validations.Add(1, new KeyValuePair<string, object?>("result", valid ? "valid" : "stale"));

    internal void AdjustHosted(long leases, long waiters)
    {
        if (leases != 0)
        {
            _activeLeases.Add(leases);
        }

        if (waiters != 0)
        {
            _waiters.Add(waiters);
        }
    }

    private static string ModeTag(LockMode mode) => mode == LockMode.Shared ? "shared" : "exclusive";
}
