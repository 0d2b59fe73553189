using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OrleansLocks.Silo;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Testing;

namespace OrleansLocks.Cluster.Tests.Membership;

/// <summary>The membership protocol's decisions on a shared in-memory table and a manual clock.</summary>
public sealed class MembershipTableManagerTests
{
    private static readonly ClusterMetrics Metrics =
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());

    private readonly InMemoryMembershipTable _table = new();
    private readonly ManualTimeProvider _time = new();
    private readonly ClusterMembershipOptions _options = new();

    [Fact]
    public async Task TryUpdateMyStatus_JoinThenActive_InsertsThenUpdatesAndMovesTheViewWithoutARead()
    {
        var a = await JoinAsync(1);
        Assert.True(await a.TryUpdateMyStatusAsync(SiloStatus.Active, default));

        Assert.Equal(new TableVersion(2), a.Current.Version);
        Assert.Equal([a.MyAddress!], a.Current.ActiveSilos);
        Assert.Equal(SiloStatus.Active, (await _table.ReadAllAsync(default)).TryGet(a.MyAddress!)!.Status);
    }

    [Fact]
    public async Task TrySuspectOrKill_ThreeActiveSilos_TwoVotesDeclareDead()
    {
        var (a, b, c) = (await ActiveAsync(1), await ActiveAsync(2), await ActiveAsync(3));

        Assert.False(await a.TrySuspectOrKillAsync(c.MyAddress!, default));
        var afterOne = (await _table.ReadAllAsync(default)).TryGet(c.MyAddress!)!;
        Assert.Equal(SiloStatus.Active, afterOne.Status);
        Assert.Equal([a.MyAddress!], afterOne.SuspectTimes.Select(v => v.Voter));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await b.TrySuspectOrKillAsync(c.MyAddress!, default));
        var dead = (await _table.ReadAllAsync(default)).TryGet(c.MyAddress!)!;
        Assert.Equal(SiloStatus.Dead, dead.Status);
        Assert.Equal(2, dead.SuspectTimes.Count);
        Assert.DoesNotContain(c.MyAddress!, b.Current.ActiveSilos);
    }

    [Fact]
    public async Task TrySuspectOrKill_TwoActiveSilos_OneVoteIsAMajority()
    {
        var (a, b) = (await ActiveAsync(1), await ActiveAsync(2));

        Assert.True(await a.TrySuspectOrKillAsync(b.MyAddress!, default));

        Assert.Equal(SiloStatus.Dead, (await _table.ReadAllAsync(default)).TryGet(b.MyAddress!)!.Status);
    }

    [Fact]
    public async Task TrySuspectOrKill_AnExpiredVote_DoesNotCount()
    {
        var (a, b, c) = (await ActiveAsync(1), await ActiveAsync(2), await ActiveAsync(3));
        Assert.False(await a.TrySuspectOrKillAsync(c.MyAddress!, default));

        // Keep every silo heartbeating so none turns stale, and let a's vote expire.
        _time.Advance(_options.DeathVoteExpirationTimeout);
        await HeartbeatAsync(a, b, c);
        Assert.False(await b.TrySuspectOrKillAsync(c.MyAddress!, default));

        var entry = (await _table.ReadAllAsync(default)).TryGet(c.MyAddress!)!;
        Assert.Equal(SiloStatus.Active, entry.Status);
        Assert.Equal([b.MyAddress!], entry.SuspectTimes.Select(v => v.Voter));
    }

    [Fact]
    public async Task TrySuspectOrKill_RepeatedByTheSameVoter_WritesOnceAndNeverDeclaresAlone()
    {
        var (a, b, c) = (await ActiveAsync(1), await ActiveAsync(2), await ActiveAsync(3));
        Assert.False(await a.TrySuspectOrKillAsync(c.MyAddress!, default));
        var version = (await _table.ReadAllAsync(default)).Version;

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await a.TrySuspectOrKillAsync(c.MyAddress!, default));

        Assert.Equal(version, (await _table.ReadAllAsync(default)).Version);
        Assert.NotNull(b);
    }

    [Fact]
    public async Task TrySuspectOrKill_AStaleSilo_DoesNotCountTowardsTheQuorum()
    {
        // Three active silos, but c stopped heartbeating long ago: a and b are the active, non-stale ones, so one
        // vote (a majority of 2) declares c dead.
        var (a, b, c) = (await ActiveAsync(1), await ActiveAsync(2), await ActiveAsync(3));
        _time.Advance(_options.AllowedIAmAliveSilence + TimeSpan.FromSeconds(1));
        await HeartbeatAsync(a, b);

        Assert.True(await a.TrySuspectOrKillAsync(c.MyAddress!, default));
    }

    [Fact]
    public async Task TrySuspectOrKill_ByASiloThatIsNotActive_DoesNothing()
    {
        var joining = await JoinAsync(1);
        var target = await ActiveAsync(2);
        var version = (await _table.ReadAllAsync(default)).Version;

        Assert.False(await joining.TrySuspectOrKillAsync(target.MyAddress!, default));

        Assert.Equal(version, (await _table.ReadAllAsync(default)).Version);
    }

    [Fact]
    public async Task TrySuspectOrKill_TwoVotersOnOneSnapshot_BothVotesLand()
    {
        // Five active silos and three votes required: min(3, (5 + 1) / 2).
        var (a, b, c, _, e) = (await ActiveAsync(1), await ActiveAsync(2), await ActiveAsync(3), await ActiveAsync(4), await ActiveAsync(5));
        _options.NumVotesForDeathDeclaration = 3;

        await Task.WhenAll(a.TrySuspectOrKillAsync(e.MyAddress!, default), b.TrySuspectOrKillAsync(e.MyAddress!, default));

        var entry = (await _table.ReadAllAsync(default)).TryGet(e.MyAddress!)!;
        Assert.Equal(SiloStatus.Active, entry.Status);
        Assert.Equal(new[] { a.MyAddress!, b.MyAddress! }.Order(), entry.SuspectTimes.Select(v => v.Voter).Order());
        Assert.True(await c.TrySuspectOrKillAsync(e.MyAddress!, default));
    }

    [Fact]
    public async Task Refresh_MyOwnRowDead_RaisesDeclaredDeadOnce()
    {
        var (a, b) = (await ActiveAsync(1), await ActiveAsync(2));
        var reasons = new List<string>();
        b.DeclaredDead += reasons.Add;
        Assert.True(await a.TrySuspectOrKillAsync(b.MyAddress!, default));

        await b.RefreshAsync(null, default);
        await b.RefreshAsync(null, default);

        Assert.Equal(["declared dead"], reasons);
        Assert.False(await b.TryUpdateMyStatusAsync(SiloStatus.Active, default));
    }

    [Fact]
    public async Task Refresh_MyOwnRowDeadWhileLeaving_IsNotADeclaration()
    {
        var b = await ActiveAsync(2);
        var declared = false;
        b.DeclaredDead += _ => declared = true;

        b.BeginLeaving();
        Assert.True(await b.TryUpdateMyStatusAsync(SiloStatus.Dead, default));
        await b.RefreshAsync(null, default);

        Assert.False(declared);
    }

    [Fact]
    public async Task Refresh_AnOlderRead_NeverMovesTheViewBack()
    {
        var a = await ActiveAsync(1);
        var changes = new List<TableVersion>();
        a.Changed += view => changes.Add(view.Version);
        var b = await ActiveAsync(2);

        await a.RefreshAsync(new TableVersion(4), default);
        await a.RefreshAsync(new TableVersion(1), default);

        Assert.Equal(new TableVersion(4), a.Current.Version);
        Assert.Equal([new TableVersion(4)], changes);
        Assert.Contains(b.MyAddress!, a.Current.ActiveSilos);
    }

    private MembershipTableManager Manager()
        => new(_table, Options.Create(_options), _time, Metrics, NullLogger<MembershipTableManager>.Instance);

    private async Task<MembershipTableManager> JoinAsync(int port)
    {
        await _table.InitializeAsync(createSchema: true, default);
        var manager = Manager();
        var now = _time.GetUtcNow();
        manager.SetLocalSilo(new MembershipEntry
        {
            SiloAddress = new SiloAddress("10.0.0." + port, 11111, 1),
            SiloName = "silo" + port,
            HostName = "host" + port,
            Status = SiloStatus.Joining,
            StartTime = now,
            IAmAliveTime = now,
        });
        Assert.True(await manager.TryUpdateMyStatusAsync(SiloStatus.Joining, default));
        return manager;
    }

    private async Task<MembershipTableManager> ActiveAsync(int port)
    {
        var manager = await JoinAsync(port);
        Assert.True(await manager.TryUpdateMyStatusAsync(SiloStatus.Active, default));
        return manager;
    }

    private static async Task HeartbeatAsync(params MembershipTableManager[] silos)
    {
        foreach (var silo in silos)
        {
            await silo.UpdateIAmAliveAsync(default);
        }
    }
}
