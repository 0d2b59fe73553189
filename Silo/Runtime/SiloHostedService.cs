using Microsoft.Extensions.Hosting;

namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// Starts and stops the silo with the host (Orleans' SiloHostedService). Start: Created → Joining (participants
/// register, e.g. with the cluster's membership) → Active (participants announce it), then idle collection begins.
/// Stop: participants announce the departure → ShuttingDown (new calls fail with SiloUnavailableException) → every
/// activation is deactivated after its current turn, bounded by DeactivationTimeout → Stopping → participants
/// finish → Dead. Stopping with an already-cancelled token is a kill: participants skip their announcements and
/// activations are dropped at once. A silo that is already Dead (declared dead by the cluster) has nothing to stop.
/// </summary>
internal sealed class SiloHostedService(
    LocalSiloStatus status,
    Catalog catalog,
    ActivationCollector collector,
    IEnumerable<ISiloLifecycleParticipant> participants) : IHostedService
{
    private readonly ISiloLifecycleParticipant[] _participants = [.. participants];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        status.SetStatus(SiloStatus.Joining);
        foreach (var participant in _participants)
        {
            await participant.OnJoiningAsync(cancellationToken);
        }

        status.SetStatus(SiloStatus.Active);
        foreach (var participant in _participants)
        {
            await participant.OnActiveAsync(cancellationToken);
        }

        collector.Start();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var graceful = !cancellationToken.IsCancellationRequested && status.Status != SiloStatus.Dead;
        foreach (var participant in _participants)
        {
            await participant.OnShuttingDownAsync(graceful, cancellationToken);
        }

        status.SetStatus(SiloStatus.ShuttingDown);
        collector.Stop();
        await catalog.DeactivateAllAsync(cancellationToken);
        status.SetStatus(SiloStatus.Stopping);
        foreach (var participant in _participants)
        {
            await participant.OnStoppedAsync(graceful, cancellationToken);
        }

        status.SetStatus(SiloStatus.Dead);
    }
}
