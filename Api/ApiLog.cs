using Microsoft.Extensions.Logging;

namespace OrleansLocks.Api;

/// <summary>The Api's log events (ids 4000-4999). The lock protocol itself is logged by the grain (3000-3999).</summary>
internal static partial class ApiLog
{
    [LoggerMessage(4000, LogLevel.Debug, "Acquire {LockName} requested by {Owner}: {Mode}, ttl {Ttl}, wait {Wait}, request {RequestId}")]
    public static partial void AcquireReceived(this ILogger logger, string lockName, string owner, LockMode mode, TimeSpan ttl, TimeSpan wait, string requestId);

    [LoggerMessage(4001, LogLevel.Debug, "Acquire {LockName} granted to {Owner}: token {FencingToken}, request {RequestId}, after {ElapsedMs} ms")]
    public static partial void AcquireGranted(this ILogger logger, string lockName, string owner, long fencingToken, string requestId, long elapsedMs);

    [LoggerMessage(4002, LogLevel.Debug, "Acquire {LockName} by {Owner} queued at position {Position}, request {RequestId}")]
    public static partial void AcquireQueued(this ILogger logger, string lockName, string owner, int position, string requestId);

    [LoggerMessage(4003, LogLevel.Debug, "Acquire {LockName} by {Owner} not granted ({Status}) after {ElapsedMs} ms, request {RequestId}, queue length {QueueLength}")]
    public static partial void AcquireNotGranted(this ILogger logger, string lockName, string owner, AcquireStatus status, long elapsedMs, string requestId, int queueLength);

    [LoggerMessage(4004, LogLevel.Information, "Acquire {LockName} by {Owner}: the client disconnected while waiting, request {RequestId}")]
    public static partial void AcquireAbandoned(this ILogger logger, string lockName, string owner, string requestId);

    [LoggerMessage(4005, LogLevel.Information, "Acquire {LockName} by {Owner} was granted (token {FencingToken}) after its client disconnected; released it")]
    public static partial void OrphanLeaseReleased(this ILogger logger, string lockName, string owner, long fencingToken);

    [LoggerMessage(4006, LogLevel.Debug, "{Operation} {LockName}: lease lost ({Reason})")]
    public static partial void LeaseLost(this ILogger logger, string operation, string lockName, LeaseLostReason reason);

    [LoggerMessage(4010, LogLevel.Warning, "Force-release of {LockName} by {RequestedBy} because \"{Reason}\": {HoldersRemoved} holder(s) removed, fencing counter now {FencingCounter}")]
    public static partial void ForceReleased(this ILogger logger, string lockName, string requestedBy, string reason, int holdersRemoved, long fencingCounter);

    [LoggerMessage(4020, LogLevel.Warning, "{Method} {Path} answered 503: {Reason}")]
    public static partial void Unavailable(this ILogger logger, string method, string path, string reason, Exception exception);

    [LoggerMessage(4030, LogLevel.Debug, "{Method} {Path} answered {Status} {Code}: {Detail}")]
    public static partial void RequestRejected(this ILogger logger, string method, string path, int status, string code, string? detail);

    [LoggerMessage(4031, LogLevel.Debug, "{Method} {Path}: the client disconnected")]
    public static partial void ClientDisconnected(this ILogger logger, string method, string path);

    [LoggerMessage(4900, LogLevel.Error, "BUG: {Method} {Path} failed with an unexpected exception; answered 500")]
    public static partial void UnhandledException(this ILogger logger, string method, string path, Exception exception);
}
