using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Testing;

namespace OrleansLocks.Grains.Tests;

public sealed class LockGrainTests
{
    /// <summary>Bound for things that complete on another thread (signals run their continuations asynchronously).</summary>
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private readonly ManualTimeProvider _time = new();
    private readonly FakeStore _store = new();
    private readonly ListLogger<LockGrain> _logger = new();
    private readonly LockOptions _options = new()
    {
        WaiterGrace = TimeSpan.FromSeconds(10),
        RecoveryGrace = TimeSpan.FromSeconds(15),
        MaxWait = TimeSpan.FromSeconds(60),
    };

    private async Task<(LockGrain Grain, FakeGrainContext Context)> ActivateAsync()
    {
        var context = new FakeGrainContext("orders", _store, _time);
        var grain = new LockGrain(context, _time, Options.Create(_options), _logger);
        await grain.OnActivateAsync(CancellationToken.None);
        return (grain, context);
    }

    private static AcquireCommand Command(string requestId, LockMode mode = LockMode.Exclusive, double ttl = 30, double wait = 0)
        => new()
        {
            RequestId = requestId,
            Mode = mode,
            Owner = "owner-" + requestId,
            Ttl = TimeSpan.FromSeconds(ttl),
            Wait = TimeSpan.FromSeconds(wait),
        };

    private static async Task<Lease> GrantAsync(LockGrain grain, string requestId, double ttl = 30)
    {
        var result = await grain.AcquireAsync(Command(requestId, ttl: ttl));
        Assert.Equal(AcquireStatus.Granted, result.Status);
        return result.Lease!;
    }

    private static async Task QueueAsync(LockGrain grain, string requestId, double wait = 30)
        => Assert.Equal(AcquireStatus.Queued, (await grain.AcquireAsync(Command(requestId, wait: wait))).Status);

    private LockState Stored() => _store.Read<LockState>();

    private static void AssertTicksSucceeded(FakeGrainContext context)
        => Assert.All(context.TimerTicks, t => Assert.True(t.IsCompletedSuccessfully, $"timer tick {t.Status}: {t.Exception}"));

    // ---- Commit before reply -------------------------------------------------------------------------------

    [Fact]
    public async Task AcquireAsync_Granted_RepliesOnlyAfterTheWriteCompleted()
    {
        var (grain, _) = await ActivateAsync();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _store.WriteGate = gate;

        var call = grain.AcquireAsync(Command("r1"));

        Assert.Equal(1, _store.WriteAttempts);
        Assert.False(call.IsCompleted);
        Assert.Equal(0, _store.Writes);

        gate.SetResult();
        var result = await call.WaitAsync(Generous);

        Assert.Equal(1, _store.Writes);
        var stored = Assert.Single(Stored().Holders);
        Assert.Equal(result.Lease!.LeaseId, stored.LeaseId);
        Assert.Equal(result.Lease.FencingToken, Stored().FencingCounter);
    }

    [Fact]
    public async Task StateChangingCalls_EachWritesExactlyOnce()
    {
        var (grain, _) = await ActivateAsync();

        async Task<T> OneWrite<T>(Func<Task<T>> call)
        {
            var before = _store.Writes;
            var result = await call();
            Assert.Equal(before + 1, _store.Writes);
            return result;
        }

        var a = (await OneWrite(() => grain.AcquireAsync(Command("a", LockMode.Shared)))).Lease!;
        var b = (await OneWrite(() => grain.AcquireAsync(Command("b", LockMode.Shared)))).Lease!;
        await OneWrite(() => grain.AcquireAsync(Command("x", wait: 30)));
        await OneWrite(() => grain.AcquireAsync(Command("s", LockMode.Shared, wait: 30)));
        await OneWrite(() => grain.AcquireAsync(Command("y", wait: 30)));
        await OneWrite(() => grain.AcquireAsync(Command("x", wait: 45))); // a repeat refreshes the poll deadline
        await OneWrite(() => grain.RenewAsync(a.LeaseId, TimeSpan.FromSeconds(40)));
        await OneWrite(() => grain.ReleaseAsync(a.LeaseId));
        await OneWrite(async () => { await grain.CancelWaitAsync("y"); return 0; });

        // Releasing the last reader grants x in the same write.
        await OneWrite(() => grain.ReleaseAsync(b.LeaseId));
        Assert.Equal(AcquireStatus.Granted, (await grain.PollAsync("x")).Status);

        var forced = await OneWrite(() => grain.ForceReleaseAsync("alice", "stuck"));
        Assert.Equal(1, forced.HoldersRemoved);
        Assert.Equal(["s"], Stored().Holders.Select(h => h.RequestId));
        Assert.Empty(Stored().Waiters);
    }

