using Npgsql;
using OrleansLocks.FaultChecker.Checking;

namespace OrleansLocks.FaultChecker.Harness;

/*
 * Design note — the fenced store: the resource the locks protect.
 *
 * One table per lock holds a single row (last accepted token, number of accepted writes) and a second, append-only
 * table the log of accepted writes. A write is ONE statement: the UPDATE accepts only if the row's last token is
 * not higher than the writer's (so a writer whose lease ran out while someone with a higher token wrote is
 * refused) and the INSERT into the log happens in the same statement, numbered by the new write count. PostgreSQL
 * serializes the statements on the row lock, so the log is exactly the order of acceptance: the checker can verify
 * that tokens never decreased, that the counter equals the log, and that every acknowledged write is in it.
 * It lives in its own database, apart from the service's, so faults aimed at the service's connections do not hit it.
 */

/// <summary>A PostgreSQL-backed resource that accepts writes only with a fencing token at least the last accepted one.</summary>
internal sealed class FencedStore(NpgsqlDataSource dataSource, IReadOnlyList<string> locks) : IAsyncDisposable
{
    public IReadOnlyList<string> Locks => locks;

    public static FencedStore Create(string connectionString, IReadOnlyList<string> locks)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 10, CommandTimeout = 15, MaxPoolSize = 50 };
        return new FencedStore(NpgsqlDataSource.Create(builder.ConnectionString), locks);
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        for (var i = 0; i < locks.Count; i++)
        {
            await using var command = dataSource.CreateCommand($"""
                CREATE TABLE IF NOT EXISTS fenced_{i} (
                    id integer PRIMARY KEY CHECK (id = 1),
                    last_token bigint NOT NULL,
                    writes bigint NOT NULL);
                INSERT INTO fenced_{i} (id, last_token, writes) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING;
                CREATE TABLE IF NOT EXISTS fenced_{i}_log (
                    seq bigint PRIMARY KEY,
                    token bigint NOT NULL,
                    client text NOT NULL,
                    value text NOT NULL,
                    written_at timestamptz NOT NULL DEFAULT clock_timestamp());
                """);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Writes <paramref name="value"/> with <paramref name="token"/>; returns the log sequence number, or null when refused as stale.</summary>
    public async Task<long?> WriteAsync(string lockName, long token, string client, string value, CancellationToken cancellationToken)
    {
        var i = IndexOf(lockName);
        await using var command = dataSource.CreateCommand($"""
            WITH accepted AS (
                UPDATE fenced_{i} SET last_token = $1, writes = writes + 1
                WHERE id = 1 AND last_token <= $1
                RETURNING writes)
            INSERT INTO fenced_{i}_log (seq, token, client, value)
            SELECT writes, $1, $2, $3 FROM accepted
            RETURNING seq
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = token });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = client });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = value });
        var seq = await command.ExecuteScalarAsync(cancellationToken);
        return seq is long s ? s : null;
    }

    /// <summary>The store's contents, for the checker.</summary>
    public async Task<IReadOnlyList<FencedStoreDump>> DumpAsync(CancellationToken cancellationToken)
    {
        var dumps = new List<FencedStoreDump>();
        for (var i = 0; i < locks.Count; i++)
        {
            long lastToken, writes;
            await using (var command = dataSource.CreateCommand($"SELECT last_token, writes FROM fenced_{i} WHERE id = 1"))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                lastToken = reader.GetInt64(0);
                writes = reader.GetInt64(1);
            }

            var log = new List<FencedLogEntry>();
            await using (var command = dataSource.CreateCommand($"SELECT seq, token, client, value FROM fenced_{i}_log ORDER BY seq"))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    log.Add(new FencedLogEntry(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3)));
                }
            }

            dumps.Add(new FencedStoreDump(locks[i], lastToken, writes, log));
        }

        return dumps;
    }

    private int IndexOf(string lockName)
    {
        for (var i = 0; i < locks.Count; i++)
        {
            if (locks[i] == lockName)
            {
                return i;
            }
        }

        throw new ArgumentException($"'{lockName}' is not one of the fenced locks.", nameof(lockName));
    }

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();
}
