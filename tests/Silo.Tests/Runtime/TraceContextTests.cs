using System.Diagnostics;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>A grain call runs under its caller's Activity, whichever caller's ExecutionContext runs the turn loop.</summary>
public sealed class TraceContextTests
{
    [Fact]
    public async Task GrainCall_QueuedBehindAnotherCallersTurn_RunsUnderItsOwnCallersTrace()
    {
        await using var silo = await TestSilo.StartAsync(manualClock: false);
        var grain = silo.Grains.GetGrain<ITestGrain>("trace");
        await grain.EchoAsync("activate");

        // Caller A starts the turn loop and holds its turn; B's and C's calls queue behind it and are run by the loop
        // that A's call started (under A's ExecutionContext). The callers' activities stay open while they wait, as a
        // request's does.
        using var a = Start();
        var blocked = grain.BlockAsync("gate");
        Activity.Current = null;

        using var b = Start();
        var fromB = grain.GetTraceIdAsync();
        Activity.Current = null;

        var fromC = grain.GetTraceIdAsync();

        silo.Probe.Open("gate");
        await blocked.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(b.TraceId.ToString(), await fromB.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Null(await fromC.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    private static Activity Start()
    {
        var activity = new Activity("caller");
        activity.SetParentId(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        return activity.Start();
    }
}
