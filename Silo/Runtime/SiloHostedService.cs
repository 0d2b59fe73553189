using Microsoft.Extensions.Hosting;

namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// Starts and stops the silo with the host (Orleans' SiloHostedService). Start: Created → Joining → Active, then
/// idle collection begins. Stop: ShuttingDown (new calls fail with SiloUnavailableException) → every activation is
/// deactivated after its current turn, bounded by DeactivationTimeout → Stopping → Dead.
/// </summary>
internal sealed class SiloHostedService(LocalSiloStatus status, Catalog catalog, ActivationCollector collector) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        status.SetStatus(SiloStatus.Joining);

        // A single silo joins nobody; a cluster will register with membership here before turning Active.
        status.SetStatus(SiloStatus.Active);
        collector.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        status.SetStatus(SiloStatus.ShuttingDown);
        collector.Stop();
        await catalog.DeactivateAllAsync(cancellationToken);
        status.SetStatus(SiloStatus.Stopping);
        status.SetStatus(SiloStatus.Dead);
    }
}
