using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OrleansLocks.Silo.Membership;

/*
 * Design note — MembershipTableManager (Orleans' name): this process's view of the membership table, and every
 * write this silo makes to it.
 *
 * The view only moves forward: a snapshot replaces the current one only if its table version is at least as new
 * (an equal version may carry newer IAmAlive times; a smaller one is a read that lost a race and is dropped).
 * Subscribers hear of every version increase (Changed), and of every write this silo made (WroteTable: the agent
 * gossips it so others need not wait for their next refresh).
 *
 * Writes are read-decide-CAS loops. Each re-reads the table, decides from that read, and writes at read.Version + 1;
 * when the CAS fails someone else changed the table, so it reads again and decides again. A successful write's
 * outcome is known exactly (the table is the read plus this change), so the view is updated without another read.
 *
 * Suspicion (TrySuspectOrKill, Orleans' InnerTryToSuspectOrKill): only an Active silo votes. It counts the fresh
 * votes against the target (younger than DeathVoteExpirationTimeout, one per voter) plus its own; if that reaches
 * min(NumVotesForDeathDeclaration, (active non-stale silos + 1) / 2) it writes the target Dead, else it writes its
 * vote. Both are version CASes, so two voters on one snapshot cannot lose each other's vote.
 *
 * Perfect failure detection: once this silo has joined, reading its own row Dead (or gone) means the cluster has
 * moved its grains elsewhere. It raises DeclaredDead once; the agent then stops serving at once.
 */

/// <summary>This process's view of the cluster's membership table, and this silo's writes to it.</summary>
internal sealed class MembershipTableManager
{
    private const int MaxSuspectAttempts = 5;

    private readonly IMembershipTable _table;
    private readonly ClusterMembershipOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ClusterMetrics _metrics;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _refreshGate = new(1, 1);
    private ClusterMembershipSnapshot _current = ClusterMembershipSnapshot.Empty;
    private MembershipEntry? _myEntry;
    private volatile bool _joined;
    private volatile bool _leaving;
    private int _declaredDead;

    public MembershipTableManager(
        IMembershipTable table,
        IOptions<ClusterMembershipOptions> options,
        TimeProvider timeProvider,
        ClusterMetrics metrics,
        ILogger<MembershipTableManager> logger)
    {
        _table = table;
        _options = options.Value;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger;
        metrics.ObserveView(() => Current.Version.Version, () => Current.ActiveSilos.Count);
    }

    /// <summary>The current view. Never null; version 0 and empty before the first read.</summary>
    public ClusterMembershipSnapshot Current => Volatile.Read(ref _current);

    /// <summary>This silo's address; null in a cluster client (gateway), which has no row.</summary>
    public SiloAddress? MyAddress { get; private set; }

    public IMembershipTable Table => _table;

    /// <summary>Raised, synchronously, when the view moves to a newer version. Handlers must be quick.</summary>
    public event Action<ClusterMembershipSnapshot>? Changed;

    /// <summary>Raised, synchronously, after this silo changed the table (for gossip).</summary>
    public event Action<ClusterMembershipSnapshot>? WroteTable;

    /// <summary>Raised once, when this silo, having joined, reads itself Dead or finds its row gone.</summary>
    public event Action<string>? DeclaredDead;

    /// <summary>Names this silo; its row is written by <see cref="TryUpdateMyStatusAsync"/>.</summary>
    public void SetLocalSilo(MembershipEntry entry)
    {
        MyAddress = entry.SiloAddress;
        _myEntry = entry;
    }

    /// <summary>From now on a Dead or missing own row is expected (the silo leaves), not a reason to kill it.</summary>
    public void BeginLeaving() => _leaving = true;

    public Task InitializeTableAsync(bool createSchema, CancellationToken cancellationToken)
        => _table.InitializeAsync(createSchema, cancellationToken);

