using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// A grain timer over <see cref="TimeProvider.CreateTimer"/>. When it fires, the timer itself is queued as a turn of
/// its activation (no allocation per tick). Fires that happen while a tick is still queued or running coalesce into
/// one more tick after it, so ticks never pile up behind a busy activation and none is lost (a callback may re-arm
/// its timer to a deadline that is already due). Timers die with their activation.
/// </summary>
internal sealed class GrainTimer : WorkItem, IGrainTimer
{
    private readonly ActivationData _activation;
    private readonly Func<CancellationToken, Task> _callback;
    private readonly ITimer _timer;

    public GrainTimer(
        ActivationData activation,
        TimeProvider timeProvider,
        Func<CancellationToken, Task> callback,
        TimeSpan dueTime,
        TimeSpan period,
        bool keepAlive)
    {
        _activation = activation;
        _callback = callback;
        KeepAlive = keepAlive;
        SetSchedule(dueTime, period);

        // Do not capture the registering turn's ExecutionContext in a timer that may live for the activation's lifetime.
        using (ExecutionContext.SuppressFlow())
        {
            _timer = timeProvider.CreateTimer(static state => ((GrainTimer)state!).OnFired(), this, dueTime, period);
        }
    }

    /// <summary>Whether this timer keeps its activation from idle collection while it is armed.</summary>
    public bool KeepAlive { get; }

    /// <summary>Whether a tick is still to come. Guarded by the activation's lock.</summary>
    public bool IsArmed { get; private set; }

    /// <summary>Whether a tick is queued or running. Guarded by the activation's lock.</summary>
    public bool IsQueued { get; set; }

    /// <summary>Whether the timer fired while a tick was queued or running: one more tick follows it. Guarded by the activation's lock.</summary>
    public bool FiredWhileQueued { get; set; }

    /// <summary>Guarded by the activation's lock.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>The next timer of the same activation (its timers form a linked list). Guarded by the activation's lock.</summary>
    public GrainTimer? NextTimer { get; set; }

    private bool IsOneShot { get; set; }

    public void Change(TimeSpan dueTime, TimeSpan period)
    {
        lock (_activation.SyncRoot)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            SetSchedule(dueTime, period);
            _timer.Change(dueTime, period);
        }
    }

    public void Dispose()
    {
        lock (_activation.SyncRoot)
        {
            if (IsDisposed)
            {
                return;
            }

            IsDisposed = true;
            IsArmed = false;
        }

        _timer.Dispose();
        _activation.OnTimerDisposed(this);
    }

    /// <summary>Runs the callback as a turn of the activation (called by its turn loop).</summary>
    public async Task RunTickAsync()
    {
        lock (_activation.SyncRoot)
        {
            if (IsDisposed)
            {
                IsQueued = false;
                return;
            }
        }

        try
        {
            await _callback(CancellationToken.None);
        }
        catch (Exception exception)
        {
            _activation.OnTimerCallbackFailed(exception);
        }
        finally
        {
            bool again;
            lock (_activation.SyncRoot)
            {
                IsQueued = false;
                again = FiredWhileQueued;
                FiredWhileQueued = false;
            }

            if (again)
            {
                _activation.EnqueueTimerTick(this);
            }
        }
    }

    private void SetSchedule(TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime < TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(dueTime), dueTime, "Must be zero or positive, or Timeout.InfiniteTimeSpan.");
        }

        if (period < TimeSpan.Zero && period != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(period), period, "Must be zero or positive, or Timeout.InfiniteTimeSpan.");
        }

        IsArmed = dueTime != Timeout.InfiniteTimeSpan;
        IsOneShot = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero;
    }

    private void OnFired()
    {
        lock (_activation.SyncRoot)
        {
            if (IsOneShot)
            {
                IsArmed = false;
            }
        }

        _activation.EnqueueTimerTick(this);
    }
}
