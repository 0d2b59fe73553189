namespace OrleansLocks.FaultChecker.Workload;

/// <summary>
/// The service's entry points as one client sees them: it sends to the current one and moves on to the next after
/// an answer it could not use (refused or reset connection, timeout, 5xx), as a client behind a load balancer does.
/// A single-silo run has one entry point and never moves.
/// </summary>
internal sealed class EntryPoints
{
    private readonly IReadOnlyList<(string Name, Uri Address)> _all;
    private int _current;

    public EntryPoints(IReadOnlyList<(string Name, Uri Address)> all, int start)
    {
        if (all.Count == 0)
        {
            throw new ArgumentException("At least one entry point is needed.", nameof(all));
        }

        _all = all;
        _current = start % all.Count;
    }

    public (string Name, Uri Address) Current => _all[(int)((uint)Volatile.Read(ref _current) % (uint)_all.Count)];

    public int Count => _all.Count;

    /// <summary>Moves on to the next entry point.</summary>
    public void Advance() => Interlocked.Increment(ref _current);
}
