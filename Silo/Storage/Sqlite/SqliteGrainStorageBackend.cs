using System.Globalization;
using Microsoft.Data.Sqlite;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Storage.Sqlite;

/*
 * SQLite grain storage: the embedded, durable default for a single silo.
 *
 * Durability: WAL journaling with synchronous=FULL, so a transaction is on disk (the WAL is fsynced) when COMMIT
 * returns; a crash loses nothing that was acknowledged.
 *
 * Concurrency: SQLite allows one writer at a time per file, so there is one writer connection, used by one batch at
 * a time (MaxConcurrentBatches = 1); group commit is what makes that writer fast (one fsync per batch). Each batch is
 * BEGIN IMMEDIATE (take the write lock up front, never upgrade a read lock mid-way) ... COMMIT. Reads and listings
 * use pooled read connections: in WAL mode readers see the last committed state and never block the writer.
 *
 * Versions: INSERT ... ON CONFLICT DO NOTHING RETURNING version / UPDATE ... WHERE version = @expected RETURNING
 * version, as on PostgreSQL. A second process on the same file is serialized by SQLite's file locks (busy_timeout
 * makes it wait instead of failing) and its writes are version-checked like ours; only one silo should use a file.
 *
 * Failures: a SqliteException inside a batch rolls it back (nothing written); one during COMMIT leaves the outcome
 * unknown. Both are StorageUnavailableException, and the writer connection is reopened for the next batch, so a
 * connection left in a bad state (e.g. after an I/O error) does not poison later batches.
 */

/// <summary>Grain storage in a local SQLite file.</summary>
internal sealed class SqliteGrainStorageBackend : IGrainStorageBackend
{
    /// <summary>The schema version this code creates and understands.</summary>
    public const int SchemaVersion = 1;

    private const string ReadSql =
        "SELECT version, payload FROM orleanslocks_storage WHERE service_id = $service AND grain_type = $type AND state_name = $state AND grain_key = $key";

    private const string InsertSql =
        "INSERT INTO orleanslocks_storage (service_id, grain_type, state_name, grain_key, version, payload, listed, modified_on) " +
        "VALUES ($service, $type, $state, $key, 1, $payload, $listed, $now) " +
        "ON CONFLICT (service_id, grain_type, state_name, grain_key) DO NOTHING RETURNING version";

    private const string UpdateSql =
        "UPDATE orleanslocks_storage SET version = version + 1, payload = $payload, listed = $listed, modified_on = $now " +
        "WHERE service_id = $service AND grain_type = $type AND state_name = $state AND grain_key = $key AND version = $expected RETURNING version";

    private const string SchemaVersionSql = "SELECT version FROM orleanslocks_schema_version WHERE component = 'storage'";

    private const string SchemaExistsSql = "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'orleanslocks_schema_version'";

    private static readonly string[] ListSql =
    [
        ListQuery(">=", upper: false), ListQuery(">=", upper: true), ListQuery(">", upper: false), ListQuery(">", upper: true),
    ];

    private readonly string _serviceId;
    private readonly TimeProvider _timeProvider;
    private readonly string _writeConnectionString;
    private readonly string _readConnectionString;
    private readonly Lock _writerGate = new();
    private Writer? _writer;
    private bool _disposed;

    public SqliteGrainStorageBackend(string path, string serviceId, TimeProvider timeProvider)
    {
        SqliteNative.EnsureInitialized();
        Location = Path.GetFullPath(path);
        _serviceId = serviceId;
        _timeProvider = timeProvider;

        // The writer is not pooled: disposing it must really close the file. Readers are pooled: opening one is cheap.
        _writeConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Location,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
        _readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Location,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Name => "sqlite";

    public bool IsDurable => true;

    int IGrainStorageBackend.SchemaVersion => SchemaVersion;

    public string Location { get; }

    public int MaxConcurrentBatches => 1;

    public Task<int> InitializeAsync(bool createSchema, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var directory = Path.GetDirectoryName(Location);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Cannot create the directory of Storage:SqlitePath '{Location}': {e.Message}", e);
        }

        lock (_writerGate)
        {
            try
            {
                var writer = GetWriter();
                if (createSchema)
                {
                    using var script = writer.Connection.CreateCommand();
                    script.CommandText = SchemaScripts.Load("SQLite-Storage.sql");
                    script.ExecuteNonQuery();
                }

                using var query = writer.Connection.CreateCommand();
                query.CommandText = SchemaExistsSql;
                if (query.ExecuteScalar() is 1L)
                {
                    query.CommandText = SchemaVersionSql;
                    if (query.ExecuteScalar() is long version)
                    {
                        return Task.FromResult((int)version);
                    }
                }

                throw new InvalidOperationException(
                    $"The grain storage schema is missing in {Location}; run Silo/Storage/Sqlite/SQLite-Storage.sql or set Storage:InitializeSchema=true.");
            }
            catch (SqliteException e)
            {
                ResetWriter();
                var what = createSchema ? "create its schema" : "find its schema";
                throw IsTransient(e)
                    ? ToUnavailable(e, what)
                    : new InvalidOperationException($"SQLite grain storage {Location} failed to {what}: {Describe(e)}", e);
            }
        }
    }

