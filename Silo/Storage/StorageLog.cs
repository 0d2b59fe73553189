using Microsoft.Extensions.Logging;

namespace OrleansLocks.Silo.Storage;

/// <summary>Log messages of grain storage; event ids 2000-2999 are reserved for it.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(2000, LogLevel.Information, "Grain storage {Provider} is ready at {Location} (schema version {SchemaVersion}, {Elapsed} ms)")]
    public static partial void SchemaInitialized(this ILogger logger, string provider, string location, int schemaVersion, long elapsed);

    [LoggerMessage(2001, LogLevel.Warning, "Grain storage {Provider} is not reachable yet (attempt {Attempt}); retrying in {DelayMs} ms")]
    public static partial void SchemaInitializationRetry(this ILogger logger, Exception exception, string provider, int attempt, long delayMs);

    [LoggerMessage(2002, LogLevel.Critical, "Grain storage {Provider} could not be initialized: {Reason}")]
    public static partial void SchemaInitializationFailed(this ILogger logger, Exception exception, string provider, string reason);

    [LoggerMessage(2003, LogLevel.Warning, "Grain storage is the in-memory provider: nothing is durable, every lock and fencing counter is lost when the process stops. Use it for tests and benchmarks only")]
    public static partial void MemoryStorageNotDurable(this ILogger logger);

    [LoggerMessage(2004, LogLevel.Warning, "The {Provider} storage schema is at version {Found}, newer than version {Known} this silo knows; continuing, as newer schemas stay compatible")]
    public static partial void SchemaNewerThanCode(this ILogger logger, string provider, int found, int known);

    [LoggerMessage(2010, LogLevel.Debug, "Committed a batch of {BatchSize} writes ({Conflicts} version conflicts) on {Provider} in {ElapsedMs:0.###} ms")]
    public static partial void BatchCommitted(this ILogger logger, int batchSize, int conflicts, string provider, double elapsedMs);

    [LoggerMessage(2011, LogLevel.Debug, "Version conflict writing {Key}: expected version {ExpectedVersion} (none = insert); nothing was written")]
    public static partial void VersionConflict(this ILogger logger, StorageKey key, int? expectedVersion);

    [LoggerMessage(2012, LogLevel.Warning, "A batch of {BatchSize} writes on {Provider} failed; each write fails with StorageUnavailableException")]
    public static partial void BatchFailed(this ILogger logger, Exception exception, int batchSize, string provider);

    [LoggerMessage(2013, LogLevel.Warning, "Grain storage {Provider} failed to {Operation}")]
    public static partial void StorageFailure(this ILogger logger, Exception exception, string provider, string operation);

    [LoggerMessage(2014, LogLevel.Information, "Grain storage is stopping; {Count} queued writes were not attempted")]
    public static partial void QueuedWritesAbandoned(this ILogger logger, int count);
}
