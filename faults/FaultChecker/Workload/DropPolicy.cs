namespace OrleansLocks.FaultChecker.Workload;

/// <summary>
/// The "drop" fault: while active, a request is cancelled after a random short delay with some probability — the
/// client sees the request vanish mid-flight (it may or may not have reached the service) and retries it with the
/// same request id or lease id.
/// </summary>
internal sealed class DropPolicy(int seed)
{
    private readonly Random _random = new(seed);
    private readonly Lock _gate = new();
    private volatile bool _active;

    public double Probability { get; init; } = 0.5;

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(40);

    public bool Active
    {
        get => _active;
        set => _active = value;
    }

    /// <summary>How long before this request is dropped, or null to let it be.</summary>
    public TimeSpan? Next()
    {
        if (!_active)
        {
            return null;
        }

        lock (_gate)
        {
            return _random.NextDouble() < Probability ? TimeSpan.FromMilliseconds(_random.NextDouble() * MaxDelay.TotalMilliseconds) : null;
        }
    }
}
