using Microsoft.Extensions.Logging;
using OrleansLocks.FaultChecker.Checking;
using OrleansLocks.FaultChecker.Harness;
using OrleansLocks.FaultChecker.History;
using OrleansLocks.FaultChecker.Workload;

namespace OrleansLocks.FaultChecker.Nemesis;

/*
 * Design note — the nemesis.
 *
 * Faults are injected one at a time, in a seeded shuffled round-robin over the requested kinds, each followed by a
 * calm interval so recovery can be measured, until the fault phase ends. Every fault is bounded (a pause lasts the
 * lease TTL plus a margin, a kill is followed by a restart that waits for readiness) and recorded in the history as
 * an operation of the "nemesis" process whose invocation is the fault's start and completion its end. A fault that
 * cannot be injected (PostgreSQL restart on a server the harness did not start; a client that never got a lease)
 * is recorded with outcome info and the reason, never silently dropped.
 *
 * In a cluster every process fault picks one silo (seeded): kill (down 0.3–5 s, so some restarts take over their
 * endpoint at once and others come back after the survivors detected the death by probes), pause (SIGSTOP for the
 * TTL + 1.5–6 s: shorter pauses end before failure detection, longer ones wake a zombie the cluster declared
 * dead), a rolling restart (SIGTERM each silo in turn, wait for it to be ready again), and the partitions made
 * with the harness's proxies: pg-partition (its PostgreSQL connections blackholed 3–7 s, then resumed — held
 * bytes delivered late — or reset), partition (its silo port unreachable for 6 s: peers vote it dead while it still
 * reaches PostgreSQL, reads itself dead and stops; the harness restarts it) and isolate (both at once for 6 s: a
 * zombie that cannot even learn it is dead until the partition heals, then its held writes arrive late).
 */