    [Fact]
    public async Task ReadOnlyCalls_WriteNothing()
    {
        var (grain, _) = await ActivateAsync();
        var lease = await GrantAsync(grain, "r1");
        await QueueAsync(grain, "r2");
        Assert.Equal(lease, await GrantAsync(grain, "r1")); // a repeat: the same lease, no write
        var writes = _store.Writes;

        var state = await grain.GetStateAsync();
        var valid = await grain.ValidateAsync(lease.FencingToken);
        var poll = await grain.PollAsync("r2");
        var unknownPoll = await grain.PollAsync("nobody");
        var busy = await grain.AcquireAsync(Command("r3", wait: 0));
        await grain.WaitAsync("nobody", TimeSpan.FromSeconds(5));
        await grain.CancelWaitAsync("nobody");
        var releaseUnknown = await grain.ReleaseAsync("no-such-lease");
        var renewUnknown = await grain.RenewAsync("no-such-lease", null);

        Assert.Equal(writes, _store.Writes);
        Assert.Equal(writes, _store.WriteAttempts);
        Assert.Equal(LockStateMode.Exclusive, state.Mode);
        Assert.True(valid.Valid);
        Assert.Equal(1, poll.Position);
        Assert.Equal(AcquireStatus.NotGranted, unknownPoll.Status);
        Assert.Equal(AcquireStatus.NotGranted, busy.Status);
        Assert.Equal(new ReleaseResult(false, LeaseLostReason.Unknown), releaseUnknown);
        Assert.Equal(new RenewResult(null, LeaseLostReason.Unknown), renewUnknown);
    }

    [Fact]
    public async Task ReleaseAsync_Repeated_ReleasedWithoutSecondWrite()
    {
        var (grain, _) = await ActivateAsync();
        var lease = await GrantAsync(grain, "r1");

        Assert.Equal(new ReleaseResult(true, null), await grain.ReleaseAsync(lease.LeaseId));
        var writes = _store.Writes;
        Assert.Equal(new ReleaseResult(true, null), await grain.ReleaseAsync(lease.LeaseId));

        Assert.Equal(writes, _store.Writes);
    }

    // ---- Failed writes -------------------------------------------------------------------------------------

    [Fact]
    public async Task AcquireAsync_WriteFails_PropagatesAndActivationRefusesFurtherCalls()
    {
        var (grain, context) = await ActivateAsync();
        _store.FailNextWrite = new InconsistentStateException("version conflict");

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.AcquireAsync(Command("r1")));

