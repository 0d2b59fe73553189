using OrleansLocks.FaultChecker.History;

namespace OrleansLocks.FaultChecker.Checking;

/*
 * Design note — the history checker.
 *
 * Input: every operation the harness performed, each with invocation and completion times on ONE clock (the
 * harness's monotonic timestamp), its outcome (ok / fail / info = unknown), and what the service answered; plus the
 * fenced store's final contents read straight from PostgreSQL.
 *
 * Soundness before precision. Every rule only flags what is impossible under the contract for EVERY ordering of
 * the operations consistent with their invocation/completion intervals:
 *  - A lease's server-side end is never before (acquire or renew invocation) + (ttlMs it reported) - tolerance:
 *    the service computed ttlMs at some instant inside the request's interval, so the real deadline is at least
 *    that far from the invocation. That bound is loose for a long-polling acquire (granted late in a long
 *    interval), so the reported expiresAt is used too, translated onto the history clock at the completion instant
 *    (the service runs on the harness's host: one real-time clock); the later of the two bounds counts. A release that may have taken effect (ok or info) ends the lease no earlier than
 *    its invocation. So hold = [first acknowledged grant completion, min(release invocation, known expiry)] is
 *    contained in the real server-side lease; two overlapping holds of one lock are two simultaneous leases.
 *    The service may only ever extend a lease beyond this (recovery grace after a restart), never shorten it.
 *  - Token order compares only operations that do not overlap in real time: a grant acknowledged before another
 *    lease's FIRST attempt (same requestId, any outcome — an unknown attempt may be the one that was granted) was
 *    invoked must carry the lower token. Concurrent grants may carry tokens in either order.
 *  - Unknown (info) operations may or may not have happened: a write of unknown outcome may be in the store's
 *    log; a rejected (fail) one must not be; an acknowledged (ok) one must be.
 *  - A rejected write must have been stale: some write with a higher token was accepted and was invoked before
 *    the rejection completed.
 * Liveness is the only rule about time bounds; its bound is an option and generous by default.
 */

/// <summary>Checks a recorded history against the safety and liveness rules (R0–R6).</summary>
internal static class HistoryChecker
{
    public static CheckResult Check(IReadOnlyList<Operation> history, IReadOnlyList<FencedStoreDump> store, CheckerOptions options)
    {
        var sink = new ViolationSink(options.MaxReportedPerRule);
        CheckServerErrors(history, sink);
        var leases = BuildLeases(history, options, sink);
        var holds = CheckMutualExclusion(leases, sink);
        CheckTokenOrder(history, leases, sink);
        var writesByValue = history
            .Where(o => o.Kind == OpKind.Write && o.Value is not null)
            .GroupBy(o => o.Value!)
            .ToDictionary(g => g.Key, g => g.First());
        foreach (var dump in store)
        {
            CheckFencing(history, dump, writesByValue, sink);
            CheckNoLostUpdate(history, dump, writesByValue, sink);
        }

        CheckStates(history, leases, store, sink);
        var liveness = CheckLiveness(history, options, sink);
        return new CheckResult(sink.Listed, sink.Counts, liveness, holds, leases.Count);
    }

    private static void CheckServerErrors(IReadOnlyList<Operation> history, ViolationSink sink)
    {
        foreach (var op in history.Where(o => o.Status == 500))
        {
            sink.Add(Rules.ServerError, $"HTTP 500 on {op.Kind} of '{op.Lock}': a 500 is always a bug.", op);
        }

        // Any process of the service (a silo or gateway in a cluster). A silo's "self-stop" after reading itself dead
        // in the membership table is the designed reaction to being declared dead, not a crash.
        foreach (var op in history.Where(o => o.Kind == OpKind.Fault && o.Code == "crash"))
        {
            sink.Add(
                Rules.ServerError,
                "The service process exited without the harness stopping it: a crash (expected failures must be answered 503, not end the process) " +
                "or a signal from outside the run; its exit code and last output tell which.",
                op);
        }
    }

