using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using OrleansLocks.FaultChecker.Checking;
using OrleansLocks.FaultChecker.Harness;
using OrleansLocks.FaultChecker.History;
using OrleansLocks.FaultChecker.Nemesis;
using OrleansLocks.FaultChecker.Soak;
using OrleansLocks.FaultChecker.Workload;

namespace OrleansLocks.FaultChecker;

/*
 * Design note — one run, start to end.
 *
 *  1. PostgreSQL (throwaway or given) with two fresh databases; the fenced store's tables.
 *  2. The service as a real process on the service database; wait for /health/ready.
 *  3. Fault phase (--duration): N clients loop critical sections, a monitor reads every lock's state twice a
 *     second, the nemesis injects faults one at a time. (Soak: no nemesis; a sampler reads the process instead,
 *     and each client also try-locks a fresh name per cycle so activations are created and must be collected.)
 *  4. Liveness phase: faults have stopped; clients go on until each has completed K critical sections that started
 *     after the last fault ended, or the bound passes.
 *  5. Quiescence: clients stop after finishing their cycle (their leases released); the final state of each lock
 *     is read; then the harness waits for every lease and waiter to end (TTL and grace periods) and reads again.
 *  6. The fenced store is dumped and the checker runs over history + store.
 * Everything started is stopped in reverse order by `await using`, also when the run is aborted (Ctrl-C).
 */

/// <summary>Everything a run produced.</summary>
internal sealed record RunResult(
    RunOptions Options,
    IReadOnlyList<string> Locks,
    IReadOnlyList<Operation> History,
    IReadOnlyList<FencedStoreDump> Store,
    CheckResult Check,
    double FaultsEndedMs,
    double? LivenessReachedMs,
    IReadOnlyList<ProcessSample> Samples,
    IReadOnlyList<GrowthVerdict> Growth,
    SoakCounters? SoakCounters,
    DateTimeOffset StartedAt,
    TimeSpan Elapsed)
{
    public bool Passed => Check.Valid && !Growth.Any(g => g.Growing);
}

/// <summary>Counts of the soak's untracked try-locks on fresh names.</summary>
internal sealed class SoakCounters
{
    private long _granted;
    private long _other;

    public long Granted => Interlocked.Read(ref _granted);

    public long Other => Interlocked.Read(ref _other);

    public void Add(bool granted)
    {
        if (granted)
        {
            Interlocked.Increment(ref _granted);
        }
        else
        {
            Interlocked.Increment(ref _other);
        }
    }
}

