using Microsoft.Extensions.Logging;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Membership;

/// <summary>
/// Log events of the cluster: membership (5000-5099), silo-to-silo transport (5100-5199), placement and call
/// forwarding (5200-5299), grain directory (5300-5399). Ids are stable: operators alert on them, so never renumber.
/// </summary>
internal static partial class ClusterLog
{
    [LoggerMessage(5000, LogLevel.Information, "Silo {Silo} is joining cluster {ClusterId} of service {ServiceId} (membership table: {Table})")]
    public static partial void Joining(this ILogger logger, SiloAddress silo, string clusterId, string serviceId, string table);

    [LoggerMessage(5001, LogLevel.Information, "Silo {Silo} wrote its status {Status} to the membership table (version {Version})")]
    public static partial void StatusWritten(this ILogger logger, SiloAddress silo, SiloStatus status, TableVersion version);

    [LoggerMessage(5002, LogLevel.Warning, "The membership table is not reachable (attempt {Attempt}); retrying in {DelayMs} ms")]
    public static partial void TableUnavailableRetry(this ILogger logger, Exception exception, int attempt, long delayMs);

    [LoggerMessage(5003, LogLevel.Debug, "Membership view moved to version {Version}: {Active} active silo(s) {ActiveSilos}")]
    public static partial void ViewChanged(this ILogger logger, TableVersion version, int active, string activeSilos);

    [LoggerMessage(5004, LogLevel.Warning, "Probe of silo {Target} failed ({Missed} in a row of the {Limit} that lead to a vote)")]
    public static partial void ProbeFailed(this ILogger logger, SiloAddress target, int missed, int limit, Exception? exception);

    [LoggerMessage(5005, LogLevel.Warning, "Silo {Voter} voted that silo {Target} is dead ({Votes} fresh vote(s) of {Required} required)")]
    public static partial void Suspected(this ILogger logger, SiloAddress voter, SiloAddress target, int votes, int required);

    [LoggerMessage(5006, LogLevel.Warning, "Silo {Voter} declared silo {Target} dead ({Votes} fresh vote(s) of {Required} required)")]
    public static partial void DeclaredDead(this ILogger logger, SiloAddress voter, SiloAddress target, int votes, int required);

    [LoggerMessage(5007, LogLevel.Critical, "Silo {Silo} reads itself {Reason} in the membership table: it stops serving at once, drops its activations and stops its host")]
    public static partial void KillingMyself(this ILogger logger, SiloAddress silo, string reason);

    [LoggerMessage(5008, LogLevel.Warning, "Membership operation {Operation} failed")]
    public static partial void MembershipOperationFailed(this ILogger logger, Exception exception, string operation);

    [LoggerMessage(5009, LogLevel.Information, "Silo {Silo} is waiting to reach active silo(s) {Unreachable} before it becomes active")]
    public static partial void WaitingForConnectivity(this ILogger logger, SiloAddress silo, string unreachable);

    [LoggerMessage(5010, LogLevel.Information, "Removed {Count} defunct silo row(s) older than {Before} from the membership table")]
    public static partial void DefunctRowsRemoved(this ILogger logger, int count, DateTimeOffset before);

    [LoggerMessage(5011, LogLevel.Information, "Silo {Silo} is leaving the cluster ({Status})")]
    public static partial void Leaving(this ILogger logger, SiloAddress silo, SiloStatus status);

    [LoggerMessage(5012, LogLevel.Warning, "Silo {Silo} stops without announcing it (killed): the other silos will detect it by probes")]
    public static partial void Killed(this ILogger logger, SiloAddress silo);

    [LoggerMessage(5013, LogLevel.Information, "Silo {Silo} now probes {Targets}")]
    public static partial void MonitoringChanged(this ILogger logger, SiloAddress silo, string targets);

    [LoggerMessage(5014, LogLevel.Information, "Cluster client of cluster {ClusterId} of service {ServiceId} reads membership from {Table}")]
    public static partial void ClientStarted(this ILogger logger, string clusterId, string serviceId, string table);

    [LoggerMessage(5015, LogLevel.Warning, "Silo {Silo} declared its previous incarnation {Previous} on the same endpoint dead")]
    public static partial void PreviousIncarnationDead(this ILogger logger, SiloAddress silo, SiloAddress previous);

    [LoggerMessage(5016, LogLevel.Warning, "Silo {Silo} cannot reach silo {Target}, but silo {Intermediary} can (indirect probe): not voting against it")]
    public static partial void IndirectProbeSucceeded(this ILogger logger, SiloAddress silo, SiloAddress target, SiloAddress intermediary);