/// <summary>Injects scheduled, bounded faults and records them.</summary>
internal sealed class FaultInjector(
    Deployment deployment,
    PostgresEnvironment postgres,
    IReadOnlyList<WorkloadClient> clients,
    DropPolicy drop,
    RunOptions options,
    HistoryRecorder history,
    ILogger logger)
{
    private readonly Random _random = new(options.Seed * 31 + 7);

    /// <summary>Set by a fault that ends before its method returns (it then waits to see how the silo took it).</summary>
    private double? _endedAt;

    /// <summary>
    /// Injects faults until <paramref name="until"/> (ms on the history clock), or the configured number of rounds;
    /// returns when the last fault has ended.
    /// </summary>
    public async Task RunAsync(double until, CancellationToken abort)
    {
        if (options.Faults.Count == 0)
        {
            return;
        }

        // A short warm-up so that leases exist when the first fault hits.
        await Task.Delay(TimeSpan.FromSeconds(2), history.Time, abort);
        var order = new List<FaultKind>();
        var rounds = 0;
        while (options.Rounds is { } limit
                   ? order.Count > 0 || rounds < limit
                   : history.Now + EstimatedLength(options).TotalMilliseconds < until)
        {
            if (order.Count == 0)
            {
                order.AddRange(options.Faults.OrderBy(_ => _random.Next()));
                rounds++;
            }

            var kind = order[0];
            order.RemoveAt(0);
            await InjectAsync(kind, abort);
            await Task.Delay(options.FaultInterval, history.Time, abort);
        }
    }

    private static TimeSpan EstimatedLength(RunOptions options) => options.Ttl + TimeSpan.FromSeconds(options.Cluster ? 5 : 2);

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(180);

    /// <summary>The silo a process fault hits: the only one, or a seeded choice.</summary>
    private Member PickMember() => deployment.Members[_random.Next(deployment.Members.Count)];

    /// <summary>
    /// A silo that stopped itself (it read itself dead after the previous fault) is restarted by the crash watch;
    /// the next fault waits for that (bounded) rather than finding nothing to hit.
    /// </summary>
    private async Task<Member> PickRunningMemberAsync(CancellationToken abort)
    {
        var member = PickMember();
        var until = history.Now + 60_000;
        while (member.Process.HasExited && history.Now < until)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), history.Time, abort);
        }

        return member;
    }

    public async Task InjectAsync(FaultKind kind, CancellationToken abort)
    {
        var name = RunOptions.FaultName(kind);
        var start = history.Now;
        _endedAt = null;
        var outcome = OpOutcome.Ok;
        string detail;
        try
        {
            detail = kind switch
            {
                FaultKind.Kill => await KillAsync(abort),
                FaultKind.Pause => await PauseAsync(abort),
                FaultKind.ClientPause => await ClientPauseAsync(abort),
                FaultKind.PgRestart => await PgRestartAsync(),
                FaultKind.PgTerminate => await PgTerminateAsync(abort),
                FaultKind.Drop => await DropAsync(abort),
                FaultKind.Restart => await RollingRestartAsync(abort),
                FaultKind.PgPartition => await PgPartitionAsync(abort),
                FaultKind.Partition => await PartitionAsync(isolate: false, abort),
                FaultKind.Isolate => await PartitionAsync(isolate: true, abort),
                _ => throw new ArgumentOutOfRangeException(nameof(kind)),
            };
        }
        catch (NotSupportedException e)
        {
            outcome = OpOutcome.Info;
            detail = e.Message;
            logger.FaultSkipped(name, e.Message);
        }

        var end = _endedAt ?? history.Now;
        logger.FaultEnded(name, end - start, detail);
        history.Add(new Operation
        {
            Process = Processes.Nemesis,
            Kind = OpKind.Fault,
            Outcome = outcome,
            InvokedMs = start,
            CompletedMs = end,
            Code = name,
            Detail = detail,
        });
    }

    private async Task<string> KillAsync(CancellationToken abort)
    {
        var member = await PickRunningMemberAsync(abort);
        var service = member.Process;
        var pid = service.Pid;
        logger.FaultStarted("kill", $"SIGKILL {service.Name} pid {pid}");
        if (!await service.KillAsync())
        {
            throw new NotSupportedException($"{service.Name} was not running (it exited by itself; see the crash and self-stop entries).");
        }

        var down = TimeSpan.FromMilliseconds(deployment.IsCluster ? _random.Next(300, 5000) : _random.Next(300, 1500));
        await Task.Delay(down, history.Time, abort);
        var restartAt = history.Now;
        await service.StartAsync(ReadyTimeout, abort);
        return $"SIGKILL {service.Name} pid {pid}, down {down.TotalMilliseconds:0} ms, restarted as pid {service.Pid} (ready after {history.Now - restartAt:0} ms)";
    }

    private async Task<string> PauseAsync(CancellationToken abort)
    {
        var member = await PickRunningMemberAsync(abort);
        var service = member.Process;
        var pid = service.Pid;
        var selfStops = service.SelfStops;
        var length = options.Ttl + TimeSpan.FromMilliseconds(deployment.IsCluster ? _random.Next(1500, 6000) : 1500);
        logger.FaultStarted("pause", $"SIGSTOP {service.Name} pid {pid} for {length.TotalMilliseconds:0} ms");
        if (!await service.PauseAsync())
        {
            throw new NotSupportedException($"{service.Name} was not running (it exited by itself; see the crash and self-stop entries).");
        }

        try
        {
            await Task.Delay(length, history.Time, abort);
        }
        finally
        {
            await service.ResumeAsync();
            _endedAt = history.Now;
        }

        var after = deployment.IsCluster ? await AwaitSelfStopAsync(service, selfStops, abort) : "";
        return $"SIGSTOP {service.Name} pid {pid} for {length.TotalMilliseconds:0} ms (lease TTL {options.Ttl.TotalMilliseconds:0} ms), then SIGCONT{after}";
    }

    /// <summary>
    /// After a silo was frozen or cut off: gives it a moment to find out whether the cluster declared it dead (it
    /// then stops its host and the crash watch restarts it) and says which happened. The fault's recorded end is
    /// the resume or heal, before this wait.
    /// </summary>
    private async Task<string> AwaitSelfStopAsync(ServiceProcess service, int selfStopsBefore, CancellationToken abort)
    {
        var until = history.Now + 3000;
        while (history.Now < until)
        {
            if (service.ReadItselfDead || service.SelfStops > selfStopsBefore)
            {
                return "; it read itself dead and stopped (restarted by the harness)";
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), history.Time, abort);
        }

        return "; it was still a member";
    }

    private async Task<string> RollingRestartAsync(CancellationToken abort)
    {
        logger.FaultStarted("restart", $"graceful restart of {string.Join(", ", deployment.Members.Select(m => m.Name))} in turn");
        var steps = new List<string>();
        foreach (var member in deployment.Members)
        {
            var service = member.Process;
            var stopAt = history.Now;
            if (!await service.StopAsync(TimeSpan.FromSeconds(60)))
            {
                steps.Add($"{service.Name} was not running");
                continue;
            }

            var stopped = history.Now - stopAt;
            await service.StartAsync(ReadyTimeout, abort);
            steps.Add($"{service.Name} stopped in {stopped:0} ms, ready {history.Now - stopAt:0} ms after SIGTERM");
        }

        return "SIGTERM and start, one silo after another: " + string.Join("; ", steps);
    }

    private async Task<string> PgPartitionAsync(CancellationToken abort)
    {
        var member = await PickRunningMemberAsync(abort);
        var proxy = member.PostgresProxy ?? throw new NotSupportedException("only a cluster run has proxies in front of PostgreSQL.");
        var length = TimeSpan.FromMilliseconds(_random.Next(3000, 7000));
        var reset = _random.Next(2) == 0;
        logger.FaultStarted("pg-partition", $"{member.Name} cut off from PostgreSQL for {length.TotalMilliseconds:0} ms");
        var held = proxy.Connections;
        proxy.Blackhole();
        try
        {
            await Task.Delay(length, history.Time, abort);
        }
        finally
        {
            if (reset)
            {
                held = proxy.Reset();
            }
            else
            {
                proxy.Resume();
            }
        }

        return $"{member.Name}'s {held} PostgreSQL connection(s) blackholed for {length.TotalMilliseconds:0} ms, then " +
            (reset ? "reset" : "resumed (held bytes delivered late)");
    }

    private async Task<string> PartitionAsync(bool isolate, CancellationToken abort)
    {
        var member = await PickRunningMemberAsync(abort);
        var siloPort = member.SiloProxy ?? throw new NotSupportedException("only a cluster run has proxies in front of silo ports.");
        var length = TimeSpan.FromSeconds(6);
        var what = isolate ? "cut off from PostgreSQL and from its peers and gateways" : "unreachable on its silo port (it still reaches its peers and PostgreSQL)";
        var selfStops = member.Process.SelfStops;
        logger.FaultStarted(isolate ? "isolate" : "partition", $"{member.Name} {what} for {length.TotalMilliseconds:0} ms");
        siloPort.Blackhole();
        if (isolate)
        {
            member.PostgresProxy!.Blackhole();
        }

        try
        {
            await Task.Delay(length, history.Time, abort);
        }
        finally
        {
            siloPort.Resume();
            member.PostgresProxy!.Resume();
            _endedAt = history.Now;
        }

        var after = await AwaitSelfStopAsync(member.Process, selfStops, abort);
        return $"{member.Name} {what} for {length.TotalMilliseconds:0} ms, then healed (held bytes delivered late){after}";
    }

    private async Task<string> ClientPauseAsync(CancellationToken abort)
    {
        var client = clients[_random.Next(clients.Count)];
        logger.FaultStarted("client-pause", client.Name);
        var write = client.RequestPause();
        var bound = Task.Delay(TimeSpan.FromSeconds(60), history.Time, abort);
        if (await Task.WhenAny(write, bound) != write || await write is not { } op)
        {
            throw new NotSupportedException($"{client.Name} held no lease to pause with within 60 s.");
        }

        var verdict = op.Outcome switch
        {
            OpOutcome.Ok => "ACCEPTED (no higher token had been written meanwhile)",
            OpOutcome.Fail => "rejected as stale",
            _ => "outcome unknown",
        };
        return $"{client.Name} paused past its TTL holding token {op.Token} of {op.Lock}; its late write (op {op.Index}) was {verdict}";
    }

    private async Task<string> PgRestartAsync()
    {
        if (!postgres.CanRestart)
        {
            throw new NotSupportedException("PostgreSQL is shared with others; only a server of the run's own is restarted.");
        }

        logger.FaultStarted("pg-restart", "immediate stop + start");
        var started = history.Now;
        await postgres.RestartAsync();
        return $"PostgreSQL stopped (immediate) and started again in {history.Now - started:0} ms";
    }

    private async Task<string> PgTerminateAsync(CancellationToken abort)
    {
        logger.FaultStarted("pg-terminate", postgres.ServiceDatabase);
        var counts = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            counts.Add(await postgres.TerminateServiceConnectionsAsync(abort));
            await Task.Delay(TimeSpan.FromMilliseconds(300), history.Time, abort);
        }

        return $"terminated the service's database connections 3 times, 300 ms apart ({string.Join("+", counts)} backends)";
    }

    private async Task<string> DropAsync(CancellationToken abort)
    {
        var length = TimeSpan.FromSeconds(4);
        logger.FaultStarted("drop", $"{drop.Probability:P0} of requests cancelled within {drop.MaxDelay.TotalMilliseconds:0} ms, for {length.TotalSeconds:0} s");
        drop.Active = true;
        try
        {
            await Task.Delay(length, history.Time, abort);
        }
        finally
        {
            drop.Active = false;
        }

        return $"{drop.Probability:P0} of client requests cancelled after 0-{drop.MaxDelay.TotalMilliseconds:0} ms for {length.TotalSeconds:0} s, retried with the same request/lease id";
    }
}