/// <summary>Runs the harness: service, workload, nemesis or sampler, checker.</summary>
internal static class FaultRun
{
    public static async Task<RunResult> RunAsync(RunOptions options, ILoggerFactory loggers, CancellationToken abort)
    {
        var logger = loggers.CreateLogger("OrleansLocks.FaultChecker");
        var startedAt = DateTimeOffset.UtcNow;
        var time = TimeProvider.System;
        var runStart = time.GetTimestamp();
        var workDirectory = options.LogsPath ?? Path.Combine(Path.GetTempPath(), $"orleanslocks-faults-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(workDirectory);
        await using var historyFile = options.HistoryPath is null ? null : new StreamWriter(options.HistoryPath) { AutoFlush = false };
        var history = new HistoryRecorder(time, historyFile);
        var locks = Enumerable.Range(0, options.Locks).Select(i => $"lock-{i}").ToList();

        await using var postgres = await PostgresEnvironment.StartAsync(restartable: options.Faults.Contains(FaultKind.PgRestart) && !options.Soak);
        logger.PostgresReady(postgres.ServiceDatabase, postgres.StoreDatabase);
        await using var store = FencedStore.Create(postgres.StoreConnectionString, locks);
        await store.InitializeAsync(abort);

        await using var service = new ServiceProcess(options.ApiAssemblyPath, ServiceEnvironment(options, postgres), workDirectory, logger);
        await service.StartAsync(TimeSpan.FromSeconds(120), abort);

        var drop = new DropPolicy(options.Seed * 17 + 3);
        var handlers = new List<HttpClient>();
        var soakCounters = options.Soak ? new SoakCounters() : null;
        try
        {
            HttpClient NewHttp()
            {
                var client = new HttpClient(new SocketsHttpHandler
                {
                    ConnectTimeout = TimeSpan.FromSeconds(3),
                    PooledConnectionLifetime = TimeSpan.FromSeconds(30),
                })
                {
                    BaseAddress = service.BaseAddress,
                    Timeout = Timeout.InfiniteTimeSpan,
                };
                handlers.Add(client);
                return client;
            }

            var clients = Enumerable.Range(1, options.Clients).Select(i =>
            {
                var http = NewHttp();
                return new WorkloadClient(
                    $"c{i}",
                    new LockServiceClient(http, history, drop),
                    store,
                    locks,
                    options,
                    history,
                    new Random(options.Seed * 1000 + i),
                    logger)
                {
                    ExtraStep = soakCounters is null ? null : (name, cycle, ct) => FreshNameTryLockAsync(http, name, cycle, options.Ttl, soakCounters, ct),
                };
            }).ToList();

            using var stop = new CancellationTokenSource();
            using var clientAbort = CancellationTokenSource.CreateLinkedTokenSource(abort);
            using var monitorStop = CancellationTokenSource.CreateLinkedTokenSource(abort);
            var monitorClient = new LockServiceClient(NewHttp(), history, drop);
            var clientTasks = clients.Select(c => Task.Run(() => c.RunAsync(stop.Token, clientAbort.Token), CancellationToken.None)).ToList();
            var monitor = Task.Run(() => MonitorAsync(monitorClient, locks, history, monitorStop.Token), CancellationToken.None);
            using var watchStop = CancellationTokenSource.CreateLinkedTokenSource(abort);
            var crashWatch = Task.Run(() => WatchForCrashesAsync(service, history, watchStop.Token), CancellationToken.None);

            logger.Phase(options.Soak ? "soak" : "faults", history.Now);
            var samples = new List<ProcessSample>();
            var phaseEnd = history.Now + options.Duration.TotalMilliseconds;
            if (options.Soak)
            {
                await SampleAsync(service, NewHttp(), history, phaseEnd, options.SampleInterval, samples, logger, abort);
            }
            else
            {
                var injector = new FaultInjector(service, postgres, clients, drop, options, history, logger);
                await injector.RunAsync(phaseEnd, abort);
                if (options.Faults.Count == 0)
                {
                    await DelayUntilAsync(history, phaseEnd, abort);
                }
            }

            var faultsEnded = history.Now;
            logger.Phase("liveness", faultsEnded);
            var livenessReached = await AwaitLivenessAsync(clients, faultsEnded, options, history, logger, abort);

            logger.Phase("quiescence", history.Now);
            await stop.CancelAsync();
            var all = Task.WhenAll(clientTasks);
            var stopBound = TimeSpan.FromSeconds(90);
            if (await Task.WhenAny(all, Task.Delay(stopBound, time, abort)) != all)
            {
                logger.ClientsCancelled(stopBound.TotalSeconds);
                await clientAbort.CancelAsync();
            }

            await all;
            await monitorStop.CancelAsync();
            await monitor;

            await ReadFinalStatesAsync(monitorClient, locks, history, abort);
            logger.Phase("drain", history.Now);
            await DrainAsync(monitorClient, locks, history, abort);
            await watchStop.CancelAsync();
            await crashWatch;
            var dump = await store.DumpAsync(abort);
            var operations = history.Snapshot();
            var check = HistoryChecker.Check(operations, dump, new CheckerOptions
            {
                Clients = [.. clients.Select(c => c.Name)],
                FaultsEndedMs = faultsEnded,
                LivenessCycles = options.LivenessCycles,
                LivenessBoundMs = options.LivenessBound.TotalMilliseconds,
            });
            var growth = options.Soak ? JudgeGrowth(samples) : [];
            return new RunResult(
                options,
                locks,
                operations,
                dump,
                check,
                faultsEnded,
                livenessReached,
                samples,
                growth,
                soakCounters,
                startedAt,
                time.GetElapsedTime(runStart));
        }
        finally
        {
            foreach (var http in handlers)
            {
                http.Dispose();
            }

            if (options.LogsPath is null)
            {
                try
                {
                    Directory.Delete(workDirectory, recursive: true);
                }
                catch (IOException e)
                {
                    logger.CleanupFailed(e, workDirectory);
                }
            }
        }
    }

    private static int FreeSiloPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The service's configuration: PostgreSQL storage, quiet logs, short grace periods so the run sees many expiries.</summary>
    private static Dictionary<string, string> ServiceEnvironment(RunOptions options, PostgresEnvironment postgres)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["Storage__Provider"] = "Postgres",
            ["Storage__PostgresConnectionString"] = postgres.ServiceConnectionString,
            ["ConnectionStrings__Postgres"] = postgres.ServiceConnectionString,
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__OrleansLocks"] = "Warning",

            // Start and shutdown lines ("Application is shutting down..."): tell a crash from a stop by a signal.
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
            // On PostgreSQL the service's silo is a cluster member (a cluster of one). Its silo port is fixed for the
            // run, so a restarted service takes over its predecessor's endpoint (and declares it dead) at once, and
            // free, so the run never competes with another service on this machine for the default 11111.
            ["Silo__SiloPort"] = FreeSiloPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Silo__AdvertisedAddress"] = "127.0.0.1",
            ["Silo__ListenAddress"] = "127.0.0.1",
            // A cluster outside Development needs its secret (random per run); the checker's clients are anonymous
            // and must not be rate limited (they measure the lock protocol, not the abuse limits).
            ["Silo__ClusterSecret"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["Security__AllowAnonymous"] = "true",
            ["Security__RateLimit__TokenLimit"] = "0",
            ["Locks__RecoveryGrace"] = "00:00:05",
            ["Locks__WaiterGrace"] = "00:00:05",
        };
        if (options.Soak)
        {
            env["GrainCollection__CollectionAge"] = "00:00:20";
            env["GrainCollection__CollectionQuantum"] = "00:00:05";
        }

        foreach (var (key, value) in options.ServiceEnvironment)
        {
            env[key] = value;
        }

        return env;
    }