    /// <summary>One lease as the history knows it: every acknowledged grant and renew of one lease id.</summary>
    private sealed class LeaseFacts(string lockName, string leaseId, long token)
    {
        public string Lock { get; } = lockName;

        public string LeaseId { get; } = leaseId;

        public long Token { get; } = token;

        public List<Operation> Ops { get; } = [];

        /// <summary>When the client first knew it held the lease.</summary>
        public double FirstAckMs { get; set; } = double.MaxValue;

        /// <summary>The earliest invocation that may have been the one granted (any attempt with the same request id).</summary>
        public double FirstInvokeMs { get; set; } = double.MaxValue;

        /// <summary>The lease is certainly held (server-side) until at least this instant.</summary>
        public double KnownExpiryMs { get; set; } = double.MinValue;

        /// <summary>The first release that may have taken effect.</summary>
        public double ReleaseInvokedMs { get; set; } = double.MaxValue;

        public double HoldEndMs => Math.Min(KnownExpiryMs, ReleaseInvokedMs);
    }

    private static List<LeaseFacts> BuildLeases(IReadOnlyList<Operation> history, CheckerOptions options, ViolationSink sink)
    {
        var firstAttempt = new Dictionary<(string?, string), double>();
        foreach (var op in history.Where(o => o.Kind == OpKind.Acquire && o.RequestId is not null))
        {
            var key = (op.Lock, op.RequestId!);
            firstAttempt[key] = firstAttempt.TryGetValue(key, out var t) ? Math.Min(t, op.InvokedMs) : op.InvokedMs;
        }

        var leases = new Dictionary<(string, string), LeaseFacts>();
        foreach (var op in history.Where(o => o.Outcome == OpOutcome.Ok && o.Kind is OpKind.Acquire or OpKind.Renew
                     && o.LeaseId is not null && o.Lock is not null && o.Token is not null))
        {
            var key = (op.Lock!, op.LeaseId!);
            if (!leases.TryGetValue(key, out var lease))
            {
                lease = new LeaseFacts(op.Lock!, op.LeaseId!, op.Token!.Value);
                leases.Add(key, lease);
            }
            else if (lease.Token != op.Token)
            {
                sink.Add(Rules.TokenOrder, $"Lease {Short(op.LeaseId)} of '{op.Lock}' was reported with tokens {lease.Token} and {op.Token}.", [.. lease.Ops, op]);
            }

            lease.Ops.Add(op);
            if (op.TtlMs is { } ttl)
            {
                lease.KnownExpiryMs = Math.Max(lease.KnownExpiryMs, op.InvokedMs + ttl - options.ClockToleranceMs);
            }

            if (op.ExpiresAtMs is { } expiresAt)
            {
                lease.KnownExpiryMs = Math.Max(lease.KnownExpiryMs, expiresAt - options.ClockToleranceMs);
            }

            if (op.Kind == OpKind.Acquire)
            {
                lease.FirstAckMs = Math.Min(lease.FirstAckMs, op.CompletedMs);
                var first = op.RequestId is not null && firstAttempt.TryGetValue((op.Lock, op.RequestId), out var f) ? f : op.InvokedMs;
                lease.FirstInvokeMs = Math.Min(lease.FirstInvokeMs, first);
            }
        }

        foreach (var op in history.Where(o => o.Kind == OpKind.Release && o.Outcome != OpOutcome.Fail && o.LeaseId is not null && o.Lock is not null))
        {
            if (leases.TryGetValue((op.Lock!, op.LeaseId!), out var lease))
            {
                lease.ReleaseInvokedMs = Math.Min(lease.ReleaseInvokedMs, op.InvokedMs);
                lease.Ops.Add(op);
            }
        }

        // A lease only renewed (never acknowledged as granted) has no known start; it takes part in nothing but
        // token checks.
        return [.. leases.Values];
    }

