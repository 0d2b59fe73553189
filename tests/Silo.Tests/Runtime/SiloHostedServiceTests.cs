using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Runtime;
using OrleansLocks.Testing;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>The silo's life cycle: status, graceful shutdown, health.</summary>
public sealed class SiloHostedServiceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task StartAsync_SiloBecomesActive_AndHealthy()
    {
        await using var silo = await TestSilo.StartAsync();

        Assert.Equal(SiloStatus.Active, silo.Silo.Status);
        Assert.Equal("test-silo", silo.Silo.SiloName);
        Assert.Equal("local", silo.Silo.SiloAddress);
        Assert.Equal(silo.Clock.GetUtcNow(), silo.Silo.StartedAt);
        Assert.Equal(HealthStatus.Healthy, (await CheckHealthAsync(silo.Services)).Status);
        await silo.Grain("a").PingAsync();
        Assert.Equal(1, silo.Silo.ActivationCount);
    }

    [Fact]
    public async Task Invoke_BeforeStart_ThrowsSiloUnavailable()
    {
        using var host = TestSilo.Build(null, manualClock: true, null, out _);
        var grain = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ITestGrain>("early");

        await Assert.ThrowsAsync<SiloUnavailableException>(grain.PingAsync);
        Assert.Equal(SiloStatus.Created, host.Services.GetRequiredService<ILocalSiloDetails>().Status);
        Assert.Equal(HealthStatus.Unhealthy, (await CheckHealthAsync(host.Services)).Status);
    }

    [Fact]
    public async Task StopAsync_DeactivatesEveryActivation_ThenCallsThrowSiloUnavailable()
    {
        await using var silo = await TestSilo.StartAsync();
        foreach (var key in new[] { "a", "b", "c" })
        {
            await silo.Grain(key).IncrementAsync();
        }

        await silo.StopAsync();

        Assert.Equal(SiloStatus.Dead, silo.Silo.Status);
        Assert.Equal(0, silo.Silo.ActivationCount);
        Assert.Equal(3, silo.Probe.Deactivations.Count);
        Assert.All(silo.Probe.Deactivations, d => Assert.Equal(DeactivationReasonCode.ShuttingDown, d.Reason.ReasonCode));
        await Assert.ThrowsAsync<SiloUnavailableException>(silo.Grain("a").GetCountAsync);
        Assert.Equal(HealthStatus.Unhealthy, (await CheckHealthAsync(silo.Services)).Status);
    }

    [Fact]
    public async Task StopAsync_WhileTurnRuns_FinishesThatTurnAndFailsQueuedCalls()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("busy");
        var blocked = grain.BlockAsync("gate");
        var queued = grain.IncrementAsync();
        await Eventually.TrueAsync(() => silo.Probe.Events.Contains("busy:block-start"), "turn running");

        var stopping = silo.StopAsync();
        await Eventually.TrueAsync(() => silo.Silo.Status == SiloStatus.ShuttingDown, "shutting down");
        await Assert.ThrowsAsync<SiloUnavailableException>(silo.Grain("other").PingAsync);
        silo.Probe.Open("gate");

        await blocked.WaitAsync(Patience);
        await Assert.ThrowsAsync<SiloUnavailableException>(() => queued.WaitAsync(Patience));
        await stopping.WaitAsync(Patience);
        Assert.Equal(SiloStatus.Dead, silo.Silo.Status);
        Assert.Equal([DeactivationReasonCode.ShuttingDown], silo.Probe.DeactivationsOf("busy"));
        Assert.Null(silo.Storage.Get<CounterState>(TestGrain.StateName, TestSilo.Id("busy")));
    }

    [Fact]
    public async Task StopAsync_TurnOutlastsDeactivationTimeout_ActivationDroppedAndQueuedCallsFail()
    {
        await using var silo = await TestSilo.StartAsync(new Dictionary<string, string?> { ["GrainCollection:DeactivationTimeout"] = "00:00:05" });
        var grain = silo.Grain("stuck");
        _ = grain.BlockAsync("never");
        var queued = grain.GetCountAsync();
        await Eventually.TrueAsync(() => silo.Probe.Events.Contains("stuck:block-start"), "turn running");

        var stopping = silo.StopAsync();
        await Eventually.TrueAsync(() => silo.Clock.ArmedTimerCount > 0 && silo.Silo.Status == SiloStatus.ShuttingDown, "waiting for deactivation");
        silo.Clock.Advance(TimeSpan.FromSeconds(5));

        await stopping.WaitAsync(Patience);
        await Assert.ThrowsAsync<SiloUnavailableException>(() => queued.WaitAsync(Patience));
        Assert.Equal(0, silo.Silo.ActivationCount);
        Assert.Equal(SiloStatus.Dead, silo.Silo.Status);
        silo.Probe.Open("never");
    }

    private static Task<HealthReport> CheckHealthAsync(IServiceProvider services)
    {
        var collection = new ServiceCollection();
        collection.AddLogging();
        collection.AddSingleton(services.GetRequiredService<ILocalSiloDetails>());
        collection.AddHealthChecks().AddSiloHealthCheck("ready");
        return collection.BuildServiceProvider().GetRequiredService<HealthCheckService>().CheckHealthAsync();
    }
}
