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
