using System.Globalization;
using System.Text;
using OrleansLocks.Benchmarks.Harness;
using OrleansLocks.Benchmarks.Workloads;

namespace OrleansLocks.Benchmarks.Report;

/// <summary>Renders a run as the Markdown that docs/benchmarks.md quotes: one table per workload, ratios, targets.</summary>
internal static class MarkdownReport
{
    private static readonly string[] ServiceIds = ["service-sqlite", "service-postgres", "service-cluster"];

    public static string Render(RunResults results, BenchOptions options, IReadOnlyList<(string What, string Value)> machine, DateTimeOffset startedAt, TimeSpan elapsed)
    {
        var md = new StringBuilder();
        md.AppendLine(Inv($"## Run of {startedAt:yyyy-MM-dd HH:mm} UTC ({elapsed.TotalMinutes:N1} min)"));
        md.AppendLine();
        md.AppendLine(Inv($"Each system first runs {options.SystemWarmup.TotalSeconds:0.#} s of its workloads unmeasured (JIT, connections, pools). Cells: {options.Warmup.TotalSeconds:0.#} s warm-up (not counted) + {options.Duration.TotalSeconds:0.#} s measured{(options.Repeat > 1 ? $", each run {options.Repeat} times, the median-throughput run shown" : "")}. Latencies in ms. Closed loop, no think time, hold time 0."));
        md.AppendLine();
        md.AppendLine("| machine | |");
        md.AppendLine("|---|---|");
        foreach (var (what, value) in machine)
        {
            md.AppendLine($"| {what} | {value} |");
        }

        md.AppendLine();
        Systems(md, results);
        Uncontended(md, results);
        Hot(md, results);
        ReadMostly(md, results);
        ManyNamesSection(md, results);
        Targets(md, results);
        if (results.Skips.Count > 0)
        {
            md.AppendLine("### Not measured in this run");
            md.AppendLine();
            foreach (var skip in results.Skips)
            {
                md.AppendLine($"- {skip.System} / {skip.Workload}: {skip.Reason}");
            }

            md.AppendLine();
        }

        return md.ToString();
    }

    private static void Systems(StringBuilder md, RunResults results)
    {
        md.AppendLine("### Systems");
        md.AppendLine();
        md.AppendLine("| system | what one operation is | durability | waits for a busy lock by |");
        md.AppendLine("|---|---|---|---|");
        foreach (var target in results.Targets.Values)
        {
            results.WaitStrategies.TryGetValue(target.Id, out var wait);
            md.AppendLine($"| {target.Id} | {target.Description} | {(target.Durable ? "" : "**")}{target.Durability}{(target.Durable ? "" : "**")} | {wait ?? "—"} |");
        }

        md.AppendLine();
    }

    private static void Uncontended(StringBuilder md, RunResults results)
    {
        if (results.Uncontended.Count == 0)
        {
            return;
        }

        md.AppendLine("### 1. Uncontended: each client on its own lock, acquire+release pairs/s");
        md.AppendLine();
        md.AppendLine("Ceilings do one operation (one HTTP request, one commit) where the lock systems do a pair. Load = the 1-minute load average at the end of the cell (2 cores; this run's processes included). WAL syncs/op = PostgreSQL WAL flushes (pg_stat_wal.wal_sync) in the window per counted operation, for the systems that use PostgreSQL: how well commits are grouped (approximate: the counters lag up to 1 s).");
        md.AppendLine();
        foreach (var group in results.Uncontended.GroupBy(r => r.Clients).OrderBy(g => g.Key))
        {
            var services = group.Where(r => ServiceIds.Contains(r.System)).ToList();
            md.AppendLine(Inv($"#### C = {group.Key}"));
            md.AppendLine();
            md.Append("| system | pairs/s (ops/s) | p50 | p99 | p99.9 | acquire p50 / p99 | release p50 / p99 | WAL syncs/op | errors | load |");
            foreach (var service in services)
            {
                md.Append(Inv($" {service.System} ÷ this |"));
            }

            md.AppendLine();
            md.Append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            md.AppendLine(string.Concat(services.Select(_ => "--:|")));
            foreach (var row in group)
            {
                md.Append(Inv($"| {row.System} | {row.Loop.PerSecond:N0} | {Ms(row.Loop.Latency, 0.5)} | {Ms(row.Loop.Latency, 0.99)} | {Ms(row.Loop.Latency, 0.999)} | {Halves(row.Acquire)} | {Halves(row.Release)} | {Wal(row.WalSyncsPerOperation)} | {Errors(row.Loop)} | {row.Loop.Load} |"));
                foreach (var service in services)
                {
                    md.Append(Inv($" {Ratio(service.Loop.PerSecond, row.Loop.PerSecond)} |"));
                }

                md.AppendLine();
            }

            md.AppendLine();
            if (group.Key == 1)
            {
                Floor(md, group.ToList());
            }
        }
    }