    /// <summary>R1: no two known holds of one lock overlap. Returns how many holds were checked.</summary>
    private static int CheckMutualExclusion(List<LeaseFacts> leases, ViolationSink sink)
    {
        var count = 0;
        foreach (var group in leases.Where(l => l.FirstAckMs < double.MaxValue).GroupBy(l => l.Lock))
        {
            var holds = group.Where(l => l.HoldEndMs > l.FirstAckMs).OrderBy(l => l.FirstAckMs).ToList();
            count += holds.Count;
            LeaseFacts? widest = null;
            foreach (var hold in holds)
            {
                if (widest is not null && hold.FirstAckMs < widest.HoldEndMs)
                {
                    sink.Add(
                        Rules.MutualExclusion,
                        $"'{group.Key}': lease {Short(hold.LeaseId)} (token {hold.Token}) was held from {hold.FirstAckMs:0.0} ms while lease " +
                        $"{Short(widest.LeaseId)} (token {widest.Token}) was held until at least {widest.HoldEndMs:0.0} ms " +
                        $"(overlap {widest.HoldEndMs - hold.FirstAckMs:0.0} ms).",
                        [.. widest.Ops, .. hold.Ops]);
                }

                if (widest is null || hold.HoldEndMs > widest.HoldEndMs)
                {
                    widest = hold;
                }
            }
        }

        return count;
    }

    /// <summary>R4: tokens are unique per lock and increase in real-time order of grants; state reads agree.</summary>
    private static void CheckTokenOrder(IReadOnlyList<Operation> history, List<LeaseFacts> leases, ViolationSink sink)
    {
        foreach (var group in leases.Where(l => l.FirstAckMs < double.MaxValue).GroupBy(l => l.Lock))
        {
            foreach (var same in group.GroupBy(l => l.Token).Where(g => g.Count() > 1))
            {
                sink.Add(Rules.TokenOrder, $"'{group.Key}': token {same.Key} was issued to {same.Count()} different leases.", [.. same.SelectMany(l => l.Ops.Take(1))]);
            }

            // For each lease b, the highest token among leases acknowledged before b's first attempt was invoked.
            var byAck = group.OrderBy(l => l.FirstAckMs).ToList();
            var byInvoke = group.OrderBy(l => l.FirstInvokeMs).ToList();
            LeaseFacts? highest = null;
            var next = 0;
            foreach (var b in byInvoke)
            {
                while (next < byAck.Count && byAck[next].FirstAckMs < b.FirstInvokeMs)
                {
                    if (highest is null || byAck[next].Token > highest.Token)
                    {
                        highest = byAck[next];
                    }

                    next++;
                }

                if (highest is not null && highest.Token >= b.Token)
                {
                    sink.Add(
                        Rules.TokenOrder,
                        $"'{group.Key}': lease {Short(b.LeaseId)} got token {b.Token}, requested at {b.FirstInvokeMs:0.0} ms after lease " +
                        $"{Short(highest.LeaseId)} with token {highest.Token} had been granted (at {highest.FirstAckMs:0.0} ms).",
                        [highest.Ops[0], b.Ops[0]]);
                }
            }

            // A state read invoked after a grant was acknowledged shows a counter at least that token; counters of
            // reads that do not overlap never decrease.
            var reads = history.Where(o => o.Kind == OpKind.Read && o.Outcome == OpOutcome.Ok && o.Lock == group.Key && o.State is not null)
                .OrderBy(o => o.InvokedMs).ToList();
            highest = null;
            next = 0;
            foreach (var read in reads)
            {
                while (next < byAck.Count && byAck[next].FirstAckMs < read.InvokedMs)
                {
                    if (highest is null || byAck[next].Token > highest.Token)
                    {
                        highest = byAck[next];
                    }

                    next++;
                }

                if (highest is not null && read.State!.FencingCounter < highest.Token)
                {
                    sink.Add(
                        Rules.TokenOrder,
                        $"'{group.Key}': a state read shows fencingCounter {read.State.FencingCounter} after token {highest.Token} had been granted.",
                        [highest.Ops[0], read]);
                }
            }
        }

        foreach (var perLock in history.Where(o => o.Kind == OpKind.Read && o.Outcome == OpOutcome.Ok && o.State is not null).GroupBy(o => o.Lock))
        {
            var byCompletion = perLock.OrderBy(o => o.CompletedMs).ToList();
            Operation? highest = null;
            var next = 0;
            foreach (var read in perLock.OrderBy(o => o.InvokedMs))
            {
                while (next < byCompletion.Count && byCompletion[next].CompletedMs < read.InvokedMs)
                {
                    if (highest is null || byCompletion[next].State!.FencingCounter > highest.State!.FencingCounter)
                    {
                        highest = byCompletion[next];
                    }

                    next++;
                }

                if (highest is not null && read.State!.FencingCounter < highest.State!.FencingCounter)
                {
                    sink.Add(
                        Rules.TokenOrder,
                        $"'{perLock.Key}': fencingCounter went down from {highest.State.FencingCounter} to {read.State.FencingCounter} between two state reads.",
                        [highest, read]);
                }
            }
        }
    }

