using Npgsql;

namespace OrleansLocks.Benchmarks.Harness;

/*
 * How many WAL flushes (fdatasync) PostgreSQL did while a cell was measured, from pg_stat_wal.wal_sync, sampled
 * when the window opens and when it closes. Divided by the operations of the window it says how well commits are
 * grouped: 2 per pair means every write paid its own flush, well under 1 means many writes shared one.
 * Backends report their counters at most once a second, so each sample lags by up to a second; in a steady cell
 * the lag is the same at both ends and the rate comes out right, but read the figure as an approximation.
 */
internal sealed class PostgresActivity(string adminConnectionString)
{
    public async Task<long?> WalSyncsAsync()
    {
        try
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await using var connection = new NpgsqlConnection(adminConnectionString);
            await connection.OpenAsync(cancel.Token);
            await using var command = new NpgsqlCommand("SELECT wal_sync FROM pg_stat_wal", connection);
            return await command.ExecuteScalarAsync(cancel.Token) is long syncs ? syncs : null;
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Samples at the start and the end of a cell's window while <paramref name="cell"/> runs.</summary>
    public async Task<(T Result, long? Syncs)> MeasureAsync<T>(TimeSpan warmup, TimeSpan window, Func<Task<T>> cell)
    {
        var sampler = Task.Run(async () =>
        {
            await Task.Delay(warmup);
            var first = await WalSyncsAsync();
            await Task.Delay(window);
            var last = await WalSyncsAsync();
            return first is null || last is null ? (long?)null : last - first;
        });
        var result = await cell();
        return (result, await sampler);
    }
}
