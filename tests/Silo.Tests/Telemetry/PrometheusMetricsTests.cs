using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Silo.Hosting.Telemetry;

namespace OrleansLocks.Silo.Tests.Telemetry;

/// <summary>The Prometheus text exposition (format 0.0.4) written for each kind of instrument.</summary>
public sealed class PrometheusMetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private IMeterFactory Meters => _services.GetRequiredService<IMeterFactory>();

    [Fact]
    public void Scrape_Counter_IsCumulativeTotalPerLabelSet()
    {
        using var prometheus = new PrometheusMetrics(Meters, ["Test.*"]);
        var counter = Meters.Create("Test.Counters").CreateCounter<long>("test.lock.grants", "{lease}", "Leases granted.");
        counter.Add(2, new KeyValuePair<string, object?>("mode", "shared"));
        counter.Add(3, new KeyValuePair<string, object?>("mode", "shared"));
        counter.Add(1, new KeyValuePair<string, object?>("mode", "exclusive"));

        Assert.Equal(
            "# HELP test_lock_grants_total Leases granted.\n" +
            "# TYPE test_lock_grants_total counter\n" +
            "test_lock_grants_total{mode=\"exclusive\"} 1\n" +
            "test_lock_grants_total{mode=\"shared\"} 5\n",
            prometheus.Scrape());
    }

    [Fact]
    public void Scrape_HistogramWithAdvisedBuckets_WritesCumulativeBucketsSumAndCount()
    {
        using var prometheus = new PrometheusMetrics(Meters, ["Test.Histograms"]);
        var histogram = Meters.Create("Test.Histograms").CreateHistogram(
            "test.wait.duration", "s", "Wait.", tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        histogram.Record(0.05);
        histogram.Record(0.1);  // le is inclusive
        histogram.Record(0.5);
        histogram.Record(7);

        Assert.Equal(
            "# HELP test_wait_duration_seconds Wait.\n" +
            "# TYPE test_wait_duration_seconds histogram\n" +
            "test_wait_duration_seconds_bucket{le=\"0.1\"} 2\n" +
            "test_wait_duration_seconds_bucket{le=\"1\"} 3\n" +
            "test_wait_duration_seconds_bucket{le=\"+Inf\"} 4\n" +
            "test_wait_duration_seconds_sum 7.65\n" +
            "test_wait_duration_seconds_count 4\n",
            prometheus.Scrape());
    }

    [Fact]
    public void Scrape_UpDownCounterAndObservableGauge_AreGauges()
    {
        using var prometheus = new PrometheusMetrics(Meters, ["Test.Gauges"]);
        var meter = Meters.Create("Test.Gauges");
        var leases = meter.CreateUpDownCounter<long>("test.leases.active", "{lease}", "Active.");
        var activations = 41;
        meter.CreateObservableGauge("test.activations", () => activations, "{activation}", "Hosted.");
        leases.Add(3);
        leases.Add(-1);
        activations++;

        var text = prometheus.Scrape();

        Assert.Contains("# TYPE test_leases_active gauge\ntest_leases_active 2\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE test_activations gauge\ntest_activations 42\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Scrape_LabelValues_AreEscapedAndKeysSanitized()
    {
        using var prometheus = new PrometheusMetrics(Meters, ["Test.Labels"]);
        var counter = Meters.Create("Test.Labels").CreateCounter<long>("test.calls", null, "Calls.\nPer line.");
        counter.Add(1, new KeyValuePair<string, object?>("storage.provider", "a\"b\\c\nd"), new KeyValuePair<string, object?>("ok", true));

        Assert.Equal(
            "# HELP test_calls_total Calls.\\nPer line.\n" +
            "# TYPE test_calls_total counter\n" +
            "test_calls_total{ok=\"true\",storage_provider=\"a\\\"b\\\\c\\nd\"} 1\n",
            prometheus.Scrape());
    }

    [Fact]
    public void Scrape_MetersOfAnotherHostOrNotSelected_AreLeftOut()
    {
        using var otherHost = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var prometheus = new PrometheusMetrics(Meters, ["Test.Scoped"]);
        Meters.Create("Test.Unselected").CreateCounter<long>("test.unselected").Add(1);
        otherHost.GetRequiredService<IMeterFactory>().Create("Test.Scoped").CreateCounter<long>("test.other_host").Add(1);
        Meters.Create("Test.Scoped").CreateCounter<long>("test.mine").Add(1);

        var text = prometheus.Scrape();

        Assert.Contains("test_mine_total 1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("unselected", text, StringComparison.Ordinal);
        Assert.DoesNotContain("other_host", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Scrape_SameTagsInAnotherOrderOrAsOtherObjects_AddToOneSeries()
    {
        using var prometheus = new PrometheusMetrics(Meters, ["Test.Reuse"]);
        var counter = Meters.Create("Test.Reuse").CreateCounter<long>("test.calls");
        for (var i = 0; i < 3; i++)
        {
            // A fresh string and a fresh boxed int every time: equal values, other objects.
            counter.Add(1, new("outcome", new string("ok".AsSpan())), new("code", (object)200));
        }

        counter.Add(10, new("code", 200), new("outcome", "ok"));
        counter.Add(100, new("code", 500), new("outcome", "ok"));

        Assert.Equal(
            "# HELP test_calls_total test.calls\n" +
            "# TYPE test_calls_total counter\n" +
            "test_calls_total{code=\"200\",outcome=\"ok\"} 13\n" +
            "test_calls_total{code=\"500\",outcome=\"ok\"} 100\n",
            prometheus.Scrape());
    }

    [Theory]
    [InlineData("orleanslocks.storage.write.duration", "s", "orleanslocks_storage_write_duration_seconds")]
    [InlineData("http.server.request.duration", "s", "http_server_request_duration_seconds")]
    [InlineData("kestrel.connection.duration_seconds", "s", "kestrel_connection_duration_seconds")]
    [InlineData("orleanslocks.lock.grants", "{lease}", "orleanslocks_lock_grants")]
    [InlineData("process.memory", "By", "process_memory_bytes")]
    [InlineData("9lives", null, "_lives")]
    public void MetricName_MapsUnitsToSuffixes(string name, string? unit, string expected)
        => Assert.Equal(expected, PrometheusMetrics.MetricName(name, unit));

    public void Dispose() => _services.Dispose();
}
