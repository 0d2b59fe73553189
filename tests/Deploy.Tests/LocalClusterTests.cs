using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OrleansLocks.Deploy.Tests;

/// <summary>
/// deploy/local/cluster.sh end to end: PostgreSQL from the OS packages, two headless silos and the Api as a gateway,
/// a lock acquired through the URL it prints, then stop, after which no process it started runs and its directory is
/// gone. It runs on this test project's build output (--bin), which holds a runnable Api and headless silo; the
/// script's own build step (dotnet publish) is the same command as any build and is checked by hand
/// (docs/deployment.md).
/// </summary>
public sealed partial class LocalClusterTests : IDisposable
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(5);
    private static readonly string Script = Repository.PathOf("deploy", "local", "cluster.sh");

    // Under the temporary directory (scripts/test.sh gives test hosts one the postgres user can reach).
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"orleanslocks-cluster-test-{Guid.NewGuid():N}");

    [Fact]
    public async Task StartTwoSilos_AcquireThroughPrintedUrl_StopLeavesNoProcessOrDirectory()
    {
        var start = await RunAsync("start", "--silos", "2", "--detach", "--bin", AppContext.BaseDirectory);
        Assert.True(start.ExitCode == 0, start.Describe("cluster.sh start") + Logs());

        var api = new Uri(Assert.Single(ApiUrlPattern().Matches(start.StandardOutput)).Groups[1].Value);
        using var http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(60) };

        using (var cluster = JsonDocument.Parse(await http.GetStringAsync("/cluster")))
        {
            var silos = cluster.RootElement.GetProperty("silos").EnumerateArray().ToList();
            Assert.Equal(2, silos.Count(s => s.GetProperty("status").GetString() == "active"));
            Assert.Equal(["silo-1", "silo-2"], silos.Select(s => s.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        }

        using (var acquire = await http.PostAsJsonAsync("/locks/deploy-test/acquire", new { owner = "deploy-test", ttl = 30_000 }))
        {
            Assert.Equal(HttpStatusCode.OK, acquire.StatusCode);
            using var lease = JsonDocument.Parse(await acquire.Content.ReadAsStringAsync());
            Assert.Equal(1, lease.RootElement.GetProperty("fencingToken").GetInt64());
        }

        // The container image's HEALTHCHECK command, run against this Api: healthy now, unhealthy once stopped.
        Assert.Equal(0, (await RunHealthCheckAsync(api)).ExitCode);

        var pids = ProcessIds();
        Assert.Equal(4, pids.Count);   // PostgreSQL, two silos, the Api
        Assert.All(pids, pid => Assert.True(IsRunning(pid), $"pid {pid} does not run"));

        // Starting again changes nothing: the same cluster, the same URL.
        var again = await RunAsync("start", "--silos", "2", "--detach", "--bin", AppContext.BaseDirectory);
        Assert.True(again.ExitCode == 0, again.Describe("cluster.sh start (again)"));
        Assert.Equal(api.ToString(), new Uri(ApiUrlPattern().Match(again.StandardOutput).Groups[1].Value).ToString());
        Assert.Equal(pids, ProcessIds());

        var status = await RunAsync("status");
        Assert.True(status.ExitCode == 0, status.Describe("cluster.sh status"));

        var stop = await RunAsync("stop");
        Assert.True(stop.ExitCode == 0, stop.Describe("cluster.sh stop"));
        Assert.False(Directory.Exists(_stateDirectory), $"{_stateDirectory} is left after stop");
        Assert.All(pids, pid => Assert.False(IsRunning(pid), $"pid {pid} still runs after stop"));
        Assert.NotEqual(0, (await RunHealthCheckAsync(api)).ExitCode);

        // Stopping or asking about a cluster that does not run is fine.
        var stopAgain = await RunAsync("stop");
        Assert.True(stopAgain.ExitCode == 0, stopAgain.Describe("cluster.sh stop (again)"));
        Assert.Equal(3, (await RunAsync("status")).ExitCode);
        Assert.False(Directory.Exists(_stateDirectory));
    }

    public void Dispose()
    {
        // Whatever happened above, nothing of this test may outlive it.
        if (Directory.Exists(_stateDirectory))
        {
            RunAsync("stop").GetAwaiter().GetResult();
        }
    }

    private Task<ToolResult> RunAsync(params string[] arguments)
        => Tool.RunAsync(
            Tool.Require("bash", "Install bash"),
            [Script, .. arguments],
            ScriptTimeout,
            environment: new Dictionary<string, string?> { ["ORLEANSLOCKS_CLUSTER_DIR"] = _stateDirectory });

    /// <summary>Runs deploy/docker/Dockerfile's HEALTHCHECK command (exec form) with the image's port variable set to the Api's port.</summary>
    private static Task<ToolResult> RunHealthCheckAsync(Uri api)
    {
        var line = File.ReadAllLines(Repository.PathOf("deploy", "docker", "Dockerfile")).Single(l => l.TrimStart().StartsWith("CMD [\"bash\"", StringComparison.Ordinal));
        var command = JsonSerializer.Deserialize<string[]>(line.TrimStart()["CMD ".Length..])!;
        return Tool.RunAsync(
            Tool.Require(command[0], "Install bash"),
            command[1..],
            TimeSpan.FromSeconds(30),
            environment: new Dictionary<string, string?> { ["ASPNETCORE_HTTP_PORTS"] = api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    /// <summary>The pids cluster.sh recorded, and PostgreSQL's postmaster.</summary>
    private List<int> ProcessIds()
    {
        var pids = Directory.GetFiles(Path.Combine(_stateDirectory, "pids"), "*.pid").Select(f => int.Parse(File.ReadAllText(f).Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        pids.Add(int.Parse(File.ReadLines(Path.Combine(_stateDirectory, "pg", "data", "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture));
        pids.Sort();
        return pids;
    }

    // A zombie (exited, not yet reaped by its parent) no longer runs. cluster.sh's children are reparented to init,
    // which reaps them at once.
    private static bool IsRunning(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private string Logs()
    {
        var logs = Path.Combine(_stateDirectory, "logs");
        return Directory.Exists(logs)
            ? string.Concat(Directory.GetFiles(logs).Select(f => $"{Environment.NewLine}--- {f}{Environment.NewLine}{File.ReadAllText(f)}"))
            : "";
    }

    [GeneratedRegex(@"^\s*API\s+(http://\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex ApiUrlPattern();
}
