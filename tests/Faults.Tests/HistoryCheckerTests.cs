using OrleansLocks.FaultChecker.Checking;
using OrleansLocks.FaultChecker.History;

namespace OrleansLocks.Faults.Tests;

/// <summary>
/// The checker on synthetic histories: a valid one passes, and every kind of violation is caught (a checker that
/// cannot fail is a defect). Times are ms on the history clock; leases have a 2000 ms TTL unless said otherwise.
/// </summary>
public sealed class HistoryCheckerTests
{
    private static void AssertOnly(CheckResult result, string rule)
    {
        Assert.False(result.Valid, "the checker accepted a history that breaks " + rule);
        Assert.All(result.ViolationCounts.Keys, k => Assert.Equal(rule, k));
        Assert.NotEmpty(result.Violations);
    }

    private static void AssertValid(CheckResult result)
        => Assert.True(result.Valid, string.Join("\n", result.Violations.Select(v => $"{v.Rule}: {v.Message}")));

    [Fact]
    public void Check_SequentialCriticalSections_NoViolation()
    {
        var h = new HistoryBuilder();
        h.Cycle("c1", 1, token: 1, at: 0);
        h.Cycle("c2", 1, token: 2, at: 100);
        h.Cycle("c1", 2, token: 3, at: 200);
        h.Read(Processes.Monitor, 60, 70, counter: 1);
        h.Quiesce(400, counter: 3);

        var result = h.Check();

        AssertValid(result);
        Assert.Equal(3, result.HoldsChecked);
    }

    [Fact]
    public void Check_OverlappingExclusiveHolds_ReportsMutualExclusion()
    {
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "a", 1, 0, 10);
        h.Acquire("c2", 1, "b", 2, 20, 30);
        h.Release("c1", 1, "a", 500, 510);
        h.Release("c2", 1, "b", 600, 610);
        h.Quiesce(1000, counter: 2);

        var result = h.Check();

