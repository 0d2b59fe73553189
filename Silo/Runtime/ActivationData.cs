using Microsoft.Extensions.Logging;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Silo.Runtime;

/*
 * Design note — ActivationData (one activation of one grain in this silo; Orleans' name)
 *
 * Turns. Calls and timer ticks wait in a FIFO request queue (an intrusive linked list: an idle activation holds no
 * queue storage). One turn loop drains it: it takes the head, runs it to completion (the grain method's Task), then
 * takes the next. So requests never overlap and are served in arrival order (non-reentrant, like Orleans). The
 * loop starts when work arrives and ends when the queue is empty; _turnLoopRunning says whether it runs.
 * [AlwaysInterleave] calls skip the queue once the activation is valid and run beside the current turn. All grain
 * code, turns and interleaved calls alike, runs on the activation's ActivationTaskScheduler, so it interleaves only
 * at awaits and never runs in parallel.
 *
 * Lifecycle: Creating → Activating → Valid → Deactivating → Invalid, moved only by the turn loop (plus Invalid on a
 * failed activation or a forced abort). Activation is the loop's first step, before any queued call: construct the
 * grain (its constructor asks for its IPersistentState<T>s), read every state, OnActivateAsync — all bounded by
 * ActivationTimeout. If that fails, every queued call fails with SiloUnavailableException and the activation is
 * discarded, never half-used.
 *
 * Deactivation is requested by a flag (_pendingDeactivation) and carried out by the loop between turns, so it never
 * overlaps a turn: DeactivateOnIdle, idle collection, shutdown, and storage failures. A storage failure
 * (InconsistentStateException / StorageUnavailableException) means the in-memory state can no longer be trusted, so
 * the activation deactivates right after the failing turn with ApplicationError, even if the grain swallowed the
 * exception; ApplicationError takes precedence over any other pending reason. A call that failed with a version
 * conflict goes back to the head of the queue (up to Catalog.MaxVersionConflictAttempts). When the activation
 * becomes Invalid, the calls still queued are handed, in order, to a fresh activation that re-reads the state
 * (Catalog.OnDeactivated); calls arriving meanwhile queue behind them, so FIFO order survives the hand-over.
 *
 * Directory (cluster only, Catalog.Registrar): activating registers the activation after placement chose this silo
 * and before any state is read, so two silos never both read-and-serve a grain in the normal case. If the directory
 * names another live silo, this activation is a duplicate: it never reads state or runs grain code, becomes Invalid,
 * and its queued calls are rejected with ForwardingAddress so the router sends them there. Every way out of a
 * registered activation unregisters it: deactivation awaits the unregister before handing its queued calls on (so a
 * successor on another silo, e.g. after a graceful shutdown, registers without finding this entry); a failed
 * activation and an abort unregister in the background (the registrar skips it once the silo is dead or killed:
 * the survivors remove a dead silo's entries). A successor on this silo registers afresh.
 *
 * Interleaved calls still running when the activation deactivates are not waited for (they may be long waits); the
 * grain's OnDeactivateAsync should release them. Their results still reach their callers.
 *
 * Lock: the activation object itself (as in Orleans; a thin Monitor lock costs no memory while uncontended, and
 * millions of activations may exist) guards every mutable field below and the flags of this activation's timers.
 * It is never held while grain code, storage or another activation runs.
 */
internal sealed class ActivationData : IGrainContext
{
    private static readonly Func<object?, Task> RunTurnLoop = static state => ((ActivationData)state!).RunTurnLoopAsync();

    private readonly Catalog _catalog;
    private readonly ActivationTaskScheduler _scheduler = new();

    private IGrainBase? _grain;
    private ActivationState _state;
    private WorkItem? _head;
    private WorkItem? _tail;
    private bool _turnLoopRunning;
    private bool _inTurn;
    private DeactivationReason? _pendingDeactivation;
    private long _lastActivity;
    private int _runningInterleavedCalls;
    private GrainTimer? _timers; // linked through GrainTimer.NextTimer
    private List<IActivationState>? _states;
    private TaskCompletionSource? _destroyed;
    private int _registered; // 1 while this activation's directory entry may exist

    public ActivationData(GrainId grainId, GrainClassInfo grainClass, Catalog catalog)
    {
        GrainId = grainId;
        GrainClass = grainClass;
        _catalog = catalog;
        _lastActivity = catalog.TimeProvider.GetTimestamp();
    }

    public GrainId GrainId { get; }

    public GrainClassInfo GrainClass { get; }

