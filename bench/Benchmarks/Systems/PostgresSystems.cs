using Npgsql;
using NpgsqlTypes;

namespace OrleansLocks.Benchmarks.Systems;

/// <summary>The PostgreSQL peers' shared set-up: one data source, the tables, prepared commands on a dedicated connection per client.</summary>
internal static class PostgresPeers
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS bench_lease (name text PRIMARY KEY, owner text NOT NULL, deadline timestamptz NOT NULL);
        CREATE TABLE IF NOT EXISTS bench_counter (id integer PRIMARY KEY, n bigint NOT NULL);
        INSERT INTO bench_counter (id, n) SELECT g, 0 FROM generate_series(0, 1023) AS g ON CONFLICT (id) DO NOTHING;
        """;

    public static async Task CreateSchemaAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(Schema);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<NpgsqlCommand> PrepareAsync(NpgsqlConnection connection, string sql, NpgsqlDbType[] parameters, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var type in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = type });
        }

        await command.PrepareAsync(cancellationToken);
        return command;
    }

    /// <summary>A stable 64-bit key for a lock name (FNV-1a): advisory locks are keyed by integers.</summary>
    public static long KeyOf(string name)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in name)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return unchecked((long)hash);
    }
}

/*
 * PostgreSQL session-level advisory locks, one dedicated connection per client (the lock belongs to the session).
 *   acquire: SELECT pg_try_advisory_lock($1)        (shared: pg_try_advisory_lock_shared)
 *   release: SELECT pg_advisory_unlock($1)          (shared: pg_advisory_unlock_shared)
 * Advisory locks live in the server's shared memory only: nothing is written to the WAL, and a lock disappears
 * with its session or a restart. No TTL (the session is the lease), no fencing token.
 * A busy lock is retried after the short back-off (pg_advisory_lock would block instead; the try form is what
 * applications with their own timeouts use).
 */
internal sealed class PgAdvisorySystem(NpgsqlDataSource dataSource) : ILockSystem
{
    public string Id => "pg-advisory";

    public string Description => "PostgreSQL session advisory locks: SELECT pg_try_advisory_lock(key) / pg_advisory_unlock(key), prepared, one connection per client";

    public string Durability => "NOT durable: in-memory lock table, no WAL; a lock ends with its session or a server restart";

    public bool Durable => false;

    public bool SupportsShared => true;

    public string WaitStrategy => "pg_try_advisory_lock retried after a 1 ms back-off";

    public async Task<ILockClient> ConnectAsync(int client, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var bigint = new[] { NpgsqlDbType.Bigint };
        return new Client(
            connection,
            await PostgresPeers.PrepareAsync(connection, "SELECT pg_try_advisory_lock($1)", bigint, cancellationToken),
            await PostgresPeers.PrepareAsync(connection, "SELECT pg_try_advisory_lock_shared($1)", bigint, cancellationToken),
            await PostgresPeers.PrepareAsync(connection, "SELECT pg_advisory_unlock($1)", bigint, cancellationToken),
            await PostgresPeers.PrepareAsync(connection, "SELECT pg_advisory_unlock_shared($1)", bigint, cancellationToken));
    }

    private sealed class Client(NpgsqlConnection connection, NpgsqlCommand tryExclusive, NpgsqlCommand tryShared, NpgsqlCommand unlockExclusive, NpgsqlCommand unlockShared)
        : ILockClient
    {
        public async Task<LockHandle?> AcquireAsync(string name, Mode mode, bool wait, CancellationToken cancellationToken)
        {
            var command = mode == Mode.Exclusive ? tryExclusive : tryShared;
            command.Parameters[0].Value = PostgresPeers.KeyOf(name);
            while (true)
            {
                if (await command.ExecuteScalarAsync(cancellationToken) is true)
                {
                    return new LockHandle(name, mode, "");
                }

                if (!wait)
                {
                    return null;
                }

                await Backoff.DelayAsync(cancellationToken);
            }
        }

        public async Task ReleaseAsync(LockHandle handle, CancellationToken cancellationToken)
        {
            var command = handle.Mode == Mode.Exclusive ? unlockExclusive : unlockShared;
            command.Parameters[0].Value = PostgresPeers.KeyOf(handle.Name);
            if (await command.ExecuteScalarAsync(cancellationToken) is not true)
            {
                throw new BenchProtocolException($"pg_advisory_unlock({handle.Name}) found no lock");
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var command in new[] { tryExclusive, tryShared, unlockExclusive, unlockShared })
            {
                await command.DisposeAsync();
            }

            await connection.DisposeAsync();
        }
    }
}

/*
 * The do-it-yourself lease table a team writes when all it has is a database: a row per lock with its owner and
 * deadline. Each statement commits on its own (autocommit), durably (synchronous_commit=on).
 *   acquire: INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE bench_lease.deadline < now() RETURNING owner
 *            (a row comes back only when the lock was free or its lease had run out)
 *   release: DELETE FROM bench_lease WHERE name = $1 AND owner = $2
 * No queue, no fencing token (the row is deleted on release). A busy lock is retried after the short back-off.
 */
internal sealed class PgLeaseTableSystem(NpgsqlDataSource dataSource, long ttlMs) : ILockSystem
{
    private const string AcquireSql = """
        INSERT INTO bench_lease (name, owner, deadline) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
        ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, deadline = EXCLUDED.deadline
        WHERE bench_lease.deadline < now()
        RETURNING owner
        """;

    private const string ReleaseSql = "DELETE FROM bench_lease WHERE name = $1 AND owner = $2";

    public string Id => "pg-lease-table";

    public string Description => "PostgreSQL lease table: INSERT … ON CONFLICT DO UPDATE … WHERE deadline < now() RETURNING; release DELETE … WHERE owner; prepared, one connection per client";

    public string Durability => "durable: each statement a commit with synchronous_commit=on, fsync=on";

    public bool Durable => true;

    public bool SupportsShared => false;

    public string WaitStrategy => "the upsert retried after a 1 ms back-off";

    public async Task<ILockClient> ConnectAsync(int client, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return new Client(
            connection,
            await PostgresPeers.PrepareAsync(connection, AcquireSql, [NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Bigint], cancellationToken),
            await PostgresPeers.PrepareAsync(connection, ReleaseSql, [NpgsqlDbType.Text, NpgsqlDbType.Text], cancellationToken),
            ttlMs);
    }

    private sealed class Client(NpgsqlConnection connection, NpgsqlCommand acquire, NpgsqlCommand release, long ttlMs) : ILockClient
    {
        public async Task<LockHandle?> AcquireAsync(string name, Mode mode, bool wait, CancellationToken cancellationToken)
        {
            if (mode != Mode.Exclusive)
            {
                throw new NotSupportedException("The lease table has no shared locks.");
            }

            var owner = Guid.NewGuid().ToString("N");
            acquire.Parameters[0].Value = name;
            acquire.Parameters[1].Value = owner;
            acquire.Parameters[2].Value = ttlMs;
            while (true)
            {
                if (await acquire.ExecuteScalarAsync(cancellationToken) is string)
                {
                    return new LockHandle(name, mode, owner);
                }

                if (!wait)
                {
                    return null;
                }

                await Backoff.DelayAsync(cancellationToken);
            }
        }

        public async Task ReleaseAsync(LockHandle handle, CancellationToken cancellationToken)
        {
            release.Parameters[0].Value = handle.Name;
            release.Parameters[1].Value = handle.Proof;
            if (await release.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                throw new BenchProtocolException($"lease table: release of {handle.Name} found no row (lease lost)");
            }
        }

        public async ValueTask DisposeAsync()
        {
            await acquire.DisposeAsync();
            await release.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