    /// <summary>R2: the store accepted tokens in non-decreasing order and rejected only stale writers.</summary>
    private static void CheckFencing(IReadOnlyList<Operation> history, FencedStoreDump dump, Dictionary<string, Operation> writesByValue, ViolationSink sink)
    {
        var log = dump.Log.OrderBy(e => e.Seq).ToList();
        FencedLogEntry? highest = null;
        var tokenOwner = new Dictionary<long, FencedLogEntry>();
        foreach (var entry in log)
        {
            if (highest is not null && entry.Token < highest.Token)
            {
                sink.Add(
                    Rules.Fencing,
                    $"'{dump.Lock}': the store accepted token {entry.Token} (seq {entry.Seq}, {entry.Value}) after token {highest.Token} (seq {highest.Seq}, {highest.Value}).",
                    Evidence(writesByValue, highest, entry));
            }

            if (tokenOwner.TryGetValue(entry.Token, out var other) && other.Client != entry.Client)
            {
                sink.Add(
                    Rules.Fencing,
                    $"'{dump.Lock}': token {entry.Token} was used by two writers, {other.Client} ({other.Value}) and {entry.Client} ({entry.Value}).",
                    Evidence(writesByValue, other, entry));
            }

            tokenOwner.TryAdd(entry.Token, entry);
            if (highest is null || entry.Token > highest.Token)
            {
                highest = entry;
            }
        }

        // Accepted writes with their operations, by invocation: prefix maximum of tokens to judge rejections.
        var accepted = log
            .Select(e => (Entry: e, Op: writesByValue.GetValueOrDefault(e.Value)))
            .Where(x => x.Op is not null)
            .Select(x => (x.Entry, Op: x.Op!))
            .ToList();
        var byInvoke = accepted.OrderBy(x => x.Op.InvokedMs).ToList();
        var writes = history.Where(o => o.Kind == OpKind.Write && o.Lock == dump.Lock).ToList();
        foreach (var rejected in writes.Where(o => o.Outcome == OpOutcome.Fail && o.Token is not null).OrderBy(o => o.CompletedMs))
        {
            var staler = byInvoke.Where(x => x.Op.InvokedMs < rejected.CompletedMs).Select(x => x.Entry).FirstOrDefault(e => e.Token > rejected.Token);
            if (staler is null)
            {
                sink.Add(
                    Rules.Fencing,
                    $"'{dump.Lock}': the store rejected {rejected.Value} with token {rejected.Token} although no higher token had been accepted.",
                    [rejected]);
            }
        }

        // A writer that starts after a higher-token write was acknowledged is stale and must not be accepted.
        var ackedByCompletion = accepted.Where(x => x.Op.Outcome == OpOutcome.Ok).OrderBy(x => x.Op.CompletedMs).ToList();
        (FencedLogEntry Entry, Operation Op)? top = null;
        var next = 0;
        foreach (var w in byInvoke)
        {
            while (next < ackedByCompletion.Count && ackedByCompletion[next].Op.CompletedMs < w.Op.InvokedMs)
            {
                if (top is null || ackedByCompletion[next].Entry.Token > top.Value.Entry.Token)
                {
                    top = ackedByCompletion[next];
                }

                next++;
            }

            if (top is not null && top.Value.Entry.Token > w.Entry.Token)
            {
                sink.Add(
                    Rules.Fencing,
                    $"'{dump.Lock}': stale writer {w.Entry.Value} (token {w.Entry.Token}) was accepted after {top.Value.Entry.Value} (token {top.Value.Entry.Token}) had been acknowledged.",
                    [top.Value.Op, w.Op]);
            }
        }
    }

