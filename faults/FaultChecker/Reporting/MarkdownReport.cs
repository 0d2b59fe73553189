using System.Globalization;
using System.Text;
using OrleansLocks.FaultChecker.Checking;
using OrleansLocks.FaultChecker.History;

namespace OrleansLocks.FaultChecker.Reporting;

/// <summary>Recovery after one fault: from its end to the first acknowledged grant completed after it.</summary>
/// <param name="LongestGapMs">The longest time without an acknowledged grant from the fault's start to that first grant after it.</param>
/// <param name="AllLocksMs">
/// From the fault's end until every lock had an acknowledged grant completed after it (the slowest lock's
/// recovery); null when some lock had none before the next fault began, or no grant followed at all.
/// </param>
internal sealed record Recovery(Operation Fault, double? RecoveryMs, double? LongestGapMs, double? AllLocksMs);

/// <summary>Renders a run as Markdown: verdict, operations, faults, recovery, store, liveness, violations.</summary>
internal static class MarkdownReport
{
    public static IReadOnlyList<Recovery> Recoveries(IReadOnlyList<Operation> history)
    {
        var acks = history.Where(o => o.Kind == OpKind.Acquire && o.Outcome == OpOutcome.Ok).OrderBy(o => o.CompletedMs).ToList();
        var grants = acks.Select(o => o.CompletedMs).ToArray();
        var locks = acks.Select(o => o.Lock).Distinct().ToList();
        var faults = history.Where(o => o.Kind == OpKind.Fault).OrderBy(o => o.InvokedMs).ToList();
        return [.. faults.Select((f, n) =>
        {
            var i = Array.BinarySearch(grants, f.CompletedMs);
            i = i < 0 ? ~i : i;
            if (i >= grants.Length)
            {
                return new Recovery(f, null, null, null);
            }

            var previous = f.InvokedMs;
            var gap = 0.0;
            foreach (var g in grants.Where(g => g > f.InvokedMs && g <= grants[i]))
            {
                gap = Math.Max(gap, g - previous);
                previous = g;
            }

            // Every lock's first grant after the fault, as long as it came before the next fault's start.
            var horizon = faults.Skip(n + 1).FirstOrDefault(x => x.InvokedMs > f.CompletedMs)?.InvokedMs ?? double.MaxValue;
            double? all = 0;
            foreach (var name in locks)
            {
                var first = acks.FirstOrDefault(a => a.Lock == name && a.CompletedMs >= f.CompletedMs);
                if (first is null || first.CompletedMs > horizon)
                {
                    all = null;
                    break;
                }

                all = Math.Max(all.Value, first.CompletedMs - f.CompletedMs);
            }

            return new Recovery(f, grants[i] - f.CompletedMs, gap, all);
        })];
    }

    public static string Render(RunResult run)
    {
        var o = run.Options;
        var h = run.History;
        var md = new StringBuilder();
        var passed = run.Passed;
        md.AppendLine(CultureInfo.InvariantCulture, $"# OrleansLocks {(o.Soak ? "soak" : "fault")} run — {(passed ? "PASS" : "FAIL")}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- started {run.StartedAt:yyyy-MM-dd HH:mm:ss} UTC, took {run.Elapsed.TotalSeconds:0} s; seed {o.Seed}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- {(o.Soak ? "soak" : "fault phase")} {o.Duration.TotalSeconds:0} s, {o.Clients} clients, {o.Locks} locks, lease TTL {o.Ttl.TotalMilliseconds:0} ms, wait {o.Wait.TotalMilliseconds:0} ms");
        if (!o.Soak)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- faults: {(o.Faults.Count == 0 ? "none" : string.Join(", ", o.Faults.Select(RunOptions.FaultName)))}, calm interval {o.FaultInterval.TotalSeconds:0} s");
        }

