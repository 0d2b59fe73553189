using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Placement;
using OrleansLocks.Silo.Runtime;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Silo.Transport;

namespace OrleansLocks.Silo.Membership;

/*
 * Design note — MembershipAgent (Orleans' name): the silo's life in the cluster.
 *
 * Join (while the silo is Joining): start the transport listener (peers must be able to probe a silo as soon as it
 * has a row), create the table's schema and version row, insert this incarnation's row as Joining (CAS, retried),
 * write Dead for earlier incarnations of its endpoint (it holds the port now, so they are gone: a restart on a fixed
 * port needs no failure detection), then check that every active, heartbeating silo answers a probe (a wrong advertised address or a firewall fails
 * the start instead of producing a silo nobody can reach). All of it within MaxJoinAttemptTime.
 * Active: the silo is Active locally first, then in the table; only from then on do other silos place grains here.
 * Then the loops run: probing (ClusterHealthMonitor), table refresh, IAmAlive heartbeat, defunct-row cleanup.
 *
 * Graceful stop: write ShuttingDown (grains are placed elsewhere from now on; the view change makes this silo
 * deactivate every activation, whose queued calls are rejected and re-routed to the new owners), let the host
 * deactivate what is left, write Dead, stop listening. Kill (stop with a cancelled token): no writes at all; the
 * listener is aborted so the silo stops answering probes at once, and the others declare it dead.
 *
 * Declared dead (this silo reads its own row Dead or gone, e.g. after a long pause or a partition): the cluster has
 * already moved its grains, so it must not serve a single further call. Status Dead at once (the catalog refuses
 * calls), every activation dropped without OnDeactivateAsync, the listener aborted, and the host asked to stop.
 *
 * Placement ownership: the catalog may only activate grains this silo owns in its current view (HostingFilter), and
 * on every view change the activations it no longer owns are deactivated; they re-activate on their owners from
 * storage. Before an activation reads state it registers in the grain directory (GrainLocator): a silo whose
 * registration finds another live silo's entry does not activate and forwards the calls there. On every view
 * change the entries of newly dead silos are removed. A duplicate that slips through anyway (a zombie silo, a
 * directory outage) is harmless for safety: its next write fails its version check.
 */

