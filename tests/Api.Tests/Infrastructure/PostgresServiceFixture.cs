using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests.Infrastructure;

/// <summary>One fresh PostgreSQL database and one running service per test class.</summary>
public class PostgresServiceFixture : IAsyncLifetime
{
    private LockServiceFactory? _factory;

    public LockServiceFactory Factory => _factory ?? throw new InvalidOperationException("The fixture is not initialized.");

    public string ConnectionString { get; private set; } = "";

    /// <summary>Extra configuration for the service of this fixture.</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        var server = await PostgresServer.GetAsync();
        ConnectionString = await server.CreateDatabaseAsync("api");
        _factory = new LockServiceFactory(ConnectionString, Settings);

        // Start the host now, so the first test does not pay for (or time out on) schema creation.
        _ = _factory.Server;
    }

    public LockClient CreateClient() => new(Factory.CreateClient());

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }
}