    /// <summary>Records every exit of the service the harness did not cause, and starts it again so the run goes on.</summary>
    private static async Task WatchForCrashesAsync(ServiceProcess service, HistoryRecorder history, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var detected = history.Now;
                if (await service.RestartIfCrashedAsync(TimeSpan.FromSeconds(120), stop) is { } what)
                {
                    history.Add(new Operation
                    {
                        Process = Processes.Service,
                        Kind = OpKind.Fault,
                        Outcome = OpOutcome.Info,
                        InvokedMs = detected,
                        CompletedMs = history.Now,
                        Code = "crash",
                        Detail = what + "\n(restarted by the harness)",
                    });
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), history.Time, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task MonitorAsync(LockServiceClient client, IReadOnlyList<string> locks, HistoryRecorder history, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var name in locks)
                {
                    await client.ReadAsync(Processes.Monitor, name, stop);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), history.Time, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task SampleAsync(
        ServiceProcess service,
        HttpClient http,
        HistoryRecorder history,
        double until,
        TimeSpan interval,
        List<ProcessSample> samples,
        ILogger logger,
        CancellationToken abort)
    {
        while (history.Now < until)
        {
            if (service.Pid is { } pid && await ProcessSampler.SampleAsync(pid, history.Now / 1000, http, abort) is { } sample)
            {
                samples.Add(sample);
                logger.SoakSample(sample.Seconds, sample.RssMb, sample.FileDescriptors, sample.Threads, sample.Activations);
            }

            await Task.Delay(interval, history.Time, abort);
        }
    }

    private static List<GrowthVerdict> JudgeGrowth(List<ProcessSample> samples) =>
    [
        GrowthTest.Judge("resident memory", "MB", [.. samples.Select(s => (s.Seconds, s.RssMb))], 0.10, 20),
        GrowthTest.Judge("file descriptors", "", [.. samples.Select(s => (s.Seconds, (double)s.FileDescriptors))], 0.10, 10),
        GrowthTest.Judge("threads", "", [.. samples.Select(s => (s.Seconds, (double)s.Threads))], 0.25, 5),
        GrowthTest.Judge("activations", "", [.. samples.Where(s => s.Activations is not null).Select(s => (s.Seconds, (double)s.Activations!.Value))], 0.10, 50),
    ];

    /// <summary>The soak's extra step: a try-lock and release on a name never used again, untracked by the checker.</summary>
    private static async Task FreshNameTryLockAsync(HttpClient http, string client, long cycle, TimeSpan ttl, SoakCounters counters, CancellationToken cancellationToken)
    {
        var name = $"soak-{client}-{cycle}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        try
        {
            using var acquired = await http.PostAsJsonAsync($"locks/{name}/acquire", new { owner = client, ttl = (long)ttl.TotalMilliseconds }, timeout.Token);
            if (acquired.StatusCode != HttpStatusCode.OK)
            {
                counters.Add(false);
                return;
            }

            var lease = await acquired.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(timeout.Token);
            using var released = await http.PostAsJsonAsync($"locks/{name}/release", new { leaseId = lease.GetProperty("leaseId").GetString() }, timeout.Token);
            counters.Add(released.StatusCode == HttpStatusCode.NoContent);
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException or KeyNotFoundException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            counters.Add(false);
        }
    }

    private static async Task DelayUntilAsync(HistoryRecorder history, double until, CancellationToken abort)
    {
        var remaining = until - history.Now;
        if (remaining > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(remaining), history.Time, abort);
        }
    }

