using Microsoft.Extensions.Logging;

namespace OrleansLocks.Client;

/// <summary>The client's log events (ids 7000-7999).</summary>
internal static partial class ClientLog
{
    [LoggerMessage(7000, LogLevel.Debug, "{Method} {Path} failed ({Failure}); retry {Attempt} in {DelayMs} ms")]
    public static partial void Retrying(this ILogger logger, string method, string path, string failure, int attempt, long delayMs);

    [LoggerMessage(7001, LogLevel.Warning, "{Method} {Path} failed after {Attempts} attempts: {Failure}")]
    public static partial void GaveUp(this ILogger logger, string method, string path, int attempts, string failure);

    [LoggerMessage(7002, LogLevel.Debug, "Lock {LockName} acquired ({Mode}, token {FencingToken}, ttl {TtlMs} ms)")]
    public static partial void Acquired(this ILogger logger, string lockName, LockMode mode, long fencingToken, long ttlMs);

    [LoggerMessage(7003, LogLevel.Debug, "Lock {LockName} still queued (position {Position}); polling again with the same request id")]
    public static partial void StillQueued(this ILogger logger, string lockName, int? position);

    [LoggerMessage(7004, LogLevel.Debug, "Lease of {LockName} (token {FencingToken}) renewed until {ExpiresAt:o}")]
    public static partial void Renewed(this ILogger logger, string lockName, long fencingToken, DateTimeOffset expiresAt);

    [LoggerMessage(7005, LogLevel.Warning, "Renew of {LockName} (token {FencingToken}) failed; retrying before the deadline in {RemainingMs} ms")]
    public static partial void RenewFailed(this ILogger logger, Exception exception, string lockName, long fencingToken, long remainingMs);

    [LoggerMessage(7006, LogLevel.Warning, "Lease of {LockName} (token {FencingToken}) lost: {Reason}")]
    public static partial void LeaseLost(this ILogger logger, string lockName, long fencingToken, string reason);

    [LoggerMessage(7007, LogLevel.Warning, "Release of {LockName} (token {FencingToken}) failed; the lease ends at its deadline")]
    public static partial void ReleaseFailed(this ILogger logger, Exception exception, string lockName, long fencingToken);

    [LoggerMessage(7008, LogLevel.Debug, "Lock {LockName} released (token {FencingToken})")]
    public static partial void Released(this ILogger logger, string lockName, long fencingToken);
}
