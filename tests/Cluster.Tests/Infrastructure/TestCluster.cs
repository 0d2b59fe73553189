using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OrleansLocks.Grains;
using OrleansLocks.Runtime;
using OrleansLocks.Silo;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Runtime;
using OrleansLocks.Silo.Storage.Memory;
using OrleansLocks.Testing;

namespace OrleansLocks.Cluster.Tests.Infrastructure;

/// <summary>Where an in-process test cluster keeps its membership table and grain storage.</summary>
public enum ClusterBackend
{
    /// <summary>One real PostgreSQL database for both, as in production.</summary>
    Postgres,

    /// <summary>An in-memory membership table and in-memory grain storage, shared by every silo (Orleans' InProcessTestCluster).</summary>
    InMemory,
}

/*
 * An in-process test cluster in the spirit of Orleans' InProcessTestCluster: every silo is its own host (its own
 * services, catalog, membership view, transport listener on a loopback port) in this one process, and they share
 * one membership table and one grain storage. Silos can be added, stopped gracefully, or killed: a kill stops the
 * host with an already-cancelled token, so the silo writes nothing and aborts its listener at once (it stops
 * answering probes), and the others must detect it. Real clocks and real sockets throughout; tests wait with
 * Eventually, never with bare sleeps.
 */

/// <summary>An in-process cluster of silos hosting the lock grain.</summary>
internal sealed class TestCluster : IAsyncDisposable
{
    private readonly List<TestSilo> _silos = [];
    private readonly IDictionary<string, string?> _configuration;
    private readonly InMemoryMembershipTable? _memoryTable;
    private readonly MemoryGrainStorageDatabase? _memoryStorage;
    private int _nextSilo;

    private TestCluster(ClusterBackend backend, IDictionary<string, string?> configuration, string? databaseName)
    {
        Backend = backend;
        _configuration = configuration;
        DatabaseName = databaseName;
        if (backend == ClusterBackend.InMemory)
        {
            _memoryTable = new InMemoryMembershipTable();
            _memoryStorage = new MemoryGrainStorageDatabase();
        }
    }

    public ClusterBackend Backend { get; }

    public string? DatabaseName { get; }

    public string ServiceId => _configuration["Silo:ServiceId"]!;

    /// <summary>The PostgreSQL connection string of the cluster's database (Postgres backend only).</summary>
    public string? ConnectionString => _configuration.TryGetValue("Storage:PostgresConnectionString", out var value) ? value : null;

    public string ClusterId => _configuration["Silo:ClusterId"]!;

    public TestLogSink Logs { get; } = new();

    /// <summary>The silos that run now, oldest first.</summary>
    public IReadOnlyList<TestSilo> Silos
    {
        get
        {
            lock (_silos)
            {
                return _silos.Where(s => s.IsRunning).ToList();
            }
        }
    }

    /// <summary>Starts <paramref name="silos"/> silos and waits until each sees all of them active.</summary>
    public static async Task<TestCluster> StartAsync(ClusterBackend backend, int silos = 3, IDictionary<string, string?>? configuration = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Silo:ServiceId"] = "svc-" + Guid.NewGuid().ToString("N")[..8],
            ["Silo:ClusterId"] = "cluster-" + Guid.NewGuid().ToString("N")[..8],
            ["Silo:SiloPort"] = "0",
            ["Silo:AdvertisedAddress"] = "127.0.0.1",
            ["Silo:ListenAddress"] = "127.0.0.1",
            ["Cluster:Enabled"] = "true",
            ["Silo:ClusterSecret"] = OrleansLocks.Testing.TestSecrets.ClusterSecret,
        };
        string? database = null;
        if (backend == ClusterBackend.Postgres)
        {
            var server = await PostgresServer.GetAsync();
            var connectionString = await server.CreateDatabaseAsync("cluster");
            database = new NpgsqlConnectionStringBuilder(connectionString).Database;
            settings["Storage:Provider"] = "Postgres";
            settings["Storage:PostgresConnectionString"] = connectionString;
        }
        else
        {
            settings["Storage:Provider"] = "Memory";
        }

