using Microsoft.Extensions.Logging;
using OrleansLocks.FaultChecker;
using OrleansLocks.FaultChecker.Checking;
using OrleansLocks.FaultChecker.History;
using OrleansLocks.FaultChecker.Reporting;
using Xunit.Abstractions;

namespace OrleansLocks.Faults.Tests;

/// <summary>
/// The short version of the fault run, in the normal suite: the service as a real process on a real PostgreSQL,
/// six clients on three locks, and two shuffled rounds of the cheap faults (kill + restart, SIGSTOP past the TTL,
/// a client paused past its TTL, terminated database connections, dropped requests) — a fixed schedule, however
/// slow the machine. Everything waits on conditions with generous bounds; the only sleeps are the faults' own
/// durations.
/// </summary>
public sealed class FaultRunTests(ITestOutputHelper output)
{
    private static readonly FaultKind[] CheapFaults = [FaultKind.Kill, FaultKind.Pause, FaultKind.ClientPause, FaultKind.PgTerminate, FaultKind.Drop];

    [Fact]
    public async Task Run_ShortRunWithEveryCheapFault_NoViolationAndEveryClientProgresses()
    {
        var options = new RunOptions
        {
            // A fixed schedule, not a duration: two shuffled rounds of the five faults however slow the machine is.
            Rounds = 2,
            Clients = 6,
            Locks = 3,
            Faults = CheapFaults,
            Seed = 7,
            FaultInterval = TimeSpan.FromSeconds(3),
            LivenessCycles = 3,
            LivenessBound = TimeSpan.FromSeconds(90),
        };
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new OutputLoggerProvider(output)));
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(8));

        var run = await FaultRun.RunAsync(options, loggers, bound.Token);

        output.WriteLine(MarkdownReport.Render(run));
        Assert.True(run.Check.Valid, "Violations:\n" + string.Join("\n", run.Check.Violations.Select(v => $"{v.Rule}: {v.Message}\n  " + string.Join("\n  ", v.Evidence.Select(o => o.ToLine())))));
        Assert.NotNull(run.LivenessReachedMs);
        var injected = run.History.Where(o => o.Kind == OpKind.Fault && o.Process == Processes.Nemesis && o.Outcome == OpOutcome.Ok).Select(o => o.Code).ToHashSet();
        Assert.All(CheapFaults, f => Assert.Contains(RunOptions.FaultName(f), injected));
        Assert.Equal(2 * CheapFaults.Length, run.History.Count(o => o.Kind == OpKind.Fault && o.Process == Processes.Nemesis));
        Assert.True(run.History.Count(o => o.Kind == OpKind.Write && o.Outcome == OpOutcome.Ok) >= 50, "too little work got done to mean anything");
    }

    /*
     * The cluster's short version: three Api processes co-hosting silos plus one gateway (four entry points, clients
     * spread over them), each silo behind the harness's proxies; one shuffled round of the cluster's characteristic
     * faults — a silo killed, a silo frozen past the TTL (a zombie when it wakes up declared dead), a silo cut off on
     * its silo port, a silo cut off from everything, a silo cut off from PostgreSQL — plus dropped requests. Safety is
     * strict (zero violations); liveness generous (90 s after the last fault).
     */
    private static readonly FaultKind[] ClusterFaults = [FaultKind.Kill, FaultKind.Pause, FaultKind.Partition, FaultKind.Isolate, FaultKind.PgPartition, FaultKind.Drop];

    [Fact]
    public async Task Run_ShortClusterRunWithPartitionsAndZombies_NoViolationAndEveryClientProgresses()
    {
        var options = new RunOptions
        {
            Cluster = true,
            CoHosted = true,
            Silos = 3,
            Gateways = 1,
            Rounds = 1,
            Clients = 6,
            Locks = 3,
            Faults = ClusterFaults,
            Seed = 11,
            FaultInterval = TimeSpan.FromSeconds(3),
            LivenessCycles = 3,
            LivenessBound = TimeSpan.FromSeconds(90),
        };
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new OutputLoggerProvider(output)));
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(8));

        var run = await FaultRun.RunAsync(options, loggers, bound.Token);

        output.WriteLine(MarkdownReport.Render(run));
        Assert.True(run.Check.Valid, "Violations:\n" + string.Join("\n", run.Check.Violations.Select(v => $"{v.Rule}: {v.Message}\n  " + string.Join("\n  ", v.Evidence.Select(o => o.ToLine())))));
        Assert.NotNull(run.LivenessReachedMs);
        var injected = run.History.Where(o => o.Kind == OpKind.Fault && o.Process == Processes.Nemesis && o.Outcome == OpOutcome.Ok).Select(o => o.Code).ToList();
        Assert.Equal([.. ClusterFaults.Select(RunOptions.FaultName).Order()], injected.Order());

        // Requests really went through every entry point.
        Assert.Equal(4, run.History.Where(o => o.Via is not null).Select(o => o.Via).Distinct().Count());
        Assert.True(run.History.Count(o => o.Kind == OpKind.Write && o.Outcome == OpOutcome.Ok) >= 50, "too little work got done to mean anything");
    }

    /*
     * Checking the checker in cluster mode: with in-memory storage each silo keeps its locks' state (and fencing
     * counters) in its own memory, so a lock that moves to another silo after a kill — or comes back to the
     * restarted one — starts from token 1 again. The run must fail on token order or fencing. Twelve locks, so every
     * silo owns some (rendezvous placement over three silos).
     */
    [Fact]
    public async Task Run_ClusterOnInMemoryStorage_CheckerReportsTokenOrFencingViolations()
    {
        var options = new RunOptions
        {
            Cluster = true,
            CoHosted = true,
            Silos = 3,
            Gateways = 0,
            Rounds = 2,
            Clients = 6,
            Locks = 12,
            Faults = [FaultKind.Kill],
            Seed = 5,
            FaultInterval = TimeSpan.FromSeconds(3),
            LivenessBound = TimeSpan.FromSeconds(60),
            ServiceEnvironment = new Dictionary<string, string>
            {
                ["Storage__Provider"] = "Memory",
                ["Cluster__Enabled"] = "true",
            },
        };
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new OutputLoggerProvider(output)));
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(8));

        var run = await FaultRun.RunAsync(options, loggers, bound.Token);

        output.WriteLine(MarkdownReport.Render(run));
        Assert.False(run.Check.Valid, "a service that forgets its fencing counters on a kill must fail the check");
        Assert.True(
            run.Check.ViolationCounts.GetValueOrDefault(Rules.TokenOrder) + run.Check.ViolationCounts.GetValueOrDefault(Rules.Fencing) > 0,
            "expected token-order or fencing violations, got " + string.Join(", ", run.Check.ViolationCounts.Select(kv => $"{kv.Key}: {kv.Value}")));
    }

    private sealed class OutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new OutputLogger(output);

        public void Dispose()
        {
        }

        private sealed class OutputLogger(ITestOutputHelper output) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                try
                {
                    output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}");
                }
                catch (InvalidOperationException)
                {
                    // The test has finished; nothing to write to.
                }
            }
        }
    }
}
