using OrleansLocks.Benchmarks.Harness;

namespace OrleansLocks.Benchmarks.Workloads;

/// <summary>Workload 1, one system at one client count: acquire+release pairs (or single ceiling operations).</summary>
internal sealed record UncontendedResult(string System, int Clients, LoopResult Loop)
{
    /// <summary>The acquire half of each counted pair (null for the ceilings, which do one operation).</summary>
    public Histogram? Acquire { get; init; }

    /// <summary>The release half of each counted pair.</summary>
    public Histogram? Release { get; init; }

    /// <summary>PostgreSQL WAL flushes per counted operation in the window (PostgreSQL-backed systems only).</summary>
    public double? WalSyncsPerOperation { get; init; }
}

/// <summary>Workload 2: cycles on one lock, the release→next-grant gaps, grants per client and exclusion violations.</summary>
internal sealed record HotResult(string System, int Clients, LoopResult Loop, Histogram Handoff, long Violations)
{
    /// <summary>PostgreSQL WAL flushes per hand-off in the window (PostgreSQL-backed systems only).</summary>
    public double? WalSyncsPerOperation { get; init; }

    public long MinGrants => Loop.OperationsPerClient.Min();

    public long MaxGrants => Loop.OperationsPerClient.Max();

    /// <summary>Max/min grants per client; infinity when a client got none in the window.</summary>
    public double Fairness => MinGrants == 0 ? double.PositiveInfinity : (double)MaxGrants / MinGrants;
}

/// <summary>Workload 3: 90 % shared, 10 % exclusive pairs over a few locks.</summary>
internal sealed record ReadMostlyResult(string System, int Clients, int Locks, LoopResult Loop, Histogram Shared, Histogram Exclusive)
{
    /// <summary>PostgreSQL WAL flushes per pair in the window (PostgreSQL-backed systems only).</summary>
    public double? WalSyncsPerOperation { get; init; }
}

/// <summary>One phase of workload 4 (many names) with the service's memory and activations after it.</summary>
internal sealed record ManyNamesPhase(string Name, long Count, TimeSpan Elapsed, Histogram? Latency, long Errors, string? FirstError, Memory Memory, int? Activations, string? Note)
{
    public double PerSecond => Elapsed.TotalSeconds > 0 ? Count / Elapsed.TotalSeconds : 0;
}

/// <summary>Workload 4 against one service store.</summary>
internal sealed record ManyNamesResult(string System, int Names, int Held, TimeSpan CollectionAge, IReadOnlyList<ManyNamesPhase> Phases)
{
    public long? BytesPerHeldLock { get; init; }

    /// <summary>(Live heap while held − live heap at baseline) ÷ held, when the probe was loaded.</summary>
    public long? LiveBytesPerHeldLock { get; init; }

    public long? LiveHeapBaselineBytes { get; init; }

    public long? HeldBaselineKb { get; init; }
}

/// <summary>A cell or system that did not run, and why.</summary>
internal sealed record Skip(string System, string Workload, string Reason);

/// <summary>Everything one run measured, for the report.</summary>
internal sealed class RunResults
{
    public List<UncontendedResult> Uncontended { get; } = [];

    public List<HotResult> Hot { get; } = [];

    public List<ReadMostlyResult> ReadMostly { get; } = [];

    public List<ManyNamesResult> ManyNames { get; } = [];

    public List<Skip> Skips { get; } = [];

    public Dictionary<string, Systems.IBenchTarget> Targets { get; } = [];

    public Dictionary<string, string> WaitStrategies { get; } = [];
}
