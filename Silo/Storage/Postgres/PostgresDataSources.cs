using System.Collections.Concurrent;
using Npgsql;

namespace OrleansLocks.Silo.Storage.Postgres;

/// <summary>
/// The process's PostgreSQL data sources (connection pools), one per distinct connection string, so that grain
/// storage and the membership table share one pool when they use the same database (Npgsql's "one data source per
/// process"). Built with the house settings: statements auto-prepared, no session reset on close, an application name
/// for pg_stat_activity.
/// Disposing it disposes every data source it built.
/// </summary>
internal sealed class PostgresDataSources : IAsyncDisposable, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<NpgsqlDataSource>> _dataSources = new(StringComparer.Ordinal);

    /// <summary>The data source of <paramref name="connectionString"/>, built on first use.</summary>
    public NpgsqlDataSource Get(string connectionString)
        => _dataSources.GetOrAdd(connectionString, static cs => new Lazy<NpgsqlDataSource>(() => Create(cs))).Value;

    /// <summary>A new data source with the house settings; the caller owns it.</summary>
    public static NpgsqlDataSource Create(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var settings = builder.ConnectionStringBuilder;
        if (settings.MaxAutoPrepare == 0)
        {
            settings.MaxAutoPrepare = 32;
        }

        settings.ApplicationName ??= "OrleansLocks";

        // Nobody using these data sources sets session state (no SET, temp tables, LISTEN or session advisory locks;
        // the schema scripts' advisory lock is transaction-level), so the reset on every return to the pool would
        // only cost server time and drop prepared statements.
        settings.NoResetOnClose = true;
        return builder.Build();
    }

    /// <summary>Host, port and database of a data source (no credentials), for logs and messages.</summary>
    public static string Describe(NpgsqlDataSource dataSource)
    {
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        return $"{settings.Host}:{settings.Port}/{settings.Database}";
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, dataSource) in _dataSources)
        {
            if (dataSource.IsValueCreated)
            {
                await dataSource.Value.DisposeAsync();
            }
        }

        _dataSources.Clear();
    }

    public void Dispose()
    {
        foreach (var (_, dataSource) in _dataSources)
        {
            if (dataSource.IsValueCreated)
            {
                dataSource.Value.Dispose();
            }
        }

        _dataSources.Clear();
    }
}
