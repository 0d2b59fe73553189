using System.Text.Json;

namespace OrleansLocks.Grains.Tests;

public sealed partial class LockStateMachineTests
{
    /// <summary>
    /// Random operation sequences (seeded, so failures reproduce) checking after every step the invariants the
    /// safety argument relies on: one exclusive holder or only readers, strictly increasing tokens, counter at least
    /// every token and never lower, queue head never grantable (no barging, no lost wake-up), no deadline left
    /// behind, unique request ids, contiguous positions, and "no change reported" meaning nothing durable changed.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void RandomOperations_AnySequence_InvariantsHold(int seed)
    {
        _options.MaxQueueLength = 6;
        _options.MaxTombstones = 5;
        _options.TombstoneRetention = TimeSpan.FromSeconds(90);
        var random = new Random(seed);
        var now = T0;
        var requestIds = new List<string>();
        var leaseIds = new List<string>();
        var leaseOfRequest = new Dictionary<string, string>();
        long lastToken = 0;
        long lastCounter = 0;
        var counts = new Dictionary<string, int>();

        for (var step = 0; step < 3000; step++)
        {
            now += TimeSpan.FromMilliseconds(random.Next(0, 3000));
            var before = Durable(_state);
            var tombstonesBefore = _state.Tombstones.Select(t => t.LeaseId).ToHashSet();
            var waitersBefore = _state.Waiters.Select(w => w.RequestId).ToList();
            LockChanges changes;
            string operation;

            switch (random.Next(13))
            {
                case 0 or 1 or 2 or 3:
                {
                    var repeat = requestIds.Count > 0 && random.Next(4) == 0;
                    var requestId = repeat ? requestIds[random.Next(requestIds.Count)] : $"r{step}";
                    var mode = random.Next(2) == 0 ? LockMode.Exclusive : LockMode.Shared;
                    var leaseId = leaseIds.Count > 0 && random.Next(6) == 0 ? leaseIds[random.Next(leaseIds.Count)] : null;
                    var command = Command(requestId, mode, ttl: random.Next(1, 20), wait: random.Next(3) == 0 ? 0 : random.Next(1, 20), leaseId: leaseId);
                    var heldBefore = leaseOfRequest.TryGetValue(requestId, out var earlier) && _state.Holders.Any(h => h.LeaseId == earlier);
                    var outcome = Machine.Acquire(_state, now, command);
                    changes = outcome.Changes;
                    var result = outcome.Result;
                    operation = $"acquire {requestId} {mode} -> {result.Status}";
                    if (!repeat)
                    {
                        requestIds.Add(requestId);
                    }

                    switch (result.Status)
                    {
                        case AcquireStatus.Granted:
                            Assert.Contains(_state.Holders, h => h.LeaseId == result.Lease!.LeaseId && h.FencingToken == result.Lease.FencingToken);
                            Assert.Equal(result.Lease!.Mode, mode);
                            break;
                        case AcquireStatus.Queued:
                            Assert.Equal(requestId, _state.Waiters[result.Position - 1].RequestId);
                            break;
                        case AcquireStatus.NotGranted:
                            Assert.Equal(TimeSpan.Zero, command.Wait);
                            Assert.DoesNotContain(_state.Waiters, w => w.RequestId == requestId);
                            break;
                        case AcquireStatus.QueueFull:
                            Assert.Equal(_options.MaxQueueLength, _state.Waiters.Count);
                            break;
                        default:
                            break;
                    }

                    // No barging: a request granted on arrival found nobody queued (and nobody queues in the same step).
                    if (changes.Events.Any(e => e.Kind == LockEventKind.Granted && e.RequestId == requestId) && !waitersBefore.Contains(requestId))
                    {
                        Assert.Empty(_state.Waiters);
                    }

                    // A repeat of a request whose lease is still held returns that lease (or a mode conflict).
                    if (heldBefore && leaseId is null && _state.Holders.Any(h => h.LeaseId == earlier))
                    {
                        Assert.True(
                            result.Status == AcquireStatus.ModeConflict || result.Lease?.LeaseId == earlier,
                            $"seed {seed} step {step}: repeat of {requestId} answered {result.Status}");
                    }

                    break;
                }

                case 4:
                {
                    var requestId = requestIds.Count > 0 ? requestIds[random.Next(requestIds.Count)] : "none";
                    var outcome = Machine.Poll(_state, now, requestId);
                    changes = outcome.Changes;
                    operation = $"poll {requestId} -> {outcome.Result.Status}";
                    if (outcome.Result.Status == AcquireStatus.Queued)
                    {
                        Assert.Equal(requestId, _state.Waiters[outcome.Result.Position - 1].RequestId);
                    }

                    break;
                }

                case 5:
                {
                    var requestId = requestIds.Count > 0 ? requestIds[random.Next(requestIds.Count)] : "none";
                    changes = Machine.CancelWait(_state, now, requestId).Changes;
                    operation = $"cancel {requestId}";
                    Assert.DoesNotContain(_state.Waiters, w => w.RequestId == requestId);
                    break;
                }

                case 6 or 7:
                {
                    var leaseId = leaseIds.Count > 0 ? leaseIds[random.Next(leaseIds.Count)] : "none";
                    TimeSpan? ttl = random.Next(2) == 0 ? null : TimeSpan.FromSeconds(random.Next(1, 20));
                    var outcome = Machine.Renew(_state, now, leaseId, ttl);
                    changes = outcome.Changes;
                    operation = $"renew {leaseId}";
                    if (outcome.Result.Lease is { } lease)
                    {
                        Assert.True(lease.ExpiresAt > now);
                        Assert.Equal(lease.ExpiresAt, _state.Holders.Single(h => h.LeaseId == leaseId).ExpiresAt);
                    }
                    else
                    {
                        Assert.DoesNotContain(_state.Holders, h => h.LeaseId == leaseId);
                    }

                    break;
                }

                case 8 or 9:
                {
                    var leaseId = leaseIds.Count > 0 ? leaseIds[random.Next(leaseIds.Count)] : "none";
                    var outcome = Machine.Release(_state, now, leaseId);
                    changes = outcome.Changes;
                    operation = $"release {leaseId} -> {outcome.Result}";
                    Assert.DoesNotContain(_state.Holders, h => h.LeaseId == leaseId);
                    Assert.True(outcome.Result.Released ^ outcome.Result.LostReason is not null);
                    break;
                }

                case 10:
                {
                    var token = random.NextInt64(0, _state.FencingCounter + 2);
                    var outcome = Machine.Validate(_state, now, token);
                    changes = outcome.Changes;
                    operation = $"validate {token}";
                    Assert.Equal(_state.Holders.Any(h => h.FencingToken == token), outcome.Result.Valid);
                    Assert.Equal(_state.FencingCounter, outcome.Result.CurrentToken);
                    break;
                }

                default:
                {
                    var pick = random.Next(20);
                    if (pick == 0)
                    {
                        var counterBefore = _state.FencingCounter;
                        var outcome = Machine.ForceRelease(_state, now, "admin", "test");
                        changes = outcome.Changes;
                        operation = "force-release";
                        Assert.True(outcome.Result.FencingCounter > counterBefore);
                    }
                    else if (pick == 1)
                    {
                        // A reactivation after a while without a host.
                        now += TimeSpan.FromSeconds(random.Next(0, 60));
                        changes = Machine.Recover(_state, now);
                        operation = "recover";
                    }
                    else if (pick < 10)
                    {
                        changes = Machine.Sweep(_state, now);
                        operation = "sweep";
                    }
                    else
                    {
                        var outcome = Machine.GetState(_state, now);
                        changes = outcome.Changes;
                        operation = "state";
                        Assert.Equal(Enumerable.Range(1, _state.Waiters.Count), outcome.Result.Waiters.Select(w => w.Position));
                        Assert.Equal(_state.Holders.Count, outcome.Result.Holders.Count);
                    }

                    break;
                }
            }

            counts[operation.Split(' ')[0]] = counts.GetValueOrDefault(operation.Split(' ')[0]) + 1;
            var where = $"seed {seed} step {step} ({operation})";

            // Tokens: every grant takes a new, higher token; the counter never goes down and covers every token.
            foreach (var granted in changes.Events.Where(e => e.Kind == LockEventKind.Granted))
            {
                Assert.True(granted.FencingToken > lastToken, $"{where}: token {granted.FencingToken} after {lastToken}");
                lastToken = granted.FencingToken;
                // A force-release may end a lease its own sweep just granted: then it is a tombstone already.
                var leaseId = _state.Holders.SingleOrDefault(h => h.FencingToken == granted.FencingToken)?.LeaseId
                    ?? _state.Tombstones.Single(t => t.FencingToken == granted.FencingToken && t.Reason == LeaseLostReason.ForceReleased).LeaseId;
                leaseIds.Add(leaseId);
                leaseOfRequest[granted.RequestId] = leaseId;
            }

            // FIFO: a waiter is granted only when every waiter that was ahead of it has left the queue.
            foreach (var granted in changes.Events.Where(e => e.Kind == LockEventKind.Granted))
            {
                var index = waitersBefore.IndexOf(granted.RequestId);
                for (var ahead = 0; ahead < index; ahead++)
                {
                    Assert.DoesNotContain(_state.Waiters, w => w.RequestId == waitersBefore[ahead]);
                }
            }

            Assert.True(_state.FencingCounter >= lastCounter, where);
            Assert.True(_state.FencingCounter >= lastToken, where);
            lastCounter = _state.FencingCounter;
            AssertInvariants(now, where);

            // "Unchanged" must mean unchanged: only age-expired tombstones may vanish without a write.
            if (!changes.StateChanged)
            {
                Assert.Equal(before, Durable(_state));
                Assert.Subset(tombstonesBefore, _state.Tombstones.Select(t => t.LeaseId).ToHashSet());
            }

            Assert.All(changes.LeftQueue, id => Assert.DoesNotContain(_state.Waiters, w => w.RequestId == id));
        }

        // The sequence really exercised the interesting paths.
        Assert.True(lastToken > 100, $"only {lastToken} grants");
        Assert.True(counts.GetValueOrDefault("force-release") > 3);
        Assert.True(counts.GetValueOrDefault("recover") > 3);
    }

