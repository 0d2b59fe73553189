using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansLocks.FaultChecker.History;

/// <summary>What an operation of the history did.</summary>
internal enum OpKind
{
    /// <summary>POST /locks/{name}/acquire.</summary>
    Acquire,

    /// <summary>POST /locks/{name}/renew.</summary>
    Renew,

    /// <summary>POST /locks/{name}/release.</summary>
    Release,

    /// <summary>A write to the fenced store with a fencing token.</summary>
    Write,

    /// <summary>GET /locks/{name}.</summary>
    Read,

    /// <summary>A fault the nemesis injected (invocation = start, completion = end).</summary>
    Fault,
}

/// <summary>
/// Jepsen's three outcomes. <see cref="Ok"/>: it happened and we know the result. <see cref="Fail"/>: it certainly
/// did not take effect (a definite refusal, or a request that never left the client). <see cref="Info"/>: unknown —
/// it may or may not have taken effect (timeout, dropped connection, 5xx); the checker must allow both.
/// </summary>
internal enum OpOutcome
{
    Ok,
    Fail,
    Info,
}

/// <summary>A holder as seen in a state read.</summary>
internal sealed record HolderSnapshot(string Owner, string Mode, long FencingToken, DateTimeOffset ExpiresAt);

/// <summary>A waiter as seen in a state read.</summary>
internal sealed record WaiterSnapshot(string Owner, string Mode, int Position);

/// <summary>The public state of a lock as one GET returned it.</summary>
internal sealed record LockSnapshot(string Mode, IReadOnlyList<HolderSnapshot> Holders, IReadOnlyList<WaiterSnapshot> Waiters, long FencingCounter);

/// <summary>
/// One operation of the history, with its invocation and completion times on the harness's single clock
/// (milliseconds since the run started). One record per operation rather than Jepsen's invoke/complete pair: the
/// harness knows both ends of every operation it performs, and the checker needs both anyway.
/// </summary>
internal sealed record Operation
{
    /// <summary>Position in the history, in completion order.</summary>
    public long Index { get; init; }

    /// <summary>Who performed it: a client ("c3"), the nemesis, the monitor, or the final reader.</summary>
    public required string Process { get; init; }

    public required OpKind Kind { get; init; }

    public required OpOutcome Outcome { get; init; }

    /// <summary>Invocation time, ms since the run started.</summary>
    public required double InvokedMs { get; init; }

    /// <summary>Completion time, ms since the run started.</summary>
    public required double CompletedMs { get; init; }

    public string? Lock { get; init; }

    /// <summary>The client's critical-section number; links the acquire, write and release of one cycle.</summary>
    public long? Cycle { get; init; }

    public string? RequestId { get; init; }

    public string? LeaseId { get; init; }

    public long? Token { get; init; }

    /// <summary>Remaining lease time the service reported (relative to its reply).</summary>
    public long? TtlMs { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>
    /// <see cref="ExpiresAt"/> on the history clock: completion + (expiresAt − the harness's UTC read at completion).
    /// Sound because the service runs on the harness's host: both read the same real-time clock, and the offset is
    /// taken at the instant of completion, so only the clock's slew over the TTL (well under the tolerance) enters.
    /// </summary>
    public double? ExpiresAtMs { get; init; }

    /// <summary>HTTP status, when there was a response.</summary>
    public int? Status { get; init; }

    /// <summary>ProblemDetails code of an error response, or the fault kind of a fault.</summary>
    public string? Code { get; init; }

    /// <summary>Free text: the lease-lost reason, the exception, what a fault did.</summary>
    public string? Detail { get; init; }

    /// <summary>The value written to the fenced store (unique per cycle).</summary>
    public string? Value { get; init; }

    /// <summary>The entry point (gateway or co-hosting Api) the request went to, in a cluster run.</summary>
    public string? Via { get; init; }

    /// <summary>The state a read returned.</summary>
    public LockSnapshot? State { get; init; }

    private static readonly JsonSerializerOptions LineOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The operation as one JSON line (the history file's format and the report's evidence).</summary>
    public string ToLine() => JsonSerializer.Serialize(
        this with { InvokedMs = Math.Round(InvokedMs, 1), CompletedMs = Math.Round(CompletedMs, 1), ExpiresAtMs = ExpiresAtMs is { } e ? Math.Round(e, 1) : null },
        LineOptions);

    /// <summary>Reads a line written by <see cref="ToLine"/>.</summary>
    public static Operation FromLine(string line)
        => JsonSerializer.Deserialize<Operation>(line, LineOptions) ?? throw new FormatException("Empty history line.");
}
