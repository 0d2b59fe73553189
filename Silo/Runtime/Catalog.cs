using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Silo.Runtime;

/*
 * Design note — Catalog (Orleans' name: the silo's table of activations)
 *
 * Invariant: at most one ActivationData per GrainId is in _activations, and a call is only ever queued on the
 * activation that is in the table (or on its successor before the successor is published). GetOrCreate adds with
 * TryAdd, so concurrent first calls race to insert and all but one adopt the winner; the losers' objects were never
 * started (ActivationData's constructor has no side effects). An activation that became Invalid refuses new calls;
 * callers spin until it has left the table, which happens right after (no await in between).
 *
 * Hand-over: when an activation deactivates with calls still queued, the calls move, in order, to a fresh successor
 * that replaces it in the table in one atomic TryUpdate; callers that arrive meanwhile queue behind them. So a
 * deactivation (idle, DeactivateOnIdle, storage failure) is invisible to callers except for latency, and per-caller
 * FIFO order holds. When the silo no longer accepts calls, queued calls fail with SiloUnavailableException instead.
 *
 * Dispatch is synchronous up to the enqueue: two calls made one after the other by one caller are queued, and so
 * served, in that order.
 *
 * In a cluster, HostingFilter says which grains this silo may host (those it owns in its membership view). A new
 * activation of a grain it may not host abandons itself before reading state, and the calls queued on it are
 * rejected (GrainCall.Rejected: never run), so the cluster router sends them to the owner. Rejection is also how
 * calls fail when the silo stops accepting them; anything else a call fails with comes from running it.
 */
internal sealed class Catalog : IGrainCallRouter
{
    /// <summary>Attempts of one call that each hit a version conflict before it fails with SiloUnavailableException.</summary>
    public const int MaxVersionConflictAttempts = 3;

    private readonly ConcurrentDictionary<GrainId, ActivationData> _activations = new();
    private readonly GrainClassMap _grainClasses;
    private readonly LocalSiloStatus _siloStatus;
    private readonly SiloMetrics _metrics;
    private IGrainStorage? _grainStorage;
    private int _activationCount;
    private string? _siloName;

    public Catalog(
        IServiceProvider services,
        GrainClassMap grainClasses,
        LocalSiloStatus siloStatus,
        TimeProvider timeProvider,
        IOptions<GrainCollectionOptions> options,
        SiloMetrics metrics,
        ILogger<Catalog> logger)
    {
        Services = services;
        _grainClasses = grainClasses;
        _siloStatus = siloStatus;
        TimeProvider = timeProvider;
        Options = options.Value;
        _metrics = metrics;
        Logger = logger;
        metrics.ObserveActivationCount(() => ActivationCount);
    }

    public IServiceProvider Services { get; }

    public TimeProvider TimeProvider { get; }

    public GrainCollectionOptions Options { get; }

    public ILogger Logger { get; }

    /// <summary>This silo's name, for the logging scope of grain calls.</summary>
    public string SiloName => _siloName ??= Services.GetService<IOptions<SiloOptions>>()?.Value.SiloName ?? Environment.MachineName;

    /// <summary>The grain storage, resolved on first use so that grains without persistent state need none.</summary>
    public IGrainStorage GrainStorage
        => _grainStorage ??= Services.GetService<IGrainStorage>()
            ?? throw new InvalidOperationException("No IGrainStorage is registered (AddGrainStorage); grains with persistent state cannot activate.");

    /// <summary>Whether calls are accepted: only while the silo is Active.</summary>
    public bool IsAcceptingCalls => _siloStatus.Status == SiloStatus.Active;

    /// <summary>
    /// Which grains this silo may activate; null (a single silo) means all. Set by the cluster to "the grains this
    /// silo owns in its membership view". Checked when an activation starts and when a deactivated one would get a
    /// successor; a filter that starts saying no does not touch running activations (the cluster deactivates those).
    /// </summary>
    public Func<GrainId, bool>? HostingFilter { get; set; }

