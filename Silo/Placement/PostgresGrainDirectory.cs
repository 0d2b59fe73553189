using Npgsql;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Silo.Storage.Postgres;

namespace OrleansLocks.Silo.Placement;

/*
 * Design note — the grain directory on PostgreSQL (Orleans' ADO.NET grain directory, our own SQL)
 *
 * Table orleanslocks_grain_directory (PostgreSQL-Directory.sql): one row per grain of a cluster, keyed
 * (service_id, cluster_id, grain_type, grain_key), naming the silo incarnation and the activation id.
 *
 * Register (first writer wins), many grains per statement:
 *   INSERT ... SELECT FROM unnest(arrays) ON CONFLICT (key) DO UPDATE SET activation_id = d.activation_id
 *   RETURNING the row
 * The DO UPDATE changes nothing; it is there so that RETURNING yields the existing row when there is one. Under
 * READ COMMITTED, of two concurrent inserts of one key the second waits for the first to commit and then takes the
 * conflict branch against the committed row, so exactly one wins, across processes, and every caller learns which.
 * (ON CONFLICT DO NOTHING would return nothing for the loser, whose snapshot may not see the winner's row yet.)
 * Replacing a stale entry is a separate, single-row UPDATE ... WHERE activation_id = <the stale one>; if it touches
 * nothing (someone removed or replaced the entry meanwhile), the caller's register goes the normal way.
 *
 * Unregister is DELETE ... WHERE key AND activation_id = mine (many per statement, USING unnest): an activation
 * never removes another's entry. UnregisterSilos deletes a dead silo's rows in chunks of 5000 taken FOR UPDATE SKIP
 * LOCKED, so every survivor can run it at once (they share the work instead of queueing on each other's row locks),
 * and no chunk holds row locks long enough to stall the registrations that re-activate the dead silo's grains.
 *
 * Group commit: registers and unregisters go through DirectoryBatcher (one statement and one commit per batch).
 * Both lock their rows in key order (the INSERT's SELECT is sorted; the DELETE locks its rows in a sorted
 * SELECT ... FOR UPDATE first), so batches of different silos never wait for each other in a cycle: a deadlock
 * would cost deadlock_timeout (1 s) before PostgreSQL broke it. One that happens anyway is retried.
 *
 * Failures: a database error or a broken connection becomes StorageUnavailableException. The activation that
 * needed the directory fails (the caller gets 503 and retries); nothing is activated without a registration.
 */

/// <summary>The grain directory of one cluster on PostgreSQL.</summary>
internal sealed class PostgresGrainDirectory : IGrainDirectory
{
    /// <summary>The schema version this code creates and understands.</summary>
    public const int SchemaVersion = 1;

    /// <summary>Most directory operations per statement.</summary>
    public const int MaxBatchSize = 512;

    private const int MaxConcurrentBatches = 2;
    private const int CleanupChunk = 5000;
    private const int MaxBatchAttempts = 3;

    private const string SchemaVersionSql = "SELECT version FROM orleanslocks_schema_version WHERE component = 'directory'";

    private const string Columns = "grain_type, grain_key, address, port, generation, activation_id";

    private const string RegisterSql =
        "INSERT INTO orleanslocks_grain_directory AS d (service_id, cluster_id, grain_type, grain_key, address, port, generation, activation_id) " +
        "SELECT $1, $2, u.t, u.k, u.a, u.p, u.g, u.id FROM unnest($3::text[], $4::text[], $5::text[], $6::int4[], $7::int4[], $8::uuid[]) AS u(t, k, a, p, g, id) " +
        "ORDER BY u.t COLLATE \"C\", u.k COLLATE \"C\" " +
        "ON CONFLICT (service_id, cluster_id, grain_type, grain_key) DO UPDATE SET activation_id = d.activation_id " +
        "RETURNING d.grain_type, d.grain_key, d.address, d.port, d.generation, d.activation_id";

    private const string ReplaceSql =
        "UPDATE orleanslocks_grain_directory SET address = $5, port = $6, generation = $7, activation_id = $8, created_on = now() " +
        "WHERE service_id = $1 AND cluster_id = $2 AND grain_type = $3 AND grain_key = $4 AND activation_id = $9 " +
        "RETURNING " + Columns;