    private static void Floor(StringBuilder md, List<UncontendedResult> single)
    {
        var pg = single.FirstOrDefault(r => r.System == "ceiling-pg");
        var http = single.FirstOrDefault(r => r.System == "ceiling-http");
        if (pg is null || http is null)
        {
            return;
        }

        var floor = (2 * pg.Loop.Latency.Percentile(0.5)) + (2 * http.Loop.Latency.Percentile(0.5));
        md.AppendLine(Inv($"Physical floor of a durable pair at C = 1: 2 × commit p50 ({Ms(pg.Loop.Latency, 0.5)}) + 2 × trivial round trip p50 ({Ms(http.Loop.Latency, 0.5)}) = {floor / 1e6:0.###} ms. Pair p50 ÷ floor (the floor is the service's on PostgreSQL; peers that write elsewhere, or nothing, can be below 1):"));
        md.AppendLine();
        md.AppendLine("| system | pair p50 | ÷ floor |");
        md.AppendLine("|---|--:|--:|");
        foreach (var row in single.Where(r => !r.System.StartsWith("ceiling", StringComparison.Ordinal)))
        {
            md.AppendLine(Inv($"| {row.System} | {Ms(row.Loop.Latency, 0.5)} | {row.Loop.Latency.Percentile(0.5) / (double)floor:0.00} |"));
        }

        md.AppendLine();
    }

    private static void Hot(StringBuilder md, RunResults results)
    {
        if (results.Hot.Count == 0)
        {
            return;
        }

        md.AppendLine("### 2. Hot lock: C clients on one exclusive lock");
        md.AppendLine();
        md.AppendLine("Hand-off = from the holder starting its release to the next client holding its grant. Cycle = one client's acquire (with its wait) + release.");
        md.AppendLine();
        foreach (var group in results.Hot.GroupBy(r => r.Clients).OrderBy(g => g.Key))
        {
            var services = group.Where(r => ServiceIds.Contains(r.System)).ToList();
            md.AppendLine(Inv($"#### C = {group.Key}"));
            md.AppendLine();
            md.Append("| system | hand-offs/s | hand-off p50 | p99 | p99.9 | cycle p50 | cycle p99 | grants min–max per client | max/min | violations | WAL syncs/hand-off | errors | load |");
            md.AppendLine(string.Concat(services.Select(s => $" {s.System} ÷ this |")));
            md.Append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            md.AppendLine(string.Concat(services.Select(_ => "--:|")));
            foreach (var row in group)
            {
                var fairness = double.IsInfinity(row.Fairness) ? "∞" : row.Fairness.ToString("0.00", CultureInfo.InvariantCulture);
                md.Append(Inv($"| {row.System} | {row.Loop.PerSecond:N0} | {Ms(row.Handoff, 0.5)} | {Ms(row.Handoff, 0.99)} | {Ms(row.Handoff, 0.999)} | {Ms(row.Loop.Latency, 0.5)} | {Ms(row.Loop.Latency, 0.99)} | {row.MinGrants:N0}–{row.MaxGrants:N0} | {fairness} | {row.Violations} | {Wal(row.WalSyncsPerOperation)} | {Errors(row.Loop)} | {row.Loop.Load} |"));
                md.AppendLine(string.Concat(services.Select(s => $" {Ratio(s.Loop.PerSecond, row.Loop.PerSecond)} |")));
            }

            md.AppendLine();
        }
    }

    private static void ReadMostly(StringBuilder md, RunResults results)
    {
        var skipped = results.Skips.Where(s => s.Workload == "read-mostly" && s.Reason.StartsWith("N/A", StringComparison.Ordinal)).ToList();
        if (results.ReadMostly.Count == 0 && skipped.Count == 0)
        {
            return;
        }

        var first = results.ReadMostly.FirstOrDefault();
        md.AppendLine(first is null
            ? "### 3. Read-mostly: 90 % shared, 10 % exclusive"
            : Inv($"### 3. Read-mostly: {first.Clients} clients, 90 % shared, 10 % exclusive, over {first.Locks} locks"));
        md.AppendLine();
        md.AppendLine("Latency = acquire (with its wait) + release.");
        md.AppendLine();
        var services = results.ReadMostly.Where(r => ServiceIds.Contains(r.System)).ToList();
        md.Append("| system | pairs/s | p50 | p99 | p99.9 | shared p99 | exclusive p50 | exclusive p99 | WAL syncs/op | errors | load |");
        md.AppendLine(string.Concat(services.Select(s => $" {s.System} ÷ this |")));
        md.Append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        md.AppendLine(string.Concat(services.Select(_ => "--:|")));
        foreach (var row in results.ReadMostly)
        {
            md.Append(Inv($"| {row.System} | {row.Loop.PerSecond:N0} | {Ms(row.Loop.Latency, 0.5)} | {Ms(row.Loop.Latency, 0.99)} | {Ms(row.Loop.Latency, 0.999)} | {Ms(row.Shared, 0.99)} | {Ms(row.Exclusive, 0.5)} | {Ms(row.Exclusive, 0.99)} | {Wal(row.WalSyncsPerOperation)} | {Errors(row.Loop)} | {row.Loop.Load} |"));
            md.AppendLine(string.Concat(services.Select(s => $" {Ratio(s.Loop.PerSecond, row.Loop.PerSecond)} |")));
        }

        foreach (var skip in skipped)
        {
            md.AppendLine($"| {skip.System} | {skip.Reason} | | | | | | | | | |{string.Concat(services.Select(_ => " |"))}");
        }

        md.AppendLine();
    }