    /// <summary>
    /// The cluster's grain directory as seen by this silo; null (a single silo) means none. A new activation
    /// registers through it after placement and before it reads state, and unregisters when it goes away.
    /// </summary>
    public IGrainRegistrar? Registrar { get; set; }

    /// <summary>Whether the silo was declared dead or killed: it must not touch the cluster's shared state any more.</summary>
    public bool IsDead => _siloStatus.Status == SiloStatus.Dead;

    public int ActivationCount => Volatile.Read(ref _activationCount);

    public Task<object?> InvokeAsync(GrainId grainId, GrainMethod method, object?[] arguments)
        => InvokeCall(grainId, method, arguments).Task;

    /// <summary>
    /// Starts a call and returns it: its task carries the outcome, and <see cref="GrainCall.Rejected"/> tells a cluster
    /// router whether it failed without running (so it may go to another silo).
    /// </summary>
    public GrainCall InvokeCall(GrainId grainId, GrainMethod method, object?[] arguments)
    {
        var call = new GrainCall(method, arguments, TimeProvider.GetTimestamp());
        if (!IsAcceptingCalls)
        {
            call.Reject(NotAccepting());
        }
        else if (!_grainClasses.TryGetGrainClass(grainId.Type, out var grainClass))
        {
            call.TrySetException(new InvalidOperationException($"No grain class is registered for grain type '{grainId.Type}'."));
        }
        else
        {
            Dispatch(grainId, grainClass, call);
        }

        return call;
    }

    /// <summary>Whether this silo may host <paramref name="grainId"/> (see <see cref="HostingFilter"/>).</summary>
    public bool MayHost(GrainId grainId) => HostingFilter is not { } filter || filter(grainId);

    /// <summary>Queues <paramref name="call"/> on the grain's activation, creating it if there is none.</summary>
    public void Dispatch(GrainId grainId, GrainClassInfo grainClass, GrainCall call)
    {
        var spin = default(SpinWait);
        while (true)
        {
            if (!_activations.TryGetValue(grainId, out var activation))
            {
                var created = new ActivationData(grainId, grainClass, this);
                if (!_activations.TryAdd(grainId, created))
                {
                    continue;
                }

                Interlocked.Increment(ref _activationCount);
                activation = created;
            }

            if (activation.TryEnqueue(call))
            {
                return;
            }

            // It just became invalid and is leaving the table (no await in between): look again in a moment.
            spin.SpinOnce();
        }
    }

    public bool TryGetActivation(GrainId grainId, out ActivationData activation) => _activations.TryGetValue(grainId, out activation!);

    /// <summary>The activations in the table now (a moment's snapshot; for diagnostics and tests).</summary>
    public IReadOnlyList<ActivationData> Activations => [.. _activations.Values];

    /// <summary>Deactivates the grain's activation, if any, after its current turn.</summary>
    public Task DeactivateAsync(GrainId grainId, DeactivationReason reason)
        => _activations.TryGetValue(grainId, out var activation) ? activation.DeactivateAsync(reason) : Task.CompletedTask;

    /// <summary>Starts deactivating every activation whose grain matches <paramref name="predicate"/>; returns how many.</summary>
    public int DeactivateWhere(Func<GrainId, bool> predicate, DeactivationReason reason)
    {
        var count = 0;
        foreach (var (grainId, activation) in _activations)
        {
            if (predicate(grainId))
            {
                _ = activation.DeactivateAsync(reason);
                count++;
            }
        }

        return count;
    }

    /// <summary>
    /// Drops every activation at once, without OnDeactivateAsync or waiting for running turns (a silo declared dead
    /// must stop serving now); their queued calls are rejected.
    /// </summary>
    public void AbortAll(string why)
    {
        foreach (var (_, activation) in _activations)
        {
            activation.Abort(why);
        }
    }

    /// <summary>Starts deactivating every idle activation; returns how many it started and how many it looked at.</summary>
    public (int Collected, int Total) CollectIdleActivations()
    {
        int collected = 0, total = 0;
        foreach (var (_, activation) in _activations)
        {
            total++;
            if (activation.TryStartIdleDeactivation(Options.CollectionAge))
            {
                collected++;
            }
        }

        return (collected, total);
    }

