using System.Globalization;

namespace OrleansLocks.Benchmarks;

/// <summary>
/// Command line of the load generator (hand-parsed: two dozen flags do not need a parser package).
/// Endpoints of the peers are given by bench/run.sh, which starts them; a peer whose endpoint is missing is skipped.
/// </summary>
internal sealed class BenchOptions
{
    public static readonly string[] AllSystems =
        ["service-sqlite", "service-postgres", "service-cluster", "etcd", "redis", "pg-advisory", "pg-lease-table", "ceiling-http", "ceiling-pg"];

    public static readonly string[] AllWorkloads = ["uncontended", "hot", "read-mostly", "many-names"];

    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(3);

    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Unmeasured load on each lock system before its first cell (every workload it runs, in turn), so that a server
    /// that just started is measured after its JIT has compiled the hot paths, as a long-running service is.
    /// </summary>
    public TimeSpan SystemWarmup { get; private set; } = TimeSpan.FromSeconds(6);

    public IReadOnlyList<string> Systems { get; private set; } = AllSystems;

    public IReadOnlyList<string> Workloads { get; private set; } = AllWorkloads;

    public IReadOnlyList<int> Clients { get; private set; } = [1, 16, 64];

    public IReadOnlyList<int> HotClients { get; private set; } = [16];

    public int ReadMostlyClients { get; private set; } = 16;

    /// <summary>How often each cell of workloads 1–3 runs; the run with the median throughput is reported.</summary>
    public int Repeat { get; private set; } = 1;

    public int ReadMostlyLocks { get; private set; } = 8;

    public int Names { get; private set; } = 100_000;

    public int Held { get; private set; } = 20_000;

    public int ManyNamesClients { get; private set; } = 64;

    public TimeSpan ManyNamesTimeLimit { get; private set; } = TimeSpan.FromMinutes(4);

    public TimeSpan CollectionAge { get; private set; } = TimeSpan.FromSeconds(20);

    public string ManyNamesStore { get; private set; } = "sqlite";

    public string? PostgresAdmin { get; private set; }

    public string? EtcdUrl { get; private set; }

    public string? RedisEndpoint { get; private set; }

    public string? ApiDll { get; private set; }

    public string WorkDirectory { get; private set; } = Path.Combine(Path.GetTempPath(), "orleanslocks-bench");

    public string? OutputFile { get; private set; }

    public string Ttl { get; private set; } = "30000";

