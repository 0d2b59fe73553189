namespace OrleansLocks.FaultChecker.History;

/// <summary>
/// Records the history on ONE clock: the harness's monotonic timestamp (TimeProvider.GetTimestamp), read for every
/// invocation and completion, so that "a completed before b was invoked" is meaningful across clients, the nemesis
/// and the monitor. Wall clocks (the service's UTC) never order events; they appear only as reported data.
/// </summary>
internal sealed class HistoryRecorder(TimeProvider time, TextWriter? sink = null)
{
    private readonly long _start = time.GetTimestamp();
    private readonly Lock _gate = new();
    private readonly List<Operation> _operations = [];

    /// <summary>Milliseconds since the run started.</summary>
    public double Now => time.GetElapsedTime(_start).TotalMilliseconds;

    public TimeProvider Time => time;

    /// <summary>The harness host's UTC, only to translate the service's deadlines onto the history clock.</summary>
    public DateTimeOffset UtcNow => time.GetUtcNow();

    /// <summary>Appends a completed operation, giving it the next index.</summary>
    public Operation Add(Operation operation)
    {
        lock (_gate)
        {
            var indexed = operation with { Index = _operations.Count };
            _operations.Add(indexed);
            sink?.WriteLine(indexed.ToLine());
            return indexed;
        }
    }

    /// <summary>A copy of the history so far.</summary>
    public IReadOnlyList<Operation> Snapshot()
    {
        lock (_gate)
        {
            return [.. _operations];
        }
    }
}
