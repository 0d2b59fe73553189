using System.Text.Json;
using Microsoft.Extensions.Logging;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Runtime;
using OrleansLocks.Silo.Transport;

namespace OrleansLocks.Silo.Placement;

/*
 * Design note — the cluster's grain call router (replaces the local Catalog as IGrainCallRouter)
 *
 * Every call goes to the silo the DirectoryCache names for the grain, if that silo is active in this process's view,
 * and otherwise to the grain's placement owner in the view (rendezvous hashing over the active silos): to the local
 * catalog when that is this silo, otherwise over the transport. The owner registers the activation in the grain
 * directory before activating it; if the directory names another live silo, the call is rejected with that silo
 * (ForwardTo), which goes into the cache, and the call is sent there at once. The receiver checks ownership
 * again with its own view (after catching up to the sender's version, which the request carries), so a call never
 * runs on a silo that knows it is not the owner.
 *
 * Retries are bounded and only for calls known not to have run: the receiver answered NotOwner (refresh the view,
 * or wait a moment if it is not newer, and route again), the connection could not be made (the owner is probably
 * dead; membership will say so within seconds), or the local catalog rejected the call (this silo stopped hosting
 * the grain: it is leaving, or the view moved). A call whose outcome is unknown (timeout, connection lost after
 * sending) is not retried here, unless its method is [AlwaysInterleave] (which must not change state, so running it
 * twice is harmless): it fails with SiloUnavailableException, and the client retries with its idempotency key. Local calls are dispatched synchronously, so one caller's consecutive local calls keep their order.
 */