    /// <summary>
    /// Re-reads the table unless the view is already at <paramref name="atLeast"/> or newer. Concurrent refreshes
    /// share one read. Throws what the table throws.
    /// </summary>
    public async Task<ClusterMembershipSnapshot> RefreshAsync(TableVersion? atLeast, CancellationToken cancellationToken)
    {
        if (atLeast is { } wanted && Current.Version >= wanted)
        {
            return Current;
        }

        var before = Current;
        await _refreshGate.WaitAsync(cancellationToken);
        try
        {
            // Someone else's read finished while this one waited: it is at least as new as a read started before it.
            if (!ReferenceEquals(Current, before) && (atLeast is not { } v || Current.Version >= v))
            {
                return Current;
            }

            Apply(await _table.ReadAllAsync(cancellationToken));
            return Current;
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    /// <summary>
    /// Writes this silo's row with <paramref name="status"/> (inserting it on the first write), retrying CAS conflicts
    /// until it succeeds or <paramref name="cancellationToken"/> fires. False when the row says Dead or vanished: the
    /// silo was declared dead and must not write. Throws what the table throws.
    /// </summary>
    public async Task<bool> TryUpdateMyStatusAsync(SiloStatus status, CancellationToken cancellationToken)
    {
        var me = MyAddress ?? throw new InvalidOperationException("A cluster client has no row to write.");
        var operation = status == SiloStatus.Joining ? "join" : "status";
        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var data = await _table.ReadAllAsync(cancellationToken);
            Apply(data);
            var existing = data.TryGet(me);
            if (existing is { Status: SiloStatus.Dead } || (existing is null && _joined))
            {
                return false;
            }

            var entry = (existing ?? _myEntry!) with { Status = status, IAmAliveTime = Now() };
            var next = data.Version.Next();
            var written = existing is null
                ? await _table.InsertRowAsync(entry, next, cancellationToken)
                : await _table.UpdateRowAsync(entry, next, cancellationToken);
            _metrics.MembershipWrite(operation, written ? "ok" : "conflict");
            if (written)
            {
                _myEntry = entry;
                _joined = true;
                Apply(data.With(entry, next));
                _logger.StatusWritten(me, status, next);
                WroteTable?.Invoke(Current);
                return true;
            }

            await Task.Delay(Backoff(attempt), _timeProvider, cancellationToken);
        }
    }

    /// <summary>
    /// Votes that <paramref name="target"/> is dead, or declares it dead when this vote completes the quorum. Does
    /// nothing unless this silo is Active in the table. Returns whether the target is now Dead in the table.
    /// </summary>
    public async Task<bool> TrySuspectOrKillAsync(SiloAddress target, CancellationToken cancellationToken)
    {
        var me = MyAddress ?? throw new InvalidOperationException("A cluster client does not vote.");
        for (var attempt = 0; attempt < MaxSuspectAttempts; attempt++)
        {
            var data = await _table.ReadAllAsync(cancellationToken);
            Apply(data);
            if (data.TryGet(me)?.Status != SiloStatus.Active)
            {
                return false;
            }

            var entry = data.TryGet(target);
            if (entry is null || entry.Status == SiloStatus.Dead)
            {
                return entry is not null;
            }

            var now = Now();
            var (votes, required, alreadyVoted) = CountVotes(data, entry, me, now);
            var declare = votes.Count >= required;
            if (!declare && alreadyVoted)
            {
                return false; // our fresh vote is on record; nothing new to say
            }

            var updated = entry with { Status = declare ? SiloStatus.Dead : entry.Status, SuspectTimes = votes };
            var next = data.Version.Next();
            var written = await _table.UpdateRowAsync(updated, next, cancellationToken);
            _metrics.MembershipWrite(declare ? "declare_dead" : "vote", written ? "ok" : "conflict");
            if (!written)
            {
                await Task.Delay(Backoff(attempt), _timeProvider, cancellationToken);
                continue;
            }

            Apply(data.With(updated, next));
            if (declare)
            {
                _metrics.SiloDeclaredDead();
                _logger.DeclaredDead(me, target, votes.Count, required);
            }
            else
            {
                _logger.Suspected(me, target, votes.Count, required);
            }

            WroteTable?.Invoke(Current);
            return declare;
        }

        return false;
    }

    /// <summary>
    /// Writes Dead for every earlier incarnation of this silo's endpoint that the table still shows alive (Orleans
    /// does the same when a silo starts): this silo holds the endpoint now, so they cannot be listening, and there is
    /// no point waiting for probes to find out. A restarted silo on a fixed port is back at once. Returns how many.
    /// </summary>
    public async Task<int> DeclarePreviousIncarnationsDeadAsync(CancellationToken cancellationToken)
    {
        var me = MyAddress ?? throw new InvalidOperationException("A cluster client has no incarnations.");
        var declared = 0;
        for (var attempt = 0; ; attempt++)
        {
            var data = await _table.ReadAllAsync(cancellationToken);
            Apply(data);
            var previous = data.Members.FirstOrDefault(m =>
                m.SiloAddress.IsSameEndpoint(me) && m.SiloAddress.Generation < me.Generation && m.Status != SiloStatus.Dead);
            if (previous is null)
            {
                return declared;
            }

            var dead = previous with { Status = SiloStatus.Dead, SuspectTimes = [.. previous.SuspectTimes, new SuspectTime(me, Now())] };
            var next = data.Version.Next();
            var written = await _table.UpdateRowAsync(dead, next, cancellationToken);
            _metrics.MembershipWrite("declare_dead", written ? "ok" : "conflict");
            if (!written)
            {
                await Task.Delay(Backoff(attempt), _timeProvider, cancellationToken);
                continue;
            }

            declared++;
            Apply(data.With(dead, next));
            _metrics.SiloDeclaredDead();
            _logger.PreviousIncarnationDead(me, previous.SiloAddress);
            WroteTable?.Invoke(Current);
        }
    }

    /// <summary>Writes this silo's heartbeat (unconditional; the version does not move).</summary>
    public Task UpdateIAmAliveAsync(CancellationToken cancellationToken)
        => _table.UpdateIAmAliveAsync(MyAddress ?? throw new InvalidOperationException("A cluster client has no row."), Now(), cancellationToken);

    /// <summary>Deletes rows of long-dead silos.</summary>
    public async Task CleanupDefunctSiloEntriesAsync(CancellationToken cancellationToken)
    {
        var before = Now() - _options.DefunctSiloExpiration;
        var removed = await _table.CleanupDefunctSiloEntriesAsync(before, cancellationToken);
        if (removed > 0)
        {
            _logger.DefunctRowsRemoved(removed, before);
        }
    }

    /// <summary>
    /// The fresh votes against <paramref name="target"/> with this silo's added, the votes a declaration needs, and
    /// whether this silo already had a fresh vote on record.
    /// </summary>
    internal (List<SuspectTime> Votes, int Required, bool AlreadyVoted) CountVotes(
        MembershipTableData data, MembershipEntry target, SiloAddress me, DateTimeOffset now)
    {
        var votes = new List<SuspectTime>();
        var alreadyVoted = false;
        foreach (var vote in target.SuspectTimes.OrderByDescending(v => v.Time))
        {
            if (now - vote.Time >= _options.DeathVoteExpirationTimeout || votes.Exists(v => v.Voter == vote.Voter))
            {
                continue;
            }

            if (vote.Voter == me)
            {
                // Refresh our vote once it is half-way to expiry, so a long suspicion keeps counting.
                alreadyVoted |= now - vote.Time < _options.DeathVoteExpirationTimeout / 2;
                continue;
            }

            votes.Add(vote);
        }

        votes.Add(new SuspectTime(me, now));
        votes.Reverse();
        var activeNonStale = data.Members.Count(m => m.Status == SiloStatus.Active && !m.HasMissedIAmAlives(now, _options.AllowedIAmAliveSilence));
        var required = Math.Max(1, Math.Min(_options.NumVotesForDeathDeclaration, (activeNonStale + 1) / 2));
        return (votes, required, alreadyVoted);
    }

    private void Apply(MembershipTableData data)
    {
        var next = ClusterMembershipSnapshot.Create(data);
        while (true)
        {
            var current = Volatile.Read(ref _current);
            if (current.Version > next.Version)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _current, next, current) == current)
            {
                if (next.Version > current.Version)
                {
                    _logger.ViewChanged(next.Version, next.ActiveSilos.Count, string.Join(", ", next.ActiveSilos));
                    _metrics.ViewChanged();
                    Changed?.Invoke(next);
                }

                break;
            }
        }

        CheckMyself(next);
    }

    private void CheckMyself(ClusterMembershipSnapshot snapshot)
    {
        if (MyAddress is not { } me || !_joined || _leaving)
        {
            return;
        }

        var status = snapshot.GetStatus(me);
        if (status is not (SiloStatus.Dead or SiloStatus.None) || Interlocked.Exchange(ref _declaredDead, 1) == 1)
        {
            return;
        }

        var reason = status == SiloStatus.Dead ? "declared dead" : "removed";
        _logger.KillingMyself(me, reason);
        DeclaredDead?.Invoke(reason);
    }

    private DateTimeOffset Now()
    {
        // Millisecond precision, as the table stores it (so a read-back equals what was written).
        var now = _timeProvider.GetUtcNow();
        return new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    private static TimeSpan Backoff(int attempt)
        => TimeSpan.FromMilliseconds(Math.Min(1000, 20 * (1 << Math.Min(attempt, 6))) * (0.5 + Random.Shared.NextDouble()));
}
