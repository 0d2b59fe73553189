using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Npgsql;
using OrleansLocks.Benchmarks.Harness;
using OrleansLocks.Benchmarks.Report;
using OrleansLocks.Benchmarks.Systems;
using OrleansLocks.Benchmarks.Workloads;

namespace OrleansLocks.Benchmarks;

/*
 * One benchmark run: every selected system through every workload that applies to it, one system at a time
 * (system-major), so that only the system under test is busy while it is measured. The peers' servers (PostgreSQL,
 * etcd, Redis) are started by bench/run.sh and idle between their turns; the service and the trivial endpoint are
 * started here, one process per system, and killed after its turn. Results are rendered once at the end.
 */
internal sealed class BenchmarkRun(BenchOptions options)
{
    private readonly RunResults _results = new();
    private readonly string _run = Guid.NewGuid().ToString("N")[..6];
    private readonly long _ttlMs = 30_000;
    private int _cells;
    private NpgsqlDataSource? _peersDatabase;

    public async Task<string> RunAsync()
    {
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(options.WorkDirectory);
        var machine = MachineInfo.Read(options.WorkDirectory);
        await AddVersionsAsync(machine);
        machine.Add(("load average at start (1 / 5 / 15 min)", MachineInfo.LoadAverage()));
        try
        {
            foreach (var system in options.Systems)
            {
                try
                {
                    await RunSystemAsync(system);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Progress($"{system}: not measured: {e.Message}");
                    _results.Skips.Add(new Skip(system, "all", FirstLine(e.Message)));
                }
            }

            if (options.RunsWorkload("many-names"))
            {
                await RunManyNamesAsync();
            }
        }
        finally
        {
            if (_peersDatabase is not null)
            {
                await _peersDatabase.DisposeAsync();
            }
        }

        machine.Add(("load average at end (1 / 5 / 15 min)", MachineInfo.LoadAverage()));
        return MarkdownReport.Render(_results, options, machine, startedAt, clock.Elapsed);
    }

    private async Task RunSystemAsync(string id)
    {
        switch (id)
        {
            case "service-sqlite":
            case "service-postgres":
                if (!options.RunsWorkload("uncontended") && !options.RunsWorkload("hot") && !options.RunsWorkload("read-mostly"))
                {
                    return;
                }

                await using (var service = await StartServiceAsync(id, collectionAge: null))
                {
                    if (service.System is null)
                    {
                        return;
                    }

                    await RunLockWorkloadsAsync(service.System);
                    CheckAlive(service.Host, id);
                }

                break;
            case "service-cluster":
                if (!options.RunsWorkload("uncontended") && !options.RunsWorkload("hot") && !options.RunsWorkload("read-mostly"))
                {
                    return;
                }

                await using (var cluster = await StartClusterAsync(id, ClusterSilos))
                {
                    if (cluster.System is null)
                    {
                        return;
                    }

                    await RunLockWorkloadsAsync(cluster.System);
                    foreach (var host in cluster.Hosts)
                    {
                        CheckAlive(host, id);
                    }
                }

                break;
            case "etcd":
                var etcdUrl = options.EtcdUrl ?? throw new InvalidOperationException("no --etcd endpoint given");
                using (var http = Http.CreateClient(new Uri(etcdUrl + "/")))
                {
                    await RunLockWorkloadsAsync(new EtcdSystem(http, options.Warmup + options.Duration + TimeSpan.FromMinutes(2)));
                }

                break;
            case "redis":
                await RunLockWorkloadsAsync(new RedisSystem(RedisEndpoint(), _ttlMs));
                break;
            case "pg-advisory":
                await RunLockWorkloadsAsync(new PgAdvisorySystem(await PeersDatabaseAsync()));
                break;
            case "pg-lease-table":
                await RunLockWorkloadsAsync(new PgLeaseTableSystem(await PeersDatabaseAsync(), _ttlMs));
                break;
            case "ceiling-pg":
                await RunCeilingAsync(new PgCommitCeiling(await PeersDatabaseAsync()));
                break;
            case "ceiling-http":
                if (!options.RunsWorkload("uncontended"))
                {
                    return;
                }

                var self = typeof(BenchmarkRun).Assembly.Location;
                await using (var trivial = await ProcessHost.StartAsync("trivial", self, ["serve-trivial"], options.WorkDirectory, new Uri("health/live", UriKind.Relative)))
                using (var http = Http.CreateClient(trivial.BaseAddress))
                {
                    await RunCeilingAsync(new TrivialHttpCeiling(http));
                    CheckAlive(trivial, id);
                }

                break;
            default:
                throw new ArgumentException($"unknown system {id}");
        }
    }