    // The rows are locked first, in key order (the CTE's LockRows runs above its sort), as registers lock them: a
    // DELETE's own lock order is the plan's, and a DELETE and an INSERT of another silo that lock two rows in opposite
    // orders deadlock, which PostgreSQL only detects after deadlock_timeout (1 s by default).
    private const string UnregisterSql =
        "WITH u AS (SELECT * FROM unnest($3::text[], $4::text[], $5::uuid[]) AS u(t, k, id)), " +
        "l AS (SELECT x.grain_type, x.grain_key FROM orleanslocks_grain_directory x JOIN u ON x.grain_type = u.t AND x.grain_key = u.k AND x.activation_id = u.id " +
        "WHERE x.service_id = $1 AND x.cluster_id = $2 ORDER BY x.grain_type, x.grain_key FOR UPDATE OF x) " +
        "DELETE FROM orleanslocks_grain_directory d USING l, u " +
        "WHERE d.service_id = $1 AND d.cluster_id = $2 AND d.grain_type = l.grain_type AND d.grain_key = l.grain_key " +
        "AND u.t = d.grain_type AND u.k = d.grain_key AND d.activation_id = u.id " +
        "RETURNING d.grain_type, d.grain_key";

    private const string LookupSql =
        "SELECT " + Columns + " FROM orleanslocks_grain_directory WHERE service_id = $1 AND cluster_id = $2 AND grain_type = $3 AND grain_key = $4";

    private static readonly string UnregisterSilosSql =
        "DELETE FROM orleanslocks_grain_directory WHERE ctid IN (" +
        "SELECT d.ctid FROM orleanslocks_grain_directory d JOIN unnest($3::text[], $4::int4[], $5::int4[]) AS s(a, p, g) " +
        "ON d.address = s.a AND d.port = s.p AND d.generation = s.g " +
        "WHERE d.service_id = $1 AND d.cluster_id = $2 LIMIT " + CleanupChunk.ToString(System.Globalization.CultureInfo.InvariantCulture) + " FOR UPDATE OF d SKIP LOCKED)";

    private const string CountSql = "SELECT count(*) FROM orleanslocks_grain_directory WHERE service_id = $1 AND cluster_id = $2";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _serviceId;
    private readonly string _clusterId;
    private readonly DirectoryBatcher<GrainAddress, GrainAddress> _registers;
    private readonly DirectoryBatcher<GrainAddress, bool> _unregisters;
    private long _deadlocks;

    public PostgresGrainDirectory(NpgsqlDataSource dataSource, string serviceId, string clusterId)
    {
        _dataSource = dataSource;
        _serviceId = serviceId;
        _clusterId = clusterId;
        Location = PostgresDataSources.Describe(dataSource);
        _registers = new(RegisterBatchAsync, a => a.GrainId, MaxBatchSize, MaxConcurrentBatches);
        _unregisters = new(UnregisterBatchAsync, a => a.GrainId, MaxBatchSize, MaxConcurrentBatches);
    }

    /// <summary>Host, port and database (no credentials), for logs.</summary>
    public string Location { get; }

    /// <summary>Batches PostgreSQL aborted as deadlock victims (or serialization failures) and this directory retried.</summary>
    public long DeadlocksRetried => Interlocked.Read(ref _deadlocks);

