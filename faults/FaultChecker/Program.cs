using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using OrleansLocks.FaultChecker.Reporting;

namespace OrleansLocks.FaultChecker;

/// <summary>
/// `dotnet run -c Release --project faults/FaultChecker -- --duration 60s [--faults …] [--soak]`: runs the service
/// as a real process under faults (or sustained load), checks the history, prints a Markdown report on stdout and
/// exits non-zero on any violation. Progress goes to stderr.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(RunOptions.Usage);
            return 0;
        }

        RunOptions options;
        try
        {
            options = RunOptions.Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            await Console.Error.WriteLineAsync(e.Message);
            await Console.Error.WriteLineAsync(RunOptions.Usage);
            return 2;
        }

        using var loggers = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(options.Verbose ? LogLevel.Debug : LogLevel.Information)
            .AddSimpleConsole(c =>
            {
                c.SingleLine = true;
                c.TimestampFormat = "HH:mm:ss.fff ";
            })
            .AddConsole(c => c.LogToStandardErrorThreshold = LogLevel.Trace));

        // Ctrl-C (SIGINT), SIGTERM and SIGQUIT abort the run; the harness then stops the service and drops its
        // databases before exiting.
        using var abort = new CancellationTokenSource();
        void Abort(PosixSignalContext context)
        {
            context.Cancel = true;
            abort.Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Abort);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Abort);
        using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, Abort);

        try
        {
            var run = await FaultRun.RunAsync(options, loggers, abort.Token);
            var report = MarkdownReport.Render(run);
            Console.WriteLine(report);
            if (options.ReportPath is not null)
            {
                await File.WriteAllTextAsync(options.ReportPath, report, CancellationToken.None);
            }

            return run.Passed ? 0 : 1;
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("Aborted; everything the run started has been stopped.");
            return 2;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or Npgsql.NpgsqlException)
        {
            await Console.Error.WriteLineAsync($"The harness failed: {e}");
            return 2;
        }
    }
}
