using System.Net.Sockets;
using Npgsql;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Storage.Postgres;

/// <summary>
/// Classifies Npgsql failures by SQLSTATE (<see cref="PostgresErrorCodes"/>) and exception type, never by message text.
/// </summary>
internal static class PostgresErrors
{
    /// <summary>Whether <paramref name="exception"/> is a failure of the database or of the way to it.</summary>
    public static bool IsStorageFailure(Exception exception)
        => exception is NpgsqlException or IOException or SocketException or TimeoutException;

    /// <summary>
    /// Whether retrying later may succeed: the server is unreachable, starting, shutting down or overloaded, or the
    /// transaction lost a race. Wrong credentials, a missing database or missing privileges are not transient.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState switch
        {
            PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
                or PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.InsufficientResources
                or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected
                or PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.QueryCanceled
                or PostgresErrorCodes.IdleSessionTimeout => true,
            _ => pg.SqlState.StartsWith("08", StringComparison.Ordinal), // class 08: connection exception
        },
        NpgsqlException or IOException or SocketException or TimeoutException => true,
        _ => false,
    };

    /// <summary>Whether the connection itself broke, so idle pooled connections are probably dead too.</summary>
    public static bool IsConnectionBroken(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
            or PostgresErrorCodes.CannotConnectNow || pg.SqlState.StartsWith("08", StringComparison.Ordinal),
        NpgsqlException or IOException or SocketException => true,
        _ => false,
    };

    /// <summary>
    /// Empties <paramref name="dataSource"/>'s pool when <paramref name="exception"/> broke the connection: its idle
    /// connections are probably dead too (a server restart, terminated backends). Returns whether it did.
    /// </summary>
    public static bool ClearPoolIfBroken(NpgsqlDataSource dataSource, Exception exception)
    {
        if (!IsConnectionBroken(exception))
        {
            return false;
        }

        dataSource.Clear();
        return true;
    }

    /// <summary>A <see cref="StorageUnavailableException"/> that says what failed and, for known causes, what to do.</summary>
    public static StorageUnavailableException ToUnavailable(Exception exception, string what)
        => new($"PostgreSQL grain storage failed to {what}: {Describe(exception)}", exception);

    /// <summary>An operator-facing description of the failure.</summary>
    public static string Describe(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState switch
        {
            PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedColumn =>
                "the grain storage schema is missing or outdated; run Silo/Storage/Postgres/PostgreSQL-Storage.sql or set Storage:InitializeSchema=true",
            PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification =>
                "PostgreSQL rejected the credentials of Storage:PostgresConnectionString (or ConnectionStrings:Postgres)",
            PostgresErrorCodes.InvalidCatalogName =>
                "the database named in Storage:PostgresConnectionString (or ConnectionStrings:Postgres) does not exist",
            PostgresErrorCodes.InsufficientPrivilege =>
                "the PostgreSQL role lacks a privilege it needs (CREATE on the schema to initialize it; SELECT, INSERT, UPDATE on the tables)",
            _ => $"{pg.SqlState} {pg.MessageText}",
        },
        NpgsqlException { InnerException: TimeoutException } => "timed out",
        NpgsqlException { InnerException: { } inner } => $"{exception.Message} ({inner.Message})",
        _ => exception.Message,
    };
}
