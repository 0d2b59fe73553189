using Microsoft.Extensions.Logging;

namespace OrleansLocks.Client;

/*
 * Design note: a held lease and its local deadline.
 *
 * The deadline is local: the moment an attempt that got the lease (or its latest renew) started, plus the ttlMs
 * the service answered, on the client's TimeProvider. The service computed ttlMs after it received that attempt,
 * so the local deadline is never later than the service's (up to clock rate drift). Server instants (expiresAt)
 * are shown, never compared with local clocks.
 *
 * HandleLostToken fires once, the first time the lease is known or presumed lost:
 *   - a renew answered 410 lease-lost (expired, force-released, unknown), or
 *   - the local deadline passed without a successful renew (service unreachable, answers too slow, process paused).
 * After it fired the handle never "recovers": a renew that succeeds later is not trusted (work guarded by the
 * token was already cancelled). Release (ReleaseAsync/DisposeAsync) does not fire it: that is not a loss.
 *
 * The renew loop renews at a third of the lease's TTL (as SPEC §5.4 advises) and, after a failed renew, retries
 * every second at most, until the deadline ends it. Each renew is cancelled when the deadline passes.
 */

/// <summary>
/// A held lock. Dispose it to release (<c>await using</c>). While held it renews itself in the background;
/// <see cref="HandleLostToken"/> is cancelled the moment the lease is known or presumed lost.
/// </summary>
public sealed class LockHandle : IAsyncDisposable
{
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(1);

    private readonly LockClient _client;
    private readonly TimeSpan _ttl;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly ITimer _deadlineTimer;
    private readonly Task _renewLoop;
    private Lease _lease;
    private long _deadline;
    private LeaseLostReason? _lostReason;
    private int _released;
    private int _renewals;

    internal LockHandle(LockClient client, Lease lease, TimeSpan ttl, long measuredFrom, bool autoRenew)
    {
        _client = client;
        _lease = lease;
        _ttl = ttl;
        HandleLostToken = _lost.Token;
        _deadline = measuredFrom + Ticks(lease.TimeToLive);
        _deadlineTimer = client.Time.CreateTimer(static state => ((LockHandle)state!).OnDeadline(), this, Remaining(), Timeout.InfiniteTimeSpan);
        _renewLoop = autoRenew ? RenewLoopAsync() : Task.CompletedTask;
    }

    /// <summary>The lock's name.</summary>
    public string Name => _lease.Name;

    /// <summary>The lease id: the secret that renews or releases the lease.</summary>
    public string LeaseId => _lease.LeaseId;

    /// <summary>Exclusive or shared.</summary>
    public LockMode Mode => _lease.Mode;

    /// <summary>This grant's fencing token: pass it with every write to the resources the lock protects.</summary>
    public long FencingToken => _lease.FencingToken;

    /// <summary>The lease's deadline as of the latest renew (server clock; do not compare with local clocks).</summary>
    public DateTimeOffset ExpiresAt => Volatile.Read(ref _lease).ExpiresAt;

    /// <summary>The lease as of the latest grant or renew.</summary>
    public Lease Lease => Volatile.Read(ref _lease);

    /// <summary>
    /// Cancelled when the lease is known lost (renew refused) or presumed lost (no successful renew before the
    /// deadline). Callbacks registered on it run synchronously on the thread that noticed the loss: keep them short
    /// and never block in them on this handle (e.g. on its disposal).
    /// </summary>
    public CancellationToken HandleLostToken { get; }

    /// <summary>True once <see cref="HandleLostToken"/> has fired.</summary>
    public bool IsLost => HandleLostToken.IsCancellationRequested;

    /// <summary>Why the lease was lost, once it was; <see cref="LeaseLostReason.Expired"/> also when the client could not renew in time.</summary>
    public LeaseLostReason? LostReason
    {
        get
        {
            lock (_gate)
            {
                return _lostReason;
            }
        }
    }

    /// <summary>The time left until the local deadline (zero when it passed).</summary>
    public TimeSpan TimeToLive
    {
        get
        {
            var remaining = Remaining();
            return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
        }
    }

    /// <summary>How many renews succeeded (tests and diagnostics).</summary>
    internal int Renewals => Volatile.Read(ref _renewals);

