using Microsoft.Extensions.Logging;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Runtime;

namespace OrleansLocks.Silo.Placement;

/*
 * Design note — GrainLocator (Orleans' name): this silo's side of the grain directory.
 *
 * Register (an activation, after placement chose this silo, before it reads state): write "grain -> this silo,
 * this activation" first-writer-wins. The entry that holds afterwards decides:
 *   - ours: the activation proceeds;
 *   - another live silo's (any status but Dead in the membership view): a duplicate; the activation does not
 *     activate, the entry's silo goes to the DirectoryCache and the calls are forwarded there;
 *   - a dead silo's, or one the view does not know even after a fresh read of the membership table (its row was
 *     removed as defunct): stale; replace it, conditional on its activation id, and decide again;
 *   - an earlier activation of this very silo incarnation (it is gone or going: the catalog holds one activation per
 *     grain, and a deactivating one stays in the catalog until it has unregistered): stale as well.
 * A bounded number of rounds: if the entry keeps changing under us, the activation fails (503, the client retries).
 *
 * Unregister (when an activation goes away): delete the entry only if it still has our activation id, so a late
 * unregister never removes a successor's entry. Bounded in time and never throws: an entry left behind is stale
 * and gets replaced or removed with its silo.
 *
 * Dead silos: on every membership view change (and when this silo becomes active), every live silo removes the
 * entries of silos the view shows Dead that it has not cleaned up yet (UnregisterSilos, idempotent; the PostgreSQL
 * directory splits the work between concurrent cleaners). A failed cleanup is retried at the next view change;
 * meanwhile registrations replace those entries one by one. Rows of silos that were never seen dead by anyone
 * alive (a whole cluster that crashed) are cleaned by the first silo to join afterwards: it sees them Dead
 * (declared so as previous incarnations, or by probes) in its first view.
 *
 * Killed, declared dead, or leaving without grace: Disable() first. From then on this silo writes nothing to the
 * directory (the survivors own its entries now); registering fails with SiloUnavailableException.
 */