    /// <summary>Waits until every client has completed K critical sections begun after the faults ended; returns when (ms), or null if the bound passed.</summary>
    private static async Task<double?> AwaitLivenessAsync(
        List<WorkloadClient> clients,
        double faultsEnded,
        RunOptions options,
        HistoryRecorder history,
        ILogger logger,
        CancellationToken abort)
    {
        var deadline = faultsEnded + options.LivenessBound.TotalMilliseconds;
        while (history.Now < deadline)
        {
            if (clients.All(c => c.CyclesStartedAfter(faultsEnded) >= options.LivenessCycles))
            {
                var reached = history.Now - faultsEnded;
                logger.LivenessReached(options.LivenessCycles, reached);
                return reached;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), history.Time, abort);
        }

        logger.LivenessMissed(options.LivenessBound.TotalSeconds, options.LivenessCycles);
        return null;
    }

    private static async Task ReadFinalStatesAsync(LockServiceClient client, IReadOnlyList<string> locks, HistoryRecorder history, CancellationToken abort)
    {
        foreach (var name in locks)
        {
            var deadline = history.Now + 60_000;
            while ((await client.ReadAsync(Processes.Final, name, abort)).Outcome != OpOutcome.Ok && history.Now < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), history.Time, abort);
            }
        }
    }

    /// <summary>Waits (bounded) for every lease and waiter to end; the checker judges the last read.</summary>
    private static async Task DrainAsync(LockServiceClient client, IReadOnlyList<string> locks, HistoryRecorder history, CancellationToken abort)
    {
        var deadline = history.Now + 60_000;
        foreach (var name in locks)
        {
            while (true)
            {
                var read = await client.ReadAsync(Processes.Drain, name, abort);
                if ((read.State is { } s && s.Holders.Count == 0 && s.Waiters.Count == 0) || history.Now > deadline)
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), history.Time, abort);
            }
        }
    }
}