    private static void ManyNamesSection(StringBuilder md, RunResults results)
    {
        foreach (var result in results.ManyNames)
        {
            md.AppendLine(Inv($"### 4. Many names: {result.System}, {result.Names:N0} names, {result.Held:N0} held at once, GrainCollection:CollectionAge = {result.CollectionAge.TotalSeconds:N0} s"));
            md.AppendLine();
            md.AppendLine("| phase | count | seconds | per second | p50 | p99 | p99.9 | RSS MiB | peak RSS MiB | activations | errors | note |");
            md.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|");
            foreach (var phase in result.Phases)
            {
                var latency = phase.Latency;
                md.AppendLine(Inv($"| {phase.Name} | {(phase.Count > 0 ? phase.Count.ToString("N0", CultureInfo.InvariantCulture) : "")} | {phase.Elapsed.TotalSeconds:N1} | {(phase.Count > 0 ? phase.PerSecond.ToString("N0", CultureInfo.InvariantCulture) : "")} | {(latency is null ? "" : Ms(latency, 0.5))} | {(latency is null ? "" : Ms(latency, 0.99))} | {(latency is null ? "" : Ms(latency, 0.999))} | {phase.Memory.RssKb / 1024.0:N0} | {phase.Memory.PeakRssKb / 1024.0:N0} | {phase.Activations?.ToString("N0", CultureInfo.InvariantCulture) ?? "?"} | {(phase.Errors > 0 ? $"{phase.Errors} ({phase.FirstError})" : "0")} | {phase.Note} |"));
            }

            md.AppendLine();
            if (result.BytesPerHeldLock is { } perLock)
            {
                md.AppendLine(Inv($"Memory per held lock: {perLock:N0} bytes (RSS while {result.Held:N0} leases are held minus the baseline RSS, over the count; includes what the GC keeps around, so an upper bound)."));
            }

            if (result.LiveBytesPerHeldLock is { } livePerLock)
            {
                md.AppendLine(Inv($"Live heap per held lock: {livePerLock:N0} bytes (managed heap after a forced full compacting collection while held, minus the same at baseline ({result.LiveHeapBaselineBytes / 1048576.0:N1} MiB), over the count)."));
            }

            var baseline = result.Phases[0].Memory.RssKb;
            var last = result.Phases[^1].Memory.RssKb;
            md.AppendLine(Inv($"RSS after the last idle collection: {last / 1024.0:N0} MiB vs {baseline / 1024.0:N0} MiB at baseline ({(baseline > 0 ? (double)last / baseline : 0):0.00}×)."));
            md.AppendLine();
        }
    }

