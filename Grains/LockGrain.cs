using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;

namespace OrleansLocks.Grains;

/*
 * Design note — the lock grain: LockStateMachine over IPersistentState<LockState>, a TimeProvider and one timer.
 *
 * Commit before reply. Every turn runs the machine on the in-memory state; if it changed, the grain awaits one
 * version-checked WriteStateAsync before anything else leaves the turn (reply, waiter signals, timer, logs).
 * A write that throws (InconsistentStateException: another activation wrote; StorageUnavailableException: outcome
 * unknown) propagates. The in-memory state is then ahead of storage, so this activation is poisoned: it asks to
 * be deactivated, wakes every waiter (they re-poll, landing on a fresh activation that re-reads), and refuses
 * further calls with InconsistentStateException, which the runtime retries on a fresh activation. The runtime
 * drops the activation anyway; this is belt and braces so no reply is ever based on unwritten state.
 *
 * Waiting outside the turn. WaitAsync is [AlwaysInterleave]: it runs concurrently with turns, so it touches only
 * the signal map (requestId -> TaskCompletionSource, under a lock). Invariant at the end of every turn: every
 * waiter in the state has a signal. Signals are created in-turn after the commit that enqueued the waiter (or at
 * activation for loaded waiters) and completed in-turn after the commit that removed it; completions run
 * asynchronously (RunContinuationsAsynchronously) so no WaitAsync continuation ever runs inside a turn. A waiter that
 * was granted gets its grant with the signal (the result PollAsync would give right after that commit), so the
 * Api's long poll answers without a second turn; every other wake-up carries null and the caller polls.
 *
 * Punctuality. One grain timer, re-armed after every turn to the machine's next deadline, with keepAlive so an
 * activation with holders or waiters is not collected as idle; disposed when the lock is empty. Timers are
 * volatile: OnActivateAsync re-arms from persisted state after recovery. Expiry never depends on the timer: every
 * operation sweeps first.
 *
 * OnDeactivateAsync never persists (it does not run after a crash, so nothing may depend on it): it only wakes
 * waiters so their long polls re-poll elsewhere.
 */

