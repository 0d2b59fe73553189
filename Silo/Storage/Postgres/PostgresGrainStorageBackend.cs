using System.Collections.Concurrent;
using System.Data;
using Npgsql;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Storage.Postgres;

/*
 * PostgreSQL grain storage.
 *
 * One NpgsqlDataSource (one connection pool) per database and process (PostgresDataSources), shared with the cluster
 * membership table when both use the same connection string. Statements use positional
 * parameters and are auto-prepared (Max Auto Prepare is turned on unless the connection string sets it), so the hot
 * statements are parsed and planned once per connection.
 *
 * Write batches do not borrow from the pool per batch. Npgsql's pool hands idle connections out in turn, so after a
 * burst of reads had grown it (64 new grains reading at once: 64 connections), batches rotated over all of them, each
 * checkout paying the pool's session reset (RESET ALL, DISCARD TEMP, ...: 0.15-0.18 ms of server time, more than the
 * write) and each connection preparing the statements anew. Instead each batch slot keeps one connection open for
 * the life of the provider (at most MaxConcurrentBatches: the batcher never runs more batches at once), so the hot
 * INSERT/UPDATE stay prepared and no reset is sent. A slot also keeps its NpgsqlBatch and the write commands with their
 * typed parameters, refilled for each batch (BatchSlot below), so a write allocates no command or parameter objects. A slot's connection that failed is disposed, never reused; the
 * next batch opens a fresh one. The storage sets no session state, so No Reset On Close is also safe for the pooled
 * connections of reads and listings (it only skips the reset, which here has nothing to reset); the membership table,
 * which may share the data source, sets none either.
 *
 * Writes arrive in batches of distinct records (GrainWriteBatcher). A batch is one NpgsqlBatch without an explicit
 * transaction: its statements and a single Sync go out together, PostgreSQL runs them as one implicit transaction
 * and commits at the Sync. One round trip and one commit (one WAL flush) for all writes. Each write is a statement
 * that cannot fail on a version mismatch, so a conflict never aborts the transaction:
 *   insert (no ETag):  INSERT ... ON CONFLICT DO NOTHING RETURNING version    -> no row: a record already exists
 *   update (ETag = v): UPDATE ... SET version = version + 1 ... WHERE ... AND version = v RETURNING version
 *                                                                             -> no row: the version moved on
 * Under READ COMMITTED an UPDATE that waits for a concurrent writer of the same row re-checks its WHERE clause
 * against the committed row, so of two writers expecting the same version exactly one succeeds, across processes.
 *
 * Failures: an error the server reports aborts the implicit transaction (nothing written); a broken connection or a
 * timeout leaves the outcome unknown (the commit may have happened). Both become StorageUnavailableException for
 * every write of the batch; the runtime drops the activations, which re-read the truth. A broken connection also
 * clears the pool's idle connections, which are likely dead as well (e.g. after a server restart), so the next
 * operation connects afresh.
 */

/// <summary>Grain storage on PostgreSQL (Npgsql).</summary>
internal sealed class PostgresGrainStorageBackend : IGrainStorageBackend
{
    /// <summary>The schema version this code creates and understands.</summary>
    public const int SchemaVersion = 1;

    private const string ReadSql =
        "SELECT version, payload FROM orleanslocks_storage WHERE service_id = $1 AND grain_type = $2 AND state_name = $3 AND grain_key = $4";

    private const string InsertSql =
        "INSERT INTO orleanslocks_storage (service_id, grain_type, state_name, grain_key, version, payload, listed, modified_on) " +
        "VALUES ($1, $2, $3, $4, 1, $5, $6, $7) " +
        "ON CONFLICT (service_id, grain_type, state_name, grain_key) DO NOTHING RETURNING version";

    private const string UpdateSql =
        "UPDATE orleanslocks_storage SET version = version + 1, payload = $5, listed = $6, modified_on = $7 " +
        "WHERE service_id = $1 AND grain_type = $2 AND state_name = $3 AND grain_key = $4 AND version = $8 RETURNING version";