    private static void Targets(StringBuilder md, RunResults results)
    {
        var rows = new List<(string Target, string Measured, string Verdict)>();
        double? Uncontended(string system, int clients) => results.Uncontended.FirstOrDefault(r => r.System == system && r.Clients == clients)?.Loop.PerSecond;

        foreach (var clients in results.Uncontended.Select(r => r.Clients).Distinct().Order())
        {
            if (Uncontended("service-postgres", clients) is { } svc && Uncontended("etcd", clients) is { } etcd)
            {
                rows.Add(Inv($"uncontended pairs/s ≥ 4× etcd at C = {clients}", $"{svc / etcd:0.00}×", Verdict(svc >= 4 * etcd)));
            }

            if (Uncontended("service-sqlite", clients) is { } embedded && Uncontended("ceiling-http", clients) is { } trivial)
            {
                rows.Add(Inv($"embedded store: lock requests/s (2 per pair) ÷ trivial endpoint requests/s ≥ 0.5 at C = {clients}", $"{2 * embedded / trivial:0.00}", Verdict(2 * embedded >= 0.5 * trivial)));
            }
        }

        if (Uncontended("service-postgres", 64) is { } svc64 && Uncontended("pg-lease-table", 64) is { } diy64)
        {
            rows.Add(("uncontended pairs/s ≥ 1.5× the PostgreSQL lease table at C = 64", Inv($"{svc64 / diy64:0.00}×"), Verdict(svc64 >= 1.5 * diy64)));
        }

        var single = results.Uncontended.Where(r => r.Clients == 1).ToDictionary(r => r.System);
        if (single.TryGetValue("service-postgres", out var one) && single.TryGetValue("ceiling-pg", out var commit) && single.TryGetValue("ceiling-http", out var trip))
        {
            var floor = (2.0 * commit.Loop.Latency.Percentile(0.5)) + (2.0 * trip.Loop.Latency.Percentile(0.5));
            var ratio = one.Loop.Latency.Percentile(0.5) / floor;
            rows.Add(("C = 1 pair within 2× of the physical floor", Inv($"{ratio:0.00}×"), Verdict(ratio <= 2)));
        }

        foreach (var hot in results.Hot.Where(h => h.System == "service-postgres"))
        {
            if (results.Hot.FirstOrDefault(h => h.System == "etcd" && h.Clients == hot.Clients) is { } etcd)
            {
                rows.Add(Inv($"hot lock hand-offs/s ≥ 5× etcd (C = {hot.Clients})", $"{hot.Loop.PerSecond / etcd.Loop.PerSecond:0.00}×", Verdict(hot.Loop.PerSecond >= 5 * etcd.Loop.PerSecond)));
            }

            rows.Add(Inv($"hot lock p99 release→next grant < 5 ms (C = {hot.Clients})", $"{Ms(hot.Handoff, 0.99)} ms", Verdict(hot.Handoff.Count > 0 && hot.Handoff.Percentile(0.99) < 5_000_000)));
            rows.Add(Inv($"hot lock fairness max/min ≤ 1.2 (C = {hot.Clients})", double.IsInfinity(hot.Fairness) ? "∞" : $"{hot.Fairness:0.00}", Verdict(hot.Fairness <= 1.2)));
        }

        foreach (var many in results.ManyNames)
        {
            if (many.BytesPerHeldLock is { } perLock)
            {
                rows.Add((Inv($"< 2 KB per held lock ({many.System}; RSS)"), Inv($"{perLock:N0} B"), Verdict(perLock < 2048)));
            }

            if (many.LiveBytesPerHeldLock is { } livePerLock)
            {
                rows.Add((Inv($"< 2 KB per held lock ({many.System}; live heap)"), Inv($"{livePerLock:N0} B"), Verdict(livePerLock < 2048)));
            }

            var baseline = many.Phases[0].Memory.RssKb;
            var last = many.Phases[^1].Memory.RssKb;
            rows.Add((Inv($"memory back to baseline after idle collection ({many.System}; within 10 %)"), Inv($"{(double)last / Math.Max(1, baseline):0.00}× baseline"), Verdict(last <= baseline * 1.1)));
        }

        md.AppendLine("### Targets of issue 5 (service on PostgreSQL unless said)");
        md.AppendLine();
        if (rows.Count == 0)
        {
            md.AppendLine("None could be evaluated: the service was not measured in this run (see below).");
            md.AppendLine();
            return;
        }

        md.AppendLine("| target | measured | met |");
        md.AppendLine("|---|--:|---|");
        foreach (var (target, measured, verdict) in rows)
        {
            md.AppendLine($"| {target} | {measured} | {verdict} |");
        }

        md.AppendLine();
    }

    private static string Halves(Histogram? half) => half is null or { Count: 0 } ? "" : $"{Ms(half, 0.5)} / {Ms(half, 0.99)}";

    private static string Wal(double? perOperation) => perOperation is { } w ? w.ToString("0.00", CultureInfo.InvariantCulture) : "";

    private static string Verdict(bool met) => met ? "yes" : "**no**";

    private static string Errors(LoopResult loop) => loop.Errors == 0 ? "0" : $"{loop.Errors} ({loop.FirstError})";

    private static string Ratio(double service, double peer) => peer <= 0 ? "—" : Inv($"{service / peer:0.00}");

    /// <summary>A percentile in milliseconds with three significant digits.</summary>
    public static string Ms(Histogram histogram, double q)
    {
        if (histogram.Count == 0)
        {
            return "—";
        }

        var ms = histogram.Percentile(q) / 1e6;
        return ms switch
        {
            < 1 => ms.ToString("0.000", CultureInfo.InvariantCulture),
            < 10 => ms.ToString("0.00", CultureInfo.InvariantCulture),
            < 100 => ms.ToString("0.0", CultureInfo.InvariantCulture),
            _ => ms.ToString("N0", CultureInfo.InvariantCulture),
        };
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static (string, string, string) Inv(FormattableString target, string measured, string verdict) => (Inv(target), measured, verdict);
}
