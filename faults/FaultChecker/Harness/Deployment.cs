using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace OrleansLocks.FaultChecker.Harness;

/*
 * Design note — what the harness runs.
 *
 * Single silo: one Api process co-hosting its silo on PostgreSQL; it is the only member and the only entry point.
 *
 * Cluster (--cluster): N silo processes (headless `OrleansLocks.Silo.dll`, or with --cohosted Apis co-hosting
 * their silo) and G Api gateway processes, all on one PostgreSQL database and one cluster id, every endpoint on
 * loopback. Clients are spread over the entry points (the gateways and co-hosted Apis), so the history mixes
 * requests routed by different membership views.
 * Each member silo sits behind two proxies of the harness (TcpProxy), which is how the nemesis makes partitions
 * without root:
 *  - its PostgreSQL connections go through a proxy of its own (its connection string names the proxy);
 *  - its silo port is reached through a proxy: the silo listens on 127.0.0.(10+i):P and advertises 127.0.0.1:P,
 *    where the proxy listens. Peers and gateways only know the advertised endpoint, so blackholing that proxy cuts
 *    every way *into* the silo; its own calls out (to peers, to PostgreSQL if not cut) still go through — an
 *    asymmetric partition, which is what makes the others declare it dead while it still believes it is alive.
 * Gateways reach PostgreSQL directly: the nemesis cuts silos, not the front door.
 * Ports stay fixed for a member's life, so a restarted silo takes over its own endpoint (and declares its previous
 * incarnation dead at once), as a restarted pod with a stable address does.
 */

/// <summary>One silo-hosting process with the proxies the nemesis can cut.</summary>
internal sealed record Member(ServiceProcess Process, TcpProxy? PostgresProxy, TcpProxy? SiloProxy, bool IsEntryPoint)
{
    public string Name => Process.Name;
}

/// <summary>The processes of a run: members (silos), gateways, their proxies and the entry points clients use.</summary>
internal sealed class Deployment : IAsyncDisposable
{
    private readonly List<TcpProxy> _proxies;

    private Deployment(bool cluster, IReadOnlyList<Member> members, IReadOnlyList<ServiceProcess> gateways, List<TcpProxy> proxies)
    {
        IsCluster = cluster;
        Members = members;
        Gateways = gateways;
        _proxies = proxies;
        EntryPoints = [.. members.Where(m => m.IsEntryPoint).Select(m => m.Process.BaseAddress).Concat(gateways.Select(g => g.BaseAddress))];
        Processes = [.. members.Select(m => m.Process).Concat(gateways)];
    }

    public bool IsCluster { get; }

    /// <summary>The processes that host silos (the nemesis's targets).</summary>
    public IReadOnlyList<Member> Members { get; }

    public IReadOnlyList<ServiceProcess> Gateways { get; }

    /// <summary>Every process of the service (crash watch, soak sampling).</summary>
    public IReadOnlyList<ServiceProcess> Processes { get; }

    /// <summary>Where clients send their HTTP requests.</summary>
    public IReadOnlyList<Uri> EntryPoints { get; }