        foreach (var (key, value) in configuration ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var cluster = new TestCluster(backend, settings, database);
        try
        {
            // One at a time, as a deployment rolls out; each start waits for connectivity to the silos before it.
            for (var i = 0; i < silos; i++)
            {
                await cluster.StartAdditionalSiloAsync();
            }

            await cluster.WaitForLivenessToStabilizeAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async Task<TestSilo> StartAdditionalSiloAsync(IDictionary<string, string?>? configuration = null)
    {
        var name = "silo" + Interlocked.Increment(ref _nextSilo);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(_configuration);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Silo:SiloName"] = name });
        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }

        builder.Logging.AddProvider(Logs.CreateProvider(name)).SetMinimumLevel(LogLevel.Debug);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        if (_memoryTable is not null)
        {
            builder.Services.AddSingleton<IMembershipTable>(_memoryTable);
            builder.Services.AddSingleton(_memoryStorage!);
        }

        builder.Services
            .AddGrainRuntime(builder.Configuration)
            .AddGrainStorage(builder.Configuration)
            .AddLockGrains(builder.Configuration);
        var host = builder.Build();
        var silo = new TestSilo(name, host);
        try
        {
            await host.StartAsync();
        }
        catch
        {
            // A silo that failed to start (e.g. could not join) must not keep its silo port open for the test's rest.
            await host.StopAsync(CancellationToken.None);
            host.Dispose();
            throw;
        }

        lock (_silos)
        {
            _silos.Add(silo);
        }

        return silo;
    }

    /// <summary>Stops a silo gracefully: ShuttingDown, grains handed over, Dead.</summary>
    public async Task StopSiloAsync(TestSilo silo)
    {
        silo.IsRunning = false;
        await silo.Host.StopAsync();
        silo.Host.Dispose();
    }

    /// <summary>
    /// Kills a silo: stops its host with an already-cancelled token, so it skips every graceful step, writes nothing
    /// to the membership table and aborts its transport listener at once.
    /// </summary>
    public async Task KillSiloAsync(TestSilo silo)
    {
        silo.IsRunning = false;
        try
        {
            await silo.Host.StopAsync(new CancellationToken(canceled: true));
        }
        catch (OperationCanceledException)
        {
            // Expected: the host reports the cancelled stop.
        }

        silo.Host.Dispose();
    }

    /// <summary>Waits until every running silo's view has exactly the running silos active.</summary>
    public Task WaitForLivenessToStabilizeAsync(TimeSpan? timeout = null)
        => Eventually.TrueAsync(
            () =>
            {
                var running = Silos.Select(s => s.Address).Order().ToList();
                return Silos.All(s => s.Membership.Current.ActiveSilos.SequenceEqual(running));
            },
            "every running silo sees exactly the running silos active",
            timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>The running silo that owns <paramref name="lockName"/> in the first running silo's view.</summary>
    public TestSilo OwnerOf(string lockName)
    {
        var owner = Silos[0].Membership.Current.GetOwner(new GrainId(LockGrainsServiceCollectionExtensions.GrainType, lockName));
        return Silos.Single(s => s.Address == owner);
    }

    /// <summary>A lock name that the given silo owns in the current view.</summary>
    public string LockOwnedBy(TestSilo silo, string prefix = "lock")
    {
        for (var i = 0; ; i++)
        {
            var name = $"{prefix}-{i}";
            if (OwnerOf(name) == silo)
            {
                return name;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in Silos.Reverse())
        {
            try
            {
                await KillSiloAsync(silo);
            }
            catch (Exception e) when (e is InvalidOperationException or AggregateException or ObjectDisposedException)
            {
                // Best effort: the test is over.
            }
        }

        lock (_silos)
        {
            foreach (var silo in _silos)
            {
                silo.Host.Dispose();
            }
        }

        if (DatabaseName is not null)
        {
            NpgsqlConnection.ClearAllPools();
            var server = await PostgresServer.GetAsync();
            await using var connection = new NpgsqlConnection(server.AdminConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}

/// <summary>One silo of a <see cref="TestCluster"/>.</summary>
internal sealed class TestSilo(string name, IHost host)
{
    public string Name { get; } = name;

    public IHost Host { get; } = host;

    public bool IsRunning { get; set; } = true;

    public IServiceProvider Services => Host.Services;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public Catalog Catalog => Services.GetRequiredService<Catalog>();

    public MembershipTableManager Membership => Services.GetRequiredService<MembershipTableManager>();

    public SiloAddress Address => Membership.MyAddress!;

    public ILocalSiloDetails Details => Services.GetRequiredService<ILocalSiloDetails>();

    public ILockGrain Lock(string name) => Grains.GetGrain<ILockGrain>(name);

    /// <summary>Whether this silo hosts an activation of the lock now.</summary>
    public bool Hosts(string lockName)
        => Catalog.TryGetActivation(new GrainId(LockGrainsServiceCollectionExtensions.GrainType, lockName), out _);

    public override string ToString() => $"{Name} {Address}";
}
