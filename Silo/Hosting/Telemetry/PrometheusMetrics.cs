using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace OrleansLocks.Silo.Hosting.Telemetry;

/*
 * Design note — Prometheus text exposition over MeterListener (GET /metrics).
 *
 * The OpenTelemetry Prometheus exporter package is not available to this build, so this is a small, complete
 * implementation of the text format (version 0.0.4) for the instruments of System.Diagnostics.Metrics:
 *   Counter, ObservableCounter            -> counter   <name>[_<unit>]_total    (cumulative since start)
 *   UpDownCounter, ObservableUpDownCounter,
 *   Gauge, ObservableGauge                -> gauge     <name>[_<unit>]
 *   Histogram                             -> histogram <name>[_<unit>]_bucket{le=…} (cumulative), _sum, _count
 * Names follow OpenTelemetry's Prometheus mapping: characters outside [a-zA-Z0-9_:] become '_', the unit becomes a
 * suffix (s -> seconds, ms -> milliseconds, By -> bytes; annotations like {lease} are dropped), tag keys likewise.
 * Histogram buckets come from the instrument's advice, else OpenTelemetry's defaults (seconds-scaled for unit "s").
 *
 * Only meters of this host are listened to (Meter.Scope is this host's IMeterFactory, or a process-wide meter with
 * no scope) and only those the configuration selects, so several hosts in one process (tests, in-process clusters)
 * never mix their numbers. Observable instruments are read at scrape time; a scrape holds one lock so concurrent
 * scrapes see consistent observable values.
 */

/// <summary>Aggregates the selected meters' measurements and writes them in Prometheus text format.</summary>
internal sealed class PrometheusMetrics : IDisposable
{
    /// <summary>The Content-Type of the text exposition format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
    private static readonly double[] DefaultSecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, InstrumentState> _instruments = new();
    private readonly Lock _scrapeGate = new();
    private readonly object? _scope;
    private readonly string[] _meters;