    private const string SchemaVersionSql = "SELECT version FROM orleanslocks_schema_version WHERE component = 'storage'";

    // Listing: [lower bound] (inclusive for a prefix, exclusive for a cursor) and an optional upper bound (the prefix's
    // successor); range predicates on the "C"-collated key let the partial index serve the scan.
    private static readonly string[] ListSql =
    [
        ListQuery(">=", upper: false), ListQuery(">=", upper: true), ListQuery(">", upper: false), ListQuery(">", upper: true),
    ];

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;

    // Idle batch slots: an open connection each, with its batch and commands (see the design note); at most
    // MaxConcurrentBatches exist at once.
    private readonly ConcurrentStack<BatchSlot> _batchSlots = new();
    private readonly string _serviceId;
    private readonly TimeProvider _timeProvider;

    public PostgresGrainStorageBackend(string connectionString, string serviceId, int maxConcurrentBatches, TimeProvider timeProvider)
        : this(PostgresDataSources.Create(connectionString), ownsDataSource: true, serviceId, maxConcurrentBatches, timeProvider)
    {
    }

    /// <summary>A backend on a data source shared with others (<see cref="PostgresDataSources"/>) unless it owns it.</summary>
    public PostgresGrainStorageBackend(
        NpgsqlDataSource dataSource, bool ownsDataSource, string serviceId, int maxConcurrentBatches, TimeProvider timeProvider)
    {
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        Location = PostgresDataSources.Describe(dataSource);
        _serviceId = serviceId;
        _timeProvider = timeProvider;
        MaxConcurrentBatches = maxConcurrentBatches;
    }

    public string Name => "postgres";

    public bool IsDurable => true;

    int IGrainStorageBackend.SchemaVersion => SchemaVersion;

    public int MaxConcurrentBatches { get; }

    /// <summary>A batch is asynchronous socket I/O, and its awaits never resume on the caller's scheduler.</summary>
    public bool StartsBatchesInline => true;

    /// <summary>Host, port and database (no credentials), for logs.</summary>
    public string Location { get; }

    public async Task<int> InitializeAsync(bool createSchema, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            if (createSchema)
            {
                await using var script = new NpgsqlCommand(SchemaScripts.Load("PostgreSQL-Storage.sql"), connection);
                await script.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var query = new NpgsqlCommand(SchemaVersionSql, connection);
            return await query.ExecuteScalarAsync(cancellationToken) is int version
                ? version
                : throw new InvalidOperationException(
                    "The grain storage schema is missing (no 'storage' row in orleanslocks_schema_version); run Silo/Storage/Postgres/PostgreSQL-Storage.sql or set Storage:InitializeSchema=true.");
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            var what = createSchema ? "create its schema" : "find its schema";
            throw PostgresErrors.IsTransient(e)
                ? PostgresErrors.ToUnavailable(e, what)
                : new InvalidOperationException($"PostgreSQL grain storage at {Location} failed to {what}: {PostgresErrors.Describe(e)}", e);
        }
    }

