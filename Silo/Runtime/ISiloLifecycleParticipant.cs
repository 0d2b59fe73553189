namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// Takes part in the silo's start and stop, between the status changes <see cref="SiloHostedService"/> makes. The
/// cluster's membership is one: it registers the silo with the cluster while Joining, announces it Active, and on
/// the way out announces ShuttingDown, then Dead. A single silo has none.
/// </summary>
internal interface ISiloLifecycleParticipant
{
    /// <summary>The silo is Joining: become reachable and register (throwing fails the start).</summary>
    Task OnJoiningAsync(CancellationToken cancellationToken);

    /// <summary>The silo turned Active locally: announce it.</summary>
    Task OnActiveAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The silo is about to stop accepting calls and deactivate its grains. <paramref name="graceful"/> is false when
    /// the host stops with an already-cancelled token (a kill): then skip every announcement and stop at once.
    /// </summary>
    Task OnShuttingDownAsync(bool graceful, CancellationToken cancellationToken);

    /// <summary>Every activation is gone (or was dropped): announce the silo dead and release what it holds.</summary>
    Task OnStoppedAsync(bool graceful, CancellationToken cancellationToken);
}