    private async Task RunLockWorkloadsAsync(ILockSystem system)
    {
        _results.Targets[system.Id] = system;
        _results.WaitStrategies[system.Id] = system.WaitStrategy;
        await WarmUpAsync(system);
        if (options.RunsWorkload("uncontended"))
        {
            foreach (var clients in options.Clients)
            {
                var result = await MedianAsync(
                    async () => await WithWalSyncsAsync(system.Id, () => Workload.UncontendedAsync(system, clients, options, NextCell()), r => r.Loop, (r, w) => r with { WalSyncsPerOperation = w }),
                    r => r.Loop);
                _results.Uncontended.Add(result);
                Progress($"{system.Id} uncontended C={clients}: {Summary(result.Loop)}");
            }
        }

        if (options.RunsWorkload("hot"))
        {
            foreach (var clients in options.HotClients)
            {
                var result = await MedianAsync(
                    async () => await WithWalSyncsAsync(system.Id, () => Workload.HotAsync(system, clients, options, NextCell()), r => r.Loop, (r, w) => r with { WalSyncsPerOperation = w }),
                    r => r.Loop);
                _results.Hot.Add(result);
                Progress($"{system.Id} hot C={clients}: {Summary(result.Loop)}, hand-off p99 {MarkdownReport.Ms(result.Handoff, 0.99)} ms, max/min {result.Fairness:0.00}, violations {result.Violations}");
            }
        }

        if (options.RunsWorkload("read-mostly"))
        {
            if (system.SupportsShared)
            {
                var result = await MedianAsync(
                    async () => await WithWalSyncsAsync(system.Id, () => Workload.ReadMostlyAsync(system, options, NextCell()), r => r.Loop, (r, w) => r with { WalSyncsPerOperation = w }),
                    r => r.Loop);
                _results.ReadMostly.Add(result);
                Progress($"{system.Id} read-mostly C={result.Clients}: {Summary(result.Loop)}");
            }
            else
            {
                _results.Skips.Add(new Skip(system.Id, "read-mostly", "N/A: no shared locks"));
            }
        }
    }

    /*
     * A server that has just started spends its first seconds compiling (tiered JIT: several seconds of CPU on two
     * cores), which the first cells would otherwise measure. Every lock system gets the same unmeasured load before
     * its first cell: each workload it is about to run, for a share of --system-warmup, results discarded.
     */
    private async Task WarmUpAsync(ILockSystem system)
    {
        if (options.SystemWarmup <= TimeSpan.Zero)
        {
            return;
        }

        var parts = new List<Func<BenchOptions, Task>>();
        if (options.RunsWorkload("uncontended"))
        {
            parts.Add(o => Workload.UncontendedAsync(system, options.Clients.Max(), o, NextCell()));
        }

        if (options.RunsWorkload("hot"))
        {
            parts.Add(o => Workload.HotAsync(system, options.HotClients.Max(), o, NextCell()));
        }

        if (options.RunsWorkload("read-mostly") && system.SupportsShared)
        {
            parts.Add(o => Workload.ReadMostlyAsync(system, o, NextCell()));
        }

        if (parts.Count == 0)
        {
            return;
        }

        var share = options.SystemWarmup / parts.Count;
        var warmup = options.WithCellTimes(TimeSpan.Zero, share);
        foreach (var part in parts)
        {
            await part(warmup);
        }

        Progress($"{system.Id}: warmed up for {options.SystemWarmup.TotalSeconds:0.#} s (not measured)");
    }

