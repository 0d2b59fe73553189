using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Silo.Placement;
using OrleansLocks.Silo.Transport;

namespace OrleansLocks.Silo.Membership;

/*
 * Design note — ClusterHealthMonitor (Orleans' name): who this silo probes, and what it does when probes fail.
 *
 * Silos probe each other over the transport, never through the table. Each silo probes up to NumProbedSilos active
 * silos: all of them in a small cluster; in a larger one, for each of several seeded hash rings, its first successor
 * not already chosen, so the "who watches whom" graph is an expander (Orleans, after the Rapid paper) and every silo
 * has several independent watchers. Every ProbeTimeout each monitored silo gets one probe that must answer within
 * ProbeTimeout; a probe still running is not doubled. After NumMissedProbesLimit failures in a row this silo votes
 * (MembershipTableManager.TrySuspectOrKill), and votes again at every further failure until the silo is dead or
 * answers; the manager writes only when the vote changes something.
 *
 * A probe answered by another incarnation on the same endpoint counts as failed: the one we mean is gone.
 *
 * Indirect probes (Orleans' indirect probing, EnableIndirectProbes): before each vote, this silo asks another active
 * silo, chosen at random, to probe the target on its behalf (within ProbeTimeout). If that silo gets an answer, the
 * target is alive and only the link between the two is broken: no vote, so one flaky link does not kill a healthy
 * silo. If it gets none, or the intermediary itself cannot be reached (no evidence either way), the vote goes ahead
 * as without indirect probes: completeness (a dead silo is declared dead) must not depend on a third silo. With no
 * other active silo (a cluster of two) there is nobody to ask. A crashed target refuses connections at once, so the
 * indirect probe adds milliseconds to detection; a hung one adds up to one ProbeTimeout.
 */

/// <summary>Probes other silos and votes against those that stop answering.</summary>
internal sealed class ClusterHealthMonitor(
    MembershipTableManager membership,
    SiloTransportClient transport,
    IOptions<ClusterMembershipOptions> options,
    TimeProvider timeProvider,
    ClusterMetrics metrics,
    ILogger<ClusterHealthMonitor> logger)
{
    private readonly ClusterMembershipOptions _options = options.Value;
    private readonly Dictionary<SiloAddress, ProbeState> _targets = [];
    private string _lastTargets = string.Empty;

    /// <summary>
    /// Test seam: a broken link from this silo to the silos for which it returns an exception. Direct probes to them
    /// fail with it without being sent; everything else (indirect probes through others, calls) is unaffected.
    /// </summary>
    internal Func<SiloAddress, Exception?>? LinkFault { get; set; }

    /// <summary>Probes until <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var targets = SelectTargets(membership.Current, membership.MyAddress!, _options.NumProbedSilos);
            LogTargets(targets);
            foreach (var stale in _targets.Keys.Except(targets).ToList())
            {
                _targets.Remove(stale);
            }

            foreach (var target in targets)
            {
                if (!_targets.TryGetValue(target, out var state))
                {
                    _targets[target] = state = new ProbeState();
                }

                if (state.Running is null || state.Running.IsCompleted)
                {
                    state.Running = ProbeAsync(target, state, cancellationToken);
                }
            }

            try
            {
                await Task.Delay(_options.ProbeTimeout, timeProvider, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await Task.WhenAll(_targets.Values.Select(s => s.Running ?? Task.CompletedTask));
    }

    /// <summary>
    /// The silos <paramref name="me"/> probes: every other active silo when there are at most <paramref name="count"/>;
    /// otherwise, ring by ring, the first successor of <paramref name="me"/> not yet chosen.
    /// </summary>
    internal static IReadOnlyList<SiloAddress> SelectTargets(ClusterMembershipSnapshot view, SiloAddress me, int count)
    {
        var others = view.ActiveSilos.Where(s => s != me).ToList();
        if (others.Count <= count)
        {
            return others;
        }

        var chosen = new List<SiloAddress>(count);
        for (var ring = 0UL; chosen.Count < count && ring < (ulong)(4 * count); ring++)
        {
            var myHash = RendezvousPlacement.Hash(me.ToString(), ring);
            var successor = others
                .Where(s => !chosen.Contains(s))
                .Select(s => (Silo: s, Distance: RendezvousPlacement.Hash(s.ToString(), ring) - myHash))
                .MinBy(s => s.Distance);
            chosen.Add(successor.Silo);
        }

        return chosen;
    }

    private async Task ProbeAsync(SiloAddress target, ProbeState state, CancellationToken cancellationToken)
    {
        try
        {
            var view = membership.Current;
            var (response, failure) = LinkFault?.Invoke(target) is { } fault
                ? (null, fault)
                : await transport.ProbeAsync(
                    target, new ProbeRequest(target.ToString(), membership.MyAddress!.ToString(), view.Version.Version), _options.ProbeTimeout, cancellationToken);
            metrics.Probe(response is not null);
            if (response is not null)
            {
                state.Missed = 0;
                if (response.MembershipVersion > membership.Current.Version.Version)
                {
                    await membership.RefreshAsync(new TableVersion(response.MembershipVersion), cancellationToken);
                }

                return;
            }

            state.Missed++;
            logger.ProbeFailed(target, state.Missed, _options.NumMissedProbesLimit, failure);
            if (state.Missed >= _options.NumMissedProbesLimit && !await ReachableThroughAnotherSiloAsync(target, cancellationToken))
            {
                await membership.TrySuspectOrKillAsync(target, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // The table is unreachable: nobody is declared dead meanwhile (accuracy over completeness).
            logger.MembershipOperationFailed(e, "probe " + target.ToString());
        }
    }

    /// <summary>Whether another active silo, asked to probe <paramref name="target"/> for this one, got an answer.</summary>
    private async Task<bool> ReachableThroughAnotherSiloAsync(SiloAddress target, CancellationToken cancellationToken)
    {
        var me = membership.MyAddress!;
        var view = membership.Current;
        var intermediaries = view.ActiveSilos.Where(s => s != me && s != target).ToList();
        if (!_options.EnableIndirectProbes || intermediaries.Count == 0)
        {
            return false;
        }

        var intermediary = intermediaries[Random.Shared.Next(intermediaries.Count)];
        var (response, failure) = LinkFault?.Invoke(intermediary) is { } fault
            ? (null, fault)
            : await transport.ProbeAsync(
                intermediary,
                new ProbeRequest(intermediary.ToString(), me.ToString(), view.Version.Version, target.ToString()),
                _options.ProbeTimeout * 2, // its own probe of the target may take ProbeTimeout
                cancellationToken);
        metrics.Probe(response?.IndirectOk == true);
        if (response?.IndirectOk == true)
        {
            logger.IndirectProbeSucceeded(me, target, intermediary);
            return true;
        }

        logger.IndirectProbeFailed(target, intermediary, response?.IndirectFailure ?? failure?.Message ?? "no answer");
        return false;
    }

    private void LogTargets(IReadOnlyList<SiloAddress> targets)
    {
        var text = string.Join(", ", targets.Select(t => t.ToString()).Order(StringComparer.Ordinal));
        if (!string.Equals(text, _lastTargets, StringComparison.Ordinal))
        {
            _lastTargets = text;
            logger.MonitoringChanged(membership.MyAddress!, text.Length == 0 ? "nobody" : text);
        }
    }

    private sealed class ProbeState
    {
        public int Missed { get; set; }

        public Task? Running { get; set; }

        public override string ToString() => Missed.ToString(CultureInfo.InvariantCulture);
    }
}