    public static string Usage => """
        OrleansLocks.Benchmarks run [options]          (normally started by bench/run.sh, which starts the peers)
          --duration <s>          measured seconds per cell (default 3)
          --warmup <s>            warm-up seconds per cell, not measured (default 1)
          --system-warmup <s>     unmeasured load on each lock system before its first cell (default 6; 0 = none)
          --systems <list>        comma list of: service-sqlite, service-postgres, service-cluster, etcd, redis, pg-advisory,
                                  pg-lease-table, ceiling-http, ceiling-pg  (default all)
          --workloads <list>      comma list of: uncontended, hot, read-mostly, many-names (default all)
          --clients <list>        client counts of the uncontended workload (default 1,16,64)
          --hot-clients <list>    client counts of the hot-lock workload (default 16)
          --read-clients <n>      clients of the read-mostly workload (default 16)
          --repeat <n>            run each cell of workloads 1-3 n times, report the median-throughput run (default 1)
          --names <n>             distinct names of the many-names workload (default 100000)
          --held <n>              leases held at once in the many-names workload (default 20000)
          --full                  many names at full size: --names 1000000 --held 100000
          --names-time-limit <s>  bound on each many-names phase (default 240)
          --collection-age <s>    GrainCollection:CollectionAge of the many-names service (default 20)
          --many-names-store <s>  sqlite or postgres (default sqlite)
          --postgres <cs>         admin connection string of the throwaway PostgreSQL
          --etcd <url>            etcd client URL (http://127.0.0.1:port)
          --redis <host:port>     Redis endpoint
          --api-dll <path>        the built OrleansLocks.Api.dll
          --work-dir <path>       scratch directory (SQLite files)
          --out <file>            also write the Markdown report here
        OrleansLocks.Benchmarks serve-trivial --urls http://127.0.0.1:<port>
        OrleansLocks.Benchmarks self-check
        """;

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name == "--full")
            {
                options.Names = 1_000_000;
                options.Held = 100_000;
                continue;
            }

            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"{name} needs a value.\n{Usage}");
            }

            var value = args[++i];
            switch (name)
            {
                case "--duration": options.Duration = Seconds(name, value); break;
                case "--warmup": options.Warmup = Seconds(name, value, allowZero: true); break;
                case "--system-warmup": options.SystemWarmup = Seconds(name, value, allowZero: true); break;
                case "--systems": options.Systems = List(name, value, AllSystems); break;
                case "--workloads": options.Workloads = List(name, value, AllWorkloads); break;
                case "--clients": options.Clients = Counts(name, value); break;
                case "--hot-clients": options.HotClients = Counts(name, value); break;
                case "--read-clients": options.ReadMostlyClients = Count(name, value); break;
                case "--repeat": options.Repeat = Count(name, value) is var r && r <= 9 ? r : throw new ArgumentException($"{name}: at most 9."); break;
                case "--names": options.Names = Count(name, value); break;
                case "--held": options.Held = Count(name, value); break;
                case "--names-time-limit": options.ManyNamesTimeLimit = Seconds(name, value); break;
                case "--collection-age": options.CollectionAge = Seconds(name, value); break;
                case "--many-names-store":
                    options.ManyNamesStore = value is "sqlite" or "postgres"
                        ? value
                        : throw new ArgumentException($"{name}: sqlite or postgres, not '{value}'.");
                    break;
                case "--postgres": options.PostgresAdmin = value; break;
                case "--etcd": options.EtcdUrl = value.TrimEnd('/'); break;
                case "--redis": options.RedisEndpoint = value; break;
                case "--api-dll": options.ApiDll = value; break;
                case "--work-dir": options.WorkDirectory = value; break;
                case "--out": options.OutputFile = value; break;
                default: throw new ArgumentException($"Unknown option {name}.\n{Usage}");
            }
        }

        return options;
    }

    public bool Runs(string system) => Systems.Contains(system);

    /// <summary>These options with other cell times (for the unmeasured system warm-up).</summary>
    public BenchOptions WithCellTimes(TimeSpan warmup, TimeSpan duration)
    {
        var copy = (BenchOptions)MemberwiseClone();
        copy.Warmup = warmup;
        copy.Duration = duration;
        return copy;
    }

    public bool RunsWorkload(string workload) => Workloads.Contains(workload);

    private static TimeSpan Seconds(string name, string value, bool allowZero = false)
        => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && (s > 0 || (allowZero && s == 0)) && s <= 3600
            ? TimeSpan.FromSeconds(s)
            : throw new ArgumentException($"{name}: a number of seconds (0 < s <= 3600), not '{value}'.");

    private static int Count(string name, string value)
        => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= 10_000_000
            ? n
            : throw new ArgumentException($"{name}: a positive count, not '{value}'.");

    private static int[] Counts(string name, string value)
        => [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => Count(name, v) is var n && n <= 1024
            ? n
            : throw new ArgumentException($"{name}: at most 1024 clients."))];

    private static string[] List(string name, string value, string[] allowed)
    {
        var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        items = [.. items.Distinct()];
        var unknown = items.Where(x => !allowed.Contains(x)).ToArray();
        return unknown.Length == 0 && items.Length > 0
            ? items
            : throw new ArgumentException($"{name}: unknown {string.Join(", ", unknown)}; choose from {string.Join(", ", allowed)}.");
    }
}