    /// <summary>Starts the service as the options say and waits until every process is ready.</summary>
    public static async Task<Deployment> StartAsync(
        RunOptions options,
        IReadOnlyDictionary<string, string> environment,
        string serviceConnectionString,
        string logDirectory,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        var readyTimeout = TimeSpan.FromSeconds(180);
        if (!options.Cluster)
        {
            var single = new Dictionary<string, string>(environment, StringComparer.Ordinal)
            {
                // On PostgreSQL the service's silo is a cluster member (a cluster of one). Its silo port is fixed for
                // the run, so a restarted service takes over its predecessor's endpoint (and declares it dead) at
                // once, and free, so the run never competes with another service on this machine for 11111.
                ["Silo__SiloPort"] = FreePort(IPAddress.Loopback).ToString(CultureInfo.InvariantCulture),
                ["Silo__AdvertisedAddress"] = "127.0.0.1",
                ["Silo__ListenAddress"] = "127.0.0.1",
            };
            foreach (var (key, value) in options.ServiceEnvironment)
            {
                single[key] = value;
            }

            var service = new ServiceProcess(options.ApiAssemblyPath, single, logDirectory, logger);
            var deployment = new Deployment(false, [new Member(service, null, null, IsEntryPoint: true)], [], []);
            try
            {
                await service.StartAsync(readyTimeout, cancellationToken);
            }
            catch
            {
                await deployment.DisposeAsync();
                throw;
            }

            return deployment;
        }

        var siloAssembly = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.ApiAssemblyPath))!, "OrleansLocks.Silo.dll");
        var memberAssembly = options.CoHosted ? options.ApiAssemblyPath : siloAssembly;
        var postgres = await PostgresEndpointAsync(serviceConnectionString, cancellationToken);
        var clusterId = "faults-" + Guid.NewGuid().ToString("N")[..8];
        var proxies = new List<TcpProxy>();
        var members = new List<Member>();
        var gateways = new List<ServiceProcess>();
        for (var i = 1; i <= options.Silos; i++)
        {
            var name = $"silo{i}";
            var pgProxy = new TcpProxy($"{name}-postgres", new IPEndPoint(IPAddress.Loopback, 0), postgres);
            proxies.Add(pgProxy);

            // The proxy takes a free port on 127.0.0.1; the silo listens on the same port of its own loopback address.
            var listenAddress = IPAddress.Parse($"127.0.0.{10 + i}");
            var siloProxy = new TcpProxy($"{name}-silo-port", new IPEndPoint(IPAddress.Loopback, 0), new IPEndPoint(listenAddress, 0));
            proxies.Add(siloProxy);
            var siloPort = siloProxy.Endpoint.Port;

            var proxied = new NpgsqlConnectionStringBuilder(serviceConnectionString)
            {
                Host = "127.0.0.1",
                Port = pgProxy.Endpoint.Port,
            }.ConnectionString;
            var env = ClusterEnvironment(environment, clusterId, proxied);
            env["Silo__SiloName"] = name;
            env["Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
            env["Silo__AdvertisedAddress"] = "127.0.0.1";
            env["Silo__ListenAddress"] = listenAddress.ToString();
            foreach (var (key, value) in options.ServiceEnvironment)
            {
                env[key] = value;
            }

            members.Add(new Member(new ServiceProcess(memberAssembly, env, logDirectory, logger, name), pgProxy, siloProxy, IsEntryPoint: options.CoHosted));
        }

        for (var i = 1; i <= options.Gateways; i++)
        {
            var env = ClusterEnvironment(environment, clusterId, serviceConnectionString);
            env["Api__Mode"] = "Gateway";
            foreach (var (key, value) in options.ServiceEnvironment)
            {
                env[key] = value;
            }

            gateways.Add(new ServiceProcess(options.ApiAssemblyPath, env, logDirectory, logger, $"gateway{i}"));
        }

        var cluster = new Deployment(true, members, gateways, proxies);
        try
        {
            // Silos start together (joining is safe concurrently), gateways once some silo is active.
            await Task.WhenAll(members.Select(m => m.Process.StartAsync(readyTimeout, cancellationToken)));
            await Task.WhenAll(gateways.Select(g => g.StartAsync(readyTimeout, cancellationToken)));
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        logger.ClusterReady(members.Count, gateways.Count, string.Join(", ", cluster.EntryPoints));
        return cluster;
    }

    /// <summary>The settings every process of the cluster shares.</summary>
    private static Dictionary<string, string> ClusterEnvironment(IReadOnlyDictionary<string, string> environment, string clusterId, string connectionString)
        => new(environment, StringComparer.Ordinal)
        {
            ["Silo__ServiceId"] = "faults",
            ["Silo__ClusterId"] = clusterId,
            ["Storage__PostgresConnectionString"] = connectionString,
            ["ConnectionStrings__Postgres"] = connectionString,
        };

    private static async Task<IPEndPoint> PostgresEndpointAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var host = builder.Host ?? "127.0.0.1";
        if (host.StartsWith('/'))
        {
            throw new InvalidOperationException($"Cluster mode puts a TCP proxy in front of PostgreSQL; the server at '{host}' is a Unix socket. Give a TCP host in ORLEANSLOCKS_TEST_POSTGRES.");
        }

        var address = IPAddress.TryParse(host, out var ip)
            ? ip
            : (await Dns.GetHostAddressesAsync(host, cancellationToken)).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        return new IPEndPoint(address, builder.Port);
    }

    private static int FreePort(IPAddress address)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        // Gateways first (they call silos), then silos together, then the proxies they talk through.
        foreach (var gateway in Gateways)
        {
            await gateway.DisposeAsync();
        }

        await Task.WhenAll(Members.Select(m => m.Process.DisposeAsync().AsTask()));
        foreach (var proxy in _proxies)
        {
            await proxy.DisposeAsync();
        }
    }
}