        AssertOnly(result, Rules.MutualExclusion);
        var evidence = Assert.Single(result.Violations).Evidence;
        Assert.Contains(evidence, o => o.LeaseId == "a");
        Assert.Contains(evidence, o => o.LeaseId == "b");
    }

    [Fact]
    public void Check_GrantAfterEarlierLeaseExpired_NoViolation()
    {
        // c1 never releases (paused); its lease ends no earlier than 0 + 2000 ms. c2's grant completes after that.
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "a", 1, 0, 10);
        h.Acquire("c2", 1, "b", 2, 100, 2050);
        h.Release("c2", 1, "b", 2100, 2110);
        h.Release("c1", 1, "a", 3000, 3010, OpOutcome.Fail, 410);
        h.Quiesce(4000, counter: 2);

        AssertValid(h.Check());
    }

    [Fact]
    public void Check_GrantBeforeConservativeExpiry_ReportsMutualExclusion()
    {
        // c1's lease is known to last until 0 + 2000 - tolerance; c2 knows it holds from 1900.
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "a", 1, 0, 10);
        h.Acquire("c2", 1, "b", 2, 100, 1900);
        h.Release("c2", 1, "b", 2100, 2110);
        h.Quiesce(4000, counter: 2);

        AssertOnly(h.Check(), Rules.MutualExclusion);
    }

    [Fact]
    public void Check_RenewExtendsKnownExpiry_OverlapAfterOriginalTtlReported()
    {
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "a", 1, 0, 10);
        h.Renew("c1", 1, "a", 1, 1500, 1510);
        h.Acquire("c2", 1, "b", 2, 100, 2500, ttlMs: 5000);
        h.Quiesce(5000, counter: 2);

        AssertOnly(h.Check(), Rules.MutualExclusion);
    }

    [Fact]
    public void Check_LongPollGrantOverlapsByServerDeadline_ReportsMutualExclusion()
    {
        // c1 long-polled 3 s and was granted at the end: invocation + ttlMs says nothing (0 + 2000 < 3000), but the
        // reported deadline, on the history clock, is 5000. c2 holds from 4000.
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "a", 1, 0, 3000, expiresAtMs: 5000);
        h.Acquire("c2", 1, "b", 2, 3500, 4000);
        h.Quiesce(9000, counter: 2);

        AssertOnly(h.Check(), Rules.MutualExclusion);
    }

    [Fact]
    public void Check_ReleaseOfUnknownOutcome_EndsHoldAtItsInvocation()
    {
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "a", 1, 0, 10);
        h.Release("c1", 1, "a", 50, 5000, OpOutcome.Info, null);
        h.Acquire("c2", 1, "b", 2, 20, 60);
        h.Release("c2", 1, "b", 100, 110);
        h.Quiesce(6000, counter: 2);

        AssertValid(h.Check());
    }

    [Fact]
    public void Check_ReleaseThatNeverReachedTheService_DoesNotEndHold()
    {
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "a", 1, 0, 10);
        h.Release("c1", 1, "a", 50, 55, OpOutcome.Fail, null);
        h.Acquire("c2", 1, "b", 2, 20, 60);
        h.Release("c2", 1, "b", 100, 110);
        h.Quiesce(6000, counter: 2);

        AssertOnly(h.Check(), Rules.MutualExclusion);
    }

    [Fact]
    public void Check_StoreAcceptedLowerTokenAfterHigher_ReportsFencing()
    {
        var h = new HistoryBuilder();
        h.Write("c2", 1, token: 5, invoked: 0, completed: 10);
        h.Write("c1", 1, token: 4, invoked: 5, completed: 20);
        h.Quiesce(100, counter: 5);

        var result = h.Check();

        AssertOnly(result, Rules.Fencing);
        Assert.Contains(result.Violations, v => v.Message.Contains("accepted token 4", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_StoreRejectedWriterThatWasNotStale_ReportsFencing()
    {
        var h = new HistoryBuilder();
        h.Write("c1", 1, token: 3, invoked: 0, completed: 10);
        h.Write("c2", 1, token: 4, invoked: 20, completed: 30, OpOutcome.Fail);
        h.Quiesce(100, counter: 4);

        AssertOnly(h.Check(), Rules.Fencing);
    }

    [Fact]
    public void Check_StaleWriterRejected_NoViolation()
    {
        var h = new HistoryBuilder();
        h.Write("c2", 1, token: 4, invoked: 0, completed: 10);
        h.Write("c1", 1, token: 3, invoked: 20, completed: 30, OpOutcome.Fail);
        h.Quiesce(100, counter: 4);

        AssertValid(h.Check());
    }

    [Fact]
    public void Check_StaleWriterAcceptedInRealTimeOrder_ReportsFencing()
    {
        // The log puts c1's token-3 write first, but the history shows it started after token 4 was acknowledged.
        var h = new HistoryBuilder();
        var w4 = h.Write("c2", 1, token: 4, invoked: 0, completed: 10, logged: false);
        var w3 = h.Write("c1", 1, token: 3, invoked: 20, completed: 30, logged: false);
        h.LogEntry("c1", 3, w3.Value!);
        h.LogEntry("c2", 4, w4.Value!);
        h.Quiesce(100, counter: 4);

        var result = h.Check();

        AssertOnly(result, Rules.Fencing);
        Assert.Contains(result.Violations, v => v.Message.Contains("stale writer", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_OneTokenUsedByTwoWriters_ReportsFencing()
    {
        var h = new HistoryBuilder();
        h.Write("c1", 1, token: 4, invoked: 0, completed: 10);
        h.Write("c2", 1, token: 4, invoked: 20, completed: 30);
        h.Quiesce(100, counter: 4);

        AssertOnly(h.Check(), Rules.Fencing);
    }

    [Fact]
    public void Check_CounterDiffersFromLog_ReportsNoLostUpdate()
    {
        var h = new HistoryBuilder();
        h.Write("c1", 1, token: 1, invoked: 0, completed: 10);
        h.Quiesce(100, counter: 1);

        AssertOnly(h.Check(store: h.Store(writeCount: 2)), Rules.NoLostUpdate);
    }

    [Fact]
    public void Check_AcknowledgedWriteMissingFromLog_ReportsLostUpdate()
    {
        var h = new HistoryBuilder();
        h.Write("c1", 1, token: 1, invoked: 0, completed: 10);
        h.Write("c2", 1, token: 2, invoked: 20, completed: 30, OpOutcome.Ok, logged: false);
        h.Quiesce(100, counter: 2);

        var result = h.Check(store: h.Store(lastToken: 1));

        AssertOnly(result, Rules.NoLostUpdate);
        Assert.Contains(result.Violations, v => v.Message.Contains("lost update", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_RejectedWriteInLog_ReportsNoLostUpdate()
    {
        var h = new HistoryBuilder();
        h.Write("c1", 1, token: 2, invoked: 0, completed: 10);
        h.Write("c2", 1, token: 1, invoked: 20, completed: 30, OpOutcome.Fail, logged: true);
        h.Quiesce(100, counter: 2);

        Assert.Contains(Rules.NoLostUpdate, h.Check().ViolationCounts.Keys);
    }

    [Fact]
    public void Check_WritesOfUnknownOutcome_MayOrMayNotBeInLog()
    {
        var h = new HistoryBuilder();
        h.Write("c1", 1, token: 1, invoked: 0, completed: 10, OpOutcome.Info, logged: true);
        h.Write("c2", 1, token: 2, invoked: 20, completed: 30, OpOutcome.Info, logged: false);
        h.Quiesce(100, counter: 2);

        AssertValid(h.Check());
    }

    [Fact]
    public void Check_PhantomWriteInLog_ReportsNoLostUpdate()
    {
        var h = new HistoryBuilder();
        h.LogEntry("ghost", 1, "ghost#1");
        h.Quiesce(100, counter: 1);

        AssertOnly(h.Check(), Rules.NoLostUpdate);
    }

    [Fact]
    public void Check_TokenNotIncreasingAcrossSequentialGrants_ReportsTokenOrder()
    {
        var h = new HistoryBuilder();
        h.Cycle("c1", 1, token: 5, at: 0);
        h.Acquire("c2", 1, "b", 4, 100, 110);
        h.Release("c2", 1, "b", 140, 150);
        h.Quiesce(400, counter: 5);

        AssertOnly(h.Check(), Rules.TokenOrder);
    }

    [Fact]
    public void Check_ConcurrentGrantsWithReversedTokens_NoViolation()
    {
        // c2's request was in flight while c1's was; either may have been granted first.
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "a", 2, 0, 100);
        h.Acquire("c2", 1, "b", 1, 10, 50);
        h.Release("c2", 1, "b", 60, 70);
        h.Release("c1", 1, "a", 150, 160);
        h.Quiesce(400, counter: 2);

        AssertValid(h.Check());
    }

    [Fact]
    public void Check_RetriedAcquire_FirstAttemptDecidesRealTimeOrder()
    {
        // c2's first attempt (unknown outcome) may have been granted before c1's; its retry returns that lease.
        var h = new HistoryBuilder();
        h.AcquireUnknown("c2", 1, 0, 15000, requestId: "r");
        h.Acquire("c1", 1, "a", 2, 10, 20);
        h.Release("c1", 1, "a", 30, 40);
        h.Acquire("c2", 1, "b", 1, 15100, 15110, requestId: "r");
        h.Release("c2", 1, "b", 15200, 15210);
        h.Quiesce(16000, counter: 2);

        AssertValid(h.Check());
    }

    [Fact]
    public void Check_SameTokenForTwoLeases_ReportsTokenOrder()
    {
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "a", 3, 0, 100);
        h.Acquire("c2", 1, "b", 3, 10, 50);
        h.Release("c2", 1, "b", 60, 70);
        h.Release("c1", 1, "a", 150, 160);
        h.Quiesce(400, counter: 3);

        AssertOnly(h.Check(), Rules.TokenOrder);
    }

    [Fact]
    public void Check_CounterDecreasesBetweenReads_ReportsTokenOrder()
    {
        var h = new HistoryBuilder();
        h.Read(Processes.Monitor, 0, 10, counter: 7);
        h.Read(Processes.Monitor, 20, 30, counter: 6);
        h.Quiesce(100, counter: 7);

        AssertOnly(h.Check(), Rules.TokenOrder);
    }

    [Fact]
    public void Check_ReadCounterBelowAcknowledgedGrant_ReportsTokenOrder()
    {
        var h = new HistoryBuilder();
        h.Cycle("c1", 1, token: 4, at: 0);
        h.Read(Processes.Monitor, 100, 110, counter: 3);
        h.Quiesce(400, counter: 4);

        AssertOnly(h.Check(), Rules.TokenOrder);
    }

    [Fact]
    public void Check_FinalCounterBelowSeenToken_ReportsState()
    {
        var h = new HistoryBuilder();
        h.Cycle("c1", 1, token: 4, at: 0);
        h.Read(Processes.Final, 100, 105, counter: 3);
        h.Read(Processes.Drain, 110, 115, counter: 3);

        var result = h.Check();

        Assert.Contains(Rules.State, result.ViolationCounts.Keys);
    }

    [Fact]
    public void Check_ReleasedLeaseStillHeld_ReportsState()
    {
        var h = new HistoryBuilder();
        h.Cycle("c1", 1, token: 4, at: 0);
        h.Read(Processes.Final, 100, 105, counter: 4, mode: "exclusive", holders: [4]);
        h.Read(Processes.Drain, 200, 205, counter: 4);

        var result = h.Check();

        AssertOnly(result, Rules.State);
        Assert.Contains(result.Violations, v => v.Message.Contains("after its release was acknowledged", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_LeaseNeverEnds_ReportsState()
    {
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "a", 1, 0, 10);
        h.Read(Processes.Final, 100, 105, counter: 1, mode: "exclusive", holders: [1]);
        h.Read(Processes.Drain, 60000, 60005, counter: 1, mode: "exclusive", holders: [1]);

        AssertOnly(h.Check(), Rules.State);
    }

    [Theory]
    [InlineData("exclusive", new long[] { 1, 2 }, new int[0])]
    [InlineData("free", new long[] { 1 }, new int[0])]
    [InlineData("exclusive", new long[] { 9 }, new int[0])]
    [InlineData("free", new long[0], new[] { 1, 3 })]
    [InlineData("banana", new long[0], new int[0])]
    public void Check_MalformedStateRead_ReportsState(string mode, long[] holders, int[] waiters)
    {
        var h = new HistoryBuilder();
        h.Read(Processes.Monitor, 0, 10, counter: 5, mode: mode, holders: holders, waiterPositions: waiters);
        h.Quiesce(100, counter: 5);

        AssertOnly(h.Check(), Rules.State);
    }

    [Fact]
    public void Check_NoFinalRead_ReportsState()
    {
        var h = new HistoryBuilder();
        h.Cycle("c1", 1, token: 1, at: 0);

        AssertOnly(h.Check(), Rules.State);
    }

    [Fact]
    public void Check_ClientWithoutProgressAfterFaults_ReportsLiveness()
    {
        var h = new HistoryBuilder();
        for (var i = 1; i <= 3; i++)
        {
            h.Cycle("c1", i, token: i, at: 1000 + i * 100);
        }

        h.Cycle("c2", 1, token: 4, at: 1500);
        h.Quiesce(3000, counter: 4);
        var options = new CheckerOptions { Clients = ["c1", "c2"], FaultsEndedMs = 1000, LivenessCycles = 3, LivenessBoundMs = 10_000 };

        var result = h.Check(options);

        AssertOnly(result, Rules.Liveness);
        Assert.Contains(result.Violations, v => v.Message.StartsWith("c2 completed 1", StringComparison.Ordinal));
        Assert.Equal(3, result.Liveness.Single(f => f.Client == "c1").CyclesAfterFaults);
    }

    [Fact]
    public void Check_CyclesBeforeFaultsEnded_DoNotCountForLiveness()
    {
        var h = new HistoryBuilder();
        for (var i = 1; i <= 3; i++)
        {
            h.Cycle("c1", i, token: i, at: i * 100);
        }

        h.Quiesce(3000, counter: 3);

        AssertOnly(h.Check(new CheckerOptions { Clients = ["c1"], FaultsEndedMs = 1000 }), Rules.Liveness);
    }

    [Fact]
    public void Check_Http500_ReportsServerError()
    {
        var h = new HistoryBuilder();
        h.Add(new Operation { Process = "c1", Kind = OpKind.Acquire, Outcome = OpOutcome.Info, InvokedMs = 0, CompletedMs = 5, Lock = HistoryBuilder.Lock, Status = 500, RequestId = "r" });
        h.Quiesce(100, counter: 0);

        AssertOnly(h.Check(), Rules.ServerError);
    }

    [Fact]
    public void Check_ServiceExitedByItself_ReportsServerError()
    {
        var h = new HistoryBuilder();
        h.Add(new Operation { Process = Processes.Service, Kind = OpKind.Fault, Outcome = OpOutcome.Info, InvokedMs = 10, CompletedMs = 900, Code = "crash", Detail = "exit code 134" });
        h.Quiesce(1000, counter: 0);

        AssertOnly(h.Check(), Rules.ServerError);
    }

    [Fact]
    public void Operation_ToLineAndBack_RoundTrips()
    {
        var op = new HistoryBuilder().Acquire("c1", 7, "lease", 42, 1.26, 3.5);

        var back = Operation.FromLine(op.ToLine());

        Assert.Equal(op with { InvokedMs = 1.3, CompletedMs = 3.5 }, back);
        Assert.Contains("\"kind\":\"acquire\"", op.ToLine(), StringComparison.Ordinal);
    }
}