        Assert.True(context.DeactivationRequested);
        Assert.Null(_store.Json);
        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.GetStateAsync());
        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.PollAsync("r1"));
        Assert.Equal(0, context.KeepAliveArmedCount);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 3020);

        // A fresh activation re-reads: nothing was granted.
        var (fresh, _) = await ActivateAsync();
        Assert.Equal(1, (await GrantAsync(fresh, "r1")).FencingToken);
    }

    [Fact]
    public async Task ReleaseAsync_StorageUnavailable_PropagatesAndWakesWaiters()
    {
        var (grain, _) = await ActivateAsync();
        var lease = await GrantAsync(grain, "r1");
        await QueueAsync(grain, "r2");
        var wait = grain.WaitAsync("r2", TimeSpan.FromSeconds(30));
        _store.FailNextWrite = new StorageUnavailableException("connection lost");

        await Assert.ThrowsAsync<StorageUnavailableException>(() => grain.ReleaseAsync(lease.LeaseId));

        // The waiter's long poll returns so it re-polls (on a fresh activation); storage still has the old holder.
        await wait.WaitAsync(Generous);
        Assert.Equal(lease.LeaseId, Assert.Single(Stored().Holders).LeaseId);
    }

    [Fact]
    public async Task DuplicateActivations_SecondWriterFailsVersionCheck_NoDoubleGrant()
    {
        var (first, _) = await ActivateAsync();
        var (second, secondContext) = await ActivateAsync();

        var granted = await GrantAsync(first, "a");
        await Assert.ThrowsAsync<InconsistentStateException>(() => second.AcquireAsync(Command("b")));
        Assert.True(secondContext.DeactivationRequested);

        var (third, _) = await ActivateAsync();
        var busy = await third.AcquireAsync(Command("b"));
        Assert.Equal(AcquireStatus.NotGranted, busy.Status);
        Assert.Equal(granted.FencingToken, Assert.Single(busy.Holders).FencingToken);
    }

    [Fact]
    public async Task GetStateAndValidate_OnAnActivationAnotherOneOvertook_RefusedAsStaleAndDropped()
    {
        // A zombie: the first activation granted token 1; another activation (elsewhere) then took the lock over.
        var (zombie, zombieContext) = await ActivateAsync();
        var old = await GrantAsync(zombie, "a");
        var (current, _) = await ActivateAsync();
        Assert.Equal(old.FencingToken, Assert.Single((await current.GetStateAsync()).Holders).FencingToken);
        await current.ForceReleaseAsync("admin", "test");
        var taken = await GrantAsync(current, "b");

        // A pure read writes nothing, so only re-reading storage can tell the zombie it is stale.
        await Assert.ThrowsAsync<InconsistentStateException>(() => zombie.GetStateAsync());
        Assert.True(zombieContext.DeactivationRequested);
        await Assert.ThrowsAsync<InconsistentStateException>(() => zombie.ValidateAsync(old.FencingToken));

        // A fresh activation answers from storage: the new holder, and the old token is no longer valid.
        var (fresh, _) = await ActivateAsync();
        var state = await fresh.GetStateAsync();
        Assert.Equal(taken.FencingToken, state.FencingCounter);
        Assert.False((await fresh.ValidateAsync(old.FencingToken)).Valid);
        Assert.True((await fresh.ValidateAsync(taken.FencingToken)).Valid);
    }

    [Fact]
    public async Task Validate_AnotherActivationWroteSinceTheLastTurn_RefusedEvenWithoutHolderChange()
    {
        var (first, firstContext) = await ActivateAsync();
        var lease = await GrantAsync(first, "a");
        var (second, _) = await ActivateAsync();
        await second.RenewAsync(lease.LeaseId, TimeSpan.FromSeconds(60));

        await Assert.ThrowsAsync<InconsistentStateException>(() => first.ValidateAsync(lease.FencingToken));
        Assert.True(firstContext.DeactivationRequested);
        Assert.True((await second.ValidateAsync(lease.FencingToken)).Valid);
    }

    // ---- Waiting outside the turn ----------------------------------------------------------------------------

    [Fact]
    public async Task WaitAsync_ReleaseGrantsWaiter_CompletesWithoutBlockingRelease()
    {
        var (grain, _) = await ActivateAsync();
        var lease = await GrantAsync(grain, "a");
        await QueueAsync(grain, "b");

        var wait = grain.WaitAsync("b", TimeSpan.FromSeconds(30));
        Assert.False(wait.IsCompleted);

        var release = grain.ReleaseAsync(lease.LeaseId);
        Assert.True(release.IsCompletedSuccessfully);
        var granted = await wait.WaitAsync(Generous);

        // The wake-up carries the grant, exactly as a poll answers it, and the grant is in storage.
        var poll = await grain.PollAsync("b");
        Assert.Equal(AcquireStatus.Granted, poll.Status);
        Assert.Equal(2, poll.Lease!.FencingToken);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(30), poll.Lease.ExpiresAt);
        Assert.NotNull(granted);
        Assert.Equal(AcquireStatus.Granted, granted.Status);
        Assert.Equal(poll.Lease, granted.Lease);
        Assert.Equal(poll.Lease.LeaseId, Assert.Single(Stored().Holders).LeaseId);
    }

    [Fact]
    public async Task WaitAsync_WaiterRemovedWithoutAGrant_WakesWithNoResult()
    {
        var (grain, _) = await ActivateAsync();
        await GrantAsync(grain, "a");
        await QueueAsync(grain, "b");
        var wait = grain.WaitAsync("b", TimeSpan.FromSeconds(30));

        await grain.CancelWaitAsync("b");

        Assert.Null(await wait.WaitAsync(Generous));
        Assert.Equal(AcquireStatus.NotGranted, (await grain.PollAsync("b")).Status);
    }

    [Fact]
    public async Task WaitAsync_NoSuchWaiter_ReturnsAtOnce()
    {
        var (grain, _) = await ActivateAsync();
        await GrantAsync(grain, "a");

        Assert.True(grain.WaitAsync("a", TimeSpan.FromSeconds(30)).IsCompletedSuccessfully);
        Assert.True(grain.WaitAsync("unknown", TimeSpan.FromSeconds(30)).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task WaitAsync_NothingHappens_TimesOutOnTheTimeProvider()
    {
        var (grain, _) = await ActivateAsync();
        await GrantAsync(grain, "a", ttl: 3600);
        await QueueAsync(grain, "b", wait: 30);

        var wait = grain.WaitAsync("b", TimeSpan.FromSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(wait.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        await wait.WaitAsync(Generous);
        Assert.Equal(AcquireStatus.Queued, (await grain.PollAsync("b")).Status);
    }

    [Fact]
    public async Task WaitAsync_CancelledWaiter_Completes()
    {
        var (grain, _) = await ActivateAsync();
        await GrantAsync(grain, "a");
        await QueueAsync(grain, "b");
        var wait = grain.WaitAsync("b", TimeSpan.FromSeconds(30));

        await grain.CancelWaitAsync("b");

        await wait.WaitAsync(Generous);
        Assert.Equal(AcquireStatus.NotGranted, (await grain.PollAsync("b")).Status);
    }

    [Fact]
    public async Task OnDeactivateAsync_Waiters_WokenAndNothingWritten()
    {
        var (grain, context) = await ActivateAsync();
        await GrantAsync(grain, "a");
        await QueueAsync(grain, "b");
        var wait = grain.WaitAsync("b", TimeSpan.FromSeconds(30));
        var writes = _store.Writes;

        await grain.OnDeactivateAsync(new DeactivationReason(DeactivationReasonCode.ShuttingDown, "test"), CancellationToken.None);

        await wait.WaitAsync(Generous);
        Assert.Equal(writes, _store.Writes);
        Assert.Empty(context.LiveTimers);
        Assert.Equal(["b"], Stored().Waiters.Select(w => w.RequestId));
    }

    // ---- Timers --------------------------------------------------------------------------------------------

    [Fact]
    public async Task Timer_LeaseDeadline_ExpiresLeaseAndGrantsNextWaiter()
    {
        var (grain, context) = await ActivateAsync();
        var lease = await GrantAsync(grain, "a", ttl: 10);
        await QueueAsync(grain, "b", wait: 60);
        var wait = grain.WaitAsync("b", TimeSpan.FromSeconds(60));
        var writes = _store.Writes;

        _time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        Assert.Equal(writes, _store.Writes);
        _time.Advance(TimeSpan.FromTicks(1));

        AssertTicksSucceeded(context);
        Assert.Equal(writes + 1, _store.Writes);
        var holder = Assert.Single(Stored().Holders);
        Assert.Equal(("b", 2L), (holder.RequestId, holder.FencingToken));
        await wait.WaitAsync(Generous);
        Assert.Equal(new RenewResult(null, LeaseLostReason.Expired), await grain.RenewAsync(lease.LeaseId, null));
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 3005 && e.Message.Contains("owner-a", StringComparison.Ordinal));
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 3002 && e.Message.Contains("token 2", StringComparison.Ordinal));
        Assert.Equal(1, context.KeepAliveArmedCount);
    }

    [Fact]
    public async Task Timer_WaiterStopsPolling_AbandonedAfterGrace()
    {
        var (grain, context) = await ActivateAsync();
        await GrantAsync(grain, "a", ttl: 3600);
        await QueueAsync(grain, "b", wait: 5);
        var wait = grain.WaitAsync("b", TimeSpan.FromSeconds(30));

        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Single(Stored().Waiters);
        _time.Advance(TimeSpan.FromTicks(1));

        AssertTicksSucceeded(context);
        Assert.Empty(Stored().Waiters);
        await wait.WaitAsync(Generous);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 3006);
    }

    [Fact]
    public async Task Timer_LockBecomesEmpty_DisposedSoActivationCanBeCollected()
    {
        var (grain, context) = await ActivateAsync();
        Assert.Empty(context.LiveTimers);

        var lease = await GrantAsync(grain, "a", ttl: 20);
        var timer = Assert.Single(context.LiveTimers);
        Assert.True(timer.KeepAlive);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(20), timer.DueAt);

        await grain.RenewAsync(lease.LeaseId, TimeSpan.FromSeconds(40));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(40), Assert.Single(context.LiveTimers).DueAt);

        await grain.ReleaseAsync(lease.LeaseId);
        Assert.Empty(context.LiveTimers);
        Assert.Equal(0, context.KeepAliveArmedCount);
    }

    [Fact]
    public async Task Timer_LostWithoutActivation_NextCallStillExpiresFirst()
    {
        var (grain, context) = await ActivateAsync();
        var lease = await GrantAsync(grain, "a", ttl: 10);
        context.Kill(); // no timer any more; expiry must not depend on it
        _time.Advance(TimeSpan.FromSeconds(11));
        var writes = _store.Writes;

        var state = await grain.GetStateAsync();

        Assert.Equal(LockStateMode.Free, state.Mode);
        Assert.Equal(writes + 1, _store.Writes);
        Assert.Empty(Stored().Holders);
        Assert.False((await grain.ValidateAsync(lease.FencingToken)).Valid);
    }

    // ---- Activation and recovery ---------------------------------------------------------------------------

    [Fact]
    public async Task OnActivateAsync_PersistedHoldersAndWaiters_RearmsTimerAndSignals()
    {
        var (first, firstContext) = await ActivateAsync();
        await GrantAsync(first, "a", ttl: 10);
        await QueueAsync(first, "b", wait: 60);
        firstContext.Kill();
        var writes = _store.Writes;

        var (second, secondContext) = await ActivateAsync();
        Assert.Equal(writes, _store.Writes);
        Assert.Equal(1, secondContext.KeepAliveArmedCount);
        var wait = second.WaitAsync("b", TimeSpan.FromSeconds(60));
        Assert.False(wait.IsCompleted);

        _time.Advance(TimeSpan.FromSeconds(10));

        AssertTicksSucceeded(secondContext);
        await wait.WaitAsync(Generous);
        Assert.Equal("b", Assert.Single(Stored().Holders).RequestId);
    }

    [Fact]
    public async Task OnActivateAsync_LeaseExpiredWhileNotHosted_ExtendedByRecoveryGrace()
    {
        var (first, firstContext) = await ActivateAsync();
        var lease = await GrantAsync(first, "a", ttl: 10);
        await QueueAsync(first, "b", wait: 5);
        firstContext.Kill();
        _time.Advance(TimeSpan.FromMinutes(5));
        var writes = _store.Writes;

        var (second, secondContext) = await ActivateAsync();

        Assert.Equal(writes + 1, _store.Writes);
        var now = _time.GetUtcNow();
        Assert.Equal(now + TimeSpan.FromSeconds(15), Assert.Single(Stored().Holders).ExpiresAt);
        Assert.Equal(now, Assert.Single(Stored().Waiters).PollDeadline);

        // The next deadline is the waiter's: its place is kept for WaiterGrace unless its client comes back.
        Assert.Equal(now + TimeSpan.FromSeconds(10) + TimeSpan.FromTicks(1), Assert.Single(secondContext.LiveTimers).DueAt);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 3010 && e.Level == LogLevel.Warning);

        var renewed = await second.RenewAsync(lease.LeaseId, null);
        Assert.Equal(now + TimeSpan.FromSeconds(10), renewed.Lease!.ExpiresAt);
        Assert.Equal(1, renewed.Lease.FencingToken);
        Assert.Equal(AcquireStatus.Queued, (await second.AcquireAsync(Command("b", wait: 30))).Status);
    }

    [Fact]
    public async Task OnActivateAsync_RecoveryWriteFails_ActivationFails()
    {
        var (first, firstContext) = await ActivateAsync();
        await GrantAsync(first, "a", ttl: 10);
        firstContext.Kill();
        _time.Advance(TimeSpan.FromMinutes(1));
        _store.FailNextWrite = new StorageUnavailableException("down");

        await Assert.ThrowsAsync<StorageUnavailableException>(ActivateAsync);
    }

    // ---- Logging -------------------------------------------------------------------------------------------

    [Fact]
    public async Task ForceReleaseAsync_Held_LogsWhoAndWhyAsWarning()
    {
        var (grain, _) = await ActivateAsync();
        await GrantAsync(grain, "a");

        var result = await grain.ForceReleaseAsync("alice", "stuck batch job");

        Assert.Equal(new ForceReleaseResult(1, 2), result);
        var entry = Assert.Single(_logger.Entries, e => e.EventId.Id == 3009);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains("alice", entry.Message, StringComparison.Ordinal);
        Assert.Contains("stuck batch job", entry.Message, StringComparison.Ordinal);
        Assert.Contains("orders", entry.Message, StringComparison.Ordinal);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 3008 && e.Message.Contains("owner-a", StringComparison.Ordinal));
        Assert.All(_logger.Entries, e => Assert.InRange(e.EventId.Id, 3000, 3999));
    }
}
