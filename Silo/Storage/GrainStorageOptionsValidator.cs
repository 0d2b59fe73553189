using Microsoft.Extensions.Options;
using Npgsql;

namespace OrleansLocks.Silo.Storage;

/// <summary>Validates <see cref="GrainStorageOptions"/> at start-up; every failure names the setting to fix.</summary>
internal sealed class GrainStorageOptionsValidator : IValidateOptions<GrainStorageOptions>
{
    public const int MaxBatchSizeLimit = 10_000;
    public const int MaxConcurrentBatchesLimit = 64;

    public ValidateOptionsResult Validate(string? name, GrainStorageOptions options)
    {
        List<string> failures = [];
        if (!Enum.IsDefined(options.Provider))
        {
            failures.Add($"Storage:Provider must be Sqlite, Postgres or Memory (it is {(int)options.Provider}).");
        }

        if (options.MaxBatchSize is < 1 or > MaxBatchSizeLimit)
        {
            failures.Add($"Storage:MaxBatchSize must be between 1 and {MaxBatchSizeLimit} (it is {options.MaxBatchSize}).");
        }

        if (options.MaxConcurrentBatches is < 1 or > MaxConcurrentBatchesLimit)
        {
            failures.Add($"Storage:MaxConcurrentBatches must be between 1 and {MaxConcurrentBatchesLimit} (it is {options.MaxConcurrentBatches}).");
        }

        switch (options.Provider)
        {
            case GrainStorageProvider.Sqlite when string.IsNullOrWhiteSpace(options.SqlitePath):
                failures.Add("Storage:SqlitePath is required when Storage:Provider is Sqlite.");
                break;
            case GrainStorageProvider.Sqlite when options.SqlitePath.IndexOfAny(Path.GetInvalidPathChars()) >= 0:
                failures.Add("Storage:SqlitePath contains characters that are not allowed in a path.");
                break;
            case GrainStorageProvider.Postgres:
                ValidatePostgres(options, failures);
                break;
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidatePostgres(GrainStorageOptions options, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(options.PostgresConnectionString))
        {
            failures.Add("Storage:PostgresConnectionString (or ConnectionStrings:Postgres) is required when Storage:Provider is Postgres.");
            return;
        }

        NpgsqlConnectionStringBuilder settings;
        try
        {
            settings = new NpgsqlConnectionStringBuilder(options.PostgresConnectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            // The parser's message names the keyword, never the values (which may hold a password).
            failures.Add($"Storage:PostgresConnectionString (or ConnectionStrings:Postgres) is not a valid Npgsql connection string: {e.Message}");
            return;
        }

        if (string.IsNullOrWhiteSpace(settings.Host))
        {
            failures.Add("Storage:PostgresConnectionString (or ConnectionStrings:Postgres) must name a Host.");
        }

        if (settings.Pooling && settings.MaxPoolSize <= options.MaxConcurrentBatches)
        {
            failures.Add(
                $"Storage:MaxConcurrentBatches ({options.MaxConcurrentBatches}) must be less than the connection string's Maximum Pool Size " +
                $"({settings.MaxPoolSize}), so that reads still get connections while batches commit.");
        }
    }
}