    public async Task<StoredRow?> ReadAsync(StorageKey key, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = _dataSource.CreateCommand(ReadSql);
            AddKey(command.Parameters, key);
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow, cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new StoredRow(reader.GetInt32(0), reader.GetFieldValue<byte[]>(1))
                : null;
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            throw PostgresErrors.ToUnavailable(e, $"read {key}");
        }
    }

    public async Task<IReadOnlyList<ListedRow>> ListAsync(
        string grainType, string stateName, string? prefix, string? afterKey, int limit, CancellationToken cancellationToken)
    {
        // The lower bound is the cursor (exclusive) unless the prefix starts later (inclusive).
        var exclusive = afterKey is not null && (prefix is null || KeyOrder.Compare(afterKey, prefix) >= 0);
        var lower = exclusive ? afterKey! : prefix ?? string.Empty;
        var upper = prefix is null ? null : KeyOrder.PrefixSuccessor(prefix);
        try
        {
            await using var command = _dataSource.CreateCommand(ListSql[(exclusive ? 2 : 0) + (upper is null ? 0 : 1)]);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainType });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stateName });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = lower });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            if (upper is not null)
            {
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = upper });
            }

            var rows = new List<ListedRow>(Math.Min(limit, 256));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new ListedRow(reader.GetString(0), reader.GetInt32(1), reader.GetFieldValue<byte[]>(2)));
            }

            return rows;
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            throw PostgresErrors.ToUnavailable(e, $"list {grainType} ({stateName})");
        }
    }

    public async Task<int[]> ExecuteBatchAsync(IReadOnlyList<StorageWrite> writes, CancellationToken cancellationToken)
    {
        BatchSlot? slot = null;
        try
        {
            if (!_batchSlots.TryPop(out slot))
            {
                slot = new BatchSlot(await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false));
            }

            var versions = await ExecuteBatchAsync(slot, writes, cancellationToken).ConfigureAwait(false);
            _batchSlots.Push(slot);
            slot = null; // kept open for the next batch
            return versions;
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);

            // An error the server reported (that is not a connection failure) aborted the implicit transaction; a
            // broken connection or a timeout may have struck before or after the commit.
            var known = e is PostgresException && !PostgresErrors.IsConnectionBroken(e);
            throw PostgresErrors.ToUnavailable(
                e,
                known
                    ? $"write a batch of {writes.Count} writes; nothing was written"
                    : $"write a batch of {writes.Count} writes; their outcome is unknown");
        }
        finally
        {
            // A slot not handed back (its batch failed) may be in any state: dispose it, never reuse it.
            if (slot is not null)
            {
                await slot.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public async Task CheckHealthAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            throw PostgresErrors.ToUnavailable(e, "answer a health check");
        }
    }

    public async ValueTask DisposeAsync()
    {
        while (_batchSlots.TryPop(out var slot))
        {
            await slot.DisposeAsync();
        }

        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync();
        }
    }

    public void Dispose()
    {
        while (_batchSlots.TryPop(out var slot))
        {
            slot.Dispose();
        }

        if (_ownsDataSource)
        {
            _dataSource.Dispose();
        }
    }

    private async Task<int[]> ExecuteBatchAsync(BatchSlot slot, IReadOnlyList<StorageWrite> writes, CancellationToken cancellationToken)
    {
        // No explicit transaction: the statements of one batch go out in one message sequence ending in a single
        // Sync, which PostgreSQL runs as one implicit transaction and commits at the Sync. One round trip in all.
        var versions = new int[writes.Count];
        // Every await below uses ConfigureAwait(false): the batch may have started on a grain's turn (StartsBatchesInline)
        // and must not resume on that grain's scheduler.
        var batch = slot.Prepare(writes, _serviceId, _timeProvider.GetUtcNow());
        try
        {
            var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            for (var i = 0; i < versions.Length; i++)
            {
                if (i > 0 && !await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw new InvalidOperationException($"The batch returned {i} results for {versions.Length} statements.");
                }

                versions[i] = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? reader.GetInt32(0) : 0;
            }

            // Read through to ReadyForQuery: only then is the commit known to have succeeded.
            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
            {
            }
        }
        finally
        {
            slot.Release(); // the slot keeps no payload alive until its next batch
        }

        return versions;
    }

    private static string ListQuery(string lowerOperator, bool upper)
        => "SELECT grain_key, version, payload FROM orleanslocks_storage " +
           $"WHERE service_id = $1 AND grain_type = $2 AND state_name = $3 AND listed AND grain_key {lowerOperator} $4 " +
           (upper ? "AND grain_key < $6 " : string.Empty) +
           "ORDER BY grain_key LIMIT $5";

    /*
     * A batch slot: one open connection and the NpgsqlBatch it runs, with the insert and update commands (and their
     * typed parameters) made once and refilled for every batch. Writes are ~all the service does, and building a
     * batch anew cost a command and eight parameter objects per write. The statements are the same text on the same
     * connection, so they stay auto-prepared. A slot is used by one batch at a time (popped from the stack, pushed
     * back after); one that failed is disposed with its connection.
     */
    private sealed class BatchSlot(NpgsqlConnection connection) : IAsyncDisposable, IDisposable
    {
        private readonly NpgsqlBatch _batch = new(connection);
        private readonly List<WriteCommand> _inserts = [];
        private readonly List<WriteCommand> _updates = [];

        public NpgsqlBatch Prepare(IReadOnlyList<StorageWrite> writes, string serviceId, DateTimeOffset now)
        {
            _batch.BatchCommands.Clear();
            int inserts = 0, updates = 0;
            foreach (var write in writes)
            {
                var command = write.ExpectedVersion is null
                    ? Take(_inserts, ref inserts, update: false)
                    : Take(_updates, ref updates, update: true);
                command.Fill(serviceId, write, now);
                _batch.BatchCommands.Add(command.Command);
            }

            return _batch;
        }

        /// <summary>Drops the batch's payloads (the commands stay for the next batch).</summary>
        public void Release()
        {
            foreach (var command in _inserts)
            {
                command.Payload.TypedValue = null;
            }

            foreach (var command in _updates)
            {
                command.Payload.TypedValue = null;
            }
        }

        public ValueTask DisposeAsync()
        {
            _batch.Dispose();
            return connection.DisposeAsync();
        }

        public void Dispose()
        {
            _batch.Dispose();
            connection.Dispose();
        }

        private static WriteCommand Take(List<WriteCommand> commands, ref int used, bool update)
        {
            if (used == commands.Count)
            {
                commands.Add(new WriteCommand(update));
            }

            return commands[used++];
        }
    }

    /// <summary>One reusable INSERT or UPDATE of the batch, with its parameters in statement order.</summary>
    private sealed class WriteCommand
    {
        private readonly NpgsqlParameter<string> _serviceId = new();
        private readonly NpgsqlParameter<string> _grainType = new();
        private readonly NpgsqlParameter<string> _stateName = new();
        private readonly NpgsqlParameter<string> _grainKey = new();
        private readonly NpgsqlParameter<bool> _listed = new();
        private readonly NpgsqlParameter<DateTimeOffset> _modifiedOn = new();
        private readonly NpgsqlParameter<int>? _expected;

        public WriteCommand(bool update)
        {
            Command = new NpgsqlBatchCommand(update ? UpdateSql : InsertSql);
            var parameters = Command.Parameters;
            parameters.Add(_serviceId);
            parameters.Add(_grainType);
            parameters.Add(_stateName);
            parameters.Add(_grainKey);
            parameters.Add(Payload);
            parameters.Add(_listed);
            parameters.Add(_modifiedOn);
            if (update)
            {
                _expected = new NpgsqlParameter<int>();
                parameters.Add(_expected);
            }
        }

        public NpgsqlBatchCommand Command { get; }

        public NpgsqlParameter<byte[]> Payload { get; } = new();

        public void Fill(string serviceId, StorageWrite write, DateTimeOffset now)
        {
            _serviceId.TypedValue = serviceId;
            _grainType.TypedValue = write.Key.GrainType;
            _stateName.TypedValue = write.Key.StateName;
            _grainKey.TypedValue = write.Key.GrainKey;
            Payload.TypedValue = write.Payload;
            _listed.TypedValue = write.Listed;
            _modifiedOn.TypedValue = now;
            if (_expected is not null)
            {
                _expected.TypedValue = write.ExpectedVersion!.Value;
            }
        }
    }

    private void AddKey(NpgsqlParameterCollection parameters, StorageKey key)
    {
        parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = key.GrainType });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = key.StateName });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = key.GrainKey });
    }

    private void ClearPoolIfBroken(Exception exception)
    {
        if (PostgresErrors.ClearPoolIfBroken(_dataSource, exception))
        {
            // The kept batch connections are as likely dead as the pool's idle ones (e.g. after a server restart).
            while (_batchSlots.TryPop(out var slot))
            {
                slot.Dispose();
            }
        }
    }
}
