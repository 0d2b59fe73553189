using System.Text.Json;

namespace OrleansLocks.Grains.Tests;

public sealed partial class LockStateMachineTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly LockOptions _options = new()
    {
        DefaultTtl = TimeSpan.FromSeconds(30),
        MinTtl = TimeSpan.FromSeconds(1),
        MaxTtl = TimeSpan.FromHours(1),
        MaxWait = TimeSpan.FromSeconds(60),
        WaiterGrace = TimeSpan.FromSeconds(10),
        RecoveryGrace = TimeSpan.FromSeconds(15),
        TombstoneRetention = TimeSpan.FromMinutes(10),
        MaxTombstones = 32,
        MaxQueueLength = 100,
    };

    private readonly LockState _state = new();
    private int _leaseCount;

    private LockStateMachine Machine => new("orders", _options, () => $"lease-{++_leaseCount}");

    private static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    private static AcquireCommand Command(
        string requestId, LockMode mode = LockMode.Exclusive, double ttl = 30, double wait = 0, string? leaseId = null, string? owner = null)
        => new()
        {
            RequestId = requestId,
            Mode = mode,
            Owner = owner ?? "owner-" + requestId,
            Ttl = TimeSpan.FromSeconds(ttl),
            Wait = TimeSpan.FromSeconds(wait),
            LeaseId = leaseId,
        };

    private LockOutcome<AcquireResult> AcquireOutcome(
        string requestId, LockMode mode = LockMode.Exclusive, double at = 0, double ttl = 30, double wait = 0, string? leaseId = null)
        => Machine.Acquire(_state, At(at), Command(requestId, mode, ttl, wait, leaseId));

    private AcquireResult Acquire(
        string requestId, LockMode mode = LockMode.Exclusive, double at = 0, double ttl = 30, double wait = 0, string? leaseId = null)
        => AcquireOutcome(requestId, mode, at, ttl, wait, leaseId).Result;

    private Lease Grant(string requestId, LockMode mode = LockMode.Exclusive, double at = 0, double ttl = 30)
    {
        var result = Acquire(requestId, mode, at, ttl);
        Assert.Equal(AcquireStatus.Granted, result.Status);
        return result.Lease!;
    }

    private int Queue(string requestId, LockMode mode = LockMode.Exclusive, double at = 0, double ttl = 30, double wait = 30)
    {
        var result = Acquire(requestId, mode, at, ttl, wait);
        Assert.Equal(AcquireStatus.Queued, result.Status);
        return result.Position;
    }

    private AcquireResult Poll(string requestId, double at = 0) => Machine.Poll(_state, At(at), requestId).Result;

    private ReleaseResult Release(string leaseId, double at = 0) => Machine.Release(_state, At(at), leaseId).Result;

    private RenewResult Renew(string leaseId, double at = 0, double? ttl = null)
        => Machine.Renew(_state, At(at), leaseId, ttl is { } t ? TimeSpan.FromSeconds(t) : null).Result;

    private string[] HolderRequests() => [.. _state.Holders.Select(h => h.RequestId)];

    private string[] WaiterRequests() => [.. _state.Waiters.Select(w => w.RequestId)];

    // ---- Grants, modes, FIFO --------------------------------------------------------------------------------

    [Fact]
    public void Acquire_FreeLock_GrantsLeaseWithNextToken()
    {
        var outcome = AcquireOutcome("r1", ttl: 20, at: 5);

        Assert.True(outcome.Changes.StateChanged);
        var lease = outcome.Result.Lease!;
        Assert.Equal(AcquireStatus.Granted, outcome.Result.Status);
        Assert.Equal("orders", lease.Name);
        Assert.Equal("lease-1", lease.LeaseId);
        Assert.Equal(1, lease.FencingToken);
        Assert.Equal(LockMode.Exclusive, lease.Mode);
        Assert.Equal("owner-r1", lease.Owner);
        Assert.Equal(At(5), lease.AcquiredAt);
        Assert.Equal(At(25), lease.ExpiresAt);
        Assert.Equal(TimeSpan.FromSeconds(20), lease.Ttl);
        Assert.Equal(1, _state.FencingCounter);
        Assert.Contains(outcome.Changes.Events, e => e.Kind == LockEventKind.Requested && e.RequestId == "r1");
        Assert.Contains(outcome.Changes.Events, e => e.Kind == LockEventKind.Granted && e.FencingToken == 1);
    }

    [Fact]
    public void Acquire_ExclusiveHeldTryLock_NotGrantedAndNotQueued()
    {
        Grant("r1");

        var outcome = AcquireOutcome("r2", wait: 0, at: 1);

        Assert.Equal(AcquireStatus.NotGranted, outcome.Result.Status);
        Assert.False(outcome.Changes.StateChanged);
        Assert.Empty(_state.Waiters);
        var holder = Assert.Single(outcome.Result.Holders);
        Assert.Equal("owner-r1", holder.Owner);
        Assert.Equal(1, holder.FencingToken);
        Assert.Equal(1, _state.FencingCounter);
    }

    [Fact]
    public void Acquire_ExclusiveHeldWithWait_QueuesInArrivalOrder()
    {
        Grant("r1");

        var first = AcquireOutcome("r2", wait: 10);
        var second = Acquire("r3", LockMode.Shared, wait: 10);

        Assert.Equal(AcquireStatus.Queued, first.Result.Status);
        Assert.Equal(1, first.Result.Position);
        Assert.True(first.Changes.StateChanged);
        Assert.Equal("r2", first.Changes.Enqueued);
        Assert.Contains(first.Changes.Events, e => e.Kind == LockEventKind.Queued && e.Position == 1);
        Assert.Equal(2, second.Position);
        Assert.Equal(2, second.QueueLength);
        Assert.Equal(["r2", "r3"], WaiterRequests());
    }

    [Fact]
    public void Acquire_SharedHeld_SharedGrantedAtOnceWithOwnTokens()
    {
        var a = Grant("a", LockMode.Shared);
        var b = Grant("b", LockMode.Shared);

        Assert.Equal(1, a.FencingToken);
        Assert.Equal(2, b.FencingToken);
        Assert.NotEqual(a.LeaseId, b.LeaseId);
        Assert.Equal(2, _state.Holders.Count);
    }

    [Fact]
    public void Acquire_SharedHeld_ExclusiveWaits()
    {
        Grant("a", LockMode.Shared);

        Assert.Equal(AcquireStatus.NotGranted, Acquire("x", wait: 0).Status);
        Assert.Equal(1, Queue("x"));
    }

    [Fact]
    public void Acquire_SharedBehindQueuedExclusive_WaitsNoBarging()
    {
        Grant("a", LockMode.Shared);
        Queue("x");

        // Compatible with the current holders, but someone is queued ahead: no barging.
        var tryLock = AcquireOutcome("s-try", LockMode.Shared, wait: 0);
        var waiting = Acquire("s", LockMode.Shared, wait: 10);

        Assert.Equal(AcquireStatus.NotGranted, tryLock.Result.Status);
        Assert.False(tryLock.Changes.StateChanged);
        Assert.Equal(AcquireStatus.Queued, waiting.Status);
        Assert.Equal(2, waiting.Position);
        Assert.Equal(["a"], HolderRequests());
    }

    [Fact]
    public void Release_SharedRunAtHead_GrantedTogetherUpToExclusive()
    {
        var x0 = Grant("x0");
        Queue("s1", LockMode.Shared);
        Queue("s2", LockMode.Shared);
        Queue("x1");
        Queue("s3", LockMode.Shared);

        var outcome = Machine.Release(_state, At(1), x0.LeaseId);

        Assert.True(outcome.Result.Released);
        Assert.Equal(["s1", "s2"], HolderRequests());
        Assert.Equal(["x1", "s3"], WaiterRequests());
        Assert.Equal([2L, 3L], _state.Holders.Select(h => h.FencingToken));
        Assert.Equal(["s1", "s2"], outcome.Changes.LeftQueue);
        Assert.Equal(2, outcome.Changes.Events.Count(e => e.Kind == LockEventKind.Granted));
    }

    [Fact]
    public void Release_ExclusiveAtHead_GrantedAloneAndBlocksLaterShared()
    {
        var s0 = Grant("s0", LockMode.Shared);
        Queue("x1");
        Queue("s1", LockMode.Shared);

        Release(s0.LeaseId, at: 1);
        Assert.Equal(["x1"], HolderRequests());
        Assert.Equal(["s1"], WaiterRequests());

        var x1 = Poll("x1", at: 1).Lease!;
        Release(x1.LeaseId, at: 2);
        Assert.Equal(["s1"], HolderRequests());
        Assert.Empty(_state.Waiters);
    }

    [Fact]
    public void Release_OneOfSeveralReaders_ExclusiveWaitsForTheLast()
    {
        var a = Grant("a", LockMode.Shared);
        var b = Grant("b", LockMode.Shared);
        Queue("x");

        Release(a.LeaseId);
        Assert.Equal(["b"], HolderRequests());
        Assert.Equal(AcquireStatus.Queued, Poll("x").Status);

        Release(b.LeaseId);
        Assert.Equal(AcquireStatus.Granted, Poll("x").Status);
    }

    [Fact]
    public void Queue_MixedModes_GrantedInStrictFifoOrderWithIncreasingTokens()
    {
        var holder = Grant("x0");
        string[] order = ["x1", "s1", "s2", "x2", "s3", "x3"];
        foreach (var request in order)
        {
            Queue(request, request[0] == 's' ? LockMode.Shared : LockMode.Exclusive);
        }

        var grantedOrder = new List<string>();
        var tokens = new List<long>();
        var releasable = new Queue<string>([holder.LeaseId]);
        var at = 1.0;
        while (releasable.Count > 0)
        {
            var outcome = Machine.Release(_state, At(at++), releasable.Dequeue());
            foreach (var granted in outcome.Changes.Events.Where(e => e.Kind == LockEventKind.Granted))
            {
                grantedOrder.Add(granted.RequestId);
                tokens.Add(granted.FencingToken);
                releasable.Enqueue(_state.Holders.Single(h => h.RequestId == granted.RequestId).LeaseId);
            }
        }

        Assert.Equal(order, grantedOrder);
        Assert.Equal([2L, 3L, 4L, 5L, 6L, 7L], tokens);
    }

    // ---- Expiry and timers ---------------------------------------------------------------------------------

    [Fact]
    public void Sweep_AtDeadline_ExpiresHolderAndGrantsNextWaiter()
    {
        var lease = Grant("r1", ttl: 10);
        Queue("r2", wait: 30);

        var before = Machine.Sweep(_state, At(10) - TimeSpan.FromTicks(1));
        Assert.False(before.StateChanged);
        Assert.Equal(["r1"], HolderRequests());

        var changes = Machine.Sweep(_state, At(10));
        Assert.True(changes.StateChanged);
        Assert.Equal(["r2"], HolderRequests());
        Assert.Contains(changes.Events, e => e.Kind == LockEventKind.Expired && e.FencingToken == 1);
        Assert.Contains(changes.Events, e => e.Kind == LockEventKind.Granted && e.FencingToken == 2);
        Assert.Equal(["r2"], changes.LeftQueue);
        Assert.Equal(new RenewResult(null, LeaseLostReason.Expired), Renew(lease.LeaseId, at: 11));
    }

    [Fact]
    public void AnyOperation_AfterDeadline_SweepsFirst()
    {
        var lease = Grant("r1", ttl: 10);

        var validate = Machine.Validate(_state, At(12), lease.FencingToken);

        Assert.False(validate.Result.Valid);
        Assert.True(validate.Changes.StateChanged);
        Assert.Empty(_state.Holders);
        Assert.Equal(new ReleaseResult(false, LeaseLostReason.Expired), Release(lease.LeaseId, at: 13));
    }

    [Fact]
    public void NextDeadline_HoldersAndWaiters_EarliestOfExpiryAndAbandonment()
    {
        Assert.Null(Machine.NextDeadline(_state));

        Grant("r1", ttl: 30);
        Assert.Equal(At(30), Machine.NextDeadline(_state));

        Queue("r2", wait: 5);
        Assert.Equal(At(15) + TimeSpan.FromTicks(1), Machine.NextDeadline(_state));
    }

    // ---- Idempotency ---------------------------------------------------------------------------------------

    [Fact]
    public void Acquire_RepeatOfGrantedRequest_ReturnsSameLeaseWithoutChange()
    {
        var first = Grant("r1");

        var repeat = AcquireOutcome("r1", at: 3);

        Assert.Equal(AcquireStatus.Granted, repeat.Result.Status);
        Assert.Equal(first, repeat.Result.Lease);
        Assert.False(repeat.Changes.StateChanged);
        Assert.Single(_state.Holders);
        Assert.Equal(1, _state.FencingCounter);
    }

    [Fact]
    public void Acquire_RepeatOfQueuedRequest_KeepsPlaceAndRefreshesPollDeadline()
    {
        Grant("r1");
        Queue("r2", wait: 5);
        Queue("r3", wait: 5);

        var repeat = AcquireOutcome("r2", at: 4, wait: 20);

        Assert.Equal(AcquireStatus.Queued, repeat.Result.Status);
        Assert.Equal(1, repeat.Result.Position);
        Assert.True(repeat.Changes.StateChanged);
        Assert.Null(repeat.Changes.Enqueued);
        Assert.Equal(At(24), _state.Waiters[0].PollDeadline);
        Assert.Equal(T0, _state.Waiters[0].EnqueuedAt);
        Assert.Equal(["r2", "r3"], WaiterRequests());
    }

    [Fact]
    public void Acquire_RepeatOfQueuedRequestSameDeadline_NoChange()
    {
        Grant("r1");
        Queue("r2", wait: 5);

        Assert.False(AcquireOutcome("r2", wait: 5).Changes.StateChanged);
    }

    [Theory]
    [InlineData(LeaseLostReason.Released)]
    [InlineData(LeaseLostReason.Expired)]
    [InlineData(LeaseLostReason.ForceReleased)]
    public void Acquire_RepeatAfterLeaseEnded_LeaseEndedWithReason(LeaseLostReason reason)
    {
        var lease = Grant("r1", ttl: 10);
        switch (reason)
        {
            case LeaseLostReason.Released:
                Release(lease.LeaseId, at: 1);
                break;
            case LeaseLostReason.ForceReleased:
                Machine.ForceRelease(_state, At(1), "admin", "stuck");
                break;
            default:
                break;
        }

        var repeat = AcquireOutcome("r1", at: 11);

        Assert.Equal(AcquireStatus.LeaseEnded, repeat.Result.Status);
        Assert.Equal(reason, repeat.Result.LostReason);
        Assert.Null(repeat.Result.Lease);
        Assert.Empty(_state.Holders);
    }

    [Fact]
    public void Release_Repeated_StillReleasedWithoutChange()
    {
        var lease = Grant("r1");
        Assert.Equal(new ReleaseResult(true, null), Release(lease.LeaseId, at: 1));

        var repeat = Machine.Release(_state, At(2), lease.LeaseId);

        Assert.Equal(new ReleaseResult(true, null), repeat.Result);
        Assert.False(repeat.Changes.StateChanged);
        Assert.Empty(repeat.Changes.Events);
    }

    [Fact]
    public void Release_ExpiredForceReleasedOrUnknown_NotReleasedWithReason()
    {
        var expired = Grant("r1", ttl: 5);
        Assert.Equal(new ReleaseResult(false, LeaseLostReason.Expired), Release(expired.LeaseId, at: 6));

        var forced = Grant("r2", at: 6);
        Machine.ForceRelease(_state, At(7), "admin", "why");
        Assert.Equal(new ReleaseResult(false, LeaseLostReason.ForceReleased), Release(forced.LeaseId, at: 8));

        Assert.Equal(new ReleaseResult(false, LeaseLostReason.Unknown), Release("never-issued", at: 8));
    }

    [Fact]
    public void Renew_Held_ExtendsFromNowByLeaseTtlOrGivenTtl()
    {
        var lease = Grant("r1", ttl: 20);

        var renewed = Machine.Renew(_state, At(15), lease.LeaseId, null);
        Assert.True(renewed.Changes.StateChanged);
        Assert.Equal(At(35), renewed.Result.Lease!.ExpiresAt);
        Assert.Equal(lease.FencingToken, renewed.Result.Lease.FencingToken);
        Assert.Equal(lease.AcquiredAt, renewed.Result.Lease.AcquiredAt);
        Assert.Contains(renewed.Changes.Events, e => e.Kind == LockEventKind.Renewed && e.ExpiresAt == At(35));

        var longer = Renew(lease.LeaseId, at: 30, ttl: 60);
        Assert.Equal(At(90), longer.Lease!.ExpiresAt);
        Assert.Equal(TimeSpan.FromSeconds(60), longer.Lease.Ttl);

        // A TTL given once becomes the lease's TTL for renews without one.
        Assert.Equal(At(100), Renew(lease.LeaseId, at: 40).Lease!.ExpiresAt);
    }

    [Fact]
    public void Renew_RepeatedAtSameInstant_NoChange()
    {
        var lease = Grant("r1");
        Renew(lease.LeaseId, at: 5);

        var repeat = Machine.Renew(_state, At(5), lease.LeaseId, null);

        Assert.False(repeat.Changes.StateChanged);
        Assert.Equal(At(35), repeat.Result.Lease!.ExpiresAt);
    }

    [Fact]
    public void Renew_NotHeld_SaysWhy()
    {
        var released = Grant("r1");
        Release(released.LeaseId, at: 1);
        var expired = Grant("r2", at: 1, ttl: 5);

        Assert.Equal(new RenewResult(null, LeaseLostReason.Released), Renew(released.LeaseId, at: 2));
        Assert.Equal(new RenewResult(null, LeaseLostReason.Expired), Renew(expired.LeaseId, at: 6));
        Assert.Equal(new RenewResult(null, LeaseLostReason.Unknown), Renew("nope", at: 6));
    }

    // ---- Re-acquire, mode conflict ---------------------------------------------------------------------------

    [Fact]
    public void Acquire_WithHeldLeaseId_ReturnsThatLease()
    {
        var lease = Grant("r1");

        var again = AcquireOutcome("r-other", leaseId: lease.LeaseId, at: 2);

        Assert.Equal(AcquireStatus.Granted, again.Result.Status);
        Assert.Equal(lease, again.Result.Lease);
        Assert.False(again.Changes.StateChanged);
        Assert.Single(_state.Holders);
    }

    [Fact]
    public void Acquire_WithHeldLeaseIdOtherMode_ModeConflict()
    {
        var shared = Grant("r1", LockMode.Shared);

        var upgrade = AcquireOutcome("r2", LockMode.Exclusive, leaseId: shared.LeaseId, wait: 10);

        Assert.Equal(AcquireStatus.ModeConflict, upgrade.Result.Status);
        Assert.False(upgrade.Changes.StateChanged);
        Assert.Empty(_state.Waiters);
    }

    [Fact]
    public void Acquire_RepeatRequestIdOtherMode_ModeConflict()
    {
        Grant("r1", LockMode.Exclusive);

        Assert.Equal(AcquireStatus.ModeConflict, Acquire("r1", LockMode.Shared).Status);
    }

    [Fact]
    public void Acquire_WithLeaseIdNoLongerHeld_TreatedAsNewRequest()
    {
        var old = Grant("r1");
        Release(old.LeaseId, at: 1);

        var result = Acquire("r2", leaseId: old.LeaseId, at: 2);

        Assert.Equal(AcquireStatus.Granted, result.Status);
        Assert.NotEqual(old.LeaseId, result.Lease!.LeaseId);
        Assert.Equal(2, result.Lease.FencingToken);
    }

    // ---- Queue bounds, cancel, abandonment, short first lease -----------------------------------------------

    [Fact]
    public void Acquire_QueueAtMaxLength_QueueFull()
    {
        _options.MaxQueueLength = 2;
        Grant("r0");
        Queue("r1");
        Queue("r2");

        var full = AcquireOutcome("r3", wait: 10);

        Assert.Equal(AcquireStatus.QueueFull, full.Result.Status);
        Assert.False(full.Changes.StateChanged);
        Assert.Equal(2, full.Result.QueueLength);
        Assert.Equal(AcquireStatus.NotGranted, Acquire("r4", wait: 0).Status);

        // A waiter already queued keeps its place when it repeats on a full queue.
        Assert.Equal(AcquireStatus.Queued, Acquire("r2", wait: 10).Status);
    }

    [Fact]
    public void CancelWait_ExclusiveHead_GrantsSharedBehindIt()
    {
        Grant("s0", LockMode.Shared);
        Queue("x");
        Queue("s1", LockMode.Shared);

        var cancel = Machine.CancelWait(_state, At(1), "x");

        Assert.True(cancel.Result);
        Assert.True(cancel.Changes.StateChanged);
        Assert.Equal(["x", "s1"], cancel.Changes.LeftQueue);
        Assert.Equal(["s0", "s1"], HolderRequests());
        Assert.Equal(AcquireStatus.NotGranted, Poll("x", at: 1).Status);

        var again = Machine.CancelWait(_state, At(2), "x");
        Assert.False(again.Result);
        Assert.False(again.Changes.StateChanged);
    }

    [Fact]
    public void Sweep_WaiterPastPollDeadlinePlusGrace_AbandonedAndQueueAdvances()
    {
        Grant("s0", LockMode.Shared);
        Queue("x", wait: 5);
        Queue("s1", LockMode.Shared, wait: 60);

        // Abandoned only strictly after PollDeadline (5 s) + WaiterGrace (10 s).
        Assert.False(Machine.Sweep(_state, At(15)).StateChanged);
        Assert.Equal(["x", "s1"], WaiterRequests());

        var changes = Machine.Sweep(_state, At(15) + TimeSpan.FromTicks(1));

        Assert.True(changes.StateChanged);
        Assert.Contains(changes.Events, e => e.Kind == LockEventKind.WaiterAbandoned && e.RequestId == "x");
        Assert.Equal(["x", "s1"], changes.LeftQueue);
        Assert.Equal(["s0", "s1"], HolderRequests());
        Assert.Equal(AcquireStatus.NotGranted, Poll("x", at: 16).Status);
    }

    [Fact]
    public void Acquire_RepeatAfterAbandonment_QueuesAtTheBack()
    {
        Grant("r0", ttl: 3600);
        Queue("a", wait: 5);
        Queue("b", wait: 60);

        Assert.Equal(2, Queue("a", at: 16, wait: 30));
    }

    [Fact]
    public void Grant_WaiterNotPolling_GetsShortFirstLease()
    {
        var holder = Grant("r0", ttl: 60);
        Queue("r1", ttl: 30, wait: 5);

        Release(holder.LeaseId, at: 8);

        var granted = _state.Holders.Single();
        Assert.Equal(At(8), granted.AcquiredAt);
        Assert.Equal(At(18), granted.ExpiresAt);
        Assert.Equal(TimeSpan.FromSeconds(30), granted.Ttl);

        // The client comes back and renews: the full TTL.
        Assert.Equal(At(42), Renew(granted.LeaseId, at: 12).Lease!.ExpiresAt);
    }

    [Fact]
    public void Grant_WaiterStillPolling_GetsFullTtl()
    {
        var holder = Grant("r0");
        Queue("r1", ttl: 30, wait: 20);

        Release(holder.LeaseId, at: 20);

        Assert.Equal(At(50), _state.Holders.Single().ExpiresAt);
    }

    [Fact]
    public void Grant_WaiterNotPollingWithTtlBelowGrace_GetsItsTtl()
    {
        var holder = Grant("r0");
        Queue("r1", ttl: 4, wait: 1);

        Release(holder.LeaseId, at: 5);

        Assert.Equal(At(9), _state.Holders.Single().ExpiresAt);
    }

    [Fact]
    public void Poll_QueuedWaiter_DoesNotRefreshPollDeadline()
    {
        Grant("r0");
        Queue("r1", wait: 5);

        var poll = Machine.Poll(_state, At(4), "r1");

        Assert.Equal(AcquireStatus.Queued, poll.Result.Status);
        Assert.Equal(1, poll.Result.Position);
        Assert.False(poll.Changes.StateChanged);
        Assert.Equal(At(5), _state.Waiters[0].PollDeadline);
    }

    [Fact]
    public void Poll_Outcomes_GrantedQueuedEndedOrUnknown()
    {
        var r0 = Grant("r0");
        Queue("r1");

        Assert.Equal(r0, Poll("r0").Lease);
        Assert.Equal(AcquireStatus.Queued, Poll("r1").Status);
        Assert.Equal(AcquireStatus.NotGranted, Poll("nobody").Status);

        Release(r0.LeaseId, at: 1);
        Assert.Equal(AcquireStatus.Granted, Poll("r1", at: 1).Status);
        var ended = Poll("r0", at: 1);
        Assert.Equal(AcquireStatus.LeaseEnded, ended.Status);
        Assert.Equal(LeaseLostReason.Released, ended.LostReason);
    }

    // ---- Recovery ------------------------------------------------------------------------------------------

    [Fact]
    public void Recover_DeadlinesPassedWhileNotHosted_ExtendedByRecoveryGrace()
    {
        var passed = Grant("s1", LockMode.Shared, ttl: 10);
        var live = Grant("s2", LockMode.Shared, ttl: 200);
        Queue("x", wait: 5);

        var changes = Machine.Recover(_state, At(100));

        Assert.True(changes.StateChanged);
        Assert.Equal(At(115), _state.Holders.Single(h => h.LeaseId == passed.LeaseId).ExpiresAt);
        Assert.Equal(At(200), _state.Holders.Single(h => h.LeaseId == live.LeaseId).ExpiresAt);
        Assert.Equal(At(100), _state.Waiters.Single().PollDeadline);
        Assert.Contains(changes.Events, e => e.Kind == LockEventKind.LeaseRecovered && e.FencingToken == passed.FencingToken);
        Assert.Contains(changes.Events, e => e.Kind == LockEventKind.WaiterRecovered && e.RequestId == "x");

        // The holder can renew within the grace; after it, the lease expires as usual.
        Assert.Equal(At(120), Renew(passed.LeaseId, at: 110).Lease!.ExpiresAt);
        Assert.Equal(LeaseLostReason.Expired, Renew(live.LeaseId, at: 200).LostReason);
    }

    [Fact]
    public void Recover_NothingPassed_NoChange()
    {
        Grant("r1", ttl: 30);
        Queue("r2", wait: 30);

        var changes = Machine.Recover(_state, At(10));

        Assert.False(changes.StateChanged);
        Assert.Empty(changes.Events);
    }

    [Fact]
    public void Recover_ZeroGrace_ExpiresAndAdvances()
    {
        _options.RecoveryGrace = TimeSpan.Zero;
        Grant("r1", ttl: 10);
        Queue("r2", wait: 60);

        var changes = Machine.Recover(_state, At(20));

        Assert.True(changes.StateChanged);
        Assert.Equal(["r2"], HolderRequests());
        Assert.DoesNotContain(changes.Events, e => e.Kind == LockEventKind.LeaseRecovered);
    }

    // ---- Tombstones ----------------------------------------------------------------------------------------

    [Fact]
    public void Tombstones_BeyondMaxTombstones_OldestForgotten()
    {
        _options.MaxTombstones = 3;
        var leases = new List<Lease>();
        for (var i = 0; i < 5; i++)
        {
            var lease = Grant($"r{i}", at: i);
            Release(lease.LeaseId, at: i);
            leases.Add(lease);
        }

        Assert.Equal(3, _state.Tombstones.Count);
        Assert.Equal(new ReleaseResult(false, LeaseLostReason.Unknown), Release(leases[0].LeaseId, at: 5));
        Assert.Equal(new ReleaseResult(false, LeaseLostReason.Unknown), Release(leases[1].LeaseId, at: 5));
        Assert.Equal(new ReleaseResult(true, null), Release(leases[2].LeaseId, at: 5));
        Assert.Equal(new ReleaseResult(true, null), Release(leases[4].LeaseId, at: 5));
    }

    [Fact]
    public void Tombstones_OlderThanRetention_ForgottenWithoutWrite()
    {
        var lease = Grant("r1");
        Release(lease.LeaseId, at: 1);

        Assert.Equal(new ReleaseResult(true, null), Release(lease.LeaseId, at: 600));

        var late = Machine.Release(_state, At(601), lease.LeaseId);
        Assert.Equal(new ReleaseResult(false, LeaseLostReason.Unknown), late.Result);
        Assert.False(late.Changes.StateChanged);
        Assert.Empty(_state.Tombstones);
        Assert.Equal(AcquireStatus.Granted, Acquire("r1", at: 602).Status);
    }

    [Fact]
    public void Tombstones_MaxZero_NoneKept()
    {
        _options.MaxTombstones = 0;
        var lease = Grant("r1");
        Release(lease.LeaseId, at: 1);

        Assert.Empty(_state.Tombstones);
        Assert.Equal(LeaseLostReason.Unknown, Release(lease.LeaseId, at: 2).LostReason);
    }

    // ---- Validate, force-release, view ---------------------------------------------------------------------

    [Fact]
    public void Validate_Tokens_ValidOnlyForCurrentHolders()
    {
        var first = Grant("r1", ttl: 10);
        Release(first.LeaseId, at: 1);
        var second = Grant("r2", at: 1, ttl: 10);

        var current = Machine.Validate(_state, At(2), second.FencingToken);
        Assert.Equal(new ValidateResult(true, 2), current.Result);
        Assert.False(current.Changes.StateChanged);
        Assert.Equal(new ValidateResult(false, 2), Machine.Validate(_state, At(2), first.FencingToken).Result);
        Assert.Equal(new ValidateResult(false, 2), Machine.Validate(_state, At(2), 3).Result);
        Assert.Equal(new ValidateResult(false, 2), Machine.Validate(_state, At(11), second.FencingToken).Result);
    }

    [Fact]
    public void ForceRelease_Holders_RemovedCounterBumpedQueueHeadGranted()
    {
        var a = Grant("a", LockMode.Shared);
        var b = Grant("b", LockMode.Shared);
        Queue("x");

        var outcome = Machine.ForceRelease(_state, At(5), "alice", "stuck job");

        Assert.Equal(2, outcome.Result.HoldersRemoved);
        Assert.True(outcome.Changes.StateChanged);

        // Counter: 2 grants, +1 bump, +1 grant of x.
        Assert.Equal(4, outcome.Result.FencingCounter);
        Assert.Equal(4, _state.Holders.Single().FencingToken);
        Assert.Equal(["x"], HolderRequests());
        Assert.Equal(LeaseLostReason.ForceReleased, Renew(a.LeaseId, at: 6).LostReason);
        Assert.Equal(LeaseLostReason.ForceReleased, Renew(b.LeaseId, at: 6).LostReason);
        var bump = Assert.Single(outcome.Changes.Events, e => e.Kind == LockEventKind.FencingBumped);
        Assert.Equal(("alice", "stuck job", 2, 3L), (bump.By, bump.Reason, bump.Count, bump.FencingToken));
        Assert.Equal(2, outcome.Changes.Events.Count(e => e.Kind == LockEventKind.ForceReleased && e.By == "alice"));
    }

    [Fact]
    public void ForceRelease_FreeLock_StillBumpsCounter()
    {
        var lease = Grant("r1", ttl: 5);

        var outcome = Machine.ForceRelease(_state, At(10), "ops", "paranoia");

        Assert.Equal(new ForceReleaseResult(0, 2), outcome.Result);
        Assert.Equal(3, Grant("r2", at: 11).FencingToken);
        Assert.Equal(LeaseLostReason.Expired, Renew(lease.LeaseId, at: 12).LostReason);
    }

    [Fact]
    public void GetState_HeldAndQueued_ViewWithPositionsAndNoLeaseIds()
    {
        var a = Grant("a", LockMode.Shared, at: 1);
        var b = Grant("b", LockMode.Shared, at: 2);
        Queue("x", at: 3);
        Queue("s", LockMode.Shared, at: 4);

        var outcome = Machine.GetState(_state, At(5));
        var view = outcome.Result;

        Assert.False(outcome.Changes.StateChanged);
        Assert.Equal("orders", view.Name);
        Assert.Equal(LockStateMode.Shared, view.Mode);
        Assert.Equal(2, view.FencingCounter);
        Assert.Equal(
            [new HolderView("owner-a", LockMode.Shared, 1, At(1), At(31)), new HolderView("owner-b", LockMode.Shared, 2, At(2), At(32))],
            view.Holders);
        Assert.Equal(
            [new WaiterView("owner-x", LockMode.Exclusive, 1, At(3)), new WaiterView("owner-s", LockMode.Shared, 2, At(4))],
            view.Waiters);

        var json = JsonSerializer.Serialize(view);
        Assert.DoesNotContain(a.LeaseId, json, StringComparison.Ordinal);
        Assert.DoesNotContain(b.LeaseId, json, StringComparison.Ordinal);
        Assert.DoesNotContain("lease", json, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void GetState_FreeAndExclusive_Modes()
    {
        Assert.Equal(LockStateMode.Free, Machine.GetState(_state, T0).Result.Mode);
        Grant("x");
        Assert.Equal(LockStateMode.Exclusive, Machine.GetState(_state, T0).Result.Mode);
    }

    [Fact]
    public void CreateView_StoredRecordAfterDeadlines_HidesExpiredHoldersAndAbandonedWaiters()
    {
        Grant("r1", ttl: 10);
        Queue("r2", wait: 5);
        Queue("r3", wait: 60);

        var view = LockStateMachine.CreateView("orders", _state, At(20), _options.WaiterGrace);

        Assert.Empty(view.Holders);
        Assert.Equal(LockStateMode.Free, view.Mode);
        var waiter = Assert.Single(view.Waiters);
        Assert.Equal(("owner-r3", 1), (waiter.Owner, waiter.Position));
        Assert.Equal(2, _state.Waiters.Count);
    }

    // ---- Defensive bounds, lease ids, persistence shape ---------------------------------------------------

    [Fact]
    public void Acquire_OutOfBoundsTtlAndWait_ClampedNotThrown()
    {
        var lease = Machine.Acquire(_state, T0, Command("r1", ttl: 0) with { Ttl = TimeSpan.MaxValue }).Result.Lease!;
        Assert.Equal(T0 + _options.MaxTtl, lease.ExpiresAt);

        var queued = Machine.Acquire(_state, T0, Command("r2") with { Ttl = TimeSpan.FromTicks(-5), Wait = TimeSpan.MaxValue }).Result;
        Assert.Equal(AcquireStatus.Queued, queued.Status);
        Assert.Equal(T0 + _options.MaxWait, _state.Waiters[0].PollDeadline);
        Assert.Equal(_options.MinTtl, _state.Waiters[0].Ttl);

        var renewed = Machine.Renew(_state, T0, lease.LeaseId, TimeSpan.MaxValue).Result;
        Assert.Equal(T0 + _options.MaxTtl, renewed.Lease!.ExpiresAt);
    }

    [Fact]
    public void NewLeaseId_Default_22CharBase64UrlAndUnique()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => LockStateMachine.NewLeaseId()).ToList();

        Assert.All(ids, id => Assert.Matches("^[A-Za-z0-9_-]{22}$", id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void DefaultMachine_GrantsRandomLeaseIds()
    {
        var machine = new LockStateMachine("orders", _options);

        var lease = machine.Acquire(_state, T0, Command("r1")).Result.Lease!;

        Assert.Matches("^[A-Za-z0-9_-]{22}$", lease.LeaseId);
    }

    [Fact]
    public void LockState_JsonRoundTrip_PreservesEverythingAndListedFlag()
    {
        Assert.False(_state.IsListed);
        var lease = Grant("r1", ttl: 12.5);
        Release(lease.LeaseId, at: 1);
        Grant("r2", LockMode.Shared, at: 1);
        Queue("r3", at: 2, wait: 7);

        var json = JsonSerializer.Serialize(_state);
        var copy = JsonSerializer.Deserialize<LockState>(json)!;

        Assert.True(copy.IsListed);
        Assert.DoesNotContain("IsListed", json, StringComparison.Ordinal);
        Assert.Equal(json, JsonSerializer.Serialize(copy));
        Assert.Equal(2, copy.FencingCounter);
        Assert.Equal(_state.Holders[0].ExpiresAt, copy.Holders[0].ExpiresAt);
        Assert.Equal(_state.Waiters[0].PollDeadline, copy.Waiters[0].PollDeadline);
        Assert.Equal(LeaseLostReason.Released, copy.Tombstones[0].Reason);
    }

    [Fact]
    public void LockState_OneHolder_IsCompact()
    {
        // The state graph of a typical held lock (GUID request id, short owner) stays well under the 2 KB budget
        // for lock plus activation; measured as bytes allocated to build it from its JSON.
        var machine = new LockStateMachine("orders", _options);
        machine.Acquire(_state, T0, Command(Guid.NewGuid().ToString(), owner: "worker-17"));
        var json = JsonSerializer.SerializeToUtf8Bytes(_state);
        JsonSerializer.Deserialize<LockState>(json);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var copy = new LockState
        {
            FencingCounter = _state.FencingCounter,
            Holders = [.. _state.Holders.Select(h => new LockHolder
            {
                LeaseId = new string(h.LeaseId),
                RequestId = new string(h.RequestId),
                Owner = new string(h.Owner),
                Mode = h.Mode,
                FencingToken = h.FencingToken,
                AcquiredAt = h.AcquiredAt,
                ExpiresAt = h.ExpiresAt,
                Ttl = h.Ttl,
            })],
        };
        var bytes = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Single(copy.Holders);
        Assert.InRange(bytes, 1, 800);
        Assert.InRange(json.Length, 1, 400);
    }
}
