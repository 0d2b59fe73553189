using Microsoft.Extensions.Logging;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// The grain runtime's log events. Ids are stable (range 1000-1999): operators alert on them, so never renumber.
/// </summary>
internal static partial class RuntimeLog
{
    [LoggerMessage(1000, LogLevel.Information, "Silo {SiloName} is {Status} (was {PreviousStatus})")]
    public static partial void SiloStatusChanged(this ILogger logger, string siloName, SiloStatus status, SiloStatus previousStatus);

    [LoggerMessage(1001, LogLevel.Debug, "Activated {GrainId}")]
    public static partial void ActivationCreated(this ILogger logger, GrainId grainId);

    [LoggerMessage(1002, LogLevel.Warning, "Activation of {GrainId} failed; {FailedCalls} queued call(s) fail with SiloUnavailableException")]
    public static partial void ActivationFailed(this ILogger logger, Exception exception, GrainId grainId, int failedCalls);

    [LoggerMessage(1003, LogLevel.Debug, "Deactivated {GrainId}: {ReasonCode} ({Description}); {RedispatchedCalls} queued call(s) re-dispatched")]
    public static partial void ActivationDeactivated(this ILogger logger, GrainId grainId, DeactivationReasonCode reasonCode, string description, int redispatchedCalls);

    [LoggerMessage(1004, LogLevel.Information, "Version conflict in {GrainId} during {Method}: activation dropped, retrying on a fresh activation (attempt {Attempt} of {MaxAttempts})")]
    public static partial void VersionConflictRetry(this ILogger logger, GrainId grainId, string method, int attempt, int maxAttempts);

    [LoggerMessage(1005, LogLevel.Warning, "Version conflict in {GrainId} during {Method} on every one of {MaxAttempts} attempts; the call fails with SiloUnavailableException")]
    public static partial void VersionConflictRetriesExhausted(this ILogger logger, InconsistentStateException exception, GrainId grainId, string method, int maxAttempts);

    [LoggerMessage(1006, LogLevel.Warning, "Storage failure in {GrainId}: activation dropped, its in-memory state is discarded")]
    public static partial void StorageFailureActivationDropped(this ILogger logger, Exception exception, GrainId grainId);

    [LoggerMessage(1007, LogLevel.Debug, "Collection pass: {Collected} idle activation(s) of {Total} collected")]
    public static partial void CollectionPass(this ILogger logger, int collected, int total);

    [LoggerMessage(1090, LogLevel.Information, "After a large idle collection, compacted the heap to return memory: committed {CommittedBefore} -> {CommittedAfter} bytes in {ElapsedMs:F1} ms")]
    public static partial void MemoryReleased(this ILogger logger, long committedBefore, long committedAfter, double elapsedMs);

    [LoggerMessage(1008, LogLevel.Warning, "Timer callback of {GrainId} failed")]
    public static partial void TimerCallbackFailed(this ILogger logger, Exception exception, GrainId grainId);

    [LoggerMessage(1009, LogLevel.Warning, "OnDeactivateAsync of {GrainId} ({ReasonCode}) failed or timed out; the activation is removed anyway")]
    public static partial void DeactivationFailed(this ILogger logger, Exception exception, GrainId grainId, DeactivationReasonCode reasonCode);

    [LoggerMessage(1010, LogLevel.Warning, "{Remaining} activation(s) did not deactivate within {Timeout}; they are dropped and their queued calls fail")]
    public static partial void ShutdownDeactivationTimedOut(this ILogger logger, int remaining, TimeSpan timeout);

    [LoggerMessage(1011, LogLevel.Information, "Deactivating {Count} activation(s) for shutdown")]
    public static partial void ShutdownDeactivating(this ILogger logger, int count);

    [LoggerMessage(1013, LogLevel.Error, "Idle collection pass failed; the next pass retries")]
    public static partial void CollectionPassFailed(this ILogger logger, Exception exception);

    [LoggerMessage(1012, LogLevel.Error, "Unexpected failure in the turn loop of {GrainId}; the activation is dropped")]
    public static partial void TurnLoopFailed(this ILogger logger, Exception exception, GrainId grainId);
}