    /// <summary>Renews the lease now (the handle also does so in the background). <paramref name="ttl"/> null keeps the TTL it was acquired with.</summary>
    /// <exception cref="LeaseLostException">The lease is lost; <see cref="HandleLostToken"/> has fired.</exception>
    public async Task RenewAsync(TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _released) != 0, this);
        ThrowIfLost();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, HandleLostToken);
        (Lease Lease, long MeasuredFrom) renewed;
        try
        {
            renewed = await _client.RenewCoreAsync(Name, LeaseId, ttl ?? _ttl, linked.Token);
        }
        catch (LeaseLostException ex)
        {
            MarkLost(ex.Reason, "the service refused the renew");
            throw;
        }
        catch (OperationCanceledException) when (HandleLostToken.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            ThrowIfLost();
            throw;
        }

        lock (_gate)
        {
            if (_lostReason is not null)
            {
                // Too late: the handle already told its users the lease was gone.
                ThrowIfLost();
            }

            Volatile.Write(ref _lease, renewed.Lease);
            var deadline = renewed.MeasuredFrom + Ticks(renewed.Lease.TimeToLive);
            if (deadline > _deadline && Volatile.Read(ref _released) == 0)
            {
                _deadline = deadline;
                _deadlineTimer.Change(Remaining(), Timeout.InfiniteTimeSpan);
            }
        }

        Interlocked.Increment(ref _renewals);
        _client.Logger.Renewed(Name, FencingToken, renewed.Lease.ExpiresAt);
    }

    /// <summary>
    /// Stops renewing and releases the lease. Succeeds when the lease was already released or lost; retries
    /// transient failures until the lease's deadline at most.
    /// </summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        lock (_gate)
        {
            // Under the gate: a renew or the deadline callback re-arms the timer only while not released.
            _deadlineTimer.Dispose();
        }

        try
        {
            await _renewLoop;
        }
        catch (OperationCanceledException)
        {
            // The loop ends by cancellation.
        }

        // Retrying a release past the lease's deadline is pointless: the lease ends by itself then.
        using var untilDeadline = new CancellationTokenSource(TimeToLive + TimeSpan.FromSeconds(1), _client.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, untilDeadline.Token);
        try
        {
            await _client.ReleaseAsync(Name, LeaseId, linked.Token);
            _client.Logger.Released(Name, FencingToken);
        }
        catch (LeaseLostException)
        {
            // Already ended (expired or force-released): nothing to release.
        }
        catch (OperationCanceledException) when (untilDeadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            _client.Logger.ReleaseFailed(new TimeoutException("The lease's deadline passed while releasing."), Name, FencingToken);
        }
    }

    /// <summary>Releases the lease (see <see cref="ReleaseAsync"/>); a failure to reach the service is logged, not thrown.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await ReleaseAsync(CancellationToken.None);
        }
        catch (LockServiceException ex)
        {
            _client.Logger.ReleaseFailed(ex, Name, FencingToken);
        }
    }

    private async Task RenewLoopAsync()
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, HandleLostToken);
        var token = linked.Token;
        var delay = RenewInterval();
        try
        {
            while (true)
            {
                await Task.Delay(delay, _client.Time, token);
                try
                {
                    await RenewAsync(null, _stop.Token);
                    delay = RenewInterval();
                }
                catch (LeaseLostException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    // Released while this iteration was starting.
                    return;
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is LockServiceException or System.Text.Json.JsonException or KeyNotFoundException)
                {
                    // Not lost yet: try again soon; the deadline timer decides when it is too late.
                    _client.Logger.RenewFailed(ex, Name, FencingToken, (long)TimeToLive.TotalMilliseconds);
                    var interval = RenewInterval();
                    delay = interval < RetryAfterFailure ? interval : RetryAfterFailure;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Released or lost.
        }
    }

    /// <summary>A third of the lease's TTL (the shorter of the one asked for and the one granted).</summary>
    private TimeSpan RenewInterval()
    {
        var granted = Volatile.Read(ref _lease).TimeToLive;
        var ttl = granted < _ttl ? granted : _ttl;
        var third = ttl / 3;
        return third > TimeSpan.FromMilliseconds(10) ? third : TimeSpan.FromMilliseconds(10);
    }

    private void OnDeadline()
    {
        lock (_gate)
        {
            var remaining = Remaining();
            if (remaining > TimeSpan.Zero && Volatile.Read(ref _released) == 0)
            {
                // A renew moved the deadline after this timer was due.
                _deadlineTimer.Change(remaining, Timeout.InfiniteTimeSpan);
                return;
            }
        }

        if (Volatile.Read(ref _released) == 0)
        {
            MarkLost(LeaseLostReason.Expired, "no successful renew before the deadline");
        }
    }

    private void MarkLost(LeaseLostReason reason, string why)
    {
        lock (_gate)
        {
            if (_lostReason is not null)
            {
                return;
            }

            _lostReason = reason;
        }

        _client.Logger.LeaseLost(Name, FencingToken, $"{reason} ({why})");
        try
        {
            _lost.Cancel();
        }
        catch (AggregateException)
        {
            // A user's callback on HandleLostToken threw; the token is cancelled regardless, and the renew loop or
            // timer that noticed the loss must not die of someone else's exception.
        }
    }

    private void ThrowIfLost()
    {
        LeaseLostReason? reason;
        lock (_gate)
        {
            reason = _lostReason;
        }

        if (reason is { } r)
        {
            throw new LeaseLostException($"The lease of '{Name}' (token {FencingToken}) is lost: {r}.", r);
        }
    }

    private TimeSpan Remaining() => _client.Time.GetElapsedTime(_client.Time.GetTimestamp(), Volatile.Read(ref _deadline));

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _client.Time.TimestampFrequency);
}
