namespace OrleansLocks.Silo.Storage;

/// <summary>Which grain storage provider the silo uses.</summary>
public enum GrainStorageProvider
{
    /// <summary>Embedded, durable, needs no server (SQLite, WAL, synchronous=FULL). The default; one silo only.</summary>
    Sqlite = 0,

    /// <summary>PostgreSQL through Npgsql; required for clusters.</summary>
    Postgres = 1,

    /// <summary>Volatile, in process. For tests only: nothing survives a restart.</summary>
    Memory = 2,
}

/// <summary>Grain storage settings (configuration section <c>Storage</c>).</summary>
public sealed class GrainStorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>The provider. Default <see cref="GrainStorageProvider.Sqlite"/>.</summary>
    public GrainStorageProvider Provider { get; set; } = GrainStorageProvider.Sqlite;

    /// <summary>SQLite database file. Default <c>data/orleanslocks.db</c> under the content root.</summary>
    public string SqlitePath { get; set; } = "data/orleanslocks.db";

    /// <summary>Npgsql connection string; also read from <c>ConnectionStrings:Postgres</c>.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>Most writes committed together in one transaction (group commit). Default 256.</summary>
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>PostgreSQL: how many batches may commit at once, each on its own connection. Default 4.</summary>
    public int MaxConcurrentBatches { get; set; } = 4;

    /// <summary>Create or migrate the schema at start-up (idempotent, safe with many silos at once). Default true.</summary>
    public bool InitializeSchema { get; set; } = true;
}