    /// <summary>Tells this activation's directory entry from any other activation of the grain.</summary>
    public Guid ActivationId { get; } = Guid.NewGuid();

    /// <summary>Set when the directory refused this activation as a duplicate: the silo that hosts the grain's activation.</summary>
    public SiloAddress? ForwardingAddress { get; private set; }

    /// <summary>The grain instance, once constructed.</summary>
    public IGrainBase? GrainInstance => _grain;

    public ActivationState State
    {
        get
        {
            lock (this)
            {
                return _state;
            }
        }
    }

    /// <summary>Valid, with no turn or interleaved call running, nothing queued and no deactivation pending.</summary>
    public bool IsIdle
    {
        get
        {
            lock (this)
            {
                return _state == ActivationState.Valid
                    && !_inTurn
                    && _head is null
                    && _runningInterleavedCalls == 0
                    && _pendingDeactivation is null;
            }
        }
    }

    /// <summary>The lock that guards this activation's queue and its timers' flags.</summary>
    internal object SyncRoot => this;

    public override string ToString() => $"[Activation {GrainId}]";

    /// <summary>
    /// Queues <paramref name="call"/> (or starts it at once if it interleaves and the activation is valid).
    /// False only when the activation is invalid: the caller must look the grain up again.
    /// </summary>
    public bool TryEnqueue(GrainCall call)
    {
        bool startLoop = false, startInterleaved = false;
        lock (this)
        {
            if (_state == ActivationState.Invalid)
            {
                return false;
            }

            if (call.Method.AlwaysInterleave && _state == ActivationState.Valid && _pendingDeactivation is null)
            {
                _runningInterleavedCalls++;
                _lastActivity = Now;
                startInterleaved = true;
            }
            else
            {
                Append(call);
                startLoop = TryClaimTurnLoop();
            }
        }

        if (startInterleaved)
        {
            StartInterleaved(call);
        }

        if (startLoop)
        {
            ScheduleTurnLoop();
        }

        return true;
    }

    /// <summary>Queues calls handed over from a predecessor, before this activation is visible to anyone else.</summary>
    public void AdoptQueue(List<GrainCall> calls)
    {
        lock (this)
        {
            foreach (var call in calls)
            {
                Append(call);
            }
        }
    }

    /// <summary>Starts the turn loop if work is queued and it is not running yet.</summary>
    public void Start()
    {
        bool start;
        lock (this)
        {
            start = _head is not null && TryClaimTurnLoop();
        }

        if (start)
        {
            ScheduleTurnLoop();
        }
    }

    /// <summary>Deactivates after the current turn; the task completes once the activation is gone.</summary>
    public Task DeactivateAsync(DeactivationReason reason)
    {
        Task destroyed;
        lock (this)
        {
            if (_state == ActivationState.Invalid)
            {
                return Task.CompletedTask;
            }

            _destroyed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            destroyed = _destroyed.Task;
        }

        RequestDeactivation(reason);
        return destroyed;
    }

    /// <summary>
    /// Starts an idle deactivation if nothing ran for <paramref name="collectionAge"/>, nothing is queued or running,
    /// and no keep-alive timer is armed. Called by the activation collector.
    /// </summary>
    public bool TryStartIdleDeactivation(TimeSpan collectionAge)
    {
        bool startLoop;
        lock (this)
        {
            if (!IsIdle || _catalog.TimeProvider.GetElapsedTime(_lastActivity) < collectionAge || HasArmedKeepAliveTimer())
            {
                return false;
            }

            // If the turn loop is still winding down after its last turn, it sees the flag before it stops.
            _pendingDeactivation = new DeactivationReason(DeactivationReasonCode.ActivationIdle, $"idle for at least {collectionAge}");
            startLoop = TryClaimTurnLoop();
        }

        if (startLoop)
        {
            ScheduleTurnLoop();
        }

        return true;
    }

    /// <summary>Drops the activation without waiting for it (shutdown past its deadline): queued calls fail.</summary>
    public void Abort(string why)
    {
        if (!TryInvalidate(out var calls, out var destroyed))
        {
            return;
        }

        DisposeTimers();
        _ = ReleaseRegistrationAsync();
        foreach (var call in calls ?? [])
        {
            call.Reject(new SiloUnavailableException($"Grain {GrainId} was dropped: {why}."));
        }

        _catalog.Remove(this);
        destroyed?.TrySetResult();
    }

    // ---- IGrainContext ----

