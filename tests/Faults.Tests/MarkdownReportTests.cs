using OrleansLocks.FaultChecker;
using OrleansLocks.FaultChecker.Checking;
using OrleansLocks.FaultChecker.History;
using OrleansLocks.FaultChecker.Reporting;

namespace OrleansLocks.Faults.Tests;

public sealed class MarkdownReportTests
{
    private static Operation Fault(HistoryBuilder h, double start, double end) => h.Add(new Operation
    {
        Process = Processes.Nemesis,
        Kind = OpKind.Fault,
        Outcome = OpOutcome.Ok,
        InvokedMs = start,
        CompletedMs = end,
        Code = "kill",
        Detail = "test",
    });

    [Fact]
    public void Recoveries_GrantsAroundAFault_MeasuredFromItsEnd()
    {
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "a", 1, 0, 50);
        h.Acquire("c1", 2, "b", 2, 120, 150);
        Fault(h, 100, 200);
        h.Acquire("c1", 3, "c", 3, 300, 400);

        var recovery = Assert.Single(MarkdownReport.Recoveries(h.Ops));

        Assert.Equal(200, recovery.RecoveryMs);
        Assert.Equal(250, recovery.LongestGapMs);
    }

    [Fact]
    public void Render_RunWithAViolation_FailsAndShowsTheOffendingLines()
    {
        var h = new HistoryBuilder();
        h.Acquire("c1", 1, "lease-a", 1, 0, 10);
        h.Acquire("c2", 1, "lease-b", 2, 20, 30);
        Fault(h, 40, 50);
        h.Quiesce(3000, counter: 2);
        var check = h.Check();
        var run = new RunResult(new RunOptions(), ["L"], h.Ops, [h.Store()], check, 50, null, [], [], null, DateTimeOffset.UnixEpoch, TimeSpan.FromSeconds(1));

        var report = MarkdownReport.Render(run);

        Assert.StartsWith("# OrleansLocks fault run — FAIL", report, StringComparison.Ordinal);
        Assert.Contains("**R1 mutual exclusion**", report, StringComparison.Ordinal);
        Assert.Contains("\"leaseId\":\"lease-b\"", report, StringComparison.Ordinal);
        Assert.Contains("| 1 | kill |", report, StringComparison.Ordinal);
    }
}
