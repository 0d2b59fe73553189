namespace OrleansLocks.Runtime;

/// <summary>Why an activation is being deactivated.</summary>
public enum DeactivationReasonCode
{
    /// <summary>No particular reason.</summary>
    None = 0,

    /// <summary>Idle for longer than the collection age.</summary>
    ActivationIdle = 1,

    /// <summary>The grain asked for it (<see cref="IGrainContext.DeactivateOnIdle"/>).</summary>
    ApplicationRequested = 2,

    /// <summary>A storage write failed its version check or had an unknown outcome: in-memory state is stale.</summary>
    ApplicationError = 3,

    /// <summary>The silo is shutting down.</summary>
    ShuttingDown = 4,

    /// <summary>Another activation of the same grain exists.</summary>
    DuplicateActivation = 5,
}

/// <summary>Why an activation is being deactivated, with a description for logs.</summary>
public readonly record struct DeactivationReason(DeactivationReasonCode ReasonCode, string Description);

/// <summary>A timer owned by an activation. Disposing it stops it.</summary>
public interface IGrainTimer : IDisposable
{
    /// <summary>Re-arms the timer: first tick after <paramref name="dueTime"/>, then every <paramref name="period"/> (<see cref="Timeout.InfiniteTimeSpan"/> for one shot).</summary>
    void Change(TimeSpan dueTime, TimeSpan period);
}

/// <summary>What the runtime gives a grain activation.</summary>
public interface IGrainContext
{
    /// <summary>The grain's identity.</summary>
    GrainId GrainId { get; }

    /// <summary>
    /// Registers a timer whose callback runs as a turn of this activation (never interleaved with calls).
    /// Unless <paramref name="keepAlive"/> is set, timers do not keep the activation alive; all die with it, so re-create
    /// them in <see cref="IGrainBase.OnActivateAsync"/>.
    /// </summary>
    /// <param name="keepAlive">While this timer is armed, the activation is not collected as idle (Orleans' GrainTimerCreationOptions.KeepAlive).</param>
    IGrainTimer RegisterGrainTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, bool keepAlive = false);

    /// <summary>Deactivates this activation once the current turn ends.</summary>
    void DeactivateOnIdle();

    /// <summary>
    /// The persistent state named <paramref name="stateName"/> of this grain, kept in the configured grain storage.
    /// Call from the grain's constructor: the runtime reads it before <see cref="IGrainBase.OnActivateAsync"/>.
    /// </summary>
    IPersistentState<TState> GetPersistentState<TState>(string stateName)
        where TState : new();
}

/// <summary>Implemented by grain classes.</summary>
public interface IGrainBase
{
    /// <summary>The activation's context.</summary>
    IGrainContext GrainContext { get; }

    /// <summary>Called once per activation after its persistent state was read, before the first call.</summary>
    Task OnActivateAsync(CancellationToken cancellationToken);

    /// <summary>Called on graceful deactivation. Never called after a crash: do not persist here.</summary>
    Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken);
}

/// <summary>Convenience base class for grains.</summary>
public abstract class Grain(IGrainContext grainContext) : IGrainBase
{
    /// <inheritdoc/>
    public IGrainContext GrainContext { get; } = grainContext;

    /// <summary>The grain's identity.</summary>
    public GrainId GrainId => GrainContext.GrainId;

    /// <inheritdoc/>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public virtual Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => Task.CompletedTask;
}
