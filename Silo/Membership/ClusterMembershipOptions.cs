namespace OrleansLocks.Silo.Membership;

/// <summary>
/// The cluster (configuration section <c>Cluster</c>): whether silos form one, where its membership table lives,
/// and the membership protocol's timings. The timing names are Orleans' <c>ClusterMembershipOptions</c>; the defaults
/// are tuned down from Orleans' (which detect a failure in about 90 s) so that a crashed silo's grains are served
/// again within seconds. A crashed silo is declared dead after roughly ProbeTimeout × NumMissedProbesLimit.
/// </summary>
public sealed class ClusterMembershipOptions
{
    public const string SectionName = "Cluster";

    /// <summary>
    /// Whether this silo joins a cluster. Default: yes when grain storage is PostgreSQL (<c>Storage:Provider=Postgres</c>),
    /// no otherwise; a single silo on SQLite or in memory behaves as if there were no cluster at all.
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>
    /// The PostgreSQL database of the membership table (Npgsql connection string). Default: the grain storage's
    /// (<c>Storage:PostgresConnectionString</c> or <c>ConnectionStrings:Postgres</c>); one pool serves both.
    /// </summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>How often each silo probes the silos it monitors, and how long it waits for each answer. Default 1 s (Orleans: 5 s).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Consecutive failed probes after which a silo votes that the probed one is dead. Default 3 (as Orleans).</summary>
    public int NumMissedProbesLimit { get; set; } = 3;

    /// <summary>How many other silos each silo probes. Default 10 (as Orleans): every silo of a small cluster.</summary>
    public int NumProbedSilos { get; set; } = 10;

    /// <summary>
    /// Whether a silo whose probes of another failed NumMissedProbesLimit times asks a third silo to probe it before
    /// voting, and does not vote if that one gets an answer (a broken link between two silos is not a dead silo).
    /// Default true (as Orleans).
    /// </summary>
    public bool EnableIndirectProbes { get; set; } = true;

    /// <summary>
    /// Fresh votes that declare a silo dead, capped at a majority of the active silos that still heartbeat:
    /// min(NumVotesForDeathDeclaration, (active + 1) / 2). Default 2 (as Orleans).
    /// </summary>
    public int NumVotesForDeathDeclaration { get; set; } = 2;

    /// <summary>How long a suspicion vote counts. Default 30 s (Orleans: 2 min).</summary>
    public TimeSpan DeathVoteExpirationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a silo writes its IAmAlive heartbeat to the table. Default 5 s (Orleans: 30 s).</summary>
    public TimeSpan IAmAliveTablePublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Heartbeats a silo may miss before it counts as stale: it no longer counts towards the votes a death
    /// declaration needs, and joining silos do not wait to reach it. Default 3 (as Orleans).
    /// </summary>
    public int NumMissedTableIAmAliveLimit { get; set; } = 3;

    /// <summary>How often a silo re-reads the table, besides the changes it hears of from other silos. Default 2 s (Orleans: 60 s).</summary>
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a silo may try to join (table reachable, row written, active silos reachable) before its start fails. Default 60 s (Orleans: 5 min).</summary>
    public TimeSpan MaxJoinAttemptTime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether a joining silo first checks that it reaches every active, heartbeating silo (catches a wrong advertised address or a firewall). Default true (as Orleans).</summary>
    public bool ValidateInitialConnectivity { get; set; } = true;

    /// <summary>Rows of dead silos older than this are deleted. Default 7 days (as Orleans).</summary>
    public TimeSpan DefunctSiloExpiration { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often defunct rows are cleaned up. Default 1 h (as Orleans).</summary>
    public TimeSpan DefunctSiloCleanupPeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a call forwarded to another silo may take before it fails with SiloUnavailableException (Orleans'
    /// MessagingOptions.ResponseTimeout). Must exceed the longest grain call, i.e. the lock wait bound
    /// (<c>Locks:MaxWait</c>, 60 s). Default 90 s.
    /// </summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>The silence after which a silo counts as stale: NumMissedTableIAmAliveLimit × IAmAliveTablePublishTimeout.</summary>
    internal TimeSpan AllowedIAmAliveSilence => IAmAliveTablePublishTimeout * NumMissedTableIAmAliveLimit;
}
