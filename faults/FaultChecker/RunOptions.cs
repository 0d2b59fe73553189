using System.Globalization;
using System.Reflection;

namespace OrleansLocks.FaultChecker;

/// <summary>The faults the nemesis can inject.</summary>
internal enum FaultKind
{
    /// <summary>SIGKILL the service process and start it again.</summary>
    Kill,

    /// <summary>SIGSTOP the service past the lease TTL, then SIGCONT.</summary>
    Pause,

    /// <summary>Stop a client's loop while it holds a lease, past the TTL, then let it write with its old token.</summary>
    ClientPause,

    /// <summary>Restart PostgreSQL (immediate stop, then start).</summary>
    PgRestart,

    /// <summary>pg_terminate_backend on every connection to the service's database.</summary>
    PgTerminate,

    /// <summary>Cancel HTTP requests mid-flight after a random short delay; clients retry with the same request id.</summary>
    Drop,

    /// <summary>Graceful restart (SIGTERM, then start) of every silo in turn: a rolling restart.</summary>
    Restart,

    /// <summary>Cluster: one silo's connections to PostgreSQL blackholed for a while, then healed (resumed or reset).</summary>
    PgPartition,

    /// <summary>Cluster: one silo unreachable on its silo port (peers and gateways cannot reach it; it can reach them).</summary>
    Partition,

    /// <summary>Cluster: one silo cut off from PostgreSQL and from its peers at once; it is a zombie until healed.</summary>
    Isolate,
}

/// <summary>Everything a run is configured by; parsed from the command line.</summary>
internal sealed record RunOptions
{
    /// <summary>The single silo's default faults (partitions need a cluster; a graceful restart is opt-in).</summary>
    public static readonly IReadOnlyList<FaultKind> AllFaults =
        [FaultKind.Kill, FaultKind.Pause, FaultKind.ClientPause, FaultKind.PgRestart, FaultKind.PgTerminate, FaultKind.Drop];

    /// <summary>The cluster's default faults: every kind.</summary>
    public static readonly IReadOnlyList<FaultKind> AllClusterFaults =
    [
        FaultKind.Kill, FaultKind.Pause, FaultKind.Restart, FaultKind.PgPartition, FaultKind.Partition, FaultKind.Isolate,
        FaultKind.ClientPause, FaultKind.PgRestart, FaultKind.PgTerminate, FaultKind.Drop,
    ];

    /// <summary>Faults that cut a silo off through the harness's proxies: only in a cluster.</summary>
    public static readonly IReadOnlyList<FaultKind> ClusterOnlyFaults = [FaultKind.PgPartition, FaultKind.Partition, FaultKind.Isolate];

    /// <summary>How long faults are injected (soak: how long the load runs).</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    public int Clients { get; init; } = 8;

    public int Locks { get; init; } = 3;

    public IReadOnlyList<FaultKind> Faults { get; init; } = AllFaults;

    /// <summary>
    /// Cluster mode: <see cref="Silos"/> silo processes on one PostgreSQL (each behind the harness's proxies, to
    /// PostgreSQL and on its silo port) and <see cref="Gateways"/> Api gateway processes; clients spread over the
    /// entry points. False: one Api process co-hosting a single silo.
    /// </summary>
    public bool Cluster { get; init; }

    /// <summary>Silo processes in cluster mode.</summary>
    public int Silos { get; init; } = 3;

    /// <summary>Api gateway processes in cluster mode (entry points besides co-hosted silos).</summary>
    public int Gateways { get; init; } = 2;

    /// <summary>Cluster mode: the silos are Apis co-hosting them (entry points themselves) instead of headless silos.</summary>
    public bool CoHosted { get; init; }

