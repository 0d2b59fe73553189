using System.Data;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Silo.Storage.Postgres;

namespace OrleansLocks.Silo.Membership;

/*
 * Design note — the membership table on PostgreSQL (Orleans' ADO.NET clustering, our own SQL)
 *
 * Tables: orleanslocks_membership_version (one row per cluster: the table version) and orleanslocks_membership (one
 * row per silo incarnation), created by PostgreSQL-Membership.sql. A row insert or update is one explicit transaction:
 *   UPDATE version SET version = v+1 WHERE cluster AND version = v      -- the compare-and-swap
 *   INSERT row ... ON CONFLICT DO NOTHING  /  UPDATE row WHERE key       -- the row change
 * and it commits only if both touched a row; otherwise it rolls back and answers false. Under READ COMMITTED the
 * second of two concurrent CAS updates waits for the first, re-checks its WHERE against the committed version and
 * touches nothing, so exactly one writer of a given version wins, across processes.
 *
 * ReadAll is one statement (the version row LEFT JOIN the silo rows), so the rows and the version come from one
 * snapshot. IAmAlive and cleanup are single unconditional statements that leave the version alone.
 *
 * Failures: a database error or a broken connection becomes StorageUnavailableException. A failure during COMMIT
 * leaves the outcome unknown; callers re-read the table before deciding again, so an unknown outcome is harmless.
 */

/// <summary>The membership table of one cluster on PostgreSQL.</summary>
internal sealed class PostgresMembershipTable(NpgsqlDataSource dataSource, string serviceId, string clusterId) : IMembershipTable
{
    /// <summary>The schema version this code creates and understands.</summary>
    public const int SchemaVersion = 1;

    private const string SchemaVersionSql = "SELECT version FROM orleanslocks_schema_version WHERE component = 'membership'";

    private const string InsertVersionRowSql =
        "INSERT INTO orleanslocks_membership_version (service_id, cluster_id) VALUES ($1, $2) ON CONFLICT (service_id, cluster_id) DO NOTHING";

    private const string ReadAllSql =
        "SELECT v.version, m.address, m.port, m.generation, m.silo_name, m.host_name, m.status, m.suspect_times::text, m.start_time, m.i_am_alive_time " +
        "FROM orleanslocks_membership_version v " +
        "LEFT JOIN orleanslocks_membership m ON m.service_id = v.service_id AND m.cluster_id = v.cluster_id " +
        "WHERE v.service_id = $1 AND v.cluster_id = $2";

    private const string CasVersionSql =
        "UPDATE orleanslocks_membership_version SET version = $3, modified_on = now() " +
        "WHERE service_id = $1 AND cluster_id = $2 AND version = $3 - 1";

