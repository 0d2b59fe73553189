using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Transport;

namespace OrleansLocks.Silo.Membership;

/// <summary>One silo as <c>GET /cluster</c> shows it.</summary>
/// <param name="Name">The silo's name (<c>Silo:SiloName</c>).</param>
/// <param name="Address">The silo's advertised host:port, or "local" for a single silo.</param>
/// <param name="Status">Its status in the membership table (a single silo: its own).</param>
/// <param name="StartedAt">When it started (UTC).</param>
/// <param name="ActivationCount">Its grain activations now; null when it could not be asked (not running, unreachable).</param>
public sealed record SiloDescription(string Name, string Address, SiloStatus Status, DateTimeOffset StartedAt, int? ActivationCount);

/// <summary>What the cluster looks like (Orleans' management grain, reduced to what <c>GET /cluster</c> needs).</summary>
public interface IClusterManagement
{
    /// <summary>
    /// Every silo of the membership table (or just this one when there is no cluster), with the activation count each
    /// running silo reports when asked over the transport (with a short timeout).
    /// </summary>
    Task<IReadOnlyList<SiloDescription>> GetSilosAsync(CancellationToken cancellationToken = default);
}

/// <summary>A single silo: just itself.</summary>
internal sealed class LocalClusterManagement(ILocalSiloDetails silo) : IClusterManagement
{
    public Task<IReadOnlyList<SiloDescription>> GetSilosAsync(CancellationToken cancellationToken = default)
        => Task.FromResult<IReadOnlyList<SiloDescription>>(
            [new SiloDescription(silo.SiloName, silo.SiloAddress, silo.Status, silo.StartedAt, silo.ActivationCount)]);
}

/// <summary>A cluster member or client: the membership table, with activation counts asked of each running silo.</summary>
internal sealed class ClusterManagement(
    MembershipTableManager membership,
    SiloTransportClient transport,
    IOptions<ClusterMembershipOptions> options,
    ILocalSiloDetails? localSilo) : IClusterManagement
{
    private static readonly TimeSpan MaxAskTimeout = TimeSpan.FromSeconds(1);

    public async Task<IReadOnlyList<SiloDescription>> GetSilosAsync(CancellationToken cancellationToken = default)
    {
        ClusterMembershipSnapshot view;
        try
        {
            view = await membership.RefreshAsync(null, cancellationToken);
        }
        catch (StorageUnavailableException)
        {
            view = membership.Current; // the table is down: show the last view rather than nothing
        }

        var timeout = options.Value.ProbeTimeout < MaxAskTimeout ? options.Value.ProbeTimeout : MaxAskTimeout;
        var silos = await Task.WhenAll(view.Members.OrderBy(m => m.StartTime).ThenBy(m => m.SiloAddress).Select(async member =>
        {
            int? activations = null;
            if (member.SiloAddress == membership.MyAddress && localSilo is not null)
            {
                activations = localSilo.ActivationCount;
            }
            else if (member.Status is SiloStatus.Joining or SiloStatus.Active or SiloStatus.ShuttingDown or SiloStatus.Stopping)
            {
                var from = membership.MyAddress?.ToString() ?? "client";
                var (response, _) = await transport.ProbeAsync(
                    member.SiloAddress, new ProbeRequest(member.SiloAddress.ToString(), from, view.Version.Version), timeout, cancellationToken);
                activations = response?.ActivationCount;
            }

            return new SiloDescription(member.SiloName, member.SiloAddress.Endpoint, member.Status, member.StartTime, activations);
        }));
        return silos;
    }
}