    /// <summary>R3: the counter matches the log, every acknowledged write is in it, and nothing else is.</summary>
    private static void CheckNoLostUpdate(IReadOnlyList<Operation> history, FencedStoreDump dump, Dictionary<string, Operation> writesByValue, ViolationSink sink)
    {
        if (dump.WriteCount != dump.Log.Count)
        {
            sink.Add(Rules.NoLostUpdate, $"'{dump.Lock}': the store's counter says {dump.WriteCount} writes but its log holds {dump.Log.Count}.", []);
        }

        var seqs = dump.Log.Select(e => e.Seq).Order().ToList();
        for (var i = 0; i < seqs.Count; i++)
        {
            if (seqs[i] != i + 1)
            {
                sink.Add(Rules.NoLostUpdate, $"'{dump.Lock}': the log's sequence has a gap or duplicate at position {i + 1} (seq {seqs[i]}).", []);
                break;
            }
        }

        var maxToken = dump.Log.Count == 0 ? 0 : dump.Log.Max(e => e.Token);
        if (dump.LastToken != maxToken)
        {
            sink.Add(Rules.NoLostUpdate, $"'{dump.Lock}': the store's last token is {dump.LastToken} but the highest accepted token in its log is {maxToken}.", []);
        }

        var logged = dump.Log.GroupBy(e => e.Value).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var (value, entries) in logged.Where(kv => kv.Value.Count > 1))
        {
            sink.Add(Rules.NoLostUpdate, $"'{dump.Lock}': write {value} appears {entries.Count} times in the log.", [.. writesByValue.Where(kv => kv.Key == value).Select(kv => kv.Value)]);
        }

        foreach (var op in history.Where(o => o.Kind == OpKind.Write && o.Lock == dump.Lock && o.Value is not null))
        {
            var inLog = logged.TryGetValue(op.Value!, out var e) ? e[0] : null;
            switch (op.Outcome)
            {
                case OpOutcome.Ok when inLog is null:
                    sink.Add(Rules.NoLostUpdate, $"'{dump.Lock}': acknowledged write {op.Value} (token {op.Token}) is missing from the store's log: lost update.", [op]);
                    break;
                case OpOutcome.Fail when inLog is not null:
                    sink.Add(Rules.NoLostUpdate, $"'{dump.Lock}': write {op.Value} was reported rejected but is in the store's log (seq {inLog.Seq}).", [op]);
                    break;
                default:
                    if (inLog is not null && inLog.Token != op.Token)
                    {
                        sink.Add(Rules.NoLostUpdate, $"'{dump.Lock}': write {op.Value} was sent with token {op.Token} but logged with {inLog.Token}.", [op]);
                    }

                    break;
            }
        }

