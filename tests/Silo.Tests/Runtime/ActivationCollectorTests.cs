using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Runtime;
using OrleansLocks.Testing;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>Idle collection: by age, every quantum, unless a keep-alive timer is armed.</summary>
public sealed class ActivationCollectorTests
{
    private static readonly Dictionary<string, string?> Collection = new()
    {
        ["GrainCollection:CollectionAge"] = "00:10:00",
        ["GrainCollection:CollectionQuantum"] = "00:01:00",
    };

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Collect_IdleActivations_DeactivatedExceptRecentlyUsedOrKeptAlive()
    {
        await using var silo = await TestSilo.StartAsync(Collection);
        await silo.Grain("idle").PingAsync();
        await silo.Grain("plain-timer").StartTimerAsync(TimeSpan.FromSeconds(30), TimeSpan.FromHours(1), keepAlive: false, writeOnTick: false);
        await silo.Grain("kept").StartTimerAsync(TimeSpan.FromHours(1), TimeSpan.FromHours(1), keepAlive: true, writeOnTick: false);
        await silo.Grain("busy").PingAsync();

        silo.Clock.Advance(Minute * 9);
        await silo.Grain("busy").GetCountAsync();
        await Eventually.TrueAsync(() => IsIdle(silo, "plain-timer"), "the plain timer's tick finished");
        silo.Clock.Advance(Minute * 2);

        await Eventually.TrueAsync(() => silo.Catalog.ActivationCount == 2, "idle activations collected");
        Assert.Equal([DeactivationReasonCode.ActivationIdle], silo.Probe.DeactivationsOf("idle"));
        Assert.Equal([DeactivationReasonCode.ActivationIdle], silo.Probe.DeactivationsOf("plain-timer"));
        Assert.True(silo.Catalog.TryGetActivation(TestSilo.Id("kept"), out _));
        Assert.True(silo.Catalog.TryGetActivation(TestSilo.Id("busy"), out _));
        Assert.Contains("plain-timer:tick", silo.Probe.Events);
    }

    [Fact]
    public async Task Collect_KeepAliveTimerThatFiredOnce_NoLongerKeepsAlive()
    {
        await using var silo = await TestSilo.StartAsync(Collection);
        var grain = silo.Grain("one-shot");
        await grain.StartTimerAsync(Minute, Timeout.InfiniteTimeSpan, keepAlive: true, writeOnTick: false);

        silo.Clock.Advance(Minute);
        await Eventually.TrueAsync(async () => await grain.GetTimerTicksAsync() == 1, "the keep-alive tick ran");
        await Eventually.TrueAsync(() => IsIdle(silo, "one-shot"), "the tick's turn finished");
        silo.Clock.Advance(Minute * 10);

        await Eventually.TrueAsync(() => silo.Catalog.ActivationCount == 0, "collected once its keep-alive timer is spent");
        Assert.Equal([DeactivationReasonCode.ActivationIdle], silo.Probe.DeactivationsOf("one-shot"));
    }

    [Fact]
    public async Task Collect_CollectedGrain_ReactivatesOnNextCallWithItsState()
    {
        await using var silo = await TestSilo.StartAsync(Collection);
        var grain = silo.Grain("comes-back");
        Assert.Equal(1, await grain.IncrementAsync());

        silo.Clock.Advance(Minute * 10);
        await Eventually.TrueAsync(() => silo.Catalog.ActivationCount == 0, "collected");

        Assert.Equal(2, await grain.IncrementAsync());
    }

    [Fact]
    public async Task Collect_PassCollectedAtLeastThreshold_NextPassReleasesMemoryOnce()
    {
        await using var silo = await TestSilo.StartAsync(new Dictionary<string, string?>(Collection)
        {
            ["GrainCollection:ReleaseMemoryAfterCollecting"] = "2",
        });
        var collector = silo.Services.GetRequiredService<ActivationCollector>();
        var releases = 0;
        collector.ReleaseMemory = () => Interlocked.Increment(ref releases);
        await silo.Grain("a").PingAsync();
        await silo.Grain("b").PingAsync();

        silo.Clock.Advance(Minute * 10);
        await Eventually.TrueAsync(() => silo.Catalog.ActivationCount == 0, "both idle activations collected");
        Assert.Equal(0, Volatile.Read(ref releases));

        silo.Clock.Advance(Minute);
        Assert.Equal(1, Volatile.Read(ref releases)); // the pass after the large one (the timer fires during Advance)
        Assert.Equal(0, collector.CollectOnce());
        Assert.Equal(1, Volatile.Read(ref releases)); // a pass that collected nothing does not release again
    }

    [Fact]
    public async Task Collect_ThresholdReachedOverTwoPasses_NextPassReleasesMemory()
    {
        await using var silo = await TestSilo.StartAsync(new Dictionary<string, string?>(Collection)
        {
            ["GrainCollection:ReleaseMemoryAfterCollecting"] = "2",
        });
        var collector = silo.Services.GetRequiredService<ActivationCollector>();
        var releases = 0;
        collector.ReleaseMemory = () => Interlocked.Increment(ref releases);
        await silo.Grain("early").PingAsync();
        silo.Clock.Advance(Minute * 5);
        await silo.Grain("late").PingAsync();

        silo.Clock.Advance(Minute * 5);
        await Eventually.TrueAsync(() => silo.Catalog.ActivationCount == 1, "the early activation collected");
        silo.Clock.Advance(Minute * 5);
        await Eventually.TrueAsync(() => silo.Catalog.ActivationCount == 0, "the late activation collected");
        Assert.Equal(0, Volatile.Read(ref releases));

        silo.Clock.Advance(Minute);
        Assert.Equal(1, Volatile.Read(ref releases));
    }

    [Fact]
    public async Task Collect_PassBelowThreshold_NeverReleasesMemory()
    {
        await using var silo = await TestSilo.StartAsync(new Dictionary<string, string?>(Collection)
        {
            ["GrainCollection:ReleaseMemoryAfterCollecting"] = "3",
        });
        var collector = silo.Services.GetRequiredService<ActivationCollector>();
        var releases = 0;
        collector.ReleaseMemory = () => Interlocked.Increment(ref releases);
        await silo.Grain("a").PingAsync();
        await silo.Grain("b").PingAsync();

        silo.Clock.Advance(Minute * 11);
        await Eventually.TrueAsync(() => silo.Catalog.ActivationCount == 0, "both idle activations collected");
        Assert.Equal(0, collector.CollectOnce());

        Assert.Equal(0, Volatile.Read(ref releases));
    }

    private static bool IsIdle(TestSilo silo, string key)
        => silo.Catalog.TryGetActivation(TestSilo.Id(key), out var activation) && activation.IsIdle;
}
