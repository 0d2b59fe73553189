using OrleansLocks.Silo.Storage;

namespace OrleansLocks.Silo.Tests.Storage;

public sealed class GrainStorageOptionsValidatorTests
{
    private readonly GrainStorageOptionsValidator _validator = new();

    [Fact]
    public void Validate_Defaults_Succeeds() => Assert.True(_validator.Validate(null, new GrainStorageOptions()).Succeeded);

    [Fact]
    public void Validate_PostgresWithValidConnectionString_Succeeds()
        => Assert.True(_validator.Validate(null, Postgres("Host=db;Database=locks;Username=u;Password=p")).Succeeded);

    [Theory]
    [InlineData(0, 4, "Storage:MaxBatchSize must be between 1 and 10000")]
    [InlineData(10_001, 4, "Storage:MaxBatchSize must be between 1 and 10000")]
    [InlineData(256, 0, "Storage:MaxConcurrentBatches must be between 1 and 64")]
    [InlineData(256, 65, "Storage:MaxConcurrentBatches must be between 1 and 64")]
    public void Validate_LimitsOutOfRange_FailsNamingTheSetting(int maxBatchSize, int maxConcurrentBatches, string expected)
    {
        var result = _validator.Validate(null, new GrainStorageOptions { MaxBatchSize = maxBatchSize, MaxConcurrentBatches = maxConcurrentBatches });

        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "Storage:PostgresConnectionString (or ConnectionStrings:Postgres) is required when Storage:Provider is Postgres")]
    [InlineData("  ", "Storage:PostgresConnectionString (or ConnectionStrings:Postgres) is required when Storage:Provider is Postgres")]
    [InlineData("Hots=db", "is not a valid Npgsql connection string")]
    [InlineData("Database=locks", "must name a Host")]
    [InlineData("Host=db;Maximum Pool Size=4", "Storage:MaxConcurrentBatches (4) must be less than the connection string's Maximum Pool Size (4)")]
    public void Validate_BadPostgresSettings_FailsNamingTheSetting(string? connectionString, string expected)
    {
        var result = _validator.Validate(null, Postgres(connectionString));

        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_InvalidConnectionString_DoesNotEchoThePassword()
    {
        var result = _validator.Validate(null, Postgres("Host=db;Password=hunter2;Port=notaport"));

        Assert.False(result.Succeeded);
        Assert.DoesNotContain("hunter2", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SqliteWithoutPath_FailsNamingTheSetting()
    {
        var result = _validator.Validate(null, new GrainStorageOptions { SqlitePath = "" });

        Assert.Contains("Storage:SqlitePath is required when Storage:Provider is Sqlite", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UndefinedProvider_FailsNamingTheSetting()
    {
        var result = _validator.Validate(null, new GrainStorageOptions { Provider = (GrainStorageProvider)7 });

        Assert.Contains("Storage:Provider must be Sqlite, Postgres or Memory", result.FailureMessage, StringComparison.Ordinal);
    }

    private static GrainStorageOptions Postgres(string? connectionString)
        => new() { Provider = GrainStorageProvider.Postgres, PostgresConnectionString = connectionString };
}
