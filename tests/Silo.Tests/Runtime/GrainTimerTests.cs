using OrleansLocks.Runtime;
using OrleansLocks.Testing;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>Grain timers: ticks are turns of their activation, stop on dispose, and die with the activation.</summary>
public sealed class GrainTimerTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task RegisterGrainTimer_DueAndPeriod_TicksAsTurns()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("ticks");
        await grain.StartTimerAsync(Second, Second, keepAlive: false, writeOnTick: false);

        silo.Clock.Advance(Second);
        await Eventually.TrueAsync(async () => await grain.GetTimerTicksAsync() == 1, "first tick");
        silo.Clock.Advance(Second);
        await Eventually.TrueAsync(async () => await grain.GetTimerTicksAsync() == 2, "second tick");
    }

    [Fact]
    public async Task RegisterGrainTimer_TickWhileTurnBlocked_RunsAfterThatTurn()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("tick-turn");
        await grain.StartTimerAsync(Second, Timeout.InfiniteTimeSpan, keepAlive: false, writeOnTick: false);
        var blocked = grain.BlockAsync("gate");
        await Eventually.TrueAsync(() => silo.Probe.Events.Contains("tick-turn:block-start"), "turn blocked");

        silo.Clock.Advance(Second);
        silo.Probe.Open("gate");
        await blocked;

        await Eventually.TrueAsync(() => silo.Probe.Events.Contains("tick-turn:tick"), "tick ran");
        Assert.Equal(["tick-turn:block-start", "tick-turn:block-end", "tick-turn:tick"], silo.Probe.Events);
        Assert.Equal(1, silo.Probe.MaxConcurrency);
    }

    [Fact]
    public async Task GrainTimer_FiresWhileTickRuns_OneMoreTickFollows()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("coalesce");
        await grain.StartTimerAsync(Second, Second, keepAlive: false, writeOnTick: false);
        silo.Probe.TickGate = "tick-gate";

        silo.Clock.Advance(Second);
        await Eventually.TrueAsync(() => silo.Probe.Events.Count(e => e == "coalesce:tick") == 1, "first tick running");
        silo.Clock.Advance(Second * 3); // three fires while the first tick still runs
        silo.Probe.Open("tick-gate");

        await Eventually.TrueAsync(async () => await grain.GetTimerTicksAsync() == 2, "one coalesced tick after the first");
        Assert.Equal(2, silo.Probe.Events.Count(e => e == "coalesce:tick"));
        Assert.Equal(1, silo.Probe.MaxConcurrency);
    }

    [Fact]
    public async Task GrainTimer_Disposed_StopsTicking()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("stopped");
        var armedBefore = silo.Clock.ArmedTimerCount;
        await grain.StartTimerAsync(Second, Second, keepAlive: false, writeOnTick: false);
        Assert.Equal(armedBefore + 1, silo.Clock.ArmedTimerCount);

        await grain.StopTimerAsync();
        silo.Clock.Advance(Second * 5);

        Assert.Equal(armedBefore, silo.Clock.ArmedTimerCount);
        Assert.Equal(0, await grain.GetTimerTicksAsync()); // a tick would have been queued before this call
    }

    [Fact]
    public async Task GrainTimer_ActivationDeactivated_TimerDiesWithIt()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("dies");
        await grain.PingAsync();
        var armedBefore = silo.Clock.ArmedTimerCount;
        await grain.StartTimerAsync(Second, Second, keepAlive: true, writeOnTick: false);

        await grain.DeactivateAsync();
        await Eventually.TrueAsync(() => silo.Catalog.ActivationCount == 0, "deactivated");

        Assert.Equal(armedBefore, silo.Clock.ArmedTimerCount);
    }

    [Fact]
    public async Task GrainTimer_TickHitsStorageFailure_ActivationDropped()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("tick-fails");
        var first = await grain.GetActivationNumberAsync();
        await grain.StartTimerAsync(Second, Timeout.InfiniteTimeSpan, keepAlive: false, writeOnTick: true);
        silo.Storage.FailNextWrite(new StorageUnavailableException("down"));

        silo.Clock.Advance(Second);
        await Eventually.TrueAsync(() => silo.Probe.DeactivationsOf("tick-fails").Any(), "activation dropped");

        Assert.Equal([DeactivationReasonCode.ApplicationError], silo.Probe.DeactivationsOf("tick-fails"));
        Assert.NotEqual(first, await grain.GetActivationNumberAsync());
        Assert.Equal(0, await grain.GetCountAsync());
    }
}
