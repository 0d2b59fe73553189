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
 */

/// <summary>Injects scheduled, bounded faults and records them.</summary>
internal sealed class FaultInjector(
    ServiceProcess service,
    PostgresEnvironment postgres,
    IReadOnlyList<WorkloadClient> clients,
    DropPolicy drop,
    RunOptions options,
    HistoryRecorder history,
    ILogger logger)
{
    private readonly Random _random = new(options.Seed * 31 + 7);

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

    private static TimeSpan EstimatedLength(RunOptions options) => options.Ttl + TimeSpan.FromSeconds(2);

    public async Task InjectAsync(FaultKind kind, CancellationToken abort)
    {
        var name = RunOptions.FaultName(kind);
        var start = history.Now;
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
                _ => throw new ArgumentOutOfRangeException(nameof(kind)),
            };
        }
        catch (NotSupportedException e)
        {
            outcome = OpOutcome.Info;
            detail = e.Message;
            logger.FaultSkipped(name, e.Message);
        }

        var end = history.Now;
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
        var pid = service.Pid;
        logger.FaultStarted("kill", $"SIGKILL pid {pid}");
        if (!await service.KillAsync())
        {
            throw new NotSupportedException("the service was not running (it exited by itself; see the crash entries).");
        }

        var down = TimeSpan.FromMilliseconds(_random.Next(300, 1500));
        await Task.Delay(down, history.Time, abort);
        var restartAt = history.Now;
        await service.StartAsync(TimeSpan.FromSeconds(120), abort);
        return $"SIGKILL pid {pid}, down {down.TotalMilliseconds:0} ms, restarted as pid {service.Pid} (ready after {history.Now - restartAt:0} ms)";
    }

    private async Task<string> PauseAsync(CancellationToken abort)
    {
        var pid = service.Pid;
        var length = options.Ttl + TimeSpan.FromMilliseconds(1500);
        logger.FaultStarted("pause", $"SIGSTOP pid {pid} for {length.TotalMilliseconds:0} ms");
        if (!await service.PauseAsync())
        {
            throw new NotSupportedException("the service was not running (it exited by itself; see the crash entries).");
        }

        try
        {
            await Task.Delay(length, history.Time, abort);
        }
        finally
        {
            await service.ResumeAsync();
        }

        return $"SIGSTOP pid {pid} for {length.TotalMilliseconds:0} ms (lease TTL {options.Ttl.TotalMilliseconds:0} ms), then SIGCONT";
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