        md.AppendLine(o.Cluster
            ? string.Create(CultureInfo.InvariantCulture, $"- cluster: {o.Silos} {(o.CoHosted ? "Api processes co-hosting silos" : "headless silo processes")} and {o.Gateways} Api gateway process(es) on one PostgreSQL, each silo behind the harness's proxies (to PostgreSQL, on its silo port); clients spread over the entry points; history of {h.Count} operations on one monotonic clock")
            : string.Create(CultureInfo.InvariantCulture, $"- single silo (the Api co-hosting it) as a real process; storage PostgreSQL; history of {h.Count} operations on one monotonic clock"));
        md.AppendLine(CultureInfo.InvariantCulture, $"- violations: **{run.Check.TotalViolations}**{(run.Check.TotalViolations == 0 ? "" : " (" + string.Join(", ", run.Check.ViolationCounts.Select(kv => $"{kv.Key}: {kv.Value}")) + ")")}; holds checked {run.Check.HoldsChecked}, leases checked {run.Check.GrantsChecked}");
        md.AppendLine();

        md.AppendLine("## Operations");
        md.AppendLine();
        md.AppendLine("| operation | ok | fail | info (unknown) | total |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var kind in Enum.GetValues<OpKind>())
        {
            var ops = h.Where(x => x.Kind == kind).ToList();
            if (ops.Count == 0)
            {
                continue;
            }

            md.AppendLine(CultureInfo.InvariantCulture, $"| {kind.ToString().ToLowerInvariant()} | {ops.Count(x => x.Outcome == OpOutcome.Ok)} | {ops.Count(x => x.Outcome == OpOutcome.Fail)} | {ops.Count(x => x.Outcome == OpOutcome.Info)} | {ops.Count} |");
        }

        md.AppendLine();
        var answers = h.Where(x => x.Kind is OpKind.Acquire or OpKind.Renew or OpKind.Release && x.Outcome != OpOutcome.Ok)
            .GroupBy(x => $"{x.Kind.ToString().ToLowerInvariant()} {(x.Status is { } s ? s.ToString(CultureInfo.InvariantCulture) : "-")} {x.Code ?? Reason(x.Detail)}")
            .OrderByDescending(g => g.Count())
            .ToList();
        if (answers.Count > 0)
        {
            md.AppendLine("Non-ok answers: " + string.Join("; ", answers.Select(g => $"{g.Key.Trim()} ×{g.Count()}")) + ".");
            md.AppendLine();
        }

        if (!o.Soak)
        {
            RenderFaults(md, h);
        }

        RenderStore(md, run);
        RenderLiveness(md, run);
        if (o.Soak)
        {
            RenderSoak(md, run);
        }

        md.AppendLine("## Violations");
        md.AppendLine();
        if (run.Check.Violations.Count == 0)
        {
            md.AppendLine("None: no rule of R0–R6 was broken.");
        }

        foreach (var v in run.Check.Violations)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- **{v.Rule}**: {v.Message}");
            if (v.Evidence.Count > 0)
            {
                md.AppendLine("  ```");
                foreach (var op in v.Evidence)
                {
                    md.AppendLine("  " + op.ToLine());
                }

                md.AppendLine("  ```");
            }
        }

