using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansLocks.Cluster.Tests.Infrastructure;
using OrleansLocks.Runtime;
using OrleansLocks.Silo;
using OrleansLocks.Silo.Placement;
using OrleansLocks.Silo.Runtime;
using OrleansLocks.Testing;
using Xunit.Abstractions;

namespace OrleansLocks.Cluster.Tests;

/// <summary>
/// What a user relies on when the service runs as a cluster: locks keep their state whichever silo serves them,
/// across graceful stops and kills; tokens keep increasing; never two exclusive holders. Run on both backends.
/// </summary>
public abstract class ClusterTests(ClusterBackend backend, ITestOutputHelper output) : IAsyncLifetime
{
    protected static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);

    private TestCluster? _cluster;

    private protected TestCluster Cluster => _cluster!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(backend);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            output.WriteLine(_cluster.Logs.Dump());
            await _cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task Calls_FromEverySilo_ReachOneActivationOnTheOwner()
    {
        var owner = Cluster.Silos[1];
        var name = Cluster.LockOwnedBy(owner);

        var granted = await AcquireAsync(Cluster.Silos[0], name, "alice", "r1");
        var seen = await Task.WhenAll(Cluster.Silos.Select(s => s.Lock(name).GetStateAsync()));

        Assert.Equal(AcquireStatus.Granted, granted.Status);
        Assert.All(seen, state => Assert.Equal(granted.Lease!.FencingToken, Assert.Single(state.Holders).FencingToken));
        Assert.Equal([owner], Cluster.Silos.Where(s => s.Hosts(name)));
    }

    [Fact]
    public async Task StopSilo_Graceful_ItsLocksMoveWithTheirStateAndTokensKeepIncreasing()
    {
        var leaving = Cluster.Silos[2];
        var client = Cluster.Silos[0];
        var locks = Enumerable.Range(0, 4).Select(i => Cluster.LockOwnedBy(leaving, "graceful" + i)).Distinct().ToList();
        var before = new Dictionary<string, LockStateView>();
        var leases = new Dictionary<string, Lease>();
        foreach (var name in locks)
        {
            leases[name] = (await AcquireAsync(client, name, "holder", "h-" + name)).Lease!;
            Assert.Equal(AcquireStatus.Queued, (await AcquireAsync(client, name, "waiter", "w-" + name, wait: TimeSpan.FromSeconds(30))).Status);
            before[name] = await client.Lock(name).GetStateAsync();
        }

        var leavingAddress = leaving.Address;
        await Cluster.StopSiloAsync(leaving);
        await Cluster.WaitForLivenessToStabilizeAsync();

        await Eventually.TrueAsync(
            () => Cluster.Silos.All(s => s.Membership.Current.GetStatus(leavingAddress) == SiloStatus.Dead), "every silo sees the leaver Dead");
        foreach (var name in locks)
        {
            var after = await client.Lock(name).GetStateAsync();
            AssertSameState(before[name], after);
            var renewed = await client.Lock(name).RenewAsync(leases[name].LeaseId, null);
            Assert.Null(renewed.LostReason);
            Assert.Equal(leases[name].FencingToken, renewed.Lease!.FencingToken);
        }
    }

    [Fact]
    public async Task KillSilo_ItsLocksReactivateOnSurvivorsWithHoldersTokensDeadlinesAndQueuesIntact()
    {
        var victim = Cluster.Silos[1];
        var client = Cluster.Silos[0];
        var name = Cluster.LockOwnedBy(victim, "killed");
        var holder = await AcquireAsync(client, name, "holder", "h1");
        Assert.Equal(AcquireStatus.Granted, holder.Status);
        Assert.Equal(1, (await AcquireAsync(client, name, "first-waiter", "w1", wait: TimeSpan.FromSeconds(30))).Position);
        Assert.Equal(2, (await AcquireAsync(client, name, "second-waiter", "w2", wait: TimeSpan.FromSeconds(30))).Position);
        var before = await client.Lock(name).GetStateAsync();

        var killedAt = Stopwatch.GetTimestamp();
        await Cluster.KillSiloAsync(victim);
        var after = await UntilServedAsync(() => client.Lock(name).GetStateAsync());
        var failover = Stopwatch.GetElapsedTime(killedAt);
        output.WriteLine($"failover: kill -> first successful call to a lock of the killed silo: {failover.TotalMilliseconds:0} ms");

        AssertSameState(before, after);
        Assert.Contains(Cluster.Silos, s => s.Hosts(name));

        // The holder releases through a survivor; the first waiter is next, with the next token.
        Assert.True((await client.Lock(name).ReleaseAsync(holder.Lease!.LeaseId)).Released);
        var next = await client.Lock(name).PollAsync("w1");
        Assert.Equal(AcquireStatus.Granted, next.Status);
        Assert.Equal(holder.Lease.FencingToken + 1, next.Lease!.FencingToken);
    }

    [Fact]
    public async Task KillSilo_WaiterRetryingWithItsRequestId_KeepsItsPlace()
    {
        var victim = Cluster.Silos[2];
        var client = Cluster.Silos[0];
        var name = Cluster.LockOwnedBy(victim, "retry");
        var holder = await AcquireAsync(client, name, "holder", "h1");
        Assert.Equal(1, (await AcquireAsync(client, name, "patient", "p1", wait: TimeSpan.FromSeconds(30))).Position);
        Assert.Equal(2, (await AcquireAsync(client, name, "late", "p2", wait: TimeSpan.FromSeconds(30))).Position);

        await Cluster.KillSiloAsync(victim);

        // The client lost its connection and retries the same request: same place, not a new one at the back.
        var retried = await UntilServedAsync(() => AcquireAsync(client, name, "patient", "p1", wait: TimeSpan.FromSeconds(30)));
        Assert.Equal(AcquireStatus.Queued, retried.Status);
        Assert.Equal(1, retried.Position);
        Assert.Equal(2, (await client.Lock(name).PollAsync("p2")).Position);
        Assert.True((await client.Lock(name).ReleaseAsync(holder.Lease!.LeaseId)).Released);
        var granted = await client.Lock(name).PollAsync("p1");
        Assert.Equal(AcquireStatus.Granted, granted.Status);
        Assert.True(granted.Lease!.FencingToken > holder.Lease.FencingToken);
    }

    [Fact]
    public async Task KillSilo_ALongPollInFlightToIt_ContinuesOnTheNewOwnerAndSeesTheGrant()
    {
        var victim = Cluster.Silos[1];
        var client = Cluster.Silos[0];
        var name = Cluster.LockOwnedBy(victim, "polled");
        var holder = await AcquireAsync(client, name, "holder", "h1");
        Assert.Equal(AcquireStatus.Queued, (await AcquireAsync(client, name, "waiter", "w1", wait: TimeSpan.FromSeconds(50))).Status);
        var waiting = client.Lock(name).WaitAsync("w1", TimeSpan.FromSeconds(40));

        await Cluster.KillSiloAsync(victim);
        await UntilServedAsync(() => client.Lock(name).ReleaseAsync(holder.Lease!.LeaseId));

        // The wait changes nothing, so the router sent it again to the new owner, where the release woke it.
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        var granted = await client.Lock(name).PollAsync("w1");
        Assert.Equal(AcquireStatus.Granted, granted.Status);
        Assert.Equal(holder.Lease!.FencingToken + 1, granted.Lease!.FencingToken);
    }

    [Fact]
    public async Task StartAdditionalSilo_TakesOverSomeLocksWithTheirState()
    {
        var client = Cluster.Silos[0];
        var names = Enumerable.Range(0, 24).Select(i => "moving" + i).ToList();
        var tokens = new Dictionary<string, long>();
        foreach (var name in names)
        {
            tokens[name] = (await AcquireAsync(client, name, "holder", "h-" + name)).Lease!.FencingToken;
        }

        var newcomer = await Cluster.StartAdditionalSiloAsync();
        await Cluster.WaitForLivenessToStabilizeAsync();

        var moved = names.Where(n => Cluster.OwnerOf(n) == newcomer).ToList();
        Assert.NotEmpty(moved);
        foreach (var name in names)
        {
            var state = await client.Lock(name).GetStateAsync();
            Assert.Equal(tokens[name], Assert.Single(state.Holders).FencingToken);
        }

        Assert.All(moved, name => Assert.True(newcomer.Hosts(name), name));
        await Eventually.TrueAsync(
            () => moved.All(name => Cluster.Silos.Where(s => s != newcomer).All(s => !s.Hosts(name))),
            "the previous owners deactivated the locks that moved");
        await Eventually.TrueAsync(DirectoryMatchesActivationsAsync, "the directory names exactly the activations");
        foreach (var name in moved)
        {
            Assert.Equal(newcomer.Address, (await Directory.LookupAsync(LockId(name), default))!.Silo);
        }
    }

    [Fact]
    public async Task DuplicateActivation_DirectoryNamesALiveSilo_IsRefusedBeforeReadingStateAndTheCallGoesThere()
    {
        var owner = Cluster.Silos[0];
        var other = Cluster.Silos[1];
        var name = Cluster.LockOwnedBy(owner, "refused");
        var granted = await AcquireAsync(owner, name, "alice", "a1");
        var registered = await Directory.LookupAsync(LockId(name), default);
        Assert.Equal(owner.Address, registered!.Silo);

        // The other silo believes it may host the lock (as a silo with an old view would) and tries to activate it.
        other.Catalog.HostingFilter = _ => true;
        var call = other.Catalog.InvokeCall(LockId(name), Method(nameof(ILockGrain.GetStateAsync)), []);

        await Assert.ThrowsAsync<SiloUnavailableException>(() => call.Task);
        Assert.True(call.Rejected);
        Assert.Equal(owner.Address, call.ForwardTo);
        Assert.False(other.Hosts(name));
        Assert.Contains(Cluster.Logs.Lines, l => l.Silo == other.Name && l.EventId == 5300);
        Assert.DoesNotContain(Cluster.Logs.Lines, l => l.Silo == other.Name && l.EventId == 1001 && l.Message.Contains(name, StringComparison.Ordinal));
        Assert.Equal(registered, await Directory.LookupAsync(LockId(name), default));

        // Its router learned where the lock lives: the call goes there and sees alice.
        var state = await other.Lock(name).GetStateAsync();
        Assert.Equal(granted.Lease!.FencingToken, Assert.Single(state.Holders).FencingToken);
        Assert.False(other.Hosts(name));
    }

    [Fact]
    public async Task LeakedEntry_OfALiveSiloThatDoesNotHostTheLock_IsRemovedAndTheLockActivatesOnItsOwner()
    {
        var leaker = Cluster.Silos[0];
        var owner = Cluster.Silos[1];
        var name = Cluster.LockOwnedBy(owner, "leaked");

        // An entry naming a live silo and an activation it does not have (as if that activation's unregister failed).
        var leaked = new GrainAddress(LockId(name), leaker.Address, Guid.NewGuid());
        Assert.Equal(leaked, await Directory.RegisterAsync(leaked, previous: null, default));

        // The owner's registration is refused and the call sent to the leaker, which finds the entry is a leak of its
        // own, removes it and answers NotOwner; the owner then registers.
        var granted = await AcquireAsync(Cluster.Silos[2], name, "alice", "a1");

        Assert.Equal(AcquireStatus.Granted, granted.Status);
        Assert.True(owner.Catalog.TryGetActivation(LockId(name), out var activation));
        Assert.Equal(new GrainAddress(LockId(name), owner.Address, activation.ActivationId), await Directory.LookupAsync(LockId(name), default));
        Assert.Contains(Cluster.Logs.Lines, l => l.Silo == leaker.Name && l.EventId == 5306);
        Assert.False(leaker.Hosts(name));
    }

    [Fact]
    public async Task KillSilo_SurvivorsRemoveItsDirectoryEntriesAndItsLocksRegisterOnThem()
    {
        var victim = Cluster.Silos[2];
        var client = Cluster.Silos[0];
        var locks = Enumerable.Range(0, 3).Select(i => Cluster.LockOwnedBy(victim, "entries" + i)).Distinct().ToList();
        foreach (var name in locks)
        {
            await AcquireAsync(client, name, "holder", "h-" + name);
            Assert.Equal(victim.Address, (await Directory.LookupAsync(LockId(name), default))!.Silo);
        }

        var victimAddress = victim.Address;
        await Cluster.KillSiloAsync(victim);
        await Eventually.TrueAsync(
            () => Cluster.Silos.All(s => s.Membership.Current.GetStatus(victimAddress) == SiloStatus.Dead), "every survivor sees the victim Dead");
        foreach (var name in locks)
        {
            Assert.Single((await UntilServedAsync(() => client.Lock(name).GetStateAsync())).Holders);
            var entry = await Directory.LookupAsync(LockId(name), default);
            Assert.Contains(Cluster.Silos, s => s.Address == entry!.Silo && s.Hosts(name));
        }

        await Eventually.TrueAsync(DirectoryMatchesActivationsAsync, "the directory names exactly the survivors' activations");
    }

    [Fact]
    public async Task StopSilo_Graceful_UnregistersItsActivationsItselfBeforeItLeaves()
    {
        var leaving = Cluster.Silos[1];
        var client = Cluster.Silos[0];
        var locks = Enumerable.Range(0, 3).Select(i => Cluster.LockOwnedBy(leaving, "leaving" + i)).Distinct().ToList();
        foreach (var name in locks)
        {
            await AcquireAsync(client, name, "holder", "h-" + name);
        }

        var leavingAddress = leaving.Address;
        await Cluster.StopSiloAsync(leaving);

        // Gone from the directory by the time the stop completed: nobody had to clean up after it.
        foreach (var name in locks)
        {
            Assert.NotEqual(leavingAddress, (await Directory.LookupAsync(LockId(name), default))?.Silo);
        }

        await Cluster.WaitForLivenessToStabilizeAsync();
        foreach (var name in locks)
        {
            Assert.Single((await client.Lock(name).GetStateAsync()).Holders);
        }

        await Eventually.TrueAsync(DirectoryMatchesActivationsAsync, "the directory names exactly the activations");
        Assert.DoesNotContain(Cluster.Logs.Lines, l => l.EventId == 5303);
    }

    [Fact]
    public async Task StopEverySilo_Graceful_LeavesNoDirectoryEntry()
    {
        var directory = Directory;
        for (var i = 0; i < 12; i++)
        {
            await AcquireAsync(Cluster.Silos[i % 3], "everywhere" + i, "holder", "h" + i);
        }

        Assert.Equal(12, await directory.CountAsync(default));
        foreach (var silo in Cluster.Silos.Reverse())
        {
            await Cluster.StopSiloAsync(silo);
        }

        Assert.Equal(0, await directory.CountAsync(default));
    }

    [Fact]
    public async Task DuplicateActivation_Forced_SecondWriterFailsItsVersionCheckRereadsAndNeverGrantsASecondHolder()
    {
        var owner = Cluster.Silos[0];
        var stale = Cluster.Silos[1];
        var name = Cluster.LockOwnedBy(owner, "split");
        var grainId = new GrainId("lock", name);
        var getState = Method(nameof(ILockGrain.GetStateAsync));
        var acquire = Method(nameof(ILockGrain.AcquireAsync));

        // The stale silo believes it owns the lock (as a silo with an old view would) and activates it: lock free.
        // Its directory check slips too (as for a zombie silo whose entry was replaced, or during a directory
        // outage): this is the duplicate the version check must catch.
        stale.Catalog.HostingFilter = _ => true;
        stale.Catalog.Registrar = null;
        var staleView = (LockStateView)(await stale.Catalog.InvokeAsync(grainId, getState, []))!;
        Assert.Empty(staleView.Holders);
        Assert.True(stale.Hosts(name) && owner.Hosts(name) is false);

        // Meanwhile the real owner grants the lock and commits it.
        var first = await AcquireAsync(owner, name, "alice", "a1");
        Assert.Equal(AcquireStatus.Granted, first.Status);

        // The duplicate still thinks the lock is free. Its grant fails the version check, it drops its state,
        // re-reads, and answers from the truth: alice holds the lock.
        var second = (AcquireResult)(await stale.Catalog.InvokeAsync(grainId, acquire, [Command("bob", "b1")]))!;

        Assert.Equal(AcquireStatus.NotGranted, second.Status);
        Assert.Equal("alice", Assert.Single(second.Holders).Owner);
        var truth = await owner.Lock(name).GetStateAsync();
        Assert.Equal(first.Lease!.FencingToken, Assert.Single(truth.Holders).FencingToken);
        Assert.Equal(first.Lease.FencingToken, truth.FencingCounter);
        Assert.Contains(Cluster.Logs.Lines, l => l.Silo == stale.Name && l.EventId == 1004); // version conflict: activation dropped, retried
    }

    [Fact]
    public async Task Silo_NobodyCanReach_IsDeclaredDeadStopsServingAndStopsItsHost()
    {
        // It can reach the others (so it joins), but advertises an address where nothing listens.
        var unreachable = await Cluster.StartAdditionalSiloAsync(new Dictionary<string, string?> { ["Silo:AdvertisedAddress"] = "127.0.0.2" });
        var address = unreachable.Address;
        var lifetime = unreachable.Services.GetRequiredService<IHostApplicationLifetime>();
        var catalog = unreachable.Catalog;

        await Eventually.TrueAsync(() => unreachable.Details.Status == SiloStatus.Dead, "the unreachable silo reads itself dead");

        // Dead at once (it refuses calls from that moment); its activations are dropped and its host told to stop next.
        await Eventually.TrueAsync(() => lifetime.ApplicationStopping.IsCancellationRequested, "the dead silo stops its host");
        Assert.Equal(0, catalog.ActivationCount);
        var call = catalog.InvokeCall(new GrainId("lock", "any"), Method(nameof(ILockGrain.GetStateAsync)), []);
        await Assert.ThrowsAsync<SiloUnavailableException>(() => call.Task);
        await Eventually.TrueAsync(
            () => Cluster.Silos.Where(s => s != unreachable).All(s => s.Membership.Current.GetStatus(address) == SiloStatus.Dead),
            "every other silo sees it dead");
        await Cluster.StopSiloAsync(unreachable);
        await Cluster.WaitForLivenessToStabilizeAsync();
        Assert.Equal(AcquireStatus.Granted, (await AcquireAsync(Cluster.Silos[0], "after", "alice", "r1")).Status);
    }

    [Fact]
    public async Task KillAndStopSilos_UnderLoad_NeverTwoExclusiveHoldersAndEveryTokenIssuedOnce()
    {
        var joined = await Cluster.StartAdditionalSiloAsync();
        await Cluster.WaitForLivenessToStabilizeAsync();
        var locks = Enumerable.Range(0, 6).Select(i => "contended" + i).ToArray();
        var holders = new string?[locks.Length];
        var lastToken = new long[locks.Length];
        var tokens = locks.Select(_ => new System.Collections.Concurrent.ConcurrentBag<long>()).ToArray();
        var violations = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();

        async Task ClientAsync(int client)
        {
            var random = new Random(client);
            for (var round = 0; !stop.IsCancellationRequested; round++)
            {
                var index = random.Next(locks.Length);
                var me = $"client{client}";
                var requestId = $"{me}-{round}";
                var result = await OnAnySiloAsync(random, s => AcquireAsync(s, locks[index], me, requestId));
                if (result.Status != AcquireStatus.Granted)
                {
                    await Task.Delay(random.Next(1, 10));
                    continue;
                }

                var lease = result.Lease!;
                if (Interlocked.CompareExchange(ref holders[index], me, null) is { } other)
                {
                    violations.Enqueue($"{locks[index]}: {me} granted token {lease.FencingToken} while {other} holds it");
                }

                if (lease.FencingToken <= lastToken[index])
                {
                    violations.Enqueue($"{locks[index]}: token {lease.FencingToken} after {lastToken[index]}");
                }

                lastToken[index] = Math.Max(lastToken[index], lease.FencingToken);
                tokens[index].Add(lease.FencingToken);
                await Task.Delay(random.Next(0, 5));
                Volatile.Write(ref holders[index], null);
                var released = await OnAnySiloAsync(random, s => s.Lock(locks[index]).ReleaseAsync(lease.LeaseId));
                if (!released.Released)
                {
                    violations.Enqueue($"{locks[index]}: {me}'s lease {lease.FencingToken} ended before its release ({released.LostReason})");
                }
            }
        }

        var clients = Enumerable.Range(0, 8).Select(i => Task.Run(() => ClientAsync(i))).ToList();
        await Eventually.TrueAsync(() => tokens.Sum(t => t.Count) >= 50, "the clients make progress");
        await Cluster.KillSiloAsync(Cluster.Silos[1]);
        var afterKill = tokens.Sum(t => t.Count);
        await Eventually.TrueAsync(() => tokens.Sum(t => t.Count) >= afterKill + 50, "the clients make progress after the kill");
        await Cluster.StopSiloAsync(joined);
        var afterStop = tokens.Sum(t => t.Count);
        await Eventually.TrueAsync(() => tokens.Sum(t => t.Count) >= afterStop + 50, "the clients make progress after the graceful stop");
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.Empty(violations);
        await Eventually.TrueAsync(DirectoryMatchesActivationsAsync, "no directory entry leaked: it names exactly the activations");
        for (var i = 0; i < locks.Length; i++)
        {
            var state = await Cluster.Silos[0].Lock(locks[i]).GetStateAsync();
            Assert.Empty(state.Holders);

            // Every token the lock issued went to exactly one client, none was skipped or issued twice.
            Assert.Equal(Enumerable.Range(1, (int)state.FencingCounter).Select(t => (long)t), tokens[i].Order());
        }
    }

    private protected IGrainDirectory Directory => Cluster.Directory;

    private protected static GrainId LockId(string name) => new("lock", name);

    /// <summary>
    /// Whether the directory holds exactly one entry per valid activation of the running silos, naming that silo and
    /// activation, and nothing else (no leaked entry of a dead silo or of a deactivated activation).
    /// </summary>
    private protected async Task<bool> DirectoryMatchesActivationsAsync()
    {
        var directory = Directory;
        var activations = Cluster.Silos
            .SelectMany(s => s.Catalog.Activations.Where(a => a.State == ActivationState.Valid).Select(a => (Silo: s.Address, Activation: a)))
            .ToList();
        if (await directory.CountAsync(default) != activations.Count)
        {
            return false;
        }

        foreach (var (silo, activation) in activations)
        {
            if (await directory.LookupAsync(activation.GrainId, default) != new GrainAddress(activation.GrainId, silo, activation.ActivationId))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A call through a random running silo, retried (same arguments, so idempotent) while the cluster answers "unavailable".</summary>
    private async Task<T> OnAnySiloAsync<T>(Random random, Func<TestSilo, Task<T>> call)
        => await UntilServedAsync(() =>
        {
            var silos = Cluster.Silos;
            return call(silos[random.Next(silos.Count)]);
        });

    private static Silo.Runtime.GrainMethod Method(string name)
        => Silo.Runtime.GrainMethod.Create(typeof(ILockGrain), typeof(ILockGrain).GetMethod(name)!);

    private protected static AcquireCommand Command(string owner, string requestId, TimeSpan wait = default)
        => new() { Mode = LockMode.Exclusive, Owner = owner, Ttl = Ttl, RequestId = requestId, Wait = wait };

    private protected static Task<AcquireResult> AcquireAsync(TestSilo via, string name, string owner, string requestId, TimeSpan wait = default)
        => via.Lock(name).AcquireAsync(Command(owner, requestId, wait));

    /// <summary>Repeats <paramref name="call"/> while the cluster answers "unavailable, retry" (a 503 to a client).</summary>
    private protected static async Task<T> UntilServedAsync<T>(Func<Task<T>> call)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(60 * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (e is SiloUnavailableException or ObjectDisposedException or OperationCanceledException && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private static void AssertSameState(LockStateView expected, LockStateView actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Mode, actual.Mode);
        Assert.Equal(expected.FencingCounter, actual.FencingCounter);
        Assert.Equal(expected.Holders, actual.Holders);
        Assert.Equal(expected.Waiters, actual.Waiters);
    }
}

/// <summary>The cluster on one real PostgreSQL database (membership and grain storage), as in production.</summary>
public sealed class PostgresClusterTests(ITestOutputHelper output) : ClusterTests(ClusterBackend.Postgres, output);

/// <summary>The cluster on the in-memory membership table and in-memory storage shared by in-process silos.</summary>
public sealed class InMemoryClusterTests(ITestOutputHelper output) : ClusterTests(ClusterBackend.InMemory, output);