/// <summary>Joins the silo to the cluster, keeps it there, and takes it out.</summary>
internal sealed class MembershipAgent(
    MembershipTableManager membership,
    ClusterHealthMonitor monitor,
    SiloTransportServer server,
    SiloTransportClient transport,
    SiloMessageHandler handler,
    GrainLocator locator,
    Catalog catalog,
    LocalSiloStatus status,
    LocalSiloDetails details,
    IOptions<SiloOptions> siloOptions,
    IOptions<ClusterMembershipOptions> options,
    IOptions<GrainStorageOptions> storageOptions,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ClusterMetrics metrics,
    ILogger<MembershipAgent> logger) : ISiloLifecycleParticipant, IAsyncDisposable
{
    private static readonly TimeSpan AnnouncementTimeout = TimeSpan.FromSeconds(10);

    private readonly ClusterMembershipOptions _options = options.Value;
    private readonly CancellationTokenSource _loops = new();
    private readonly CancellationTokenSource _probing = new();
    private readonly List<Task> _loopTasks = [];
    private CancellationTokenSource? _probingOrLoops;
    private Task _lastGossip = Task.CompletedTask;
    private volatile bool _disposed;
    private int _killed;

    private SiloAddress Me => membership.MyAddress!;

    public async Task OnJoiningAsync(CancellationToken cancellationToken)
    {
        membership.Changed += OnViewChanged;
        membership.WroteTable += Gossip;
        membership.DeclaredDead += KillMyselfLocally;
        catalog.HostingFilter = grainId => membership.MyAddress is { } me && membership.Current.GetOwner(grainId) == me;
        catalog.Registrar = locator;

        var silo = siloOptions.Value;
        var port = await server.StartAsync(
            silo.ListenAddress is { } listen ? IPAddress.Parse(listen) : null, silo.SiloPort, handler, cancellationToken);
        try
        {
            var host = silo.AdvertisedAddress ?? DefaultAdvertisedAddress();
            details.SiloAddress = new SiloAddress(host, port, 0).Endpoint;
            logger.TransportListening(port, details.SiloAddress);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_options.MaxJoinAttemptTime);
            await RetryAsync(ct => membership.InitializeTableAsync(storageOptions.Value.InitializeSchema, ct), "initialize the membership table", deadline.Token);
            await RetryAsync(ct => locator.Directory.InitializeAsync(storageOptions.Value.InitializeSchema, ct), "initialize the grain directory", deadline.Token);

            // The generation is the start time in seconds, unless an earlier incarnation of this endpoint (one that
            // lived less than a second, or a clock that went back) already used it: this silo holds the port now, so
            // every row of the endpoint is a predecessor, and the new incarnation must sort after all of them.
            var view = await RetryAsync(ct => membership.RefreshAsync(null, ct), "read the membership table", deadline.Token);
            var endpoint = new SiloAddress(host, port, SiloAddress.NewGeneration(timeProvider));
            var me = endpoint with
            {
                Generation = Math.Max(
                    endpoint.Generation,
                    view.Members.Where(m => m.SiloAddress.IsSameEndpoint(endpoint)).Select(m => m.SiloAddress.Generation + 1).DefaultIfEmpty(0).Max()),
            };
            var started = Truncate(status.StartedAt);
            membership.SetLocalSilo(new MembershipEntry
            {
                SiloAddress = me,
                SiloName = silo.SiloName,
                HostName = Dns.GetHostName(),
                Status = SiloStatus.Joining,
                StartTime = started,
                IAmAliveTime = started,
            });
            logger.Joining(me, silo.ClusterId, silo.ServiceId, membership.Table.GetType().Name);
            if (!await RetryAsync(ct => membership.TryUpdateMyStatusAsync(SiloStatus.Joining, ct), "write its Joining row", deadline.Token))
            {
                throw new InvalidOperationException($"Silo {me} was declared dead while it was joining.");
            }

            await RetryAsync(membership.DeclarePreviousIncarnationsDeadAsync, "declare its previous incarnations dead", deadline.Token);

            if (_options.ValidateInitialConnectivity)
            {
                await ValidateInitialConnectivityAsync(deadline.Token);
            }
        }
        catch
        {
            await server.StopAsync(abort: true);
            throw;
        }
    }

    public async Task OnActiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_options.MaxJoinAttemptTime);
            if (!await RetryAsync(ct => membership.TryUpdateMyStatusAsync(SiloStatus.Active, ct), "write its Active row", deadline.Token))
            {
                throw new InvalidOperationException($"Silo {Me} was declared dead before it became active.");
            }
        }
        catch
        {
            await server.StopAsync(abort: true);
            throw;
        }

        // Entries of silos that died before this one joined (or while nobody was alive to clean up after them).
        locator.ScheduleDeadSiloCleanup();
        _probingOrLoops = CancellationTokenSource.CreateLinkedTokenSource(_loops.Token, _probing.Token);
        var probing = _probingOrLoops.Token;
        _loopTasks.Add(Task.Run(() => monitor.RunAsync(probing), CancellationToken.None));
        _loopTasks.Add(RunPeriodicallyAsync("refresh the membership view", _options.TableRefreshTimeout, ct => membership.RefreshAsync(null, ct)));
        _loopTasks.Add(RunPeriodicallyAsync("write IAmAlive", _options.IAmAliveTablePublishTimeout, membership.UpdateIAmAliveAsync));
        _loopTasks.Add(RunPeriodicallyAsync("clean up defunct silo rows", _options.DefunctSiloCleanupPeriod, membership.CleanupDefunctSiloEntriesAsync));
    }

    public async Task OnShuttingDownAsync(bool graceful, CancellationToken cancellationToken)
    {
        if (membership.MyAddress is null || _disposed)
        {
            return;
        }

        membership.BeginLeaving();
        await _probing.CancelAsync();
        if (!graceful)
        {
            // A kill writes nothing: the survivors remove this silo's directory entries once they declare it dead.
            locator.Disable();
            if (Volatile.Read(ref _killed) == 0)
            {
                logger.Killed(Me);
            }

            await _loops.CancelAsync();
            await server.StopAsync(abort: true);
            return;
        }

        logger.Leaving(Me, SiloStatus.ShuttingDown);
        await AnnounceAsync(SiloStatus.ShuttingDown, cancellationToken);
    }

    public async Task OnStoppedAsync(bool graceful, CancellationToken cancellationToken)
    {
        if (membership.MyAddress is null || _disposed)
        {
            return;
        }

        if (graceful)
        {
            // Every activation is gone by now; leftovers (dropped after DeactivationTimeout) go before the Dead row.
            await locator.UnregisterMyselfAsync();
            logger.Leaving(Me, SiloStatus.Dead);
            await AnnounceAsync(SiloStatus.Dead, cancellationToken);

            // Let the others hear it from us (bounded: GossipAsync times out) rather than at their next refresh.
            await _lastGossip;
        }

        await _loops.CancelAsync();
        await Task.WhenAll(_loopTasks);
        await server.StopAsync(abort: !graceful);
        membership.Changed -= OnViewChanged;
        membership.WroteTable -= Gossip;
        membership.DeclaredDead -= KillMyselfLocally;
    }

    public async ValueTask DisposeAsync()
    {
        // The container may dispose the silo before (or without) the host stopping it: then this is the stop.
        if (_disposed)
        {
            return;
        }

        // The token sources are cancelled, never disposed: a stop still running on another thread may use them, and
        // without timers they hold nothing to release.
        _disposed = true;
        await _loops.CancelAsync();
        await server.StopAsync(abort: true);
    }

    private async Task AnnounceAsync(SiloStatus newStatus, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AnnouncementTimeout);
        try
        {
            await RetryAsync(ct => membership.TryUpdateMyStatusAsync(newStatus, ct), "write its " + newStatus + " row", timeout.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            // Leaving without the announcement is a crash to the others: they detect it by probes.
            logger.MembershipOperationFailed(e, "announce " + newStatus);
        }
    }

    private async Task ValidateInitialConnectivityAsync(CancellationToken deadline)
    {
        while (true)
        {
            var view = await RetryAsync(ct => membership.RefreshAsync(null, ct), "read the membership table", deadline);
            var now = timeProvider.GetUtcNow();
            var peers = view.Members
                .Where(m => m.Status == SiloStatus.Active && m.SiloAddress != Me && !m.HasMissedIAmAlives(now, _options.AllowedIAmAliveSilence))
                .Select(m => m.SiloAddress)
                .ToList();
            var probes = await Task.WhenAll(peers.Select(async peer => (Peer: peer, Result: await transport.ProbeAsync(
                peer, new ProbeRequest(peer.ToString(), Me.ToString(), view.Version.Version), _options.ProbeTimeout, deadline))));
            var unreachable = probes.Where(p => p.Result.Response is null).Select(p => p.Peer).ToList();
            if (unreachable.Count == 0)
            {
                return;
            }

            logger.WaitingForConnectivity(Me, string.Join(", ", unreachable));
            try
            {
                await Task.Delay(_options.ProbeTimeout, timeProvider, deadline);
            }
            catch (OperationCanceledException)
            {
                throw new InvalidOperationException(
                    $"Silo {Me} could not reach the active silo(s) {string.Join(", ", unreachable)} within Cluster:MaxJoinAttemptTime " +
                    $"({_options.MaxJoinAttemptTime}). Check Silo:AdvertisedAddress and Silo:SiloPort on every silo, and that the port is open between them.");
            }
        }
    }

    /// <summary>Runs <paramref name="operation"/>, retrying while the table is unreachable, until <paramref name="deadline"/>.</summary>
    private async Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> operation, string what, CancellationToken deadline)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await operation(deadline);
            }
            catch (StorageUnavailableException e)
            {
                logger.TableUnavailableRetry(e, attempt, (long)delay.TotalMilliseconds);
                try
                {
                    await Task.Delay(delay, timeProvider, deadline);
                }
                catch (OperationCanceledException)
                {
                    throw new InvalidOperationException(
                        $"Silo {membership.MyAddress?.ToString() ?? details.SiloAddress} could not {what} within Cluster:MaxJoinAttemptTime ({_options.MaxJoinAttemptTime}): {e.Message}", e);
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
            catch (OperationCanceledException e) when (deadline.IsCancellationRequested)
            {
                throw new InvalidOperationException(
                    $"Silo {membership.MyAddress?.ToString() ?? details.SiloAddress} could not {what} within Cluster:MaxJoinAttemptTime ({_options.MaxJoinAttemptTime}).", e);
            }
        }
    }

    private Task<bool> RetryAsync(Func<CancellationToken, Task> operation, string what, CancellationToken deadline)
        => RetryAsync(async ct =>
        {
            await operation(ct);
            return true;
        }, what, deadline);

    private Task RunPeriodicallyAsync(string what, TimeSpan period, Func<CancellationToken, Task> operation)
        => Task.Run(
            async () =>
            {
                var token = _loops.Token;
                while (!token.IsCancellationRequested)
                {
                    try
                    {
                        await Task.Delay(period, timeProvider, token);
                        await operation(token);
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (Exception e)
                    {
                        logger.MembershipOperationFailed(e, what);
                    }
                }
            },
            CancellationToken.None);

    private void OnViewChanged(ClusterMembershipSnapshot view)
    {
        transport.OnMembershipChanged(view);
        if (membership.MyAddress is not { } me || Volatile.Read(ref _killed) == 1)
        {
            return;
        }

        locator.ScheduleDeadSiloCleanup();

        // Off the caller's thread: a sweep visits every activation.
        _ = Task.Run(() =>
        {
            var reason = new DeactivationReason(DeactivationReasonCode.DuplicateActivation, $"membership version {view.Version} places the grain on another silo");
            var moved = catalog.DeactivateWhere(grainId => view.GetOwner(grainId) != me, reason);
            if (moved > 0)
            {
                metrics.ActivationsMoved(moved);
                logger.ActivationsMoving(me, moved, view.Version);
            }
        });
    }

    private void Gossip(ClusterMembershipSnapshot view)
    {
        var me = Me;
        var now = timeProvider.GetUtcNow();
        var request = new GossipRequest(me.ToString(), view.Version.Version);
        var sends = new List<Task>();
        foreach (var member in view.Members)
        {
            // Dead silos too while they still heartbeat: one declared dead by mistake learns it at once.
            if (member.SiloAddress == me || (member.Status == SiloStatus.Dead && member.HasMissedIAmAlives(now, _options.AllowedIAmAliveSilence)))
            {
                continue;
            }

            sends.Add(GossipAsync(member.SiloAddress, request));
        }

        _lastGossip = Task.WhenAll(sends);
    }

    private async Task GossipAsync(SiloAddress target, GossipRequest request)
    {
        try
        {
            await transport.GossipAsync(target, request, _options.ProbeTimeout, CancellationToken.None);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or System.Net.Sockets.SocketException)
        {
            logger.GossipFailed(target, e);
        }
    }

    private void KillMyselfLocally(string reason)
    {
        if (Interlocked.Exchange(ref _killed, 1) == 1)
        {
            return;
        }

        // Stop serving before anything else: the catalog refuses calls once the status is Dead. The directory entries
        // are the survivors' now: this silo writes none.
        status.SetStatus(SiloStatus.Dead);
        locator.Disable();
        _ = Task.Run(async () =>
        {
            await _loops.CancelAsync();
            catalog.AbortAll($"silo {Me} was {reason} by the cluster");
            await server.StopAsync(abort: true);
            lifetime.StopApplication();
        });
    }

    private static DateTimeOffset Truncate(DateTimeOffset time)
        => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    /// <summary>The first non-loopback IPv4 address of an interface that is up; 127.0.0.1 when there is none.</summary>
    internal static string DefaultAdvertisedAddress()
    {
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                if (unicast.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(unicast.Address))
                {
                    return unicast.Address.ToString();
                }
            }
        }

        return IPAddress.Loopback.ToString();
    }
}