    public IGrainTimer RegisterGrainTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, bool keepAlive = false)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new GrainTimer(this, _catalog.TimeProvider, callback, dueTime, period, keepAlive);
        ActivationState state;
        lock (this)
        {
            state = _state;
            if (state is not (ActivationState.Deactivating or ActivationState.Invalid))
            {
                timer.NextTimer = _timers;
                _timers = timer;
            }
        }

        if (state == ActivationState.Deactivating)
        {
            timer.Dispose();
            throw new InvalidOperationException($"Grain {GrainId} is deactivating; it cannot register timers.");
        }

        if (state == ActivationState.Invalid)
        {
            // The activation was dropped under a running turn (Abort: the silo read itself dead, or shut down past its
            // deadline); the turn goes on after its await returns. Its timers died with it and the next activation
            // re-arms them from storage, so the timer is born disposed. Throwing would fail a call whose write may
            // already be committed — a 500 for a grant that is in storage.
            timer.Dispose();
        }

        return timer;
    }

    public void DeactivateOnIdle()
        => RequestDeactivation(new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "DeactivateOnIdle"));

    public IPersistentState<TState> GetPersistentState<TState>(string stateName)
        where TState : new()
    {
        ArgumentException.ThrowIfNullOrEmpty(stateName);

        // Only the grain's constructor runs while activating with no grain instance yet; the turn loop is its thread.
        if (_state != ActivationState.Activating || _grain is not null)
        {
            throw new InvalidOperationException(
                "GetPersistentState must be called from the grain's constructor: the runtime reads every state before OnActivateAsync.");
        }

        var states = _states ??= [];
        if (states.Exists(s => s.StateName == stateName))
        {
            throw new ArgumentException($"Grain {GrainId} already has a persistent state named '{stateName}'.", nameof(stateName));
        }

        var state = new PersistentState<TState>(stateName, this, _catalog.GrainStorage);
        states.Add(state);
        return state;
    }

    // ---- called by timers and persistent states ----

    /// <summary>A storage operation failed: in-memory state is stale or unknown, so drop this activation after the current turn.</summary>
    internal void OnStorageFailure(Exception exception)
    {
        var reason = exception is InconsistentStateException
            ? "version conflict: in-memory state is stale"
            : "storage unavailable: the outcome of a write is unknown";
        if (RequestDeactivation(new DeactivationReason(DeactivationReasonCode.ApplicationError, reason)) && State == ActivationState.Valid)
        {
            _catalog.Logger.StorageFailureActivationDropped(exception, GrainId);
        }
    }

    /// <summary>
    /// Throws if this activation may no longer write its state: <see cref="InvalidOperationException"/> while it
    /// deactivates (OnDeactivateAsync must not persist, a programming error), <see cref="SiloUnavailableException"/>
    /// once it was dropped under the running turn.
    /// </summary>
    internal void EnsureStateWritable()
    {
        lock (this)
        {
            if (_state == ActivationState.Deactivating)
            {
                throw new InvalidOperationException(
                    $"Grain {GrainId} is deactivating and cannot write its state: OnDeactivateAsync must not persist.");
            }

            if (_state == ActivationState.Invalid)
            {
                // Dropped under a running turn (Abort): its state may be stale and nothing was written, so the call
                // fails as unavailable (HTTP 503, retry), like every call the dropped activation had queued.
                throw new SiloUnavailableException(
                    $"Grain {GrainId} was dropped while this call ran; a discarded activation's state is stale, so nothing was written.");
            }
        }
    }

    internal void EnqueueTimerTick(GrainTimer timer)
    {
        bool startLoop;
        lock (this)
        {
            if (timer.IsDisposed
                || _state is not (ActivationState.Activating or ActivationState.Valid)
                || _pendingDeactivation is not null)
            {
                return;
            }

            if (timer.IsQueued)
            {
                timer.FiredWhileQueued = true;
                return;
            }

            timer.IsQueued = true;
            Append(timer);
            startLoop = TryClaimTurnLoop();
        }

        if (startLoop)
        {
            ScheduleTurnLoop();
        }
    }

    internal void OnTimerDisposed(GrainTimer timer)
    {
        lock (this)
        {
            if (_timers == timer)
            {
                _timers = timer.NextTimer;
                return;
            }

            for (var previous = _timers; previous is not null; previous = previous.NextTimer)
            {
                if (previous.NextTimer == timer)
                {
                    previous.NextTimer = timer.NextTimer;
                    return;
                }
            }
        }
    }

    internal void OnTimerCallbackFailed(Exception exception)
    {
        if (exception is InconsistentStateException or StorageUnavailableException)
        {
            OnStorageFailure(exception);
        }
        else
        {
            _catalog.Logger.TimerCallbackFailed(exception, GrainId);
        }
    }

    // ---- the turn loop ----

    private async Task RunTurnLoopAsync()
    {
        try
        {
            if (!await EnsureActivatedAsync())
            {
                return;
            }

            while (true)
            {
                WorkItem? item;
                DeactivationReason deactivation = default;
                lock (this)
                {
                    if (_state == ActivationState.Invalid)
                    {
                        return;
                    }

                    if (_pendingDeactivation is { } pending)
                    {
                        _state = ActivationState.Deactivating;
                        deactivation = pending;
                        item = null;
                    }
                    else if ((item = Dequeue()) is null)
                    {
                        _turnLoopRunning = false;
                        return;
                    }
                    else if (item is GrainCall { Method.AlwaysInterleave: true })
                    {
                        _runningInterleavedCalls++;
                    }
                    else
                    {
                        _inTurn = true;
                        if (item is GrainCall)
                        {
                            _lastActivity = Now;
                        }
                    }
                }

                switch (item)
                {
                    case null:
                        await DeactivateCoreAsync(deactivation);
                        return;
                    case GrainCall { Method.AlwaysInterleave: true } interleaved:
                        // Queued while activating: start it now, beside the turns.
                        StartInterleaved(interleaved);
                        break;
                    case GrainCall call:
                        await RunCallAsync(call);
                        break;
                    case GrainTimer timer:
                        using (SiloTracing.BeginScope(_catalog.Logger, _catalog.SiloName, GrainId))
                        {
                            await timer.RunTickAsync();
                        }

                        EndTurn(timer.KeepAlive);
                        break;
                }
            }
        }
        catch (Exception exception)
        {
            // Every path above handles its own failures; reaching this is a runtime bug. Fail safe: drop the activation.
            _catalog.Logger.TurnLoopFailed(exception, GrainId);
            Abort($"internal error: {exception.Message}");
        }
    }

    private async Task<bool> EnsureActivatedAsync()
    {
        DeactivationReason? abandon = null;
        lock (this)
        {
            if (_state != ActivationState.Creating)
            {
                return _state != ActivationState.Invalid;
            }

            if (_pendingDeactivation is { } pending)
            {
                abandon = pending;
            }
            else if (!_catalog.IsAcceptingCalls)
            {
                abandon = new DeactivationReason(DeactivationReasonCode.ShuttingDown, "the silo is not active");
            }
            else if (!_catalog.MayHost(GrainId))
            {
                // The cluster placed the grain elsewhere since the call was routed here: do not read state or run
                // anything; the queued calls are rejected and re-routed to the owner.
                abandon = new DeactivationReason(DeactivationReasonCode.DuplicateActivation, "the grain is placed on another silo");
            }
            else
            {
                _state = ActivationState.Activating;
            }
        }

        if (abandon is { } reason)
        {
            // Never activated, so there is nothing to deactivate: hand the queue on (or fail it if the silo stops).
            Destroy(reason);
            return false;
        }

        using var timeout = new CancellationTokenSource(_catalog.Options.ActivationTimeout, _catalog.TimeProvider);
        try
        {
            if (_catalog.Registrar is { } registrar)
            {
                Volatile.Write(ref _registered, 1);
                if (await registrar.RegisterAsync(GrainId, ActivationId, timeout.Token).WaitAsync(timeout.Token) is { } elsewhere)
                {
                    // A duplicate: another live silo hosts the grain. Nothing was read or run; the calls go there.
                    Volatile.Write(ref _registered, 0);
                    ForwardingAddress = elsewhere;
                    Destroy(new DeactivationReason(DeactivationReasonCode.DuplicateActivation, $"the grain directory names silo {elsewhere}"));
                    return false;
                }
            }

            await ActivateCoreAsync(timeout.Token).WaitAsync(timeout.Token);
        }
        catch (Exception exception)
        {
            var cause = exception is OperationCanceledException && timeout.IsCancellationRequested
                ? new TimeoutException($"Activation of grain {GrainId} did not complete within {_catalog.Options.ActivationTimeout}.", exception)
                : exception;
            FailActivation(cause);
            return false;
        }

        lock (this)
        {
            if (_state != ActivationState.Activating)
            {
                return false;
            }

            _state = ActivationState.Valid;
            _lastActivity = Now;
        }

        _catalog.OnActivated(this);
        return true;
    }

    private async Task ActivateCoreAsync(CancellationToken cancellationToken)
    {
        var grain = GrainClass.CreateInstance(_catalog.Services, this);
        _grain = grain;
        if (_states is { } states)
        {
            foreach (var state in states)
            {
                await state.ReadStateAsync(cancellationToken);
            }

            _states = null;
        }

        await grain.OnActivateAsync(cancellationToken);
    }

    private void FailActivation(Exception cause)
    {
        if (!TryInvalidate(out var calls, out var destroyed))
        {
            return;
        }

        DisposeTimers();
        _catalog.Remove(this);
        _ = ReleaseRegistrationAsync();
        _catalog.Logger.ActivationFailed(cause, GrainId, calls?.Count ?? 0);
        foreach (var call in calls ?? [])
        {
            call.TrySetException(new SiloUnavailableException($"Activation of grain {GrainId} failed: {cause.Message}", cause));
        }

        destroyed?.TrySetResult();
    }

    /// <summary>Marks the activation invalid and takes its queued calls; false if it already was invalid.</summary>
    private bool TryInvalidate(out List<GrainCall>? calls, out TaskCompletionSource? destroyed)
    {
        lock (this)
        {
            if (_state == ActivationState.Invalid)
            {
                calls = null;
                destroyed = null;
                return false;
            }

            _state = ActivationState.Invalid;
            calls = TakeQueuedCalls();
            destroyed = _destroyed;
            return true;
        }
    }

    /// <summary>Runs a call (a turn, or an interleaved call) and delivers its outcome.</summary>
    private async Task RunCallAsync(GrainCall call)
    {
        object? result = null;
        Exception? failure = null;
        using var activity = SiloTracing.StartCall(call, GrainId);
        using var scope = SiloTracing.BeginScope(_catalog.Logger, _catalog.SiloName, GrainId);
        try
        {
            var task = call.Method.Invoke(_grain!, call.Arguments);
            await task;
            result = call.Method.GetResult(task);
        }
        catch (Exception exception)
        {
            failure = exception;
        }

        // Record the end (activity time, no turn running) before the caller sees the outcome, so the caller's next
        // step (e.g. waiting for idle collection) observes it.
        if (call.Method.AlwaysInterleave)
        {
            lock (this)
            {
                _runningInterleavedCalls--;
                _lastActivity = Now;
            }
        }
        else
        {
            EndTurn(touch: true);
        }

        if (failure is null)
        {
            _catalog.OnCallCompleted(call);
            call.TrySetResult(result);
        }
        else
        {
            OnCallFailed(call, failure);
        }
    }

    private void EndTurn(bool touch)
    {
        lock (this)
        {
            _inTurn = false;
            if (touch)
            {
                _lastActivity = Now;
            }
        }
    }

    private void StartInterleaved(GrainCall call)
        => _ = Task.Factory.StartNew(() => RunCallAsync(call), CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler);

    private void OnCallFailed(GrainCall call, Exception exception)
    {
        switch (exception)
        {
            case InconsistentStateException conflict:
                OnStorageFailure(conflict);
                call.VersionConflicts++;
                if (call.VersionConflicts >= Catalog.MaxVersionConflictAttempts)
                {
                    _catalog.Logger.VersionConflictRetriesExhausted(conflict, GrainId, call.Method.ShortName, Catalog.MaxVersionConflictAttempts);
                    _catalog.OnCallCompleted(call);
                    call.TrySetException(new SiloUnavailableException(
                        $"Grain {GrainId} hit a version conflict on each of {Catalog.MaxVersionConflictAttempts} attempts of {call.Method.ShortName}.",
                        conflict));
                }
                else
                {
                    _catalog.Logger.VersionConflictRetry(GrainId, call.Method.ShortName, call.VersionConflicts + 1, Catalog.MaxVersionConflictAttempts);
                    Requeue(call);
                }

                break;
            case StorageUnavailableException:
                OnStorageFailure(exception);
                _catalog.OnCallCompleted(call);
                call.TrySetException(exception);
                break;
            default:
                _catalog.OnCallCompleted(call);
                call.TrySetException(exception);
                break;
        }
    }

    /// <summary>Puts a call back at the head of the queue: it is re-dispatched first, to the fresh activation.</summary>
    private void Requeue(GrainCall call)
    {
        lock (this)
        {
            if (_state != ActivationState.Invalid)
            {
                call.Next = _head;
                _head = call;
                _tail ??= call;
                return;
            }
        }

        _catalog.Dispatch(GrainId, GrainClass, call);
    }

    private async Task DeactivateCoreAsync(DeactivationReason reason)
    {
        DisposeTimers();
        if (_grain is { } grain)
        {
            using var timeout = new CancellationTokenSource(_catalog.Options.DeactivationTimeout, _catalog.TimeProvider);
            try
            {
                await grain.OnDeactivateAsync(reason, timeout.Token).WaitAsync(timeout.Token);
            }
            catch (Exception exception)
            {
                _catalog.Logger.DeactivationFailed(exception, GrainId, reason.ReasonCode);
            }
        }

        // Before the queued calls are handed on: a successor elsewhere must not find this entry.
        await ReleaseRegistrationAsync();
        Destroy(reason);
    }

    /// <summary>Unregisters this activation once, if it may be registered; never throws.</summary>
    private Task ReleaseRegistrationAsync()
        => Interlocked.Exchange(ref _registered, 0) == 1 && _catalog.Registrar is { } registrar
            ? registrar.UnregisterAsync(GrainId, ActivationId)
            : Task.CompletedTask;

    /// <summary>Makes the activation invalid and hands its queued calls to the catalog (which re-dispatches or fails them).</summary>
    private void Destroy(DeactivationReason reason)
    {
        List<GrainCall>? calls;
        TaskCompletionSource? destroyed;
        lock (this)
        {
            if (_state == ActivationState.Invalid)
            {
                return;
            }

            _state = ActivationState.Invalid;
            _turnLoopRunning = false;
            calls = TakeQueuedCalls();
            destroyed = _destroyed;
        }

        DisposeTimers();
        _catalog.OnDeactivated(this, reason, calls);
        destroyed?.TrySetResult();
    }

    /// <summary>Flags a deactivation for the turn loop. True if this call set (or upgraded) the pending reason.</summary>
    private bool RequestDeactivation(DeactivationReason reason)
    {
        bool startLoop;
        lock (this)
        {
            if (_state is ActivationState.Deactivating or ActivationState.Invalid)
            {
                return false;
            }

            if (_pendingDeactivation is { } pending
                && (pending.ReasonCode == DeactivationReasonCode.ApplicationError || reason.ReasonCode != DeactivationReasonCode.ApplicationError))
            {
                return false;
            }

            _pendingDeactivation = reason;
            startLoop = TryClaimTurnLoop();
        }

        if (startLoop)
        {
            ScheduleTurnLoop();
        }

        return true;
    }

    private void ScheduleTurnLoop()
        => _ = Task.Factory.StartNew(RunTurnLoop, this, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler);

    private void DisposeTimers()
    {
        GrainTimer? timers;
        lock (this)
        {
            timers = _timers;
            _timers = null;
        }

        // Disposing unlinks nothing now (the list is detached), so the chain stays intact while walked.
        for (var timer = timers; timer is not null; timer = timer.NextTimer)
        {
            timer.Dispose();
        }
    }

    // ---- queue helpers; callers hold the lock ----

    private long Now => _catalog.TimeProvider.GetTimestamp();

    private bool TryClaimTurnLoop()
    {
        if (_turnLoopRunning)
        {
            return false;
        }

        _turnLoopRunning = true;
        return true;
    }

    private void Append(WorkItem item)
    {
        item.Next = null;
        if (_tail is null)
        {
            _head = _tail = item;
        }
        else
        {
            _tail.Next = item;
            _tail = item;
        }
    }

    private WorkItem? Dequeue()
    {
        var item = _head;
        if (item is not null)
        {
            _head = item.Next;
            if (_head is null)
            {
                _tail = null;
            }

            item.Next = null;
        }

        return item;
    }

    private List<GrainCall>? TakeQueuedCalls()
    {
        List<GrainCall>? calls = null;
        while (Dequeue() is { } item)
        {
            if (item is GrainCall call)
            {
                (calls ??= []).Add(call);
            }
            else if (item is GrainTimer timer)
            {
                timer.IsQueued = false;
                timer.FiredWhileQueued = false;
            }
        }

        return calls;
    }

    private bool HasArmedKeepAliveTimer()
    {
        for (var timer = _timers; timer is not null; timer = timer.NextTimer)
        {
            if (timer.KeepAlive && timer.IsArmed)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Where an activation is in its life (Orleans' ActivationState, simplified).</summary>
internal enum ActivationState
{
    Creating,
    Activating,
    Valid,
    Deactivating,
    Invalid,
}