    public async Task InitializeAsync(bool createSchema, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            if (createSchema)
            {
                await using var script = new NpgsqlCommand(SchemaScripts.Load("PostgreSQL-Directory.sql"), connection);
                await script.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var query = new NpgsqlCommand(SchemaVersionSql, connection);
            if (await query.ExecuteScalarAsync(cancellationToken) is not int)
            {
                throw MissingSchema();
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            throw MissingSchema(e);
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            var what = createSchema ? "create its schema" : "find its schema";
            throw PostgresErrors.IsTransient(e)
                ? Unavailable(e, what)
                : new InvalidOperationException($"The PostgreSQL grain directory at {Location} failed to {what}: {PostgresErrors.Describe(e)}", e);
        }
    }

    public async Task<GrainAddress> RegisterAsync(GrainAddress address, GrainAddress? previous, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (previous is not null && await ReplaceAsync(address, previous, cancellationToken) is { } replaced)
        {
            return replaced;
        }

        return await _registers.EnqueueAsync(address).WaitAsync(cancellationToken);
    }

    public Task<bool> UnregisterAsync(GrainAddress address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        return _unregisters.EnqueueAsync(address).WaitAsync(cancellationToken);
    }

    public async Task<GrainAddress?> LookupAsync(GrainId grainId, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = _dataSource.CreateCommand(LookupSql);
            AddCluster(command.Parameters);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainId.Type });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainId.Key });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadAddress(reader) : null;
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            throw Unavailable(e, "look up " + grainId);
        }
    }

    public async Task<int> UnregisterSilosAsync(IReadOnlyCollection<SiloAddress> silos, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(silos);
        if (silos.Count == 0)
        {
            return 0;
        }

        try
        {
            var total = 0;
            while (true)
            {
                await using var command = _dataSource.CreateCommand(UnregisterSilosSql);
                AddCluster(command.Parameters);
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. silos.Select(s => s.Host)] });
                command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. silos.Select(s => s.Port)] });
                command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. silos.Select(s => s.Generation)] });
                var removed = await command.ExecuteNonQueryAsync(cancellationToken);
                total += removed;
                if (removed < CleanupChunk)
                {
                    return total;
                }
            }
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            throw Unavailable(e, "remove the entries of dead silos " + string.Join(", ", silos));
        }
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = _dataSource.CreateCommand(CountSql);
            AddCluster(command.Parameters);
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            throw Unavailable(e, "count its entries");
        }
    }

    private async Task<GrainAddress?> ReplaceAsync(GrainAddress address, GrainAddress previous, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = _dataSource.CreateCommand(ReplaceSql);
            AddCluster(command.Parameters);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = address.GrainId.Type });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = address.GrainId.Key });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = address.Silo.Host });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = address.Silo.Port });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = address.Silo.Generation });
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = address.ActivationId });
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = previous.ActivationId });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadAddress(reader) : null;
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            throw Unavailable(e, "replace the stale entry " + previous);
        }
    }

    private async Task<IReadOnlyList<GrainAddress>> RegisterBatchAsync(IReadOnlyList<GrainAddress> batch)
    {
        var sorted = batch.OrderBy(a => a.GrainId.Type, StringComparer.Ordinal).ThenBy(a => a.GrainId.Key, StringComparer.Ordinal).ToList();
        var rows = await ExecuteBatchAsync(RegisterSql, "register " + batch.Count + " grain(s)", command =>
        {
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. sorted.Select(a => a.GrainId.Type)] });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. sorted.Select(a => a.GrainId.Key)] });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. sorted.Select(a => a.Silo.Host)] });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. sorted.Select(a => a.Silo.Port)] });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. sorted.Select(a => a.Silo.Generation)] });
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. sorted.Select(a => a.ActivationId)] });
        }, ReadAddress);

        var byGrain = rows.ToDictionary(a => a.GrainId);
        return [.. batch.Select(a => byGrain.TryGetValue(a.GrainId, out var holder)
            ? holder
            : throw new StorageUnavailableException($"The PostgreSQL grain directory at {Location} returned no entry for {a.GrainId}."))];
    }

    private async Task<IReadOnlyList<bool>> UnregisterBatchAsync(IReadOnlyList<GrainAddress> batch)
    {
        var sorted = batch.OrderBy(a => a.GrainId.Type, StringComparer.Ordinal).ThenBy(a => a.GrainId.Key, StringComparer.Ordinal).ToList();
        var removed = await ExecuteBatchAsync(UnregisterSql, "unregister " + batch.Count + " grain(s)", command =>
        {
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. sorted.Select(a => a.GrainId.Type)] });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. sorted.Select(a => a.GrainId.Key)] });
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. sorted.Select(a => a.ActivationId)] });
        }, reader => new GrainId(reader.GetString(0), reader.GetString(1)));

        var gone = removed.ToHashSet();
        return [.. batch.Select(a => gone.Contains(a.GrainId))];
    }

    private async Task<List<T>> ExecuteBatchAsync<T>(string sql, string what, Action<NpgsqlCommand> addArrays, Func<NpgsqlDataReader, T> read)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var command = _dataSource.CreateCommand(sql);
                AddCluster(command.Parameters);
                addArrays(command);
                await using var reader = await command.ExecuteReaderAsync();
                var rows = new List<T>();
                while (await reader.ReadAsync())
                {
                    rows.Add(read(reader));
                }

                return rows;
            }
            catch (PostgresException e) when (attempt < MaxBatchAttempts
                && e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                // The statement was rolled back as a whole: nothing happened, so running it again is safe.
                Interlocked.Increment(ref _deadlocks);
            }
            catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
            {
                ClearPoolIfBroken(e);
                throw Unavailable(e, what);
            }
        }
    }

    private static GrainAddress ReadAddress(NpgsqlDataReader reader)
        => new(
            new GrainId(reader.GetString(0), reader.GetString(1)),
            new SiloAddress(reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4)),
            reader.GetGuid(5));

    private void AddCluster(NpgsqlParameterCollection parameters)
    {
        parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = _clusterId });
    }

    private InvalidOperationException MissingSchema(Exception? inner = null)
        => new(
            $"The grain directory schema is missing at {Location} (no 'directory' row in orleanslocks_schema_version); " +
            "run Silo/Membership/PostgreSQL-Directory.sql or set Storage:InitializeSchema=true.",
            inner);

    private StorageUnavailableException Unavailable(Exception exception, string what)
        => new($"The PostgreSQL grain directory at {Location} failed to {what}: {PostgresErrors.Describe(exception)}", exception);

    private void ClearPoolIfBroken(Exception exception) => PostgresErrors.ClearPoolIfBroken(_dataSource, exception);
}