    public async Task<StoredRow?> ReadAsync(StorageKey key, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new SqliteConnection(_readConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = ReadSql;
            AddKey(command.Parameters, key);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new StoredRow(reader.GetInt32(0), reader.GetFieldValue<byte[]>(1))
                : null;
        }
        catch (SqliteException e)
        {
            throw ToUnavailable(e, $"read {key}");
        }
    }

    public async Task<IReadOnlyList<ListedRow>> ListAsync(
        string grainType, string stateName, string? prefix, string? afterKey, int limit, CancellationToken cancellationToken)
    {
        var exclusive = afterKey is not null && (prefix is null || KeyOrder.Compare(afterKey, prefix) >= 0);
        var lower = exclusive ? afterKey! : prefix ?? string.Empty;
        var upper = prefix is null ? null : KeyOrder.PrefixSuccessor(prefix);
        try
        {
            await using var connection = new SqliteConnection(_readConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = ListSql[(exclusive ? 2 : 0) + (upper is null ? 0 : 1)];
            command.Parameters.Add("$service", SqliteType.Text).Value = _serviceId;
            command.Parameters.Add("$type", SqliteType.Text).Value = grainType;
            command.Parameters.Add("$state", SqliteType.Text).Value = stateName;
            command.Parameters.Add("$lower", SqliteType.Text).Value = lower;
            command.Parameters.Add("$limit", SqliteType.Integer).Value = limit;
            if (upper is not null)
            {
                command.Parameters.Add("$upper", SqliteType.Text).Value = upper;
            }

            var rows = new List<ListedRow>(Math.Min(limit, 256));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new ListedRow(reader.GetString(0), reader.GetInt32(1), reader.GetFieldValue<byte[]>(2)));
            }

            return rows;
        }
        catch (SqliteException e)
        {
            throw ToUnavailable(e, $"list {grainType} ({stateName})");
        }
    }

    public Task<int[]> ExecuteBatchAsync(IReadOnlyList<StorageWrite> writes, CancellationToken cancellationToken)
    {
        // Microsoft.Data.Sqlite is synchronous underneath; the batcher already runs us on the thread pool.
        lock (_writerGate)
        {
            if (_disposed)
            {
                throw new StorageUnavailableException("SQLite grain storage is stopping; the batch was not attempted.");
            }

            var versions = new int[writes.Count];
            var committing = false;
            try
            {
                var writer = GetWriter();
                using var transaction = writer.Connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE
                var now = _timeProvider.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
                for (var i = 0; i < writes.Count; i++)
                {
                    var write = writes[i];
                    var command = write.ExpectedVersion is null ? writer.Insert : writer.Update;
                    command.Transaction = transaction;
                    var p = command.Parameters;
                    p["$service"].Value = _serviceId;
                    p["$type"].Value = write.Key.GrainType;
                    p["$state"].Value = write.Key.StateName;
                    p["$key"].Value = write.Key.GrainKey;
                    p["$payload"].Value = write.Payload;
                    p["$listed"].Value = write.Listed ? 1 : 0;
                    p["$now"].Value = now;
                    if (write.ExpectedVersion is { } expected)
                    {
                        p["$expected"].Value = expected;
                    }

                    versions[i] = command.ExecuteScalar() is long version ? (int)version : 0;
                }

                committing = true;
                transaction.Commit();
                return Task.FromResult(versions);
            }
            catch (SqliteException e)
            {
                ResetWriter();
                throw ToUnavailable(
                    e,
                    committing
                        ? $"commit a batch of {writes.Count} writes; their outcome is unknown"
                        : $"write a batch of {writes.Count} writes; nothing was written");
            }
        }
    }

    public async Task CheckHealthAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new SqliteConnection(_readConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = SchemaVersionSql;
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (SqliteException e)
        {
            throw ToUnavailable(e, "answer a health check");
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        lock (_writerGate)
        {
            _disposed = true;

            // Close the pooled readers first, so that closing the writer (the last connection) checkpoints the WAL.
            using (var reader = new SqliteConnection(_readConnectionString))
            {
                SqliteConnection.ClearPool(reader);
            }

            ResetWriter();
        }
    }

    private static string ListQuery(string lowerOperator, bool upper)
        => "SELECT grain_key, version, payload FROM orleanslocks_storage " +
           $"WHERE service_id = $service AND grain_type = $type AND state_name = $state AND listed = 1 AND grain_key {lowerOperator} $lower " +
           (upper ? "AND grain_key < $upper " : string.Empty) +
           "ORDER BY grain_key LIMIT $limit";

    // SQLITE_BUSY/LOCKED: another connection holds the file for longer than busy_timeout. IOERR/FULL: the disk.
    private static bool IsTransient(SqliteException e)
        => (e.SqliteErrorCode & 0xFF) is SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED
            or SQLitePCL.raw.SQLITE_IOERR or SQLitePCL.raw.SQLITE_FULL;

    private static string Describe(SqliteException e) => (e.SqliteErrorCode & 0xFF) switch
    {
        SQLitePCL.raw.SQLITE_CANTOPEN => "the file cannot be opened (check Storage:SqlitePath and its permissions)",
        SQLitePCL.raw.SQLITE_READONLY => "the file is read-only",
        SQLitePCL.raw.SQLITE_NOTADB or SQLitePCL.raw.SQLITE_CORRUPT => "the file is not a valid SQLite database",
        SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED => "the file is locked by another connection (is a second silo using it?)",
        _ => $"SQLite error {e.SqliteErrorCode}: {e.Message}",
    };

    private StorageUnavailableException ToUnavailable(SqliteException e, string what)
        => new($"SQLite grain storage {Location} failed to {what}: {Describe(e)}", e);

    private void AddKey(SqliteParameterCollection parameters, StorageKey key)
    {
        parameters.Add("$service", SqliteType.Text).Value = _serviceId;
        parameters.Add("$type", SqliteType.Text).Value = key.GrainType;
        parameters.Add("$state", SqliteType.Text).Value = key.StateName;
        parameters.Add("$key", SqliteType.Text).Value = key.GrainKey;
    }

    // Called under _writerGate.
    private Writer GetWriter()
    {
        if (_writer is not null)
        {
            return _writer;
        }

        var connection = new SqliteConnection(_writeConnectionString);
        try
        {
            connection.Open();
            using (var pragmas = connection.CreateCommand())
            {
                // busy_timeout first: switching to WAL needs an exclusive lock another starting process may hold.
                pragmas.CommandText = "PRAGMA busy_timeout = 30000;";
                pragmas.ExecuteNonQuery();
                pragmas.CommandText = "PRAGMA journal_mode = WAL;";
                var mode = pragmas.ExecuteScalar() as string;
                if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException($"SQLite file {Location} could not be switched to WAL journaling (it is in '{mode}' mode).");
                }

                pragmas.CommandText = "PRAGMA synchronous = FULL;";
                pragmas.ExecuteNonQuery();
            }

            _writer = new Writer(connection);
            return _writer;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    // Called under _writerGate. Closing the connection rolls back whatever transaction it had open.
    private void ResetWriter()
    {
        _writer?.Dispose();
        _writer = null;
    }

    // The writer connection with its two statements, prepared once and reused by every batch.
    private sealed class Writer : IDisposable
    {
        public Writer(SqliteConnection connection)
        {
            Connection = connection;
            Insert = Prepare(connection, InsertSql, withExpected: false);
            Update = Prepare(connection, UpdateSql, withExpected: true);
        }

        public SqliteConnection Connection { get; }

        public SqliteCommand Insert { get; }

        public SqliteCommand Update { get; }

        public void Dispose()
        {
            Insert.Dispose();
            Update.Dispose();
            Connection.Dispose();
        }

        private static SqliteCommand Prepare(SqliteConnection connection, string sql, bool withExpected)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.Add("$service", SqliteType.Text);
            command.Parameters.Add("$type", SqliteType.Text);
            command.Parameters.Add("$state", SqliteType.Text);
            command.Parameters.Add("$key", SqliteType.Text);
            command.Parameters.Add("$payload", SqliteType.Blob);
            command.Parameters.Add("$listed", SqliteType.Integer);
            command.Parameters.Add("$now", SqliteType.Text);
            if (withExpected)
            {
                command.Parameters.Add("$expected", SqliteType.Integer);
            }

            return command;
        }
    }
}

/// <summary>Loads the bundled native SQLite library once per process, before any connection is opened.</summary>
internal static class SqliteNative
{
    static SqliteNative() => SQLitePCL.Batteries_V2.Init();

    /// <summary>Runs the static constructor (once, thread-safely) if it has not run yet.</summary>
    public static void EnsureInitialized()
    {
    }
}