    private async Task RunCeilingAsync(ICeiling ceiling)
    {
        if (!options.RunsWorkload("uncontended"))
        {
            return;
        }

        _results.Targets[ceiling.Id] = ceiling;
        if (options.SystemWarmup > TimeSpan.Zero)
        {
            // The same unmeasured start as the lock systems get (see WarmUpAsync).
            await Workload.CeilingAsync(ceiling, options.Clients.Max(), options.WithCellTimes(TimeSpan.Zero, options.SystemWarmup / 3));
            Progress($"{ceiling.Id}: warmed up for {(options.SystemWarmup / 3).TotalSeconds:0.#} s (not measured)");
        }

        foreach (var clients in options.Clients)
        {
            var result = await MedianAsync(
                async () => await WithWalSyncsAsync(ceiling.Id, () => Workload.CeilingAsync(ceiling, clients, options), r => r.Loop, (r, w) => r with { WalSyncsPerOperation = w }),
                r => r.Loop);
            _results.Uncontended.Add(result);
            Progress($"{ceiling.Id} C={clients}: {Summary(result.Loop)}");
        }
    }

    private async Task RunManyNamesAsync()
    {
        var id = options.ManyNamesStore == "postgres" ? "service-postgres" : "service-sqlite";
        if (!options.Runs(id))
        {
            _results.Skips.Add(new Skip(id, "many-names", $"{id} not among --systems"));
            return;
        }

        try
        {
            // Long leases: the held phase must still hold all of them when it reads the memory.
            await using var service = await StartServiceAsync(id, options.CollectionAge, ManyNames.HeldTtlMs);
            if (service.System is null)
            {
                return;
            }

            Progress($"{id} many names: {options.Names:N0} names, {options.Held:N0} held");
            var result = await ManyNames.RunAsync(service.Host!, service.System, options, _run, ProbeDll is null ? null : ProbeDirectory);
            _results.ManyNames.Add(result);
            foreach (var phase in result.Phases)
            {
                Progress($"  {phase.Name}: {phase.Count:N0} in {phase.Elapsed.TotalSeconds:N1} s, RSS {phase.Memory.RssKb / 1024:N0} MiB (peak {phase.Memory.PeakRssKb / 1024:N0}), activations {phase.Activations} {phase.Note}");
            }

            CheckAlive(service.Host!, id);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Progress($"{id} many names: not measured: {e.Message}");
            _results.Skips.Add(new Skip(id, "many-names", FirstLine(e.Message)));
        }
    }

    /// <summary>For the systems that write to PostgreSQL, the WAL flushes per counted operation of the window.</summary>
    private async Task<T> WithWalSyncsAsync<T>(string system, Func<Task<T>> cell, Func<T, LoopResult> loop, Func<T, double?, T> with)
    {
        if (options.PostgresAdmin is not { } admin || system is not ("service-postgres" or "service-cluster" or "pg-lease-table" or "pg-advisory" or "ceiling-pg"))
        {
            return await cell();
        }

        var (result, syncs) = await new PostgresActivity(admin).MeasureAsync(options.Warmup, options.Duration, cell);
        var operations = loop(result).Operations;
        return with(result, syncs is { } s && operations > 0 ? (double)s / operations : null);
    }

    /// <summary>
    /// A prefix no earlier cell used: a lock left held by an operation cut off at the end of a cell (a grant whose
    /// reply was never read) must not make the next cell's lock busy.
    /// </summary>
    private string NextCell() => $"{_run}-{++_cells}";

    /// <summary>Runs a cell <see cref="BenchOptions.Repeat"/> times and keeps the run with the median throughput.</summary>
    private async Task<T> MedianAsync<T>(Func<Task<T>> cell, Func<T, LoopResult> loop)
    {
        var runs = new List<T>();
        for (var i = 0; i < options.Repeat; i++)
        {
            runs.Add(await cell());
        }

        return runs.OrderBy(r => loop(r).PerSecond).ElementAt(runs.Count / 2);
    }