    /// <summary>Seed of every random choice of the harness (lock choice, work time, fault order and timing).</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Lease TTL the clients ask for.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one acquire request long-polls.</summary>
    public TimeSpan Wait { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// When set, the nemesis injects exactly this many shuffled rounds of the fault list (each fault once per round)
    /// and the fault phase lasts as long as that takes, instead of <see cref="Duration"/>: a fixed schedule for tests.
    /// </summary>
    public int? Rounds { get; init; }

    /// <summary>Fraction of critical sections whose work lasts about the TTL (0.8–1.3×) before a renew, racing expiry.</summary>
    public double SlowWorkFraction { get; init; } = 0.05;

    /// <summary>Calm time after each fault, so recovery can be seen.</summary>
    public TimeSpan FaultInterval { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Critical sections each client must complete after the faults end.</summary>
    public int LivenessCycles { get; init; } = 3;

    /// <summary>Bound for those critical sections.</summary>
    public TimeSpan LivenessBound { get; init; } = TimeSpan.FromSeconds(60);

    public bool Soak { get; init; }

    /// <summary>How often the soak samples the service process.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Where to write the history (JSON lines); null: not written.</summary>
    public string? HistoryPath { get; init; }

    /// <summary>Where to keep the service's output (one log per start); null: a temporary directory, deleted.</summary>
    public string? LogsPath { get; init; }

    /// <summary>Where to write the report besides stdout.</summary>
    public string? ReportPath { get; init; }

    /// <summary>The service's assembly; default: the Api built next to this tool.</summary>
    public string ApiAssemblyPath { get; init; } = DefaultApiAssemblyPath();

    /// <summary>Extra environment of the service process (configuration overrides).</summary>
    public IReadOnlyDictionary<string, string> ServiceEnvironment { get; init; } = new Dictionary<string, string>();

    public bool Verbose { get; init; }

    public static string DefaultApiAssemblyPath()
        => Environment.GetEnvironmentVariable("ORLEANSLOCKS_API_DLL") is { Length: > 0 } given
            ? given
            : typeof(RunOptions).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "OrleansLocks.ApiAssemblyPath")?.Value ?? "OrleansLocks.Api.dll";

    public const string Usage = """
        Usage: dotnet run -c Release --project faults/FaultChecker -- [options]
          --duration <t>        fault phase (or soak) length: 90s, 2m, 1h, or seconds (default 60s)
          --clients <n>         workload clients (default 8)
          --locks <n>           locks, each with its fenced store table (default 3)
          --faults <list>       comma list of kill,pause,client-pause,pg-restart,pg-terminate,drop,restart and, with --cluster,
                                pg-partition,partition,isolate; or all, or none (default: every kind of the mode but restart
                                for a single silo, every kind for a cluster)
          --cluster             a cluster: --silos headless silo processes (default 3) on one PostgreSQL, each behind proxies
                                the nemesis can cut, and --gateways Api gateway processes (default 2) as entry points
          --silos <n>           silo processes in cluster mode (implies --cluster)
          --gateways <n>        Api gateway processes in cluster mode (0 allowed with --cohosted)
          --cohosted            cluster mode with Apis co-hosting the silos (each an entry point) instead of headless silos
          --seed <n>            seed of the harness's random choices (default 42)
          --ttl <t>             lease TTL the clients ask for (default 2s)
          --wait <t>            long-poll wait per acquire request (default 3s)
          --fault-interval <t>  calm time after each fault (default 4s)
          --rounds <n>          inject exactly n shuffled rounds of the fault list (each fault n times), ignoring --duration
          --slow-work <f>       fraction of critical sections whose work lasts about the TTL, then renews (default 0.05)
          --liveness <k>        critical sections per client required after the faults (default 3)
          --liveness-bound <t>  within how long after the faults end (default 60s)
          --soak                sustained load without faults, sampling memory, handles, threads, activations, connections
          --sample-interval <t> soak sampling period (default 5s)
          --history <path>      write the history as JSON lines
          --report <path>       also write the Markdown report to a file
          --logs <dir>          keep the service's output there (service-<n>.log per start)
          --api-dll <path>      the service assembly (default: the Api built with this tool; env ORLEANSLOCKS_API_DLL)
          --service-env K=V     extra environment for the service process (repeatable), e.g. Locks__RecoveryGrace=00:00:05
          --verbose             log the harness's progress in detail
        Exit code: 0 no violation, 1 violations (or a growth trend in a soak), 2 the harness itself failed.
        """;

    /// <summary>Parses the command line; throws <see cref="ArgumentException"/> naming the bad argument.</summary>
    public static RunOptions Parse(IReadOnlyList<string> args)
    {
        var options = new RunOptions();
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var faultsGiven = false;
        var gatewaysGiven = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value()
            {
                if (i + 1 >= args.Count)
                {
                    throw new ArgumentException($"{arg} needs a value.");
                }

                return args[++i];
            }

            options = arg switch
            {
                "--duration" => options with { Duration = ParseDuration(arg, Value()) },
                "--clients" => options with { Clients = ParsePositive(arg, Value()) },
                "--locks" => options with { Locks = ParsePositive(arg, Value()) },
                "--faults" => WithFaults(options, Value(), ref faultsGiven),
                "--cluster" => options with { Cluster = true },
                "--silos" => options with { Cluster = true, Silos = ParsePositive(arg, Value()) },
                "--gateways" => WithGateways(options, ParseCount(arg, Value()), ref gatewaysGiven),
                "--cohosted" => options with { Cluster = true, CoHosted = true },
                "--seed" => options with { Seed = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--ttl" => options with { Ttl = ParseDuration(arg, Value()) },
                "--wait" => options with { Wait = ParseDuration(arg, Value()) },
                "--fault-interval" => options with { FaultInterval = ParseDuration(arg, Value()) },
                "--rounds" => options with { Rounds = ParsePositive(arg, Value()) },
                "--slow-work" => options with { SlowWorkFraction = ParseFraction(arg, Value()) },
                "--liveness" => options with { LivenessCycles = ParsePositive(arg, Value()) },
                "--liveness-bound" => options with { LivenessBound = ParseDuration(arg, Value()) },
                "--soak" => options with { Soak = true },
                "--sample-interval" => options with { SampleInterval = ParseDuration(arg, Value()) },
                "--history" => options with { HistoryPath = Value() },
                "--report" => options with { ReportPath = Value() },
                "--logs" => options with { LogsPath = Value() },
                "--api-dll" => options with { ApiAssemblyPath = Value() },
                "--verbose" => options with { Verbose = true },
                "--service-env" => AddEnv(options, env, Value()),
                _ => throw new ArgumentException($"Unknown option '{arg}'."),
            };
        }

        if (options.Cluster)
        {
            options = options with
            {
                Faults = faultsGiven ? options.Faults : AllClusterFaults,
                Gateways = gatewaysGiven || !options.CoHosted ? options.Gateways : 0,
            };
            if (!options.CoHosted && options.Gateways == 0)
            {
                throw new ArgumentException("--gateways 0 leaves headless silos without an entry point; add --cohosted or a gateway.");
            }
        }
        else if (options.Faults.Where(ClusterOnlyFaults.Contains).ToList() is [var clusterOnly, ..])
        {
            throw new ArgumentException($"--faults: '{FaultName(clusterOnly)}' needs --cluster (a single silo has no proxies to cut).");
        }

        return options with { ServiceEnvironment = env };
    }

    private static RunOptions WithFaults(RunOptions options, string value, ref bool given)
    {
        given = true;
        return options with { Faults = ParseFaults(value) };
    }

    private static RunOptions WithGateways(RunOptions options, int gateways, ref bool given)
    {
        given = true;
        return options with { Cluster = true, Gateways = gateways };
    }

    private static int ParseCount(string arg, string value)
        => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? n
            : throw new ArgumentException($"{arg} must be a non-negative integer, got '{value}'.");

    private static RunOptions AddEnv(RunOptions options, Dictionary<string, string> env, string pair)
    {
        var eq = pair.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new ArgumentException($"--service-env expects KEY=VALUE, got '{pair}'.");
        }

        env[pair[..eq]] = pair[(eq + 1)..];
        return options;
    }

