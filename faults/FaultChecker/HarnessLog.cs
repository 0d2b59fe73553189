using Microsoft.Extensions.Logging;

namespace OrleansLocks.FaultChecker;

/// <summary>The harness's log lines (event ids 6000-6999; its own range, apart from the product's).</summary>
internal static partial class HarnessLog
{
    [LoggerMessage(6000, LogLevel.Information, "PostgreSQL ready: service database {ServiceDatabase}, fenced store database {StoreDatabase}")]
    public static partial void PostgresReady(this ILogger logger, string serviceDatabase, string storeDatabase);

    [LoggerMessage(6001, LogLevel.Information, "{Process} started: pid {Pid} on {Address} in {ElapsedMs:0} ms")]
    public static partial void ServiceStarted(this ILogger logger, string process, int pid, Uri address, double elapsedMs);

    [LoggerMessage(6002, LogLevel.Warning, "{Process} pid {Pid} exited without the harness stopping it, code {ExitCode} (read itself dead: {DeclaredDead}); restarting it")]
    public static partial void ServiceExited(this ILogger logger, string process, int pid, int exitCode, bool declaredDead);

    [LoggerMessage(6003, LogLevel.Information, "Fault {Fault} started: {Detail}")]
    public static partial void FaultStarted(this ILogger logger, string fault, string detail);

    [LoggerMessage(6004, LogLevel.Information, "Fault {Fault} ended after {DurationMs:0} ms: {Detail}")]
    public static partial void FaultEnded(this ILogger logger, string fault, double durationMs, string detail);

    [LoggerMessage(6005, LogLevel.Information, "Phase {Phase} at {AtMs:0} ms")]
    public static partial void Phase(this ILogger logger, string phase, double atMs);

    [LoggerMessage(6006, LogLevel.Debug, "{Client}: {Message}")]
    public static partial void ClientNote(this ILogger logger, string client, string message);

    [LoggerMessage(6007, LogLevel.Warning, "{Client}: unexpected answer {Status} {Code} to {Kind} of {LockName}: {Detail}")]
    public static partial void Unexpected(this ILogger logger, string client, int? status, string? code, string kind, string? lockName, string? detail);

    [LoggerMessage(6008, LogLevel.Warning, "Fault {Fault} could not be injected: {Reason}")]
    public static partial void FaultSkipped(this ILogger logger, string fault, string reason);

    [LoggerMessage(6009, LogLevel.Information, "Soak sample at {AtS:0} s: rss {RssMb:0.0} MB, fds {Fds}, threads {Threads}, activations {Activations}, database connections {Connections}")]
    public static partial void SoakSample(this ILogger logger, double atS, double rssMb, int fds, int threads, int? activations, int? connections);

    [LoggerMessage(6010, LogLevel.Warning, "Cleanup step failed: {Step}")]
    public static partial void CleanupFailed(this ILogger logger, Exception exception, string step);

    [LoggerMessage(6011, LogLevel.Information, "Liveness: every client completed {Cycles} critical sections {AfterMs:0} ms after the faults ended")]
    public static partial void LivenessReached(this ILogger logger, int cycles, double afterMs);

    [LoggerMessage(6012, LogLevel.Warning, "Liveness bound of {BoundS:0} s passed before every client completed {Cycles} critical sections")]
    public static partial void LivenessMissed(this ILogger logger, double boundS, int cycles);

    [LoggerMessage(6014, LogLevel.Information, "Cluster ready: {Silos} silo(s), {Gateways} gateway(s), entry points {EntryPoints}")]
    public static partial void ClusterReady(this ILogger logger, int silos, int gateways, string entryPoints);

    [LoggerMessage(6013, LogLevel.Warning, "Clients did not stop within {BoundS:0} s; cancelling them")]
    public static partial void ClientsCancelled(this ILogger logger, double boundS);
}
