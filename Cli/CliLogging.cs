using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace OrleansLocks.Cli;

/// <summary>Logs of the tool (ids 8000-8999) and of the client under --verbose, to standard error.</summary>
internal static partial class CliLogging
{
    private static readonly Lazy<ILoggerFactory> LazyFactory = new(() => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(LogLevel.Debug);
        builder.AddSimpleConsole(o => o.SingleLine = true);
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }));

    public static ILoggerFactory Factory => LazyFactory.Value;

    [LoggerMessage(8000, LogLevel.Debug, "Started '{Command}' (pid {ProcessId}) under lock {LockName}, token {FencingToken}")]
    public static partial void CommandStarted(this ILogger logger, string command, int processId, string lockName, long fencingToken);

    [LoggerMessage(8001, LogLevel.Warning, "Lease of {LockName} lost ({Reason}); stopping pid {ProcessId}")]
    public static partial void StoppingOnLeaseLost(this ILogger logger, string lockName, string reason, int processId);

    [LoggerMessage(8002, LogLevel.Debug, "Command exited with {ExitCode}; releasing {LockName}")]
    public static partial void CommandExited(this ILogger logger, int exitCode, string lockName);
}
