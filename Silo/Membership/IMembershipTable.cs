using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Membership;

/*
 * Design note — the membership table (Orleans' IMembershipTable, ADO.NET flavour)
 *
 * One table per cluster (service id + cluster id): one row per silo incarnation and one version row. Every row
 * insert or update names the table version it produces (read.Version.Next()); it succeeds only if the stored version
 * is exactly one less, and bumps it in the same transaction. So the version is the only concurrency token: two silos
 * that decide on the same snapshot (two joins, two votes against one suspect) cannot both win, and the loser re-reads
 * and re-decides. Heartbeats (UpdateIAmAlive) are unconditional and do not move the version: they change no
 * decision anyone makes from the table, and a busy cluster would otherwise fail every other write.
 *
 * Implementations throw StorageUnavailableException when the table cannot be reached (callers retry later; nobody is
 * declared dead while the table is down: completeness is lost, accuracy kept) and return false, never throw, when a
 * version check fails.
 */

/// <summary>The membership table of one cluster.</summary>
internal interface IMembershipTable
{
    /// <summary>
    /// Makes the table usable: creates the schema when <paramref name="createSchema"/> (idempotent, safe from many
    /// silos at once) and this cluster's version row (version 0) if missing. Throws
    /// <see cref="StorageUnavailableException"/> when retrying may help, <see cref="InvalidOperationException"/> when not.
    /// </summary>
    Task InitializeAsync(bool createSchema, CancellationToken cancellationToken);

    /// <summary>Every row and the table version, read as one consistent snapshot.</summary>
    Task<MembershipTableData> ReadAllAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Inserts a row for a new silo incarnation if the stored table version is <paramref name="tableVersion"/> − 1
    /// (and moves it to <paramref name="tableVersion"/>); false, with nothing changed, if the version moved on or the
    /// row already exists.
    /// </summary>
    Task<bool> InsertRowAsync(MembershipEntry entry, TableVersion tableVersion, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the row of <c>entry.SiloAddress</c> if the stored table version is <paramref name="tableVersion"/> − 1
    /// (and moves it to <paramref name="tableVersion"/>); false, with nothing changed, if the version moved on or the
    /// row does not exist.
    /// </summary>
    Task<bool> UpdateRowAsync(MembershipEntry entry, TableVersion tableVersion, CancellationToken cancellationToken);

    /// <summary>Sets the row's IAmAliveTime, unconditionally and without moving the table version.</summary>
    Task UpdateIAmAliveAsync(SiloAddress silo, DateTimeOffset iAmAliveTime, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the rows of silos that are not Active and whose IAmAliveTime is before <paramref name="beforeDate"/>
    /// (dead incarnations, joins that never finished); returns how many. Does not move the table version.
    /// </summary>
    Task<int> CleanupDefunctSiloEntriesAsync(DateTimeOffset beforeDate, CancellationToken cancellationToken);
}
