using OrleansLocks.FaultChecker.History;

namespace OrleansLocks.FaultChecker.Checking;

/// <summary>The rules the checker enforces; the names appear in the report.</summary>
internal static class Rules
{
    public const string MutualExclusion = "R1 mutual exclusion";
    public const string Fencing = "R2 fencing";
    public const string NoLostUpdate = "R3 no lost update";
    public const string TokenOrder = "R4 token order";
    public const string State = "R5 state";
    public const string Liveness = "R6 liveness";
    public const string ServerError = "R0 server error";
}

/// <summary>Who performs operations besides the clients.</summary>
internal static class Processes
{
    public const string Nemesis = "nemesis";

    /// <summary>The service process itself: its unexpected exits ("crash").</summary>
    public const string Service = "service";

    /// <summary>Periodic state reads during the run.</summary>
    public const string Monitor = "monitor";

    /// <summary>The state read right after quiescence (every client stopped).</summary>
    public const string Final = "final";

    /// <summary>The state read after waiting for every lease and waiter to end.</summary>
    public const string Drain = "drain";
}

/// <summary>A broken rule with the history lines that show it.</summary>
internal sealed record Violation(string Rule, string Message, IReadOnlyList<Operation> Evidence);

/// <summary>One accepted write in the fenced store's append-only log.</summary>
internal sealed record FencedLogEntry(long Seq, long Token, string Client, string Value);

/// <summary>The fenced store's final contents for one lock.</summary>
internal sealed record FencedStoreDump(string Lock, long LastToken, long WriteCount, IReadOnlyList<FencedLogEntry> Log);

/// <summary>What the checker needs besides the history.</summary>
internal sealed record CheckerOptions
{
    /// <summary>The workload's clients (processes); liveness is checked for each.</summary>
    public IReadOnlyList<string> Clients { get; init; } = [];

    /// <summary>
    /// When the last fault ended (ms on the history clock); liveness counts critical sections that started after it.
    /// Null: no liveness check.
    /// </summary>
    public double? FaultsEndedMs { get; init; }

    /// <summary>Critical sections every client must complete after the faults ended.</summary>
    public int LivenessCycles { get; init; } = 3;

    /// <summary>Within how long after the faults ended those critical sections must complete.</summary>
    public double LivenessBoundMs { get; init; } = 60_000;

    /// <summary>
    /// Subtracted from every lease bound: the service reports whole milliseconds and its clock (UTC) may be slewed
    /// slightly against the harness's monotonic clock. Smaller never makes the check unsound, only less precise.
    /// </summary>
    public double ClockToleranceMs { get; init; } = 5;

    /// <summary>At most this many violations are listed per rule (all are counted).</summary>
    public int MaxReportedPerRule { get; init; } = 20;
}

/// <summary>Progress of one client after the faults ended.</summary>
/// <param name="KthCycleDoneMs">When its K-th critical section after the faults completed, relative to the faults' end.</param>
internal sealed record LivenessFigure(string Client, int CyclesAfterFaults, double? KthCycleDoneMs);

/// <summary>The checker's verdict.</summary>
internal sealed record CheckResult(
    IReadOnlyList<Violation> Violations,
    IReadOnlyDictionary<string, int> ViolationCounts,
    IReadOnlyList<LivenessFigure> Liveness,
    int HoldsChecked,
    int GrantsChecked)
{
    public int TotalViolations => ViolationCounts.Values.Sum();

    public bool Valid => TotalViolations == 0;
}