    /// <param name="scope">This host's <see cref="IMeterFactory"/>: meters of other hosts in the process are ignored.</param>
    /// <param name="meters">Meter names to export; a trailing '*' matches a prefix ("OrleansLocks.*").</param>
    public PrometheusMetrics(object? scope, IEnumerable<string> meters)
    {
        _scope = scope;
        _meters = [.. meters];
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (Selects(instrument.Meter))
            {
                var state = new InstrumentState(instrument);
                _instruments[instrument] = state;
                listener.EnableMeasurementEvents(instrument, state);
            }
        };
        _listener.MeasurementsCompleted = (instrument, state) => _instruments.TryRemove(instrument, out var _);
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => ((InstrumentState)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>Reads the observable instruments and writes every selected instrument's current values.</summary>
    public string Scrape()
    {
        lock (_scrapeGate)
        {
            _listener.RecordObservableInstruments();
            var families = _instruments.Values
                .GroupBy(s => s.MetricName, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            var text = new StringBuilder();
            foreach (var family in families)
            {
                var first = family.First();
                text.Append("# HELP ").Append(first.MetricName).Append(' ').Append(EscapeHelp(first.Instrument.Description ?? first.Instrument.Name)).Append('\n');
                text.Append("# TYPE ").Append(first.MetricName).Append(' ').Append(first.TypeName).Append('\n');
                foreach (var state in family)
                {
                    state.Write(text);
                }
            }

            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    private bool Selects(Meter meter)
    {
        if (meter.Scope is not null && !ReferenceEquals(meter.Scope, _scope))
        {
            return false;
        }

        foreach (var pattern in _meters)
        {
            if (pattern.EndsWith('*')
                ? meter.Name.StartsWith(pattern[..^1], StringComparison.Ordinal)
                : meter.Name.Equals(pattern, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The Prometheus name of an instrument: sanitized, with its unit as a suffix.</summary>
    internal static string MetricName(string name, string? unit)
    {
        var metric = Sanitize(name);
        var suffix = unit switch
        {
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            null or "" or "1" => null,
            _ when unit.StartsWith('{') => null,
            _ => Sanitize(unit),
        };
        return suffix is null || metric.EndsWith("_" + suffix, StringComparison.Ordinal) ? metric : metric + "_" + suffix;
    }

    internal static string Sanitize(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            var ok = char.IsAsciiLetterOrDigit(c) || c is '_' or ':';
            if (!ok || (i == 0 && char.IsAsciiDigit(c)))
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
    }

    internal static string FormatValue(double value)
        => double.IsPositiveInfinity(value) ? "+Inf"
            : double.IsNegativeInfinity(value) ? "-Inf"
            : double.IsNaN(value) ? "NaN"
            : value.ToString("R", CultureInfo.InvariantCulture);

    private static string EscapeHelp(string help) => help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string EscapeLabel(string value)
        => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private enum Kind
    {
        Counter,
        UpDownCounter,
        Gauge,
        ObservedCounter,
        ObservedGauge,
        Histogram,
    }

    /// <summary>One instrument's series, keyed by their labels.</summary>
    /// <remarks>
    /// A measurement finds its series without allocating: the series seen so far are also indexed by a hash of the
    /// measurement's tags (keys and values as given, in order), and a hit is confirmed by comparing the tags one by
    /// one. Only a tag combination not seen before builds its label text (sorted, sanitized, escaped), which is what
    /// the series are keyed by, so two tag orders or equal values of different objects still share one series.
    /// </remarks>
    private sealed class InstrumentState
    {
        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<int, TagsEntry[]> _byTags = new();
        private readonly Kind _kind;
        private readonly double[] _bounds = [];

        public InstrumentState(Instrument instrument)
        {
            Instrument = instrument;
            var type = instrument.GetType();
            var generic = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
            _kind = generic == typeof(Counter<>) ? Kind.Counter
                : generic == typeof(UpDownCounter<>) ? Kind.UpDownCounter
                : generic == typeof(Gauge<>) ? Kind.Gauge
                : generic == typeof(ObservableCounter<>) ? Kind.ObservedCounter
                : generic == typeof(Histogram<>) ? Kind.Histogram
                : Kind.ObservedGauge;
            var baseName = MetricName(instrument.Name, instrument.Unit);
            MetricName = _kind is Kind.Counter or Kind.ObservedCounter && !baseName.EndsWith("_total", StringComparison.Ordinal) ? baseName + "_total" : baseName;
            TypeName = _kind switch
            {
                Kind.Counter or Kind.ObservedCounter => "counter",
                Kind.Histogram => "histogram",
                _ => "gauge",
            };
            if (_kind == Kind.Histogram)
            {
                _bounds = AdvisedBuckets(instrument) ?? (instrument.Unit == "s" ? DefaultSecondsBuckets : DefaultBuckets);
            }
        }

        public Instrument Instrument { get; }

        public string MetricName { get; }

        public string TypeName { get; }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = Find(tags);
            lock (series)
            {
                switch (_kind)
                {
                    case Kind.Counter:
                    case Kind.UpDownCounter:
                        series.Value += value;
                        break;
                    case Kind.Histogram:
                        series.Count++;
                        series.Value += value;
                        var bucket = Array.BinarySearch(_bounds, value);
                        series.Buckets![bucket >= 0 ? bucket : ~bucket]++;
                        break;
                    default:
                        // Gauges and observed values: the latest measurement is the value.
                        series.Value = value;
                        break;
                }
            }
        }

        /// <summary>Number of distinct tag combinations seen (for tests).</summary>
        internal int TagCombinations => _byTags.Values.Sum(entries => entries.Length);

        private Series Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var hash = Hash(tags);
            if (_byTags.TryGetValue(hash, out var entries))
            {
                foreach (var entry in entries)
                {
                    if (entry.Matches(tags))
                    {
                        return entry.Series;
                    }
                }
            }

            // First time for this combination: the label text decides the series.
            var labels = Labels(tags);
            var series = _series.GetOrAdd(labels, static (_, bounds) => new Series(bounds.Length), _bounds);
            var added = new TagsEntry(tags.ToArray(), series);
            _byTags.AddOrUpdate(hash, static (_, e) => [e], static (_, existing, e) => existing.Any(x => x.Matches(e.Tags)) ? existing : [.. existing, e], added);
            return series;
        }

        private static int Hash(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var hash = new HashCode();
            foreach (var tag in tags)
            {
                hash.Add(tag.Key, StringComparer.Ordinal);
                hash.Add(tag.Value);
            }

            return hash.ToHashCode();
        }

        public void Write(StringBuilder text)
        {
            foreach (var (labels, series) in _series.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                lock (series)
                {
                    if (_kind != Kind.Histogram)
                    {
                        Sample(text, MetricName, labels, null, series.Value);
                        continue;
                    }

                    var baseName = MetricName;
                    long cumulative = 0;
                    for (var i = 0; i < _bounds.Length; i++)
                    {
                        cumulative += series.Buckets![i];
                        Sample(text, baseName + "_bucket", labels, FormatValue(_bounds[i]), cumulative);
                    }

                    Sample(text, baseName + "_bucket", labels, "+Inf", series.Count);
                    Sample(text, baseName + "_sum", labels, null, series.Value);
                    Sample(text, baseName + "_count", labels, null, series.Count);
                }
            }
        }

        private static void Sample(StringBuilder text, string name, string labels, string? le, double value)
        {
            text.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                text.Append('{').Append(labels);
                if (le is not null)
                {
                    text.Append(labels.Length > 0 ? "," : "").Append("le=\"").Append(le).Append('"');
                }

                text.Append('}');
            }

            text.Append(' ').Append(FormatValue(value)).Append('\n');
        }

        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0)
            {
                return "";
            }

            var pairs = new List<KeyValuePair<string, string>>(tags.Length);
            foreach (var tag in tags)
            {
                var value = tag.Value switch
                {
                    null => "",
                    bool b => b ? "true" : "false",
                    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                    var other => other.ToString() ?? "",
                };
                pairs.Add(new(Sanitize(tag.Key), value));
            }

            pairs.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            return string.Join(",", pairs.Select(p => $"{p.Key}=\"{EscapeLabel(p.Value)}\""));
        }

        private static double[]? AdvisedBuckets(Instrument instrument)
            => instrument switch
            {
                Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray(),
                Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
                _ => null,
            };
    }

    /// <summary>A tag combination as measured, and its series.</summary>
    private sealed class TagsEntry(KeyValuePair<string, object?>[] tags, Series series)
    {
        public KeyValuePair<string, object?>[] Tags { get; } = tags;

        public Series Series { get; } = series;

        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length != Tags.Length)
            {
                return false;
            }

            for (var i = 0; i < tags.Length; i++)
            {
                if (!string.Equals(tags[i].Key, Tags[i].Key, StringComparison.Ordinal) || !Equals(tags[i].Value, Tags[i].Value))
                {
                    return false;
                }
            }

            return true;
        }
    }

    private sealed class Series(int buckets)
    {
        public double Value;
        public long Count;
        public long[]? Buckets = buckets > 0 ? new long[buckets + 1] : null;
    }
}
