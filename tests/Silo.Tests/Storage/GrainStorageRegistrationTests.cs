using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Testing;

namespace OrleansLocks.Silo.Tests.Storage;

/// <summary><see cref="SiloServiceCollectionExtensions.AddGrainStorage"/> in a real host.</summary>
public sealed class GrainStorageRegistrationTests : IDisposable
{
    private readonly string _contentRoot = Path.Combine(Path.GetTempPath(), "orleanslocks-host-" + Guid.NewGuid().ToString("N"));
    private readonly CapturingLoggerProvider _logs = new();

    public GrainStorageRegistrationTests() => Directory.CreateDirectory(_contentRoot);

    public void Dispose() => Directory.Delete(_contentRoot, recursive: true);

    [Fact]
    public async Task AddGrainStorage_Memory_ServesStorageIndexAndHealthAndWarnsItIsNotDurable()
    {
        using var host = Build(new() { ["Storage:Provider"] = "Memory" });

        await host.StartAsync();
        var storage = host.Services.GetRequiredService<IGrainStorage>();
        var state = new GrainState<TestState>(new TestState { Value = "v", IsListed = true });
        await storage.WriteStateAsync("state", new GrainId("lock", "k"), state);
        var listed = await host.Services.GetRequiredService<IGrainStorageIndex>().ListAsync<TestState>("state", "lock", null, null, 10);
        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("ready"));
        await host.StopAsync();

        Assert.Equal("k", Assert.Single(listed).Key);
        Assert.Equal(HealthStatus.Healthy, health.Entries["storage"].Status);
        Assert.Contains(_logs.Entries, e => e.EventId == 2003 && e.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task AddGrainStorage_SqliteRelativePath_CreatesFileUnderContentRoot()
    {
        using var host = Build(new() { ["Storage:Provider"] = "Sqlite", ["Storage:SqlitePath"] = "data/locks.db" });

        await host.StartAsync();
        await host.Services.GetRequiredService<IGrainStorage>()
            .WriteStateAsync("state", new GrainId("lock", "k"), new GrainState<TestState>(new TestState()));
        await host.StopAsync();

        Assert.True(File.Exists(Path.Combine(_contentRoot, "data", "locks.db")));
        Assert.Contains(_logs.Entries, e => e.EventId == 2000 && e.Message.Contains(Path.Combine(_contentRoot, "data", "locks.db"), StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddGrainStorage_PostgresFromConnectionStringsSection_CreatesSchemaAndIsHealthy()
    {
        var server = await PostgresServer.GetAsync();
        var connectionString = await server.CreateDatabaseAsync("hosting");
        using var host = Build(new() { ["Storage:Provider"] = "Postgres", ["ConnectionStrings:Postgres"] = connectionString, ["Silo:ServiceId"] = "hosted" });

        await host.StartAsync();
        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        var storage = host.Services.GetRequiredService<IGrainStorage>();
        var state = new GrainState<TestState>(new TestState { Value = "v" });
        await storage.WriteStateAsync("state", new GrainId("lock", "k"), state);
        await host.StopAsync();

        Assert.Equal(HealthStatus.Healthy, health.Entries["storage"].Status);
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT service_id FROM orleanslocks_storage", connection);
        Assert.Equal("hosted", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task AddGrainStorage_PostgresWithoutConnectionString_FailsStartNamingTheSetting()
    {
        using var host = Build(new() { ["Storage:Provider"] = "Postgres" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Storage:PostgresConnectionString (or ConnectionStrings:Postgres) is required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddGrainStorage_HostedServiceRegisteredEarlier_StartsOnlyAfterSchemaIsReady()
    {
        var probe = new ReadinessProbe();
        using var host = Build(
            new() { ["Storage:Provider"] = "Memory" },
            services => services.AddSingleton<IHostedService>(sp => probe.Watching(sp.GetRequiredService<GrainStorageInitializer>())));

        await host.StartAsync();
        await host.StopAsync();

        Assert.True(probe.StorageWasReady);
    }

    [Fact]
    public async Task HealthCheck_BeforeStart_ReportsNotInitialized()
    {
        using var host = Build(new() { ["Storage:Provider"] = "Memory" });

        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.Equal(HealthStatus.Unhealthy, health.Entries["storage"].Status);
        Assert.Contains("not initialized", health.Entries["storage"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public void AddGrainStorage_CalledTwice_RegistersOnce()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:Provider"] = "Memory" }).Build();
        var services = new ServiceCollection().AddLogging();

        services.AddGrainStorage(configuration).AddGrainStorage(configuration);

        using var provider = services.BuildServiceProvider();
        Assert.Single(provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations, r => r.Name == "storage");
        Assert.Single(provider.GetServices<IHostedService>().OfType<GrainStorageInitializer>());
    }

    private IHost Build(Dictionary<string, string?> settings, Action<IServiceCollection>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = _contentRoot });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.AddProvider(_logs);
        configure?.Invoke(builder.Services);
        builder.Services.AddGrainStorage(builder.Configuration);
        return builder.Build();
    }

    // Registered before storage, like a silo runtime whose StartAsync makes the silo active.
    private sealed class ReadinessProbe : IHostedService
    {
        private GrainStorageInitializer? _initializer;

        public bool StorageWasReady { get; private set; }

        public ReadinessProbe Watching(GrainStorageInitializer initializer)
        {
            _initializer = initializer;
            return this;
        }

        public Task StartAsync(CancellationToken cancellationToken)
        {
            StorageWasReady = _initializer!.IsReady;
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<LogEntry> _entries = new();

        public IReadOnlyCollection<LogEntry> Entries => _entries;

        public ILogger CreateLogger(string categoryName) => new Logger(_entries);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<LogEntry> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => entries.Enqueue(new LogEntry(logLevel, eventId.Id, formatter(state, exception), exception));
        }
    }
}