        foreach (var entry in dump.Log.Where(e => !writesByValue.ContainsKey(e.Value)))
        {
            sink.Add(Rules.NoLostUpdate, $"'{dump.Lock}': the log holds write {entry.Value} (token {entry.Token}, seq {entry.Seq}) that no client performed.", []);
        }
    }

    /// <summary>R5: every state read is well-formed; the final state agrees with every acknowledged operation.</summary>
    private static void CheckStates(IReadOnlyList<Operation> history, List<LeaseFacts> leases, IReadOnlyList<FencedStoreDump> store, ViolationSink sink)
    {
        foreach (var read in history.Where(o => o.Kind == OpKind.Read && o.Outcome == OpOutcome.Ok && o.State is not null))
        {
            foreach (var problem in StateProblems(read.State!))
            {
                sink.Add(Rules.State, $"'{read.Lock}': {problem}", [read]);
            }
        }

        var locks = history.Where(o => o.Lock is not null && o.Kind is OpKind.Acquire or OpKind.Write).Select(o => o.Lock!)
            .Concat(store.Select(s => s.Lock)).Distinct(StringComparer.Ordinal);
        foreach (var lockName in locks)
        {
            var final = history.LastOrDefault(o => o.Process == Processes.Final && o.Kind == OpKind.Read && o.Lock == lockName && o.Outcome == OpOutcome.Ok);
            if (final?.State is null)
            {
                sink.Add(Rules.State, $"'{lockName}': no final state could be read after quiescence.", []);
                continue;
            }

            var tokens = leases.Where(l => l.Lock == lockName).Select(l => (Token: l.Token, Op: l.Ops[0]))
                .Concat(history.Where(o => o.Lock == lockName && o.Token is not null && o.Kind == OpKind.Write).Select(o => (Token: o.Token!.Value, Op: o)))
                .ToList();
            if (tokens.Count > 0)
            {
                var max = tokens.MaxBy(t => t.Token);
                if (final.State.FencingCounter < max.Token)
                {
                    sink.Add(Rules.State, $"'{lockName}': the final fencingCounter {final.State.FencingCounter} is below token {max.Token} seen earlier.", [max.Op, final]);
                }
            }

            var storeMax = store.FirstOrDefault(s => s.Lock == lockName)?.LastToken ?? 0;
            if (final.State.FencingCounter < storeMax)
            {
                sink.Add(Rules.State, $"'{lockName}': the final fencingCounter {final.State.FencingCounter} is below token {storeMax} the fenced store accepted.", [final]);
            }

            foreach (var holder in final.State.Holders)
            {
                var released = leases.Where(l => l.Lock == lockName && l.Token == holder.FencingToken)
                    .SelectMany(l => l.Ops)
                    .FirstOrDefault(o => o.Kind == OpKind.Release && o.Outcome == OpOutcome.Ok);
                if (released is not null)
                {
                    sink.Add(Rules.State, $"'{lockName}': token {holder.FencingToken} is still held after its release was acknowledged.", [released, final]);
                }
            }

            var drained = history.LastOrDefault(o => o.Process == Processes.Drain && o.Kind == OpKind.Read && o.Lock == lockName && o.Outcome == OpOutcome.Ok);
            if (drained?.State is { } d && (d.Holders.Count > 0 || d.Waiters.Count > 0))
            {
                sink.Add(Rules.State, $"'{lockName}': {d.Holders.Count} holder(s) and {d.Waiters.Count} waiter(s) remain long after every client stopped: a lease or waiter outlived its bound.", [drained]);
            }
        }
    }

    /// <summary>What is wrong with one state read, if anything (at most one exclusive holder, no exclusive with readers, positions 1..n, counter covers holders).</summary>
    internal static IEnumerable<string> StateProblems(LockSnapshot state)
    {
        switch (state.Mode)
        {
            case "free" when state.Holders.Count > 0:
                yield return $"mode free with {state.Holders.Count} holder(s).";
                break;
            case "exclusive" when state.Holders.Count != 1 || state.Holders[0].Mode != "exclusive":
                yield return $"mode exclusive with holders [{string.Join(", ", state.Holders.Select(h => $"{h.Mode}:{h.FencingToken}"))}].";
                break;
            case "shared" when state.Holders.Count == 0 || state.Holders.Any(h => h.Mode != "shared"):
                yield return $"mode shared with holders [{string.Join(", ", state.Holders.Select(h => $"{h.Mode}:{h.FencingToken}"))}].";
                break;
            case not ("free" or "exclusive" or "shared"):
                yield return $"unknown mode '{state.Mode}'.";
                break;
        }

        for (var i = 0; i < state.Waiters.Count; i++)
        {
            if (state.Waiters[i].Position != i + 1)
            {
                yield return $"waiter {i + 1} has position {state.Waiters[i].Position}; positions must be 1..{state.Waiters.Count}.";
                break;
            }
        }

        foreach (var holder in state.Holders.Where(h => h.FencingToken > state.FencingCounter))
        {
            yield return $"holder token {holder.FencingToken} exceeds fencingCounter {state.FencingCounter}.";
        }

        if (state.Holders.Select(h => h.FencingToken).Distinct().Count() != state.Holders.Count)
        {
            yield return "two holders share a fencing token.";
        }
    }

    /// <summary>R6: every client completes K critical sections within the bound after the faults ended.</summary>
    private static List<LivenessFigure> CheckLiveness(IReadOnlyList<Operation> history, CheckerOptions options, ViolationSink sink)
    {
        var figures = new List<LivenessFigure>();
        if (options.FaultsEndedMs is not { } from)
        {
            return figures;
        }

        var deadline = from + options.LivenessBoundMs;
        foreach (var client in options.Clients)
        {
            var done = history.Where(o => o.Process == client && o.Cycle is not null)
                .GroupBy(o => o.Cycle!.Value)
                .Select(g => CycleCompletion(g.ToList()))
                .Where(c => c is { } x && x.Start >= from && x.End <= deadline)
                .Select(c => c!.Value.End)
                .Order()
                .ToList();
            double? kth = done.Count >= options.LivenessCycles ? done[options.LivenessCycles - 1] - from : null;
            figures.Add(new LivenessFigure(client, done.Count, kth));
            if (done.Count < options.LivenessCycles)
            {
                sink.Add(
                    Rules.Liveness,
                    $"{client} completed {done.Count} critical section(s) within {options.LivenessBoundMs / 1000:0} s after the faults ended at {from:0.0} ms; at least {options.LivenessCycles} required.",
                    [.. history.Where(o => o.Process == client && o.InvokedMs >= from).TakeLast(5)]);
            }
        }

        return figures;
    }

    /// <summary>A complete critical section: granted, written (accepted) with its token, released.</summary>
    private static (double Start, double End)? CycleCompletion(List<Operation> ops)
    {
        var grant = ops.FirstOrDefault(o => o.Kind == OpKind.Acquire && o.Outcome == OpOutcome.Ok);
        var release = ops.FirstOrDefault(o => o.Kind == OpKind.Release && o.Outcome == OpOutcome.Ok);
        if (grant is null || release is null || !ops.Any(o => o.Kind == OpKind.Write && o.Outcome == OpOutcome.Ok && o.Token == grant.Token))
        {
            return null;
        }

        return (ops.Where(o => o.Kind == OpKind.Acquire).Min(o => o.InvokedMs), release.CompletedMs);
    }

    private static Operation[] Evidence(Dictionary<string, Operation> writesByValue, params FencedLogEntry[] entries)
        => [.. entries.Select(e => writesByValue.GetValueOrDefault(e.Value)).OfType<Operation>()];

    private static string Short(string? leaseId) => leaseId is null ? "?" : leaseId.Length <= 8 ? leaseId : leaseId[..8] + "…";

    private sealed class ViolationSink(int maxPerRule)
    {
        public List<Violation> Listed { get; } = [];

        public Dictionary<string, int> Counts { get; } = [];

        public void Add(string rule, string message, IReadOnlyList<Operation> evidence)
        {
            var n = Counts.GetValueOrDefault(rule) + 1;
            Counts[rule] = n;
            if (n <= maxPerRule)
            {
                Listed.Add(new Violation(rule, message, evidence));
            }
        }

        public void Add(string rule, string message, Operation op) => Add(rule, message, [op]);
    }
}
