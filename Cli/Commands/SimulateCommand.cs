using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using OrleansLocks.Cli.Hosting;
using OrleansLocks.Cli.Simulation;
using OrleansLocks.Client;

namespace OrleansLocks.Cli.Commands;

/// <summary>`locks simulate`: N processes contend for a few locks through the real service while a checker watches.</summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var processes = new Option<int?>("--processes", "-n") { Description = "Simulated processes [default: 15]" };
        var duration = LocksCli.DurationOption("--duration", "How long to run [default: 10s]");
        var locks = new Option<int?>("--locks") { Description = "How many locks they contend for [default: 1]" };
        var ttl = LocksCli.DurationOption("--ttl", "Lease TTL of each grant [default: 10s]");
        var hold = LocksCli.DurationOption("--hold", "Longest time in the critical section (random up to this) [default: 5ms]");
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print violations and the summary only" };
        var prefix = new Option<string?>("--prefix") { Description = "Lock name prefix [default: simulate-<random>-]" };
        var command = new Command("simulate", "Simulate N processes contending for locks through the real service, checking mutual exclusion and fencing live")
        {
            processes, duration, locks, ttl, hold, quiet, prefix,
        };
        command.SetAction((parse, ct) => LocksCli.GuardAsync(
            parse,
            () => RunAsync(
                parse,
                new SimulationSettings(
                    parse.GetValue(processes) ?? 15,
                    parse.GetValue(duration) ?? TimeSpan.FromSeconds(10),
                    parse.GetValue(locks) ?? 1,
                    parse.GetValue(ttl) ?? TimeSpan.FromSeconds(10),
                    parse.GetValue(hold) ?? TimeSpan.FromMilliseconds(5),
                    parse.GetValue(quiet),
                    parse.GetValue(prefix) ?? $"simulate-{Guid.NewGuid().ToString("N")[..8]}-"),
                ct),
            ct));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, SimulationSettings settings, CancellationToken cancellationToken)
    {
        var output = parse.InvocationConfiguration.Output;
        if (settings.Processes < 1 || settings.Locks < 1)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync("locks: --processes and --locks must be at least 1.");
            return ExitCodes.Usage;
        }

        EmbeddedLockService? embedded = null;
        Uri? url = null;
        if (parse.GetValue(LocksCli.Url) is null)
        {
            embedded = await EmbeddedLockService.StartAsync(
                minimumLogLevel: parse.GetValue(LocksCli.Verbose) ? LogLevel.Information : LogLevel.Warning,
                cancellationToken: cancellationToken);
            url = embedded.BaseAddress;
            await output.WriteLineAsync($"embedded service on {url} (SQLite in a temporary directory)");
        }

        try
        {
            var clients = Enumerable.Range(0, settings.Processes).Select(_ => LocksCli.CreateClient(parse, url)).ToArray();
            var target = clients[0].BaseAddress;
            await output.WriteLineAsync($"simulating {settings.Processes} processes on {settings.Locks} lock(s) '{settings.LockPrefix}*' for {Durations.Format(settings.Duration)} against {target}");
            var simulation = new Simulation.Simulation(settings, p => clients[p], output, TimeProvider.System);
            var result = await simulation.RunAsync(cancellationToken);
            await output.WriteLineAsync(parse.GetValue(LocksCli.Json) ? Output.Json(Summary(result)) : SummaryText(result));
            if (result.Violations > 0)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"locks: simulation FAILED: {result.Violations} violation(s)");
                return ExitCodes.Violation;
            }

            if (result.CriticalSections == 0)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("locks: simulation FAILED: no process entered a critical section, nothing was checked");
                return ExitCodes.Violation;
            }

            return ExitCodes.Ok;
        }
        finally
        {
            if (embedded is not null)
            {
                await embedded.DisposeAsync();
            }
        }
    }

    private static object Summary(SimulationResult r) => new
    {
        criticalSections = r.CriticalSections,
        elapsedMs = (long)r.Elapsed.TotalMilliseconds,
        throughputPerSecond = Math.Round(r.Throughput, 1),
        waitP50Ms = Math.Round(r.WaitP50.TotalMilliseconds, 1),
        waitP99Ms = Math.Round(r.WaitP99.TotalMilliseconds, 1),
        waitMaxMs = Math.Round(r.WaitMax.TotalMilliseconds, 1),
        fairness = new { minGrants = r.MinGrants, maxGrants = r.MaxGrants },
        violations = r.Violations,
        leasesLost = r.LeasesLost,
        errors = r.Errors,
        violationDetails = r.ViolationDetails,
    };

    private static string SummaryText(SimulationResult r)
    {
        var c = CultureInfo.InvariantCulture;
        return string.Join(Environment.NewLine,
            "summary",
            string.Format(c, "  critical sections  {0} in {1:0.0} s ({2:0.0}/s)", r.CriticalSections, r.Elapsed.TotalSeconds, r.Throughput),
            string.Format(c, "  wait for grant     p50 {0:0.0} ms, p99 {1:0.0} ms, max {2:0.0} ms", r.WaitP50.TotalMilliseconds, r.WaitP99.TotalMilliseconds, r.WaitMax.TotalMilliseconds),
            string.Format(c, "  fairness           grants per process min {0}, max {1}", r.MinGrants, r.MaxGrants),
            string.Format(c, "  leases lost        {0}", r.LeasesLost),
            string.Format(c, "  errors             {0}", r.Errors),
            string.Format(c, "  violations         {0}{1}", r.Violations, r.Violations == 0 ? " (mutual exclusion and fencing order held)" : " FAILED"));
    }
}