    /// <summary>
    /// Starts the Api on a free loopback port with a fresh store and checks that it serves the lock API; when it
    /// does not (not built, not merged yet, failing at start), the reason is recorded and no system is returned.
    /// </summary>
    /// <summary>The benchmark probe's dll (BENCH_PROBE_DLL, set by run.sh), if it exists.</summary>
    private static string? ProbeDll
        => Environment.GetEnvironmentVariable("BENCH_PROBE_DLL") is { Length: > 0 } path && File.Exists(path) ? path : null;

    /// <summary>Where the probe of the many-names service writes its samples.</summary>
    private string ProbeDirectory => Path.Combine(options.WorkDirectory, "probe");

    private async Task<RunningService> StartServiceAsync(string id, TimeSpan? collectionAge, long? ttlMs = null)
    {
        var dll = options.ApiDll;
        if (dll is null || !File.Exists(dll))
        {
            _results.Skips.Add(new Skip(id, "all", $"the Api is not built (no {dll ?? "--api-dll"})"));
            return new RunningService(null, null, null);
        }

        var arguments = new List<string>();
        string store;
        var suffix = collectionAge is null ? "" : "-many";
        if (id == "service-postgres")
        {
            store = "PostgreSQL";
            var database = await CreateDatabaseAsync($"orleanslocks_bench_{_run}{suffix.Replace('-', '_')}");
            arguments.Add("--Storage:Provider=Postgres");
            arguments.Add($"--ConnectionStrings:Postgres={database}");

            // On PostgreSQL the silo is a (one-member) cluster: keep its silo port on loopback and free.
            arguments.AddRange(ClusterArguments());
        }
        else
        {
            store = "SQLite";
            arguments.Add("--Storage:Provider=Sqlite");
            arguments.Add($"--Storage:SqlitePath={Path.Combine(options.WorkDirectory, $"service-{_run}{suffix}.db")}");
        }

        // The benchmark's clients send no credentials and measure the lock service, not its abuse limits.
        arguments.Add("--Security:AllowAnonymous=true");
        arguments.Add("--Security:RateLimit:TokenLimit=0");

        if (collectionAge is { } age)
        {
            arguments.Add($"--GrainCollection:CollectionAge={age:c}");
            arguments.Add($"--GrainCollection:CollectionQuantum={TimeSpan.FromSeconds(Math.Max(1, age.TotalSeconds / 4)):c}");
        }

        // The many-names service carries the benchmark probe (bench/Probe, when run.sh built it) for live-heap readings.
        Dictionary<string, string>? environment = null;
        if (collectionAge is not null && ProbeDll is { } probeDll)
        {
            Directory.CreateDirectory(ProbeDirectory);
            environment = new() { ["DOTNET_STARTUP_HOOKS"] = probeDll, ["BENCH_PROBE_DIR"] = ProbeDirectory };
        }

        ProcessHost host;
        try
        {
            host = await ProcessHost.StartAsync(id + suffix, dll, arguments, options.WorkDirectory, new Uri("health/live", UriKind.Relative), environment);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            _results.Skips.Add(new Skip(id, collectionAge is null ? "all" : "many-names", $"the Api did not start: {FirstLine(e.Message)}"));
            Progress($"{id}: the Api did not start: {e.Message}");
            return new RunningService(null, null, null);
        }

        var http = Http.CreateClient(host.BaseAddress);
        var system = new ServiceSystem(id, store, http, ttlMs ?? _ttlMs);
        try
        {
            await using var probe = await system.ConnectAsync(0, CancellationToken.None);
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var handle = await probe.AcquireAsync($"probe-{_run}", Mode.Exclusive, wait: false, cancel.Token)
                ?? throw new BenchProtocolException("a fresh lock was busy");
            await probe.ReleaseAsync(handle, cancel.Token);
        }
        catch (Exception e) when (e is BenchProtocolException or HttpRequestException or OperationCanceledException)
        {
            _results.Skips.Add(new Skip(id, collectionAge is null ? "all" : "many-names", $"the Api does not serve the lock API yet: {FirstLine(e.Message)}"));
            Progress($"{id}: the Api does not serve the lock API: {e.Message}");
            http.Dispose();
            await host.DisposeAsync();
            return new RunningService(null, null, null);
        }

        return new RunningService(host, http, system);
    }