        var unlisted = run.Check.TotalViolations - run.Check.Violations.Count;
        if (unlisted > 0)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- … and {unlisted} more not listed.");
        }

        md.AppendLine();
        md.AppendLine("Rules: R0 no HTTP 500; R1 no two exclusive holds of a lock overlap (hold = [grant ack, min(release invocation, invocation + ttlMs)]); " +
            "R2 the fenced store never accepted a lower token after a higher one and rejected only stale writers; R3 its counter equals its log and every acknowledged write is in it; " +
            "R4 tokens unique and increasing over non-overlapping grants, state counters never decrease; R5 every state read well-formed, final state consistent with acknowledged operations, every lease and waiter ends; " +
            "R6 every client completes K critical sections after the faults end. See docs/reliability.md.");
        return md.ToString();
    }

    private static void RenderFaults(StringBuilder md, IReadOnlyList<Operation> h)
    {
        var recoveries = Recoveries(h);
        md.AppendLine("## Faults injected");
        md.AppendLine();
        if (recoveries.Count == 0)
        {
            md.AppendLine("None.");
            md.AppendLine();
            return;
        }

        md.AppendLine("| # | fault | start s | duration ms | recovery ms | all locks ms | longest grant gap ms | what happened |");
        md.AppendLine("|---:|---|---:|---:|---:|---:|---:|---|");
        var n = 0;
        foreach (var r in recoveries)
        {
            var f = r.Fault;
            md.AppendLine(CultureInfo.InvariantCulture, $"| {++n} | {f.Code}{(f.Outcome == OpOutcome.Ok || f.Process != Processes.Nemesis ? "" : " (not injected)")}{(f.Process is Processes.Nemesis or Processes.Service ? "" : $" ({f.Process})")} | {f.InvokedMs / 1000:0.0} | {f.CompletedMs - f.InvokedMs:0} | {Ms(r.RecoveryMs)} | {Ms(r.AllLocksMs)} | {Ms(r.LongestGapMs)} | {Cell(f.Detail)} |");
        }

        md.AppendLine();
        md.AppendLine("Recovery = time from the fault's end to the first acknowledged grant completed after it. " +
            "All locks = until every lock had such a grant (— when some lock had none before the next fault). " +
            "Longest grant gap = the longest time without any acknowledged grant between the fault's start and that grant. " +
            "A self-stop is a silo that read itself dead in the membership table and stopped, as designed; a crash is any other exit the harness did not cause.");
        md.AppendLine();
        md.AppendLine("| fault | injected | recovery min / median / max ms | all locks min / median / max ms | longest grant gap min / median / max ms |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var g in recoveries.Where(r => r.Fault.Outcome == OpOutcome.Ok || r.Fault.Code is "crash" or "self-stop").GroupBy(r => r.Fault.Code))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {g.Key} | {g.Count()} | {Spread(g.Select(r => r.RecoveryMs))} | {Spread(g.Select(r => r.AllLocksMs))} | {Spread(g.Select(r => r.LongestGapMs))} |");
        }

        md.AppendLine();
    }

    private static void RenderStore(StringBuilder md, RunResult run)
    {
        md.AppendLine("## Fenced store and final state");
        md.AppendLine();
        md.AppendLine("| lock | accepted writes | rejected (stale) | unknown | highest token | final fencingCounter |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var dump in run.Store)
        {
            var writes = run.History.Where(x => x.Kind == OpKind.Write && x.Lock == dump.Lock).ToList();
            var final = run.History.LastOrDefault(x => x.Process == Processes.Final && x.Lock == dump.Lock && x.State is not null);
            md.AppendLine(CultureInfo.InvariantCulture, $"| {dump.Lock} | {dump.WriteCount} | {writes.Count(x => x.Outcome == OpOutcome.Fail)} | {writes.Count(x => x.Outcome == OpOutcome.Info)} | {dump.LastToken} | {final?.State?.FencingCounter.ToString(CultureInfo.InvariantCulture) ?? "—"} |");
        }

        var late = run.History.Where(x => x.Kind == OpKind.Write && x.Detail?.Contains("client pause", StringComparison.Ordinal) == true).ToList();
        if (late.Count > 0)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Late writes after a client pause: {late.Count}, rejected as stale {late.Count(x => x.Outcome == OpOutcome.Fail)}, accepted {late.Count(x => x.Outcome == OpOutcome.Ok)} (accepted only when no higher token had been written meanwhile, which R2 verifies), unknown {late.Count(x => x.Outcome == OpOutcome.Info)}.");
        }

        md.AppendLine();
    }

    private static void RenderLiveness(StringBuilder md, RunResult run)
    {
        if (run.Check.Liveness.Count == 0)
        {
            return;
        }

        md.AppendLine("## Liveness after the faults");
        md.AppendLine();
        var reached = run.LivenessReachedMs is { } ms ? string.Create(CultureInfo.InvariantCulture, $"All did after {ms:0} ms.") : "Not all did.";
        md.AppendLine(CultureInfo.InvariantCulture, $"Faults ended at {run.FaultsEndedMs / 1000:0.0} s; every client must complete {run.Options.LivenessCycles} critical sections within {run.Options.LivenessBound.TotalSeconds:0} s. {reached}");
        md.AppendLine();
        md.AppendLine("| client | critical sections after the faults | K-th done after ms |");
        md.AppendLine("|---|---:|---:|");
        foreach (var f in run.Check.Liveness)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {f.Client} | {f.CyclesAfterFaults} | {(f.KthCycleDoneMs is { } k ? k.ToString("0", CultureInfo.InvariantCulture) : "—")} |");
        }

        md.AppendLine();
    }

    private static void RenderSoak(StringBuilder md, RunResult run)
    {
        md.AppendLine("## Soak: resources of the service process");
        md.AppendLine();
        if (run.SoakCounters is { } c)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"Try-lock + release on fresh names (to create and collect activations): {c.Granted} completed, {c.Other} not granted or failed.");
            md.AppendLine();
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"{run.Samples.Count} samples. Growth test: least-squares slope over the second half; growing = rise > threshold of the mean and slope t > 3.");
        md.AppendLine();
        md.AppendLine("| metric | first | last | mean (2nd half) | slope per min | rise / mean | t | growing |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var g in run.Growth)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {g.Metric}{(g.Unit.Length > 0 ? $" ({g.Unit})" : "")} | {g.First:0.#} | {g.Last:0.#} | {g.Mean:0.#} | {g.SlopePerMinute:0.##} | {g.RelativeGrowth:P1} | {g.T:0.0} | {(g.Growing ? "**yes**" : "no")} |");
        }

        md.AppendLine();
        md.AppendLine(run.Samples.Count > 0 && run.Samples[0].Processes.Count > 1
            ? "Totals over the service's processes (the growth test above judges each process on its own):"
            : "Samples:");
        md.AppendLine();
        var perProcess = run.Samples.Count > 0 && run.Samples[0].Processes.Count > 1;
        md.AppendLine(perProcess
            ? "| t s | RSS MB | RSS MB per process | fds | threads | activations | database connections |"
            : "| t s | RSS MB | fds | threads | activations | database connections |");
        md.AppendLine(perProcess ? "|---:|---:|---|---:|---:|---:|---:|" : "|---:|---:|---:|---:|---:|---:|");
        foreach (var s in run.Samples)
        {
            var each = perProcess ? " " + string.Join(" / ", s.Processes.Select(p => p.RssMb.ToString("0", CultureInfo.InvariantCulture))) + " |" : "";
            md.AppendLine(CultureInfo.InvariantCulture, $"| {s.Seconds:0} | {s.RssMb:0.0} |{each} {s.FileDescriptors} | {s.Threads} | {(s.Activations?.ToString(CultureInfo.InvariantCulture) ?? "—")} | {(s.PostgresConnections?.ToString(CultureInfo.InvariantCulture) ?? "—")} |");
        }

        md.AppendLine();
    }

    private static string Spread(IEnumerable<double?> values)
    {
        var known = values.OfType<double>().Order().ToList();
        return known.Count == 0 ? "—" : string.Create(CultureInfo.InvariantCulture, $"{known[0]:0} / {known[known.Count / 2]:0} / {known[^1]:0}");
    }

    /// <summary>Free text in a table cell: one line, no column breaks.</summary>
    private static string Cell(string? text)
    {
        if (text is null)
        {
            return "";
        }

        var line = text.Replace('\n', ' ').Replace("|", "\\|", StringComparison.Ordinal);
        return line.Length <= 400 ? line : line[..400] + "…";
    }

    private static string Ms(double? ms) => ms is { } v ? v.ToString("0", CultureInfo.InvariantCulture) : "—";

    private static string Reason(string? detail)
        => detail is null ? "" : detail.StartsWith("connection refused", StringComparison.Ordinal) ? "refused" : detail is "timeout" or "dropped" ? detail : "error";
}
