using System.Globalization;
using System.Text.Json.Nodes;
using OrleansLocks.Cli;
using OrleansLocks.Client.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Client.Tests;

public sealed class LocksCliTests(LockServiceFixture fixture) : IClassFixture<LockServiceFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("locks-cli-tests-").FullName;

    private string Url => fixture.Service.BaseAddress.AbsoluteUri;

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Run_Command_GetsTheLeaseInItsEnvironmentAndTheLockIsReleasedAfter()
    {
        var name = NewName("run-env");
        var file = Path.Combine(_directory, "env.txt");

        var result = await LocksTool.RunAsync("run", name, "--url", Url, "--", "sh", "-c", $"echo \"$LOCKS_FENCING_TOKEN $LOCKS_LOCK_NAME $LOCKS_LEASE_ID\" > {file}");

        Assert.True(result.ExitCode == 0, result.ToString());
        var fields = (await File.ReadAllTextAsync(file)).Trim().Split(' ');
        var client = fixture.Service.CreateClient();
        var state = await client.GetStateAsync(name);
        Assert.True(state.IsFree, "the lock was not released after the command");
        Assert.Equal(state.FencingCounter.ToString(CultureInfo.InvariantCulture), fields[0]);
        Assert.Equal(name, fields[1]);
        Assert.Equal(22, fields[2].Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(42)]
    public async Task Run_Command_ExitsWithTheCommandsExitCode(int code)
    {
        var result = await LocksTool.RunAsync("run", NewName("run-exit"), "--url", Url, "--", "sh", "-c", $"exit {code}");

        Assert.True(result.ExitCode == code, result.ToString());
    }

    [Fact]
    public async Task Run_LeaseLost_StopsTheCommandTreeAndExitsLeaseLost()
    {
        var name = NewName("run-lost");
        var shPid = Path.Combine(_directory, "sh.pid");
        var sleepPid = Path.Combine(_directory, "sleep.pid");

        // The shell ignores SIGTERM (and so does the sleep it starts): only the SIGKILL after the grace stops them.
        var script = $"trap '' TERM; echo $$ > {shPid}.tmp; mv {shPid}.tmp {shPid}; sleep 300 & echo $! > {sleepPid}.tmp; mv {sleepPid}.tmp {sleepPid}; wait";
        var run = LocksTool.RunAsync("run", name, "--url", Url, "--ttl", "3s", "--kill-grace", "1s", "--", "sh", "-c", script);
        await Eventually.TrueAsync(() => File.Exists(shPid) && File.Exists(sleepPid), "the command started");
        var pids = new[] { int.Parse(await File.ReadAllTextAsync(shPid), CultureInfo.InvariantCulture), int.Parse(await File.ReadAllTextAsync(sleepPid), CultureInfo.InvariantCulture) };
        Assert.All(pids, pid => Assert.True(IsRunning(pid), $"pid {pid} is not running"));
        Assert.False(run.IsCompleted);

        var client = fixture.Service.CreateClient();
        await client.ForceReleaseAsync(name, "test: take the lock away from a running command");

        var result = await run.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == ExitCodes.LeaseLost, result.ToString());
        Assert.Contains("lost (ForceReleased)", result.Error, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => pids.All(pid => !IsRunning(pid)), "the command and its child are gone");
    }

    [Fact]
    public async Task Run_LockHeld_ExitsNotAcquiredWithoutRunningTheCommand()
    {
        var name = NewName("run-busy");
        var marker = Path.Combine(_directory, "ran");
        var client = fixture.Service.CreateClient();
        await using var holder = await client.AcquireAsync(name);

        var result = await LocksTool.RunAsync("run", name, "--url", Url, "--wait", "200ms", "--", "touch", marker);

        Assert.True(result.ExitCode == ExitCodes.NotAcquired, result.ToString());
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Run_ServiceUnreachable_ExitsServiceUnavailable()
    {
        var result = await LocksTool.RunAsync("run", "x", "--url", "http://127.0.0.1:1/", "--wait", "0", "--", "true");

        Assert.True(result.ExitCode == ExitCodes.ServiceUnavailable, result.ToString());
    }

    [Fact]
    public async Task Run_CommandNotFound_Exits127AndReleases()
    {
        var name = NewName("run-missing");
        var result = await LocksTool.RunAsync("run", name, "--url", Url, "--", "/nonexistent/command");

        Assert.True(result.ExitCode == ExitCodes.CommandNotFound, result.ToString());
        var client = fixture.Service.CreateClient();
        Assert.True((await client.GetStateAsync(name)).IsFree);
    }

    [Fact]
    public async Task ScriptCommands_AcquireRenewStatusReleaseWithJson()
    {
        var name = NewName("script");

        var acquired = await LocksTool.RunAsync("acquire", name, "--url", Url, "--ttl", "PT20S", "--owner", "script-1", "--json");
        Assert.True(acquired.ExitCode == 0, acquired.ToString());
        var lease = JsonNode.Parse(acquired.Output)!;
        var leaseId = lease["leaseId"]!.GetValue<string>();
        Assert.Equal("exclusive", lease["mode"]!.GetValue<string>());

        var busy = await LocksTool.RunAsync("acquire", name, "--url", Url);
        Assert.True(busy.ExitCode == ExitCodes.NotAcquired, busy.ToString());

        var renewed = await LocksTool.RunAsync("renew", name, leaseId, "--url", Url, "--ttl", "40s", "--json");
        Assert.True(renewed.ExitCode == 0, renewed.ToString());
        Assert.InRange(JsonNode.Parse(renewed.Output)!["ttlMs"]!.GetValue<long>(), 30_000, 40_000);

        var status = await LocksTool.RunAsync("status", name, "--url", Url);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("script-1", status.Output, StringComparison.Ordinal);
        Assert.Contains("exclusive", status.Output, StringComparison.Ordinal);

        var list = await LocksTool.RunAsync("list", "--prefix", name, "--url", Url, "--json");
        Assert.Equal(name, JsonNode.Parse(list.Output)!["items"]![0]!["name"]!.GetValue<string>());

        var valid = await LocksTool.RunAsync("validate", name, lease["fencingToken"]!.ToString(), "--url", Url);
        Assert.True(valid.ExitCode == 0, valid.ToString());

        var released = await LocksTool.RunAsync("release", name, leaseId, "--url", Url);
        Assert.True(released.ExitCode == 0, released.ToString());
        var again = await LocksTool.RunAsync("renew", name, leaseId, "--url", Url);
        Assert.True(again.ExitCode == ExitCodes.LeaseLost, again.ToString());
        var stale = await LocksTool.RunAsync("validate", name, lease["fencingToken"]!.ToString(), "--url", Url);
        Assert.Equal(1, stale.ExitCode);
    }

    [Fact]
    public async Task ForceRelease_EndsTheLease()
    {
        var name = NewName("force");
        var client = fixture.Service.CreateClient();
        var handle = await client.AcquireAsync(name, options: new AcquireOptions { AutoRenew = false });

        var result = await LocksTool.RunAsync("force-release", name, "--reason", "test", "--url", Url);

        Assert.True(result.ExitCode == 0, result.ToString());
        await Assert.ThrowsAsync<LeaseLostException>(() => handle.RenewAsync());
        await handle.DisposeAsync();
    }

    [Fact]
    public async Task BadCommandLine_ExitsUsage()
    {
        Assert.Equal(ExitCodes.Usage, (await LocksTool.RunAsync("run", "name")).ExitCode);
        Assert.Equal(ExitCodes.Usage, (await LocksTool.RunAsync("run", "name", "--ttl", "soon", "--", "true")).ExitCode);
        Assert.Equal(ExitCodes.Usage, (await LocksTool.RunAsync("frobnicate")).ExitCode);
    }

    [Fact]
    public async Task Simulate_EmbeddedRealService_FindsNoViolations()
    {
        var result = await LocksTool.RunAsync("simulate", "--processes", "6", "--duration", "4s", "--locks", "2", "--json", "--quiet");

        Assert.True(result.ExitCode == 0, result.ToString());
        var summaryStart = result.Output.IndexOf('{', StringComparison.Ordinal);
        var summary = JsonNode.Parse(result.Output[summaryStart..])!;
        Assert.Equal(0, summary["violations"]!.GetValue<long>());
        Assert.True(summary["criticalSections"]!.GetValue<long>() > 0, result.ToString());
        Assert.True(summary["fairness"]!["maxGrants"]!.GetValue<int>() >= summary["fairness"]!["minGrants"]!.GetValue<int>());
    }

    [Fact]
    public async Task Simulate_RealServiceByUrl_PrintsEveryStepAndSummary()
    {
        var result = await LocksTool.RunAsync("simulate", "--processes", "4", "--duration", "3s", "--url", Url);

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var step in new[] { " request ", " granted ", " enter ", " release ", "critical sections", "p50", "p99", "fairness", "violations         0" })
        {
            Assert.Contains(step, result.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Simulate_BrokenLock_FailsLoudly()
    {
        await using var broken = await BrokenLockService.StartAsync();

        var result = await LocksTool.RunAsync("simulate", "--processes", "8", "--duration", "2s", "--hold", "20ms", "--quiet", "--url", broken.BaseAddress.AbsoluteUri);

        Assert.True(result.ExitCode == ExitCodes.Violation, result.ToString());
        Assert.Contains("VIOLATION MUTUAL EXCLUSION", result.Output, StringComparison.Ordinal);
        Assert.Contains("VIOLATION FENCING", result.Output, StringComparison.Ordinal);
        Assert.Contains("simulation FAILED", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Process_RunViaDotnet_PropagatesTheExitCodeAndReadsTheUrlFromTheEnvironment()
    {
        var result = await LocksTool.RunProcessAsync(
            new Dictionary<string, string> { ["LOCKS_URL"] = Url },
            "run", NewName("process"), "--", "sh", "-c", "test -n \"$LOCKS_FENCING_TOKEN\" && exit 5");

        Assert.True(result.ExitCode == 5, result.ToString());
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