    [LoggerMessage(5017, LogLevel.Warning, "Indirect probe of silo {Target} through silo {Intermediary} failed as well ({Failure})")]
    public static partial void IndirectProbeFailed(this ILogger logger, SiloAddress target, SiloAddress intermediary, string failure);

    [LoggerMessage(5100, LogLevel.Information, "Silo transport (HTTP/2 cleartext) listens on port {Port}; advertised as {Endpoint}")]
    public static partial void TransportListening(this ILogger logger, int port, string endpoint);

    [LoggerMessage(5101, LogLevel.Debug, "Gossip to silo {Target} failed")]
    public static partial void GossipFailed(this ILogger logger, SiloAddress target, Exception exception);

    [LoggerMessage(5102, LogLevel.Warning, "Silo transport request {Path} failed")]
    public static partial void TransportRequestFailed(this ILogger logger, Exception exception, string path);

    [LoggerMessage(5204, LogLevel.Debug, "Call {Method} on {GrainId} forwarded to silo {Target}, its owner (attempt {Attempt})")]
    public static partial void Forwarding(this ILogger logger, string method, GrainId grainId, SiloAddress target, int attempt);

    [LoggerMessage(5200, LogLevel.Debug, "Call {Method} on {GrainId} reached silo {Target}, which does not own it (its view: version {TheirVersion}; ours: {OurVersion}); retrying")]
    public static partial void NotOwnerRetry(this ILogger logger, string method, GrainId grainId, SiloAddress target, int theirVersion, TableVersion ourVersion);

    [LoggerMessage(5201, LogLevel.Information, "Silo {Silo} no longer owns {Count} of its activation(s) after membership version {Version}; deactivating them so they re-activate on their owners")]
    public static partial void ActivationsMoving(this ILogger logger, SiloAddress silo, int count, TableVersion version);

    [LoggerMessage(5202, LogLevel.Warning, "Call {Method} on {GrainId} could not be delivered to silo {Target}; retrying after a membership refresh")]
    public static partial void NotDeliveredRetry(this ILogger logger, Exception exception, string method, GrainId grainId, SiloAddress target);

    [LoggerMessage(5203, LogLevel.Warning, "Call {Method} on {GrainId} to silo {Target} failed with an unknown outcome")]
    public static partial void UnknownOutcome(this ILogger logger, Exception exception, string method, GrainId grainId, SiloAddress target);

    [LoggerMessage(5300, LogLevel.Information, "Activation of {GrainId} on silo {Silo} is a duplicate: the grain directory names silo {RegisteredSilo}; its calls go there")]
    public static partial void DuplicateActivationRefused(this ILogger logger, GrainId grainId, SiloAddress silo, SiloAddress registeredSilo);

    [LoggerMessage(5301, LogLevel.Information, "The grain directory entry of {GrainId} names silo {RegisteredSilo}, which is {Status}; silo {Silo} replaces it")]
    public static partial void StaleDirectoryEntryReplaced(this ILogger logger, GrainId grainId, SiloAddress registeredSilo, SiloStatus status, SiloAddress silo);

    [LoggerMessage(5302, LogLevel.Warning, "Unregistering {GrainId} from the grain directory failed; the entry stays until it is replaced or its silo's entries are removed")]
    public static partial void UnregisterFailed(this ILogger logger, Exception exception, GrainId grainId);

    [LoggerMessage(5303, LogLevel.Information, "Removed {Count} grain directory entr(ies) of dead silo(s) {Silos}")]
    public static partial void DeadSiloEntriesRemoved(this ILogger logger, int count, string silos);

    [LoggerMessage(5304, LogLevel.Warning, "Removing the grain directory entries of dead silo(s) {Silos} failed; retried at the next membership change")]
    public static partial void DeadSiloCleanupFailed(this ILogger logger, Exception exception, string silos);

    [LoggerMessage(5305, LogLevel.Debug, "The grain directory entry of {GrainId} names an earlier activation on this silo {Silo}, which is gone or going; replacing it")]
    public static partial void OwnStaleDirectoryEntryReplaced(this ILogger logger, GrainId grainId, SiloAddress silo);

    [LoggerMessage(5306, LogLevel.Warning, "The grain directory entry of {GrainId} named silo {Silo} with activation {ActivationId}, which it does not host (a leaked entry); removed it")]
    public static partial void LeakedEntryRemoved(this ILogger logger, GrainId grainId, SiloAddress silo, Guid activationId);
}