    private const string InsertRowSql =
        "INSERT INTO orleanslocks_membership " +
        "(service_id, cluster_id, address, port, generation, silo_name, host_name, status, suspect_times, start_time, i_am_alive_time) " +
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) " +
        "ON CONFLICT (service_id, cluster_id, address, port, generation) DO NOTHING";

    private const string UpdateRowSql =
        "UPDATE orleanslocks_membership SET silo_name = $6, host_name = $7, status = $8, suspect_times = $9, start_time = $10, i_am_alive_time = $11 " +
        "WHERE service_id = $1 AND cluster_id = $2 AND address = $3 AND port = $4 AND generation = $5";

    private const string UpdateIAmAliveSql =
        "UPDATE orleanslocks_membership SET i_am_alive_time = $6 " +
        "WHERE service_id = $1 AND cluster_id = $2 AND address = $3 AND port = $4 AND generation = $5";

    private const string CleanupSql =
        "DELETE FROM orleanslocks_membership WHERE service_id = $1 AND cluster_id = $2 AND i_am_alive_time < $3 AND status <> 3";

    /// <summary>Host, port and database (no credentials), for logs.</summary>
    public string Location { get; } = PostgresDataSources.Describe(dataSource);

    public async Task InitializeAsync(bool createSchema, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            if (createSchema)
            {
                await using var script = new NpgsqlCommand(SchemaScripts.Load("PostgreSQL-Membership.sql"), connection);
                await script.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var query = new NpgsqlCommand(SchemaVersionSql, connection))
            {
                if (await query.ExecuteScalarAsync(cancellationToken) is not int)
                {
                    throw MissingSchema();
                }
            }

            await using var insert = new NpgsqlCommand(InsertVersionRowSql, connection);
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = clusterId });
            await insert.ExecuteNonQueryAsync(cancellationToken);
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
                : new InvalidOperationException($"The PostgreSQL membership table at {Location} failed to {what}: {PostgresErrors.Describe(e)}", e);
        }
    }

    public async Task<MembershipTableData> ReadAllAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = dataSource.CreateCommand(ReadAllSql);
            AddCluster(command.Parameters);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            int? version = null;
            var members = new List<MembershipEntry>();
            while (await reader.ReadAsync(cancellationToken))
            {
                version = reader.GetInt32(0);
                if (reader.IsDBNull(1))
                {
                    continue; // the version row of a cluster without silos
                }

                members.Add(new MembershipEntry
                {
                    SiloAddress = new SiloAddress(reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3)),
                    SiloName = reader.GetString(4),
                    HostName = reader.GetString(5),
                    Status = (SiloStatus)reader.GetInt32(6),
                    SuspectTimes = SuspectTimesJson.Parse(reader.GetString(7)),
                    StartTime = reader.GetFieldValue<DateTimeOffset>(8),
                    IAmAliveTime = reader.GetFieldValue<DateTimeOffset>(9),
                });
            }

            // No version row: the table of this cluster was never initialized; nothing can be written to it yet.
            return version is { } v ? new MembershipTableData(members, new TableVersion(v)) : MembershipTableData.Empty;
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            throw Unavailable(e, "read the table");
        }
    }

    public Task<bool> InsertRowAsync(MembershipEntry entry, TableVersion tableVersion, CancellationToken cancellationToken)
        => WriteRowAsync(InsertRowSql, entry, tableVersion, "insert the row of " + entry.SiloAddress, cancellationToken);

    public Task<bool> UpdateRowAsync(MembershipEntry entry, TableVersion tableVersion, CancellationToken cancellationToken)
        => WriteRowAsync(UpdateRowSql, entry, tableVersion, "update the row of " + entry.SiloAddress, cancellationToken);

    public async Task UpdateIAmAliveAsync(SiloAddress silo, DateTimeOffset iAmAliveTime, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = dataSource.CreateCommand(UpdateIAmAliveSql);
            AddKey(command.Parameters, silo);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = iAmAliveTime });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            throw Unavailable(e, "update the IAmAlive time of " + silo);
        }
    }

    public async Task<int> CleanupDefunctSiloEntriesAsync(DateTimeOffset beforeDate, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = dataSource.CreateCommand(CleanupSql);
            AddCluster(command.Parameters);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = beforeDate });
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            throw Unavailable(e, "clean up defunct silo entries");
        }
    }

    private async Task<bool> WriteRowAsync(string rowSql, MembershipEntry entry, TableVersion tableVersion, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);

            await using (var cas = new NpgsqlCommand(CasVersionSql, connection, transaction))
            {
                AddCluster(cas.Parameters);
                cas.Parameters.Add(new NpgsqlParameter<int> { TypedValue = tableVersion.Version });
                if (await cas.ExecuteNonQueryAsync(cancellationToken) != 1)
                {
                    await transaction.RollbackAsync(cancellationToken);
                    return false;
                }
            }

            await using (var row = new NpgsqlCommand(rowSql, connection, transaction))
            {
                AddKey(row.Parameters, entry.SiloAddress);
                row.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.SiloName });
                row.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.HostName });
                row.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)entry.Status });
                row.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SuspectTimesJson.Format(entry.SuspectTimes), NpgsqlDbType = NpgsqlDbType.Jsonb });
                row.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = entry.StartTime });
                row.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = entry.IAmAliveTime });
                if (await row.ExecuteNonQueryAsync(cancellationToken) != 1)
                {
                    // Insert: the row exists. Update: it does not. Either way the version must not move.
                    await transaction.RollbackAsync(cancellationToken);
                    return false;
                }
            }

            await transaction.CommitAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (PostgresErrors.IsStorageFailure(e))
        {
            ClearPoolIfBroken(e);
            throw Unavailable(e, what);
        }
    }

    private void AddCluster(NpgsqlParameterCollection parameters)
    {
        parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = clusterId });
    }

    private void AddKey(NpgsqlParameterCollection parameters, SiloAddress silo)
    {
        AddCluster(parameters);
        parameters.Add(new NpgsqlParameter<string> { TypedValue = silo.Host });
        parameters.Add(new NpgsqlParameter<int> { TypedValue = silo.Port });
        parameters.Add(new NpgsqlParameter<int> { TypedValue = silo.Generation });
    }

    private InvalidOperationException MissingSchema(Exception? inner = null)
        => new(
            $"The membership schema is missing at {Location} (no 'membership' row in orleanslocks_schema_version); " +
            "run Silo/Membership/PostgreSQL-Membership.sql or set Storage:InitializeSchema=true.",
            inner);

    private StorageUnavailableException Unavailable(Exception exception, string what)
        => new($"The PostgreSQL membership table at {Location} failed to {what}: {PostgresErrors.Describe(exception)}", exception);

    private void ClearPoolIfBroken(Exception exception) => PostgresErrors.ClearPoolIfBroken(dataSource, exception);

    /// <summary>The suspect_times column: a JSON array of {"voter": "host:port@generation", "time": ISO-8601}.</summary>
    internal static class SuspectTimesJson
    {
        public static string Format(IReadOnlyList<SuspectTime> votes)
            => JsonSerializer.Serialize(votes.Select(v => new Vote(v.Voter.ToString(), v.Time)));

        public static IReadOnlyList<SuspectTime> Parse(string json)
        {
            var votes = JsonSerializer.Deserialize<Vote[]>(json) ?? [];
            var result = new List<SuspectTime>(votes.Length);
            foreach (var vote in votes)
            {
                // A vote that does not parse (a hand edit) is ignored rather than breaking every silo's view.
                if (SiloAddress.TryParse(vote.Voter, out var voter))
                {
                    result.Add(new SuspectTime(voter, vote.Time));
                }
            }

            return result;
        }

        private sealed record Vote(
            [property: System.Text.Json.Serialization.JsonPropertyName("voter")] string Voter,
            [property: System.Text.Json.Serialization.JsonPropertyName("time")] DateTimeOffset Time);
    }
}