    private void AssertInvariants(DateTimeOffset now, string where)
    {
        var holders = _state.Holders;
        var exclusive = holders.Count(h => h.Mode == LockMode.Exclusive);
        Assert.True(exclusive == 0 || holders.Count == 1, $"{where}: exclusive holder with others ({holders.Count} holders)");
        Assert.All(holders, h => Assert.True(h.ExpiresAt > now, $"{where}: holder past its deadline"));
        Assert.All(holders, h => Assert.True(h.FencingToken <= _state.FencingCounter && h.FencingToken > 0, where));
        Assert.Equal(holders.Count, holders.Select(h => h.LeaseId).Distinct().Count());

        var waiters = _state.Waiters;
        Assert.True(waiters.Count <= _options.MaxQueueLength, where);
        Assert.All(waiters, w => Assert.False(now > w.PollDeadline + _options.WaiterGrace, $"{where}: abandoned waiter kept"));
        if (waiters.Count > 0)
        {
            var head = waiters[0];
            var grantable = holders.Count == 0 || (head.Mode == LockMode.Shared && exclusive == 0);
            Assert.False(grantable, $"{where}: head {head.RequestId} ({head.Mode}) is grantable but waits");
        }

        var requestIds = holders.Select(h => h.RequestId).Concat(waiters.Select(w => w.RequestId)).ToList();
        Assert.Equal(requestIds.Count, requestIds.Distinct().Count());
        Assert.True(_state.Tombstones.Count <= _options.MaxTombstones, where);
    }

    private static string Durable(LockState state)
        => JsonSerializer.Serialize(new { state.FencingCounter, state.Holders, state.Waiters });
}