/// <summary>Registers and unregisters this silo's activations in the grain directory, and cleans up after dead silos.</summary>
internal sealed class GrainLocator(
    IGrainDirectory directory,
    MembershipTableManager membership,
    DirectoryCache cache,
    ClusterMetrics metrics,
    ILogger<GrainLocator> logger) : IGrainRegistrar
{
    /// <summary>Register rounds (each a directory write) before an activation gives up.</summary>
    public const int MaxRegisterAttempts = 5;

    private static readonly TimeSpan UnregisterTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(60);

    private readonly Lock _cleanupGate = new();
    private readonly HashSet<SiloAddress> _cleaned = [];
    private Task _cleanup = Task.CompletedTask;
    private volatile bool _disabled;

    public IGrainDirectory Directory => directory;

    /// <summary>The cleanup of dead silos' entries that runs or ran last (tests wait for it).</summary>
    public Task LastCleanup
    {
        get
        {
            lock (_cleanupGate)
            {
                return _cleanup;
            }
        }
    }

    public async Task<SiloAddress?> RegisterAsync(GrainId grainId, Guid activationId, CancellationToken cancellationToken)
    {
        var me = membership.MyAddress ?? throw new InvalidOperationException("A cluster client hosts no activations.");
        var address = new GrainAddress(grainId, me, activationId);
        GrainAddress? previous = null;
        for (var attempt = 1; ; attempt++)
        {
            if (_disabled)
            {
                throw new SiloUnavailableException($"Silo {me} left the cluster: it registers no activations any more.");
            }

            GrainAddress holder;
            try
            {
                holder = await directory.RegisterAsync(address, previous, cancellationToken);
            }
            catch (StorageUnavailableException)
            {
                metrics.DirectoryOperation("register", "failed");
                throw;
            }

            if (holder.ActivationId == activationId)
            {
                metrics.DirectoryOperation("register", previous is null ? "registered" : "replaced-stale");
                return null;
            }

            if (attempt == MaxRegisterAttempts)
            {
                metrics.DirectoryOperation("register", "failed");
                throw new SiloUnavailableException(
                    $"The grain directory entry of {grainId} changed on each of {MaxRegisterAttempts} attempts to register it on silo {me}; it is now {holder}.");
            }

            if (holder.Silo == me)
            {
                logger.OwnStaleDirectoryEntryReplaced(grainId, me);
                previous = holder;
                continue;
            }

            var status = await StatusOfAsync(holder.Silo, cancellationToken);
            if (status is SiloStatus.Dead or SiloStatus.None)
            {
                logger.StaleDirectoryEntryReplaced(grainId, holder.Silo, status, me);
                previous = holder;
                continue;
            }

            metrics.DirectoryOperation("register", "duplicate");
            logger.DuplicateActivationRefused(grainId, me, holder.Silo);
            cache.Set(grainId, holder.Silo);
            return holder.Silo;
        }
    }

    public async Task UnregisterAsync(GrainId grainId, Guid activationId)
    {
        if (_disabled || membership.MyAddress is not { } me)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(UnregisterTimeout);
        try
        {
            await directory.UnregisterAsync(new GrainAddress(grainId, me, activationId), timeout.Token);
            metrics.DirectoryOperation("unregister", "ok");
        }
        catch (Exception e) when (e is StorageUnavailableException or OperationCanceledException)
        {
            metrics.DirectoryOperation("unregister", "failed");
            logger.UnregisterFailed(e, grainId);
        }
    }

    /// <summary>
    /// Removes the grain's entry if it names this silo incarnation but an activation that is not live here (a leak:
    /// its unregister failed). Best effort: a failure is logged and changes nothing.
    /// </summary>
    public async Task RemoveLeakedEntryAsync(GrainId grainId, Func<Guid, bool> isLive)
    {
        if (_disabled || membership.MyAddress is not { } me)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(UnregisterTimeout);
        try
        {
            if (await directory.LookupAsync(grainId, timeout.Token) is { } entry && entry.Silo == me && !isLive(entry.ActivationId)
                && await directory.UnregisterAsync(entry, timeout.Token))
            {
                metrics.DirectoryOperation("unregister", "leaked");
                logger.LeakedEntryRemoved(grainId, me, entry.ActivationId);
            }
        }
        catch (Exception e) when (e is StorageUnavailableException or OperationCanceledException)
        {
            logger.UnregisterFailed(e, grainId);
        }
    }

    /// <summary>
    /// At the end of a graceful stop, once every activation is gone: removes whatever entries of this silo are left
    /// (activations dropped after DeactivationTimeout, failed unregisters), so the others need not. Best effort.
    /// </summary>
    public async Task UnregisterMyselfAsync()
    {
        if (_disabled || membership.MyAddress is not { } me)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(CleanupTimeout);
        try
        {
            var removed = await directory.UnregisterSilosAsync([me], timeout.Token);
            metrics.DirectoryOperation("unregister-silos", "ok", removed);
            if (removed > 0)
            {
                logger.DeadSiloEntriesRemoved(removed, me.ToString());
            }
        }
        catch (Exception e) when (e is StorageUnavailableException or OperationCanceledException)
        {
            logger.DeadSiloCleanupFailed(e, me.ToString());
        }
    }

    /// <summary>This silo stops writing to the directory (killed, declared dead): the survivors own its entries now.</summary>
    public void Disable() => _disabled = true;

    /// <summary>Removes, in the background, the entries of silos the current view shows Dead that this silo has not cleaned up yet.</summary>
    public void ScheduleDeadSiloCleanup()
    {
        if (_disabled || membership.MyAddress is null)
        {
            return;
        }

        lock (_cleanupGate)
        {
            // One cleanup at a time; the next one starts from the view current when it runs.
            _cleanup = _cleanup.ContinueWith(_ => CleanupDeadSilosAsync(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
    }

    private async Task CleanupDeadSilosAsync()
    {
        var dead = membership.Current.Members
            .Where(m => m.Status == SiloStatus.Dead && !_cleaned.Contains(m.SiloAddress))
            .Select(m => m.SiloAddress)
            .ToList();
        if (dead.Count == 0 || _disabled)
        {
            return;
        }

        var names = string.Join(", ", dead);
        using var timeout = new CancellationTokenSource(CleanupTimeout);
        try
        {
            var removed = await directory.UnregisterSilosAsync(dead, timeout.Token);
            _cleaned.UnionWith(dead);
            metrics.DirectoryOperation("unregister-silos", "ok", removed);
            if (removed > 0)
            {
                logger.DeadSiloEntriesRemoved(removed, names);
            }
        }
        catch (Exception e) when (e is StorageUnavailableException or OperationCanceledException)
        {
            metrics.DirectoryOperation("unregister-silos", "failed");
            logger.DeadSiloCleanupFailed(e, names);
        }
    }

    /// <summary>The silo's status in the view; a silo the view does not know is looked up in a fresh read first.</summary>
    private async Task<SiloStatus> StatusOfAsync(SiloAddress silo, CancellationToken cancellationToken)
    {
        var status = membership.Current.GetStatus(silo);
        if (status != SiloStatus.None)
        {
            return status;
        }

        // It may have joined after our last read (a registration can be younger than our view).
        var view = await membership.RefreshAsync(null, cancellationToken);
        return view.GetStatus(silo);
    }
}
