using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Silo.Transport;

namespace OrleansLocks.Silo.Membership;

/// <summary>
/// A cluster client (gateway): no row in the membership table, no grains, no probes or votes. It reads the table
/// (at start, every TableRefreshTimeout, and whenever a silo answers with a newer version) and sends every grain
/// call to the owner silo of its view. Silos do not gossip to clients, so a client's view trails the cluster's by
/// up to TableRefreshTimeout; a call that reaches the wrong silo meanwhile gets NotOwner and is re-routed.
/// </summary>
internal sealed class ClusterClientHostedService(
    IServiceProvider services,
    IOptions<ClusterMembershipOptions> options,
    IOptions<GrainStorageOptions> storageOptions,
    IOptions<SiloOptions> siloOptions,
    TimeProvider timeProvider,
    ILogger<ClusterClientHostedService> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _refreshing = Task.CompletedTask;
    private MembershipTableManager? _membership;
    private SiloTransportClient? _transport;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolved here, after options validation, so that a bad setting is reported as such.
        var membership = _membership = services.GetRequiredService<MembershipTableManager>();
        var transport = _transport = services.GetRequiredService<SiloTransportClient>();
        var cluster = options.Value;
        membership.Changed += transport.OnMembershipChanged;
        logger.ClientStarted(siloOptions.Value.ClusterId, siloOptions.Value.ServiceId, membership.Table.GetType().Name);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(cluster.MaxJoinAttemptTime);
        var delay = TimeSpan.FromMilliseconds(200);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await membership.InitializeTableAsync(storageOptions.Value.InitializeSchema, deadline.Token);
                await membership.RefreshAsync(null, deadline.Token);
                break;
            }
            catch (StorageUnavailableException e)
            {
                logger.TableUnavailableRetry(e, attempt, (long)delay.TotalMilliseconds);
                try
                {
                    await Task.Delay(delay, timeProvider, deadline.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new InvalidOperationException(
                        $"The cluster client could not read the membership table within Cluster:MaxJoinAttemptTime ({cluster.MaxJoinAttemptTime}): {e.Message}", e);
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }

        _refreshing = Task.Run(() => RefreshPeriodicallyAsync(cluster.TableRefreshTimeout, _stopping.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_membership is not null && _transport is not null)
        {
            _membership.Changed -= _transport.OnMembershipChanged;
        }
    }

    private async Task RefreshPeriodicallyAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, timeProvider, cancellationToken);
                await _membership!.RefreshAsync(null, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.MembershipOperationFailed(e, "refresh the membership view");
            }
        }
    }
}

/// <summary>Healthy while the cluster client's view has at least one active silo to send calls to.</summary>
internal sealed class ClusterClientHealthCheck(MembershipTableManager membership) : IHealthCheck
{
    public const string Name = "cluster";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var view = membership.Current;
        var data = new Dictionary<string, object> { ["activeSilos"] = view.ActiveSilos.Count, ["membershipVersion"] = view.Version.Version };
        return Task.FromResult(view.ActiveSilos.Count > 0
            ? HealthCheckResult.Healthy($"{view.ActiveSilos.Count} active silo(s).", data)
            : HealthCheckResult.Unhealthy("No silo of the cluster is active.", data: data));
    }
}