/// <summary>The grain that owns one named lock (grain type "lock", key = lock name).</summary>
internal sealed partial class LockGrain(
    IGrainContext context,
    TimeProvider timeProvider,
    IOptions<LockOptions> options,
    ILogger<LockGrain> logger,
    LockMetrics? metrics = null) : Grain(context), ILockGrain
{
    /// <summary>The persistent state name; storage rows are keyed by it.</summary>
    public const string StateName = "lock";

    /// <summary>Timers run at most this far ahead; a longer deadline is reached by re-arming.</summary>
    private static readonly TimeSpan MaxTimerDue = TimeSpan.FromHours(1);

    private readonly IPersistentState<LockState> _state = context.GetPersistentState<LockState>(StateName);
    private readonly LockStateMachine _machine = new(context.GrainId.Key, options.Value);
    private readonly LockOptions _options = options.Value;
    private readonly Lock _signalsGate = new();
    private readonly LockEventRing _events = new();

    // What this activation has added to the silo's lease and waiter gauges, taken back when it goes away.
    private int _reportedLeases;
    private int _reportedWaiters;

    // Allocated with the first waiter: most locks never have one.
    private Dictionary<string, TaskCompletionSource<AcquireResult?>>? _signals;
    private IGrainTimer? _timer;
    private DateTimeOffset? _timerDue;
    private bool _stale;

    private string Name => _machine.Name;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var changes = _machine.Recover(_state.State, now);
        if (changes.StateChanged)
        {
            await WriteAsync();
        }

        foreach (var waiter in _state.State.Waiters)
        {
            AddSignal(waiter.RequestId);
        }

        AfterCommit(changes, now);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Wake every long poll: the waiter's next poll re-activates the lock (on this or another silo). Watchers
        // too: their next watch lands on the new activation, whose other epoch tells them to re-read the state.
        CompleteAllSignals();
        _events.Close();
        ReportHosted(0, 0);
        _timer?.Dispose();
        _timer = null;
        _timerDue = null;
        return Task.CompletedTask;
    }

    public async Task<AcquireResult> AcquireAsync(AcquireCommand command)
    {
        var now = Begin();
        var outcome = _machine.Acquire(_state.State, now, command);
        await CommitAsync(outcome.Changes, now);
        return outcome.Result;
    }

    public async Task<AcquireResult> PollAsync(string requestId)
    {
        var now = Begin();
        var outcome = _machine.Poll(_state.State, now, requestId);
        await CommitAsync(outcome.Changes, now);
        return outcome.Result;
    }

    public async Task<AcquireResult?> WaitAsync(string requestId, TimeSpan timeout)
    {
        TaskCompletionSource<AcquireResult?>? signal = null;
        lock (_signalsGate)
        {
            _signals?.TryGetValue(requestId, out signal);
        }

        if (signal is null || timeout <= TimeSpan.Zero)
        {
            return null;
        }

        // The Api bounds the wait; the clamp only keeps a caller's bug from becoming an ArgumentOutOfRangeException.
        var bound = _options.MaxWait > TimeSpan.Zero ? _options.MaxWait : TimeSpan.FromMinutes(1);
        try
        {
            return await signal.Task.WaitAsync(timeout < bound ? timeout : bound, timeProvider);
        }
        catch (TimeoutException)
        {
            return null; // the caller polls for the outcome
        }
    }

    public async Task CancelWaitAsync(string requestId)
    {
        var now = Begin();
        var outcome = _machine.CancelWait(_state.State, now, requestId);
        await CommitAsync(outcome.Changes, now);
    }

    public async Task<RenewResult> RenewAsync(string leaseId, TimeSpan? ttl)
    {
        var now = Begin();
        var outcome = _machine.Renew(_state.State, now, leaseId, ttl);
        await CommitAsync(outcome.Changes, now);
        return outcome.Result;
    }

    public async Task<ReleaseResult> ReleaseAsync(string leaseId)
    {
        var now = Begin();
        var outcome = _machine.Release(_state.State, now, leaseId);
        await CommitAsync(outcome.Changes, now);
        return outcome.Result;
    }

    public async Task<ValidateResult> ValidateAsync(long fencingToken)
    {
        Begin();
        await ConfirmCurrentAsync();
        var now = timeProvider.GetUtcNow();
        var outcome = _machine.Validate(_state.State, now, fencingToken);
        await CommitAsync(outcome.Changes, now);
        metrics?.Validated(outcome.Result.Valid);
        return outcome.Result;
    }

    public async Task<ForceReleaseResult> ForceReleaseAsync(string requestedBy, string reason)
    {
        var now = Begin();
        var outcome = _machine.ForceRelease(_state.State, now, requestedBy, reason);
        await CommitAsync(outcome.Changes, now);
        return outcome.Result;
    }

    public async Task<LockStateView> GetStateAsync()
    {
        Begin();
        await ConfirmCurrentAsync();
        var now = timeProvider.GetUtcNow();
        var outcome = _machine.GetState(_state.State, now);
        await CommitAsync(outcome.Changes, now);
        return outcome.Result;
    }

    public Task<LockEventBatch> WatchAsync(string? epoch, long afterSequence, TimeSpan maxWait)
    {
        // Bounded like WaitAsync: the caller loops, so a long poll never outlives a reasonable HTTP/2 stream.
        var bound = TimeSpan.FromSeconds(30);
        return _events.WatchAsync(epoch, afterSequence, maxWait < bound ? maxWait : bound, timeProvider);
    }

    /// <summary>The timer's turn: expire and abandon what is due, advance the queue, re-arm.</summary>
    private async Task OnTimerAsync(CancellationToken cancellationToken)
    {
        if (_stale)
        {
            return;
        }

        var now = timeProvider.GetUtcNow();
        _timerDue = null;
        var changes = _machine.Sweep(_state.State, now);
        await CommitAsync(changes, now);
    }

    private DateTimeOffset Begin()
        => _stale
            ? throw new InconsistentStateException($"The activation of lock '{Name}' failed to write its state and is being deactivated.")
            : timeProvider.GetUtcNow();

    private async Task CommitAsync(LockChanges changes, DateTimeOffset now)
    {
        if (changes.StateChanged)
        {
            await WriteAsync();
        }

        if (changes.Enqueued is { } enqueued)
        {
            AddSignal(enqueued);
        }

        AfterCommit(changes, now);
    }

    private async Task WriteAsync()
    {
        try
        {
            await _state.WriteStateAsync();
        }
        catch (Exception exception)
        {
            LogWriteFailed(Name, exception);
            Poison();
            throw;
        }
    }

    /*
     * Reads answer from storage's truth, not from memory alone. A call that changes the lock is safe on any
     * activation: its write is version-checked, so a stale one (a zombie: a silo cut off while another silo took
     * the lock over) fails and is dropped. A pure read writes nothing, so a zombie would answer it from its old
     * state (a lower fencing counter, a holder that is gone, a token still "valid"). So GetState and Validate first
     * re-read the row: the same version means memory was current (every change is written before its reply);
     * another version means another activation wrote, so this one is stale and is dropped like one whose write
     * failed, and the runtime retries the call on a fresh activation, which reads the truth.
     */
    private async Task ConfirmCurrentAsync()
    {
        var known = _state.Etag;
        try
        {
            await _state.ReadStateAsync();
        }
        catch (Exception exception)
        {
            LogStaleRead(Name, exception);
            Poison();
            throw;
        }

        if (_state.Etag != known)
        {
            var stale = new InconsistentStateException(
                $"The activation of lock '{Name}' is stale: storage holds version {_state.Etag ?? "none"}, it knew {known ?? "none"}.",
                _state.Etag,
                known);
            LogStaleRead(Name, stale);
            Poison();
            throw stale;
        }
    }

    /// <summary>This activation's state can no longer be trusted: stop everything and ask to be deactivated.</summary>
    private void Poison()
    {
        _stale = true;
        _events.Close();
        ReportHosted(0, 0);
        _timer?.Dispose();
        _timer = null;
        _timerDue = null;
        CompleteAllSignals();
        GrainContext.DeactivateOnIdle();
    }

    /// <summary>Everything that follows a commit: wake departed waiters, re-arm the timer, log.</summary>
    private void AfterCommit(LockChanges changes, DateTimeOffset now)
    {
        foreach (var requestId in changes.LeftQueue)
        {
            // A granted waiter's long poll gets its grant with the signal (committed: this runs after the write), so
            // the hand-off to it costs no second turn; one removed for another reason polls for its outcome.
            CompleteSignal(requestId, _machine.GrantOf(_state.State, requestId));
        }

        ArmTimer(now);
        foreach (var lockEvent in changes.Events)
        {
            Log(lockEvent);
            Record(lockEvent, now);
            Publish(lockEvent, now);
        }

        ReportHosted(_state.State.Holders.Count, _state.State.Waiters.Count);
    }

    private void Record(LockEvent e, DateTimeOffset now)
    {
        if (metrics is null)
        {
            return;
        }

        switch (e.Kind)
        {
            case LockEventKind.Granted:
                metrics.Granted(e.Mode, e.EnqueuedAt is { } enqueued ? now - enqueued : null);
                break;
            case LockEventKind.Queued:
                metrics.Queued(e.Mode, e.Position);
                break;
            case LockEventKind.Renewed:
                metrics.Renewed();
                break;
            case LockEventKind.Released:
                metrics.LeaseEnded("released", now - e.AcquiredAt);
                break;
            case LockEventKind.Expired:
                // Held until its deadline, not until the sweep that noticed it.
                metrics.LeaseEnded("expired", e.ExpiresAt - e.AcquiredAt);
                break;
            case LockEventKind.ForceReleased:
                metrics.LeaseEnded("forceReleased", now - e.AcquiredAt);
                break;
            case LockEventKind.WaiterAbandoned:
                metrics.Dequeued("abandoned");
                break;
            case LockEventKind.WaitCancelled:
                metrics.Dequeued("cancelled");
                break;
            default:
                break;
        }
    }

    /// <summary>Appends the event watchers see (GET /locks/{name}/events), if it is one of theirs.</summary>
    private void Publish(LockEvent e, DateTimeOffset now)
    {
        (LockEventType Type, long? Token, int? Position, DateTimeOffset? ExpiresAt, string? Reason)? view = e.Kind switch
        {
            LockEventKind.Queued => (LockEventType.Queued, null, e.Position, null, null),
            LockEventKind.Granted => (LockEventType.Granted, e.FencingToken, null, e.ExpiresAt, null),
            LockEventKind.Renewed => (LockEventType.Renewed, e.FencingToken, null, e.ExpiresAt, null),
            LockEventKind.Released => (LockEventType.Released, e.FencingToken, null, null, null),
            LockEventKind.Expired => (LockEventType.Expired, e.FencingToken, null, e.ExpiresAt, null),
            LockEventKind.ForceReleased => (LockEventType.Forced, e.FencingToken, null, null, e.Reason),
            LockEventKind.WaiterAbandoned => (LockEventType.Dequeued, null, e.Position, null, "abandoned"),
            LockEventKind.WaitCancelled => (LockEventType.Dequeued, null, e.Position, null, "cancelled"),
            _ => null,
        };
        if (view is { } v)
        {
            _events.Append(sequence => new LockEventView(sequence, v.Type, now, e.Owner, e.Mode, v.Token, v.Position, v.ExpiresAt, v.Reason));
        }
    }

    /// <summary>Moves the silo's lease and waiter gauges by this activation's change since it last reported.</summary>
    private void ReportHosted(int leases, int waiters)
    {
        metrics?.AdjustHosted(leases - _reportedLeases, waiters - _reportedWaiters);
        _reportedLeases = leases;
        _reportedWaiters = waiters;
    }

    private void ArmTimer(DateTimeOffset now)
    {
        if (_machine.NextDeadline(_state.State) is not { } deadline)
        {
            _timer?.Dispose();
            _timer = null;
            _timerDue = null;
            return;
        }

        var dueAt = deadline - now > MaxTimerDue ? now + MaxTimerDue : deadline;
        if (_timer is not null && _timerDue == dueAt)
        {
            return;
        }

        var due = dueAt > now ? dueAt - now : TimeSpan.Zero;
        if (_timer is null)
        {
            _timer = GrainContext.RegisterGrainTimer(OnTimerAsync, due, Timeout.InfiniteTimeSpan, keepAlive: true);
        }
        else
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }

        _timerDue = dueAt;
    }

    private void AddSignal(string requestId)
    {
        lock (_signalsGate)
        {
            _signals ??= new Dictionary<string, TaskCompletionSource<AcquireResult?>>(StringComparer.Ordinal);
            _signals.TryAdd(requestId, new TaskCompletionSource<AcquireResult?>(TaskCreationOptions.RunContinuationsAsynchronously));
        }
    }

    private void CompleteSignal(string requestId, AcquireResult? grant)
    {
        TaskCompletionSource<AcquireResult?>? signal = null;
        lock (_signalsGate)
        {
            if (_signals is not null && _signals.Remove(requestId, out signal) && _signals.Count == 0)
            {
                _signals = null;
            }
        }

        signal?.TrySetResult(grant);
    }

    private void CompleteAllSignals()
    {
        Dictionary<string, TaskCompletionSource<AcquireResult?>>? signals;
        lock (_signalsGate)
        {
            signals = _signals;
            _signals = null;
        }

        if (signals is not null)
        {
            foreach (var signal in signals.Values)
            {
                signal.TrySetResult(null);
            }
        }
    }

    private void Log(LockEvent e)
    {
        switch (e.Kind)
        {
            case LockEventKind.Requested:
                LogRequested(Name, e.Owner, e.Mode, e.RequestId);
                break;
            case LockEventKind.Queued:
                LogQueued(Name, e.Owner, e.Mode, e.RequestId, e.Position);
                break;
            case LockEventKind.Granted:
                LogGranted(Name, e.Owner, e.Mode, e.FencingToken, e.RequestId, e.ExpiresAt);
                break;
            case LockEventKind.Renewed:
                LogRenewed(Name, e.Owner, e.FencingToken, e.RequestId, e.ExpiresAt);
                break;
            case LockEventKind.Released:
                LogReleased(Name, e.Owner, e.Mode, e.FencingToken, e.RequestId);
                break;
            case LockEventKind.Expired:
                LogExpired(Name, e.Owner, e.Mode, e.FencingToken, e.RequestId, e.ExpiresAt);
                break;
            case LockEventKind.WaiterAbandoned:
                LogWaiterAbandoned(Name, e.Owner, e.Mode, e.RequestId, e.Position);
                break;
            case LockEventKind.WaitCancelled:
                LogWaitCancelled(Name, e.Owner, e.Mode, e.RequestId, e.Position);
                break;
            case LockEventKind.ForceReleased:
                LogForceReleased(Name, e.Owner, e.Mode, e.FencingToken, e.RequestId, e.By, e.Reason);
                break;
            case LockEventKind.FencingBumped:
                LogFencingBumped(Name, e.By, e.Reason, e.Count, e.FencingToken);
                break;
            case LockEventKind.LeaseRecovered:
                LogLeaseRecovered(Name, e.Owner, e.FencingToken, e.RequestId, e.ExpiresAt);
                break;
            case LockEventKind.WaiterRecovered:
                LogWaiterRecovered(Name, e.Owner, e.Mode, e.RequestId);
                break;
            default:
                break;
        }
    }

    [LoggerMessage(3000, LogLevel.Debug, "Lock {LockName}: {Owner} requests {Mode} (request {RequestId})")]
    private partial void LogRequested(string lockName, string owner, LockMode mode, string requestId);

    [LoggerMessage(3001, LogLevel.Debug, "Lock {LockName}: {Owner} queued for {Mode} at position {Position} (request {RequestId})")]
    private partial void LogQueued(string lockName, string owner, LockMode mode, string requestId, int position);

    [LoggerMessage(3002, LogLevel.Information, "Lock {LockName}: granted {Mode} to {Owner} with token {FencingToken} until {ExpiresAt} (request {RequestId})")]
    private partial void LogGranted(string lockName, string owner, LockMode mode, long fencingToken, string requestId, DateTimeOffset? expiresAt);

    [LoggerMessage(3003, LogLevel.Debug, "Lock {LockName}: {Owner} renewed token {FencingToken} until {ExpiresAt} (request {RequestId})")]
    private partial void LogRenewed(string lockName, string owner, long fencingToken, string requestId, DateTimeOffset? expiresAt);

    [LoggerMessage(3004, LogLevel.Information, "Lock {LockName}: {Owner} released {Mode} token {FencingToken} (request {RequestId})")]
    private partial void LogReleased(string lockName, string owner, LockMode mode, long fencingToken, string requestId);

    [LoggerMessage(3005, LogLevel.Information, "Lock {LockName}: {Mode} lease of {Owner} with token {FencingToken} expired at {ExpiresAt} (request {RequestId})")]
    private partial void LogExpired(string lockName, string owner, LockMode mode, long fencingToken, string requestId, DateTimeOffset? expiresAt);

    [LoggerMessage(3006, LogLevel.Information, "Lock {LockName}: abandoned waiter {Owner} for {Mode} at position {Position}: it stopped polling (request {RequestId})")]
    private partial void LogWaiterAbandoned(string lockName, string owner, LockMode mode, string requestId, int position);

    [LoggerMessage(3007, LogLevel.Debug, "Lock {LockName}: waiter {Owner} for {Mode} at position {Position} cancelled (request {RequestId})")]
    private partial void LogWaitCancelled(string lockName, string owner, LockMode mode, string requestId, int position);

    [LoggerMessage(3008, LogLevel.Warning, "Lock {LockName}: {Mode} lease of {Owner} with token {FencingToken} force-released by {By}: {Reason} (request {RequestId})")]
    private partial void LogForceReleased(string lockName, string owner, LockMode mode, long fencingToken, string requestId, string? by, string? reason);

    [LoggerMessage(3009, LogLevel.Warning, "Lock {LockName}: force-release by {By}: {Reason}; {HoldersRemoved} holders removed, fencing counter now {FencingCounter}")]
    private partial void LogFencingBumped(string lockName, string? by, string? reason, int holdersRemoved, long fencingCounter);

    [LoggerMessage(3010, LogLevel.Warning, "Lock {LockName}: lease of {Owner} with token {FencingToken} passed its deadline while the lock was not hosted; extended to {ExpiresAt} (request {RequestId})")]
    private partial void LogLeaseRecovered(string lockName, string owner, long fencingToken, string requestId, DateTimeOffset? expiresAt);

    [LoggerMessage(3011, LogLevel.Information, "Lock {LockName}: waiter {Owner} for {Mode} passed its poll deadline while the lock was not hosted; place kept (request {RequestId})")]
    private partial void LogWaiterRecovered(string lockName, string owner, LockMode mode, string requestId);

    [LoggerMessage(3020, LogLevel.Warning, "Lock {LockName}: writing the state failed; the activation drops its state and is deactivated")]
    private partial void LogWriteFailed(string lockName, Exception exception);

    [LoggerMessage(3021, LogLevel.Warning, "Lock {LockName}: a read found the stored state moved on or unreadable; the activation drops its state and is deactivated")]
    private partial void LogStaleRead(string lockName, Exception exception);
}