    /// <summary>
    /// Deactivates every activation gracefully (each after its current turn), bounded by DeactivationTimeout;
    /// activations still there after it are dropped and their queued calls fail. Call once the silo stopped accepting calls.
    /// </summary>
    public async Task DeactivateAllAsync(CancellationToken cancellationToken)
    {
        var reason = new DeactivationReason(DeactivationReasonCode.ShuttingDown, "the silo is shutting down");
        using var timeout = new CancellationTokenSource(Options.DeactivationTimeout, TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        Logger.ShutdownDeactivating(ActivationCount);
        try
        {
            // A call that passed the status check just before shutdown may still add an activation; it abandons itself
            // (the silo is not active), and this loop waits for it as well.
            while (!_activations.IsEmpty)
            {
                await Task.WhenAll(_activations.Values.Select(a => a.DeactivateAsync(reason))).WaitAsync(linked.Token);
            }
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            var remaining = _activations.Values.ToList();
            Logger.ShutdownDeactivationTimedOut(remaining.Count, Options.DeactivationTimeout);
            foreach (var activation in remaining)
            {
                activation.Abort("the silo shut down before it deactivated");
            }
        }
    }

    // ---- called by activations ----

    public void OnActivated(ActivationData activation)
    {
        Logger.ActivationCreated(activation.GrainId);
        _metrics.ActivationsCreated.Add(1);
    }

    public void OnCallCompleted(GrainCall call)
    {
        if (_metrics.GrainCallDuration.Enabled)
        {
            _metrics.GrainCallDuration.Record(
                TimeProvider.GetElapsedTime(call.StartTimestamp).TotalSeconds,
                new KeyValuePair<string, object?>("method", call.Method.ShortName));
        }
    }

    /// <summary>An activation became invalid: hand its queued calls to a fresh successor (or fail them if the silo stops).</summary>
    public void OnDeactivated(ActivationData activation, DeactivationReason reason, List<GrainCall>? queuedCalls)
    {
        if (reason.ReasonCode == DeactivationReasonCode.ActivationIdle)
        {
            _metrics.ActivationsCollected.Add(1);
        }

        Logger.ActivationDeactivated(activation.GrainId, reason.ReasonCode, reason.Description, queuedCalls?.Count ?? 0);
        if (queuedCalls is null or [])
        {
            Remove(activation);
            return;
        }

        if (activation.ForwardingAddress is { } forwardTo)
        {
            // A duplicate the directory refused: the calls never ran; they go to the registered activation's silo.
            Remove(activation);
            foreach (var call in queuedCalls)
            {
                call.Reject(new SiloUnavailableException($"Grain {activation.GrainId} is active on silo {forwardTo}."), forwardTo);
            }

            return;
        }

        if (!IsAcceptingCalls || !MayHost(activation.GrainId))
        {
            // No successor here: the calls never ran, so a cluster router may send them to the grain's owner.
            Remove(activation);
            foreach (var call in queuedCalls)
            {
                call.Reject(IsAcceptingCalls ? NotHostedHere(activation.GrainId) : NotAccepting());
            }

            return;
        }

        var successor = new ActivationData(activation.GrainId, activation.GrainClass, this);
        successor.AdoptQueue(queuedCalls);
        if (_activations.TryUpdate(activation.GrainId, successor, activation))
        {
            successor.Start();
            return;
        }

        // Not in the table any more (cannot happen: only the activation itself leaves it, once). Dispatch one by one.
        Remove(activation);
        foreach (var call in queuedCalls)
        {
            Dispatch(activation.GrainId, activation.GrainClass, call);
        }
    }

    public void Remove(ActivationData activation)
    {
        if (_activations.TryRemove(new KeyValuePair<GrainId, ActivationData>(activation.GrainId, activation)))
        {
            Interlocked.Decrement(ref _activationCount);
        }
    }

    private SiloUnavailableException NotAccepting()
        => new($"The silo is {_siloStatus.Status} and does not accept grain calls.");

    private static SiloUnavailableException NotHostedHere(GrainId grainId)
        => new($"Grain {grainId} is placed on another silo.");
}
