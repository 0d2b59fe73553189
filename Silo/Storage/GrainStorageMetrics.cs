using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansLocks.Silo.Storage;

/// <summary>The instruments of meter <c>OrleansLocks.Storage</c> (OpenTelemetry-compatible names and units).</summary>
internal sealed class GrainStorageMetrics
{
    public const string MeterName = "OrleansLocks.Storage";

    private readonly Histogram<double> _writeDuration;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _batchDuration;
    private readonly Counter<long> _versionConflicts;

    public GrainStorageMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        double[] seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
        _writeDuration = meter.CreateHistogram(
            "orleanslocks.storage.write.duration",
            unit: "s",
            description: "Time from a grain state write being queued until it is committed (or failed), including the wait for its batch.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = seconds });
        _batchDuration = meter.CreateHistogram(
            "orleanslocks.storage.batch.duration",
            unit: "s",
            description: "Time to execute and commit one group-commit batch.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = seconds });
        _batchSize = meter.CreateHistogram(
            "orleanslocks.storage.batch.size",
            unit: "{write}",
            description: "Writes committed together in one transaction (group commit).",
            tags: null,
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096] });
        _versionConflicts = meter.CreateCounter<long>(
            "orleanslocks.storage.version_conflicts",
            unit: "{conflict}",
            description: "Writes rejected because the stored version was not the one the writer read (e.g. a duplicate activation).");
    }

    public void RecordWrite(string provider, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "storage.provider", provider }, { "outcome", outcome } };
        _writeDuration.Record(duration.TotalSeconds, tags);
    }

    public void RecordBatch(string provider, int size, TimeSpan duration, bool committed)
    {
        var tags = new TagList { { "storage.provider", provider }, { "outcome", committed ? "committed" : "failed" } };
        _batchSize.Record(size, tags);
        _batchDuration.Record(duration.TotalSeconds, tags);
    }

    public void RecordVersionConflict(string provider, string grainType)
        => _versionConflicts.Add(1, new TagList { { "storage.provider", provider }, { "grain.type", grainType } });
}
