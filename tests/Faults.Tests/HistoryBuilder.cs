using OrleansLocks.FaultChecker.Checking;
using OrleansLocks.FaultChecker.History;

namespace OrleansLocks.Faults.Tests;

/// <summary>Builds synthetic histories for the checker's tests: times in ms, one lock "L" unless given.</summary>
internal sealed class HistoryBuilder
{
    public const string Lock = "L";

    private readonly List<Operation> _ops = [];
    private readonly List<FencedLogEntry> _log = [];

    public IReadOnlyList<Operation> Ops => _ops;

    public Operation Add(Operation op)
    {
        var indexed = op with { Index = _ops.Count };
        _ops.Add(indexed);
        return indexed;
    }

    public Operation Acquire(string client, long cycle, string lease, long token, double invoked, double completed, long ttlMs = 2000, string? requestId = null, string lockName = Lock, double? expiresAtMs = null)
        => Add(new Operation
        {
            Process = client,
            Kind = OpKind.Acquire,
            Outcome = OpOutcome.Ok,
            InvokedMs = invoked,
            CompletedMs = completed,
            Lock = lockName,
            Cycle = cycle,
            RequestId = requestId ?? $"{client}-{cycle}",
            LeaseId = lease,
            Token = token,
            TtlMs = ttlMs,
            ExpiresAtMs = expiresAtMs,
            Status = 200,
        });

    public Operation AcquireUnknown(string client, long cycle, double invoked, double completed, string? requestId = null, string lockName = Lock)
        => Add(new Operation
        {
            Process = client,
            Kind = OpKind.Acquire,
            Outcome = OpOutcome.Info,
            InvokedMs = invoked,
            CompletedMs = completed,
            Lock = lockName,
            Cycle = cycle,
            RequestId = requestId ?? $"{client}-{cycle}",
            Detail = "timeout",
        });

    public Operation Renew(string client, long cycle, string lease, long token, double invoked, double completed, long ttlMs = 2000, string lockName = Lock)
        => Add(new Operation
        {
            Process = client,
            Kind = OpKind.Renew,
            Outcome = OpOutcome.Ok,
            InvokedMs = invoked,
            CompletedMs = completed,
            Lock = lockName,
            Cycle = cycle,
            LeaseId = lease,
            Token = token,
            TtlMs = ttlMs,
            Status = 200,
        });

    public Operation Release(string client, long cycle, string lease, double invoked, double completed, OpOutcome outcome = OpOutcome.Ok, int? status = 204, string lockName = Lock)
        => Add(new Operation
        {
            Process = client,
            Kind = OpKind.Release,
            Outcome = outcome,
            InvokedMs = invoked,
            CompletedMs = completed,
            Lock = lockName,
            Cycle = cycle,
            LeaseId = lease,
            Status = status,
        });

    /// <summary>A fenced write; an accepted (ok) one is appended to the store's log unless <paramref name="logged"/> says otherwise.</summary>
    public Operation Write(string client, long cycle, long token, double invoked, double completed, OpOutcome outcome = OpOutcome.Ok, bool? logged = null, string lockName = Lock)
    {
        var op = Add(new Operation
        {
            Process = client,
            Kind = OpKind.Write,
            Outcome = outcome,
            InvokedMs = invoked,
            CompletedMs = completed,
            Lock = lockName,
            Cycle = cycle,
            Token = token,
            Value = $"{client}#{cycle}",
            Code = outcome switch { OpOutcome.Ok => "accepted", OpOutcome.Fail => "rejected", _ => null },
        });
        if (logged ?? outcome == OpOutcome.Ok)
        {
            LogEntry(client, token, op.Value!);
        }

        return op;
    }

    public void LogEntry(string client, long token, string value) => _log.Add(new FencedLogEntry(_log.Count + 1, token, client, value));

    public Operation Read(string process, double invoked, double completed, long counter, string mode = "free", long[]? holders = null, int[]? waiterPositions = null, string lockName = Lock)
        => Add(new Operation
        {
            Process = process,
            Kind = OpKind.Read,
            Outcome = OpOutcome.Ok,
            InvokedMs = invoked,
            CompletedMs = completed,
            Lock = lockName,
            Status = 200,
            State = new LockSnapshot(
                mode,
                [.. (holders ?? []).Select(t => new HolderSnapshot("x", mode == "shared" ? "shared" : "exclusive", t, DateTimeOffset.UnixEpoch))],
                [.. (waiterPositions ?? []).Select(p => new WaiterSnapshot("w", "exclusive", p))],
                counter),
        });

    /// <summary>A whole critical section: grant, accepted write, release, 10 ms apart from <paramref name="at"/>.</summary>
    public void Cycle(string client, long cycle, long token, double at, string lockName = Lock)
    {
        var lease = $"{client}-lease-{cycle}";
        Acquire(client, cycle, lease, token, at, at + 10, lockName: lockName);
        Write(client, cycle, token, at + 20, at + 30, lockName: lockName);
        Release(client, cycle, lease, at + 40, at + 50, lockName: lockName);
    }

    /// <summary>Final and drain reads showing a free lock with the given counter.</summary>
    public void Quiesce(double at, long counter, string lockName = Lock)
    {
        Read(Processes.Final, at, at + 5, counter, lockName: lockName);
        Read(Processes.Drain, at + 10, at + 15, counter, lockName: lockName);
    }

    public FencedStoreDump Store(string lockName = Lock, long? writeCount = null, long? lastToken = null)
        => new(lockName, lastToken ?? (_log.Count == 0 ? 0 : _log.Max(e => e.Token)), writeCount ?? _log.Count, [.. _log]);

    public CheckResult Check(CheckerOptions? options = null, FencedStoreDump? store = null)
        => HistoryChecker.Check(_ops, [store ?? Store()], options ?? new CheckerOptions());
}