    /// <summary>Silos of the service-cluster system.</summary>
    private const int ClusterSilos = 3;

    /// <summary>A random secret shared by the silos of this run's clusters (a cluster outside Development needs one).</summary>
    private readonly string _clusterSecret = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>Silo settings of a service on PostgreSQL: loopback only, a free silo port each, this run's cluster secret.</summary>
    private IEnumerable<string> ClusterArguments() =>
    [
        "--Silo:ListenAddress=127.0.0.1",
        "--Silo:AdvertisedAddress=127.0.0.1",
        "--Silo:SiloPort=0",
        $"--Silo:ClusterSecret={_clusterSecret}",
    ];

    /// <summary>
    /// Starts <paramref name="silos"/> Api processes, each co-hosting a silo, on one fresh PostgreSQL database (one
    /// cluster), waits until every one of them sees all silos active, and checks that each serves the lock API.
    /// </summary>
    private async Task<RunningCluster> StartClusterAsync(string id, int silos)
    {
        var dll = options.ApiDll;
        if (dll is null || !File.Exists(dll))
        {
            _results.Skips.Add(new Skip(id, "all", $"the Api is not built (no {dll ?? "--api-dll"})"));
            return new RunningCluster([], [], null);
        }

        var database = await CreateDatabaseAsync($"orleanslocks_bench_{_run}_cluster");
        var hosts = new List<ProcessHost>();
        var https = new List<HttpClient>();
        var running = new RunningCluster(hosts, https, null);
        try
        {
            for (var i = 0; i < silos; i++)
            {
                List<string> arguments =
                [
                    "--Storage:Provider=Postgres", $"--ConnectionStrings:Postgres={database}",
                    "--Security:AllowAnonymous=true", "--Security:RateLimit:TokenLimit=0", .. ClusterArguments(),
                ];
                hosts.Add(await ProcessHost.StartAsync($"{id}-{i}", dll, arguments, options.WorkDirectory, new Uri("health/live", UriKind.Relative)));
                https.Add(Http.CreateClient(hosts[^1].BaseAddress));
            }

            // Bounded: every Api must see every silo active before the clients start, or the first calls measure joins.
            var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 90;
            while (true)
            {
                var active = await Task.WhenAll(https.Select(ActiveSilosAsync));
                if (active.All(count => count == silos))
                {
                    break;
                }

                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"the cluster did not form within 90 s (active silos seen by each Api: {string.Join(", ", active)})");
                }

                await Task.Delay(500);
            }

            var system = new ServiceSystem(id, "PostgreSQL (3-silo cluster)", https[0], _ttlMs, https);
            for (var i = 0; i < silos; i++)
            {
                await using var probe = await system.ConnectAsync(i, CancellationToken.None);
                using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var handle = await probe.AcquireAsync($"probe-{_run}-{i}", Mode.Exclusive, wait: false, cancel.Token)
                    ?? throw new BenchProtocolException("a fresh lock was busy");
                await probe.ReleaseAsync(handle, cancel.Token);
            }