    private static double ParseFraction(string arg, string value)
        => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f is >= 0 and <= 1
            ? f
            : throw new ArgumentException($"{arg} must be a fraction between 0 and 1, got '{value}'.");

    private static int ParsePositive(string arg, string value)
        => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{arg} must be a positive integer, got '{value}'.");

    /// <summary>"90s", "2m", "1h", "500ms", or plain seconds.</summary>
    public static TimeSpan ParseDuration(string arg, string value)
    {
        (string Suffix, double Scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, scale) in units)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(value[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0)
            {
                return TimeSpan.FromSeconds(n * scale);
            }
        }

        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"{arg} must be a positive duration such as 90s, 2m or 500ms, got '{value}'.");
    }

    public static IReadOnlyList<FaultKind> ParseFaults(string value)
    {
        if (value is "none" or "")
        {
            return [];
        }

        if (value == "all")
        {
            return AllClusterFaults;
        }

        return [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseFault).Distinct()];
    }

    public static FaultKind ParseFault(string name) => name switch
    {
        "kill" => FaultKind.Kill,
        "pause" => FaultKind.Pause,
        "client-pause" => FaultKind.ClientPause,
        "pg-restart" => FaultKind.PgRestart,
        "pg-terminate" => FaultKind.PgTerminate,
        "drop" => FaultKind.Drop,
        "restart" => FaultKind.Restart,
        "pg-partition" => FaultKind.PgPartition,
        "partition" => FaultKind.Partition,
        "isolate" => FaultKind.Isolate,
        _ => throw new ArgumentException($"--faults: unknown fault '{name}' (known: kill, pause, client-pause, pg-restart, pg-terminate, drop, restart, pg-partition, partition, isolate)."),
    };

    public static string FaultName(FaultKind kind) => kind switch
    {
        FaultKind.Kill => "kill",
        FaultKind.Pause => "pause",
        FaultKind.ClientPause => "client-pause",
        FaultKind.PgRestart => "pg-restart",
        FaultKind.PgTerminate => "pg-terminate",
        FaultKind.Drop => "drop",
        FaultKind.Restart => "restart",
        FaultKind.PgPartition => "pg-partition",
        FaultKind.Partition => "partition",
        FaultKind.Isolate => "isolate",
        _ => kind.ToString(),
    };
}