/// <summary>Routes grain calls to their owner silo: locally, or forwarded over the silo transport.</summary>
internal sealed class ClusterGrainCallRouter(
    MembershipTableManager membership,
    SiloTransportClient transport,
    DirectoryCache directoryCache,
    Catalog? catalog,
    ClusterMembershipOptions options,
    TimeProvider timeProvider,
    ClusterMetrics metrics,
    ILogger<ClusterGrainCallRouter> logger) : IGrainCallRouter
{
    /// <summary>Most attempts per call, whatever the time budget.</summary>
    public const int MaxAttempts = 20;

    private static readonly TimeSpan[] Pauses =
        [TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(400), TimeSpan.FromMilliseconds(800), TimeSpan.FromSeconds(1)];

    /// <summary>
    /// How long a call keeps being re-routed: long enough for membership to declare a crashed owner dead
    /// (ProbeTimeout × (NumMissedProbesLimit + 1): the missed probes and the phase of the first) and for this view to
    /// learn it even if gossip is lost (TableRefreshTimeout), with as much again for a loaded machine; so a failover
    /// delays calls instead of failing them. 8 s with the default options.
    /// </summary>
    private readonly TimeSpan _retryBudget = TimeSpan.FromTicks(Math.Max(
        TimeSpan.FromSeconds(2).Ticks,
        (options.ProbeTimeout * (options.NumMissedProbesLimit + 1) + options.TableRefreshTimeout * 2).Ticks));

    public Task<object?> InvokeAsync(GrainId grainId, GrainMethod method, object?[] arguments)
        => InvokeCoreAsync(grainId, method, arguments);

    private async Task<object?> InvokeCoreAsync(GrainId grainId, GrainMethod method, object?[] arguments)
    {
        Exception? lastFailure = null;
        JsonElement[]? serialized = null;
        long? started = null;
        var firstAttempt = timeProvider.GetTimestamp();
        for (var attempt = 0; attempt < MaxAttempts && (attempt == 0 || timeProvider.GetElapsedTime(firstAttempt) < _retryBudget); attempt++)
        {
            var view = membership.Current;
            var fromDirectory = directoryCache.TryGet(grainId, out var registered) && view.GetStatus(registered) == SiloStatus.Active;
            var owner = fromDirectory ? registered : view.GetOwner(grainId);
            if (owner is null)
            {
                lastFailure = new SiloUnavailableException($"No silo of the cluster is active (membership version {view.Version}).");
                await PauseAndRefreshAsync(attempt, atLeast: null);
                continue;
            }

            if (owner == membership.MyAddress && catalog is not null)
            {
                // Synchronous up to the enqueue (no await before this on the first attempt): local FIFO per caller holds.
                var call = catalog.InvokeCall(grainId, method, arguments);
                try
                {
                    return await call.Task;
                }
                catch (Exception e) when (call.Rejected)
                {
                    lastFailure = e;
                    if (call.ForwardTo is { } forwardTo && forwardTo != owner && view.GetStatus(forwardTo) == SiloStatus.Active)
                    {
                        // A duplicate the directory refused: the grain lives there; go now.
                        directoryCache.Set(grainId, forwardTo);
                        continue;
                    }

                    directoryCache.Invalidate(grainId, owner);
                    await PauseAndRefreshAsync(attempt, atLeast: null);
                    continue;
                }
            }

            started ??= timeProvider.GetTimestamp();
            serialized ??= SerializeArguments(method, arguments);
            var request = new InvokeRequest(
                owner.ToString(), grainId.Type, grainId.Key, method.InterfaceType.FullName!, method.Name, serialized, view.Version.Version, fromDirectory);
            logger.Forwarding(method.ShortName, grainId, owner, attempt + 1);
            var result = await transport.InvokeAsync(owner, request, CancellationToken.None);
            switch (result.Failure)
            {
                case ForwardFailure.None when result.Response!.Error is null:
                    metrics.ForwardedCall("ok", timeProvider.GetElapsedTime(started.Value));
                    return method.ResultType is null ? null : result.Response.Result?.Deserialize(method.ResultType, SiloJson.Options);

                case ForwardFailure.None when result.Response!.Error!.Kind == SiloErrorKind.NotOwner:
                    logger.NotOwnerRetry(method.ShortName, grainId, owner, result.Response.MembershipVersion, view.Version);
                    lastFailure = new SiloUnavailableException($"Silo {owner} does not own grain {grainId}: {result.Response.Error.Message}");
                    if (SiloAddress.TryParse(result.Response.Error.ForwardTo, out var hint) && hint != owner && view.GetStatus(hint) == SiloStatus.Active)
                    {
                        // The owner's directory names the silo that hosts the grain: go there now.
                        directoryCache.Set(grainId, hint);
                        continue;
                    }

                    directoryCache.Invalidate(grainId, owner);
                    await PauseAndRefreshAsync(attempt, new TableVersion(result.Response.MembershipVersion));
                    continue;

                case ForwardFailure.None:
                    metrics.ForwardedCall("error", timeProvider.GetElapsedTime(started.Value));
                    if (result.Response!.MembershipVersion > view.Version.Version)
                    {
                        _ = RefreshQuietlyAsync(new TableVersion(result.Response.MembershipVersion));
                    }

                    throw ToException(result.Response.Error!, owner);

                case ForwardFailure.NotSent:
                case ForwardFailure.Unknown when method.AlwaysInterleave:
                    // Not delivered, or an [AlwaysInterleave] method, which changes nothing by contract (e.g. a lock's
                    // WaitAsync long poll): running it again is harmless, so route it again once membership moves on.
                    logger.NotDeliveredRetry(result.Exception!, method.ShortName, grainId, owner);
                    directoryCache.Invalidate(grainId, owner);
                    lastFailure = new SiloUnavailableException($"Silo {owner} could not be reached: {result.Exception!.Message}", result.Exception);
                    await PauseAndRefreshAsync(attempt, atLeast: null);
                    continue;

                default:
                    metrics.ForwardedCall("unknown", timeProvider.GetElapsedTime(started.Value));
                    logger.UnknownOutcome(result.Exception!, method.ShortName, grainId, owner);
                    throw new SiloUnavailableException(
                        $"The call {method.ShortName} on grain {grainId} sent to silo {owner} failed and may or may not have run: {result.Exception!.Message}",
                        result.Exception);
            }
        }

        if (started is { } start)
        {
            metrics.ForwardedCall("exhausted", timeProvider.GetElapsedTime(start));
        }

        throw lastFailure switch
        {
            SiloUnavailableException unavailable => unavailable,
            null => new SiloUnavailableException($"The call {method.ShortName} on grain {grainId} found no silo to run it."),
            _ => new SiloUnavailableException($"The call {method.ShortName} on grain {grainId} found no silo to run it.", lastFailure),
        };
    }

    /// <summary>
    /// Before the next attempt: catch up to a newer version someone told us of, or else wait a little (membership
    /// is about to change: a silo is leaving, joining or being declared dead) and re-read the table.
    /// </summary>
    private async Task PauseAndRefreshAsync(int attempt, TableVersion? atLeast)
    {

        if (atLeast is not { } version || version <= membership.Current.Version)
        {
            await Task.Delay(Pauses[Math.Min(attempt, Pauses.Length - 1)], timeProvider);
            atLeast = null;
        }

        await RefreshQuietlyAsync(atLeast);
    }

    private async Task RefreshQuietlyAsync(TableVersion? atLeast)
    {
        try
        {
            await membership.RefreshAsync(atLeast, CancellationToken.None);
        }
        catch (StorageUnavailableException)
        {
            // Route with the view we have; the periodic refresh logs the table's outage.
        }
    }

    private static JsonElement[] SerializeArguments(GrainMethod method, object?[] arguments)
    {
        var serialized = new JsonElement[arguments.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            serialized[i] = JsonSerializer.SerializeToElement(arguments[i], method.ParameterTypes[i], SiloJson.Options);
        }

        return serialized;
    }

    /// <summary>The exception a grain call that failed on another silo throws here.</summary>
    internal static Exception ToException(SiloError error, SiloAddress silo) => error.Kind switch
    {
        SiloErrorKind.InconsistentState => new InconsistentStateException(error.Message),
        SiloErrorKind.StorageUnavailable => new StorageUnavailableException(error.Message),
        SiloErrorKind.SiloUnavailable => new SiloUnavailableException(error.Message),
        SiloErrorKind.Argument => new ArgumentException(error.Message),
        SiloErrorKind.InvalidOperation => new InvalidOperationException(error.Message),
        _ => new InvalidOperationException($"The grain call failed on silo {silo} with {error.ExceptionType}: {error.Message}"),
    };
}