            Progress($"{id}: {silos} silos active on one database");
            return running with { System = system };
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or BenchProtocolException or HttpRequestException or OperationCanceledException)
        {
            _results.Skips.Add(new Skip(id, "all", $"the cluster did not start: {FirstLine(e.Message)}"));
            Progress($"{id}: the cluster did not start: {e.Message}");
            await running.DisposeAsync();
            return new RunningCluster([], [], null);
        }
    }

    private static async Task<int> ActiveSilosAsync(HttpClient http)
    {
        try
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var cluster = await http.GetFromJsonAsync(new Uri("cluster", UriKind.Relative), BenchJson.Default.ClusterView, cancel.Token);
            return cluster?.Silos?.Count(s => string.Equals(s.Status, "active", StringComparison.OrdinalIgnoreCase)) ?? 0;
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException or OperationCanceledException)
        {
            return 0;
        }
    }

    private async Task<string> CreateDatabaseAsync(string name)
    {
        var admin = options.PostgresAdmin ?? throw new InvalidOperationException("no --postgres connection string given");
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    private async Task<NpgsqlDataSource> PeersDatabaseAsync()
    {
        if (_peersDatabase is null)
        {
            var database = await CreateDatabaseAsync($"bench_peers_{_run}");
            var builder = new NpgsqlConnectionStringBuilder(database)
            {
                MaxPoolSize = 200,
                // Advisory locks are session state: a connection back in the pool must not keep any.
                NoResetOnClose = false,
            };
            _peersDatabase = NpgsqlDataSource.Create(builder.ConnectionString);
            await PostgresPeers.CreateSchemaAsync(_peersDatabase, CancellationToken.None);
        }

        return _peersDatabase;
    }

    private IPEndPoint RedisEndpoint()
    {
        var endpoint = options.RedisEndpoint ?? throw new InvalidOperationException("no --redis endpoint given");
        return IPEndPoint.TryParse(endpoint, out var parsed) && IPAddress.IsLoopback(parsed.Address)
            ? parsed
            : throw new InvalidOperationException($"--redis must be a loopback host:port, not '{endpoint}'");
    }

    private async Task AddVersionsAsync(List<(string What, string Value)> machine)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        if (options.PostgresAdmin is { } admin)
        {
            try
            {
                await using var connection = new NpgsqlConnection(admin);
                await connection.OpenAsync(cancel.Token);
                await using var command = new NpgsqlCommand("SELECT version(), current_setting('fsync'), current_setting('synchronous_commit'), current_setting('wal_sync_method')", connection);
                await using var reader = await command.ExecuteReaderAsync(cancel.Token);
                await reader.ReadAsync(cancel.Token);
                machine.Add(("PostgreSQL", $"{reader.GetString(0).Split(" on ")[0]} (fsync={reader.GetString(1)}, synchronous_commit={reader.GetString(2)}, wal_sync_method={reader.GetString(3)})"));
            }
            catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
            {
                machine.Add(("PostgreSQL", $"unreachable: {e.Message}"));
            }
        }

        if (options.EtcdUrl is { } etcd)
        {
            try
            {
                using var http = Http.CreateClient(new Uri(etcd + "/"));
                machine.Add(("etcd", await EtcdSystem.VersionAsync(http, cancel.Token)));
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
            {
                machine.Add(("etcd", $"unreachable: {e.Message}"));
            }
        }

        if (options.RedisEndpoint is not null)
        {
            try
            {
                machine.Add(("Redis", await RedisSystem.VersionAsync(RedisEndpoint(), cancel.Token)));
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or BenchProtocolException or InvalidOperationException)
            {
                machine.Add(("Redis", $"unreachable: {e.Message}"));
            }
        }
    }

    private static void CheckAlive(ProcessHost? host, string id)
    {
        if (host is { HasExited: true })
        {
            throw new InvalidOperationException($"{id} exited during its turn:\n{host.LogTail(30)}");
        }
    }

    private static string Summary(LoopResult loop)
        => $"{loop.PerSecond:N0}/s p50 {MarkdownReport.Ms(loop.Latency, 0.5)} p99 {MarkdownReport.Ms(loop.Latency, 0.99)} p99.9 {MarkdownReport.Ms(loop.Latency, 0.999)} ms, errors {loop.Errors}{(loop.FirstError is null ? "" : $" ({loop.FirstError})")}";

    private static string FirstLine(string text) => text.Split('\n')[0];

    private static void Progress(string line) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line} (load {MachineInfo.LoadAverage().Split(' ')[0]})");

    /// <summary>A started cluster of Api processes (no system when it could not be used) that stops with its scope.</summary>
    private sealed record RunningCluster(List<ProcessHost> Hosts, List<HttpClient> Https, ServiceSystem? System) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var http in Https)
            {
                http.Dispose();
            }

            foreach (var host in Hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    /// <summary>A started service (null members when it could not be used) that stops with its scope.</summary>
    private sealed record RunningService(ProcessHost? Host, HttpClient? Http, ServiceSystem? System) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Http?.Dispose();
            if (Host is not null)
            {
                await Host.DisposeAsync();
            }
        }
    }
}
