using OrleansLocks.Runtime;
using OrleansLocks.Testing;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>Activations, turns, interleaving and storage-failure handling, through grain references.</summary>
public sealed class CatalogTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Invoke_HundredConcurrentFirstCalls_CreateExactlyOneActivation()
    {
        await using var silo = await TestSilo.StartAsync();
        using var start = new ManualResetEventSlim();

        var calls = Enumerable.Range(0, 100)
            .Select(_ => Task.Run(() =>
            {
                start.Wait();
                return silo.Grain("single").GetActivationNumberAsync();
            }))
            .ToList();
        start.Set();
        var numbers = await Task.WhenAll(calls);

        Assert.Single(numbers.Distinct());
        Assert.Equal(1, silo.Probe.ActivationsOf("single"));
        Assert.Equal(1, silo.Storage.ReadsOf(TestSilo.Id("single")));
        Assert.Equal(1, silo.Catalog.ActivationCount);
    }

    [Fact]
    public async Task Invoke_ConcurrentCalls_TurnsNeverOverlap()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("turns");

        await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(grain.TrackConcurrencyAsync)));

        Assert.Equal(1, silo.Probe.MaxConcurrency);
    }

    [Fact]
    public async Task Invoke_CallsMadeInOrder_RunInFifoOrder()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("fifo");

        var calls = Enumerable.Range(0, 200).Select(grain.AppendAsync).ToList();
        await Task.WhenAll(calls);

        Assert.Equal(Enumerable.Range(0, 200), await grain.GetAppendedAsync());
    }

    [Fact]
    public async Task Invoke_AlwaysInterleaveWhileTurnBlocked_RunsAtOnce()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("interleave");
        var activation = await grain.GetActivationNumberAsync();

        var blocked = grain.BlockAsync("gate");
        var queued = grain.GetCountAsync();
        var ping = await grain.PingAsync().WaitAsync(Patience);

        Assert.Equal(activation, ping);
        Assert.False(blocked.IsCompleted);
        Assert.False(queued.IsCompleted);
        silo.Probe.Open("gate");
        await blocked.WaitAsync(Patience);
        await queued.WaitAsync(Patience);
    }

    [Fact]
    public async Task Invoke_LongInterleavedWait_DoesNotBlockReleaseLikeCall()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("wait-release");
        await grain.PingAsync();

        var wait = grain.WaitForSignalAsync();
        await grain.SignalAsync().WaitAsync(Patience);

        await wait.WaitAsync(Patience);
    }

    [Fact]
    public async Task Invoke_TurnsAndInterleavedCalls_NeverRunGrainCodeInParallel()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("no-parallelism");
        await grain.PingAsync();

        // Give the pool spare threads up front, so that code that could run in parallel does (a 2-core pool may
        // otherwise run everything on one thread and hide the fault this test looks for). Raising the minimum is harmless.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 8), io);

        var calls = Enumerable.Range(0, 8)
            .SelectMany(_ => new[] { Task.Run(grain.SpinAsync), Task.Run(grain.SpinInterleavedAsync) })
            .ToList();
        await Task.WhenAll(calls).WaitAsync(Patience);

        Assert.Equal(0, silo.Probe.ParallelGrainCode);
    }

    [Fact]
    public async Task GetGrain_InheritedMethodsAndValueResults_RoundTrip()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("reference");

        Assert.Equal("hello", await grain.EchoAsync("hello"));
        Assert.Equal(1, await grain.IncrementAsync());
        Assert.Equal(2, await grain.IncrementAsync());
        Assert.Equal(2, silo.Storage.Get<CounterState>(TestGrain.StateName, TestSilo.Id("reference"))!.Count);
        Assert.Equal(silo.Grain("reference"), grain);
        Assert.Equal("ITestGrain:test/reference", grain.ToString());
    }

    [Fact]
    public async Task GetGrain_UnregisteredInterface_Throws()
    {
        await using var silo = await TestSilo.StartAsync();

        var error = Assert.Throws<InvalidOperationException>(() => silo.Grains.GetGrain<IUnregisteredGrain>("x"));
        Assert.Contains(nameof(IUnregisteredGrain), error.Message);
    }

    [Fact]
    public async Task Invoke_GrainThrows_ExceptionPropagatesUnchangedAndActivationStays()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("throws");
        var activation = await grain.GetActivationNumberAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => grain.ThrowAsync("boom"));

        Assert.Equal("boom", error.Message);
        Assert.Equal(activation, await grain.GetActivationNumberAsync());
        Assert.Empty(silo.Probe.DeactivationsOf("throws"));
    }

    [Fact]
    public async Task Invoke_VersionConflict_DropsActivationRereadsStateAndRetries()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("conflict");
        var id = TestSilo.Id("conflict");
        Assert.Equal(1, await grain.IncrementAsync());
        var first = await grain.GetActivationNumberAsync();

        // Another writer (say, a duplicate activation elsewhere) moves the record on.
        silo.Storage.WriteAsOtherWriter(TestGrain.StateName, id, new CounterState { Count = 10 });
        var result = await grain.IncrementAsync();

        Assert.Equal(11, result);
        Assert.Equal(11, silo.Storage.Get<CounterState>(TestGrain.StateName, id)!.Count);
        Assert.Equal(2, silo.Storage.ReadsOf(id));
        Assert.NotEqual(first, await grain.GetActivationNumberAsync());
        Assert.Equal([DeactivationReasonCode.ApplicationError], silo.Probe.DeactivationsOf("conflict"));
    }

    [Fact]
    public async Task Invoke_VersionConflictOnEveryAttempt_FailsWithSiloUnavailable()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("conflicts");
        silo.Storage.WriteFailure = new InconsistentStateException("always stale");

        var error = await Assert.ThrowsAsync<SiloUnavailableException>(grain.IncrementAsync);

        Assert.IsType<InconsistentStateException>(error.InnerException);
        Assert.Equal(3, silo.Probe.ActivationsOf("conflicts"));
        await Eventually.TrueAsync(() => silo.Probe.DeactivationsOf("conflicts").Count() == 3, "every attempt's activation dropped");
        Assert.All(silo.Probe.DeactivationsOf("conflicts"), r => Assert.Equal(DeactivationReasonCode.ApplicationError, r));
    }

    [Fact]
    public async Task Invoke_StorageUnavailable_PropagatesAndNextCallGetsFreshActivationThatRereads()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("unavailable");
        var id = TestSilo.Id("unavailable");
        Assert.Equal(1, await grain.IncrementAsync());
        var first = await grain.GetActivationNumberAsync();
        var failure = new StorageUnavailableException("connection dropped during commit");
        silo.Storage.FailNextWrite(failure);

        var error = await Assert.ThrowsAsync<StorageUnavailableException>(grain.IncrementAsync);

        Assert.Same(failure, error);
        Assert.Equal(1, await grain.GetCountAsync()); // the failed write's in-memory increment is gone
        Assert.NotEqual(first, await grain.GetActivationNumberAsync());
        Assert.Equal(2, silo.Storage.ReadsOf(id));
        Assert.Equal([DeactivationReasonCode.ApplicationError], silo.Probe.DeactivationsOf("unavailable"));
    }

    [Fact]
    public async Task OnDeactivateAsync_AfterStorageFailure_CannotPersist()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("no-persist");
        var id = TestSilo.Id("no-persist");
        Assert.Equal(1, await grain.IncrementAsync());
        silo.Probe.WriteOnDeactivate = true;
        silo.Storage.FailNextWrite(new StorageUnavailableException("down"));

        await Assert.ThrowsAsync<StorageUnavailableException>(grain.IncrementAsync);
        await Eventually.TrueAsync(() => silo.Catalog.ActivationCount == 0, "activation dropped");

        Assert.Contains("no-persist:deactivate-write-refused:InvalidOperationException", silo.Probe.Events);
        Assert.Equal(1, silo.Storage.Get<CounterState>(TestGrain.StateName, id)!.Count);
    }

    /*
     * A silo that reads itself dead (a zombie woken from SIGSTOP, or cut off from its peers) aborts every activation
     * at once, also those in the middle of a turn. The turn goes on when its await returns; whatever it then asks of
     * its dropped activation must not turn into an HTTP 500 (found by the fault checker in cluster mode: a lock
     * grant whose write was in flight when the silo read itself dead answered 500 "cannot register timers").
     */
    [Fact]
    public async Task Invoke_ActivationAbortedBeforeTheTurnWrites_WriteRefusedAsSiloUnavailable()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("abort-before-write");
        var id = TestSilo.Id("abort-before-write");
        Assert.Equal(1, await grain.IncrementAsync());

        var call = grain.CommitAndArmTimerAsync("abort-before-write-gate", gateAfterWrite: false);
        await Eventually.TrueAsync(() => silo.Probe.Events.Contains("abort-before-write:commit-start"), "the turn is running");
        silo.Catalog.AbortAll("declared dead by the cluster");
        silo.Probe.Open("abort-before-write-gate");

        // Nothing was written: the caller may retry (503), and a fresh activation serves it.
        await Assert.ThrowsAsync<SiloUnavailableException>(() => call.WaitAsync(Patience));
        Assert.Equal(1, silo.Storage.Get<CounterState>(TestGrain.StateName, id)!.Count);
    }

    [Fact]
    public async Task Invoke_ActivationAbortedWhileItsWriteIsInFlight_TurnCompletesWithTheCommittedResult()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("abort-after-write");
        var id = TestSilo.Id("abort-after-write");

        var call = grain.CommitAndArmTimerAsync("abort-after-write-gate", gateAfterWrite: true);
        await Eventually.TrueAsync(() => silo.Probe.Events.Contains("abort-after-write:written"), "the write committed");
        silo.Catalog.AbortAll("declared dead by the cluster");
        silo.Probe.Open("abort-after-write-gate");

        // The write is committed, so the result is true; re-arming a timer on the dropped activation is moot (its
        // timers died with it, and the next activation re-arms from storage), never a failure of the call.
        Assert.Equal(1, await call.WaitAsync(Patience));
        Assert.Equal(1, silo.Storage.Get<CounterState>(TestGrain.StateName, id)!.Count);
        Assert.Equal(0, silo.Catalog.ActivationCount);
    }

    [Fact]
    public async Task Invoke_CallsQueuedBehindStorageFailure_AreRedispatchedInOrderToFreshActivation()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("redispatch");
        var first = await grain.GetActivationNumberAsync();
        silo.Storage.FailNextWrite(new StorageUnavailableException("down"));

        var blocked = grain.BlockAsync("gate");
        var failing = grain.IncrementAsync();
        var appends = Enumerable.Range(0, 20).Select(grain.AppendAsync).ToList();
        var after = grain.GetActivationNumberAsync();
        silo.Probe.Open("gate");

        await blocked.WaitAsync(Patience);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => failing.WaitAsync(Patience));
        await Task.WhenAll(appends).WaitAsync(Patience);
        Assert.NotEqual(first, await after.WaitAsync(Patience));
        Assert.Equal(Enumerable.Range(0, 20), await grain.GetAppendedAsync());
        Assert.Equal(0, await grain.GetCountAsync());
    }

    [Fact]
    public async Task Activation_StateReadFails_CallFailsWithSiloUnavailableAndActivationIsDiscarded()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("read-fails");
        silo.Storage.FailNextRead(new StorageUnavailableException("no database"));

        var error = await Assert.ThrowsAsync<SiloUnavailableException>(grain.GetCountAsync);

        Assert.IsType<StorageUnavailableException>(error.InnerException);
        Assert.Equal(0, silo.Catalog.ActivationCount);
        Assert.Equal(0, silo.Probe.ActivationsOf("read-fails")); // OnActivateAsync never ran
        Assert.Equal(0, await grain.GetCountAsync());
        Assert.Equal(1, silo.Probe.ActivationsOf("read-fails"));
    }

    [Fact]
    public async Task Activation_OnActivateThrows_EveryQueuedCallFailsWithSiloUnavailable()
    {
        await using var silo = await TestSilo.StartAsync();
        silo.Probe.OnActivate = (key, _) => key == "bad" ? throw new InvalidOperationException("cannot start") : Task.CompletedTask;
        var grain = silo.Grain("bad");

        var calls = new Task[] { grain.GetCountAsync(), grain.PingAsync(), grain.AppendAsync(1) };

        foreach (var call in calls)
        {
            var error = await Assert.ThrowsAsync<SiloUnavailableException>(() => call);
            Assert.Equal("cannot start", Assert.IsType<InvalidOperationException>(error.InnerException).Message);
        }

        Assert.Equal(0, silo.Catalog.ActivationCount);
    }

    [Fact]
    public async Task Activation_SlowerThanActivationTimeout_FailsWithSiloUnavailable()
    {
        await using var silo = await TestSilo.StartAsync(new Dictionary<string, string?> { ["GrainCollection:ActivationTimeout"] = "00:00:05" });
        silo.Probe.OnActivate = async (key, _) =>
        {
            silo.Probe.Events.Enqueue($"{key}:activating");
            await silo.Probe.Gate("never"); // ignores the token: the runtime must not wait for it anyway
        };
        var call = silo.Grain("slow").GetCountAsync();
        await Eventually.TrueAsync(() => silo.Probe.Events.Contains("slow:activating"), "activation started");

        silo.Clock.Advance(TimeSpan.FromSeconds(5));

        var error = await Assert.ThrowsAsync<SiloUnavailableException>(() => call.WaitAsync(Patience));
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Equal(0, silo.Catalog.ActivationCount);
    }

    [Fact]
    public async Task DeactivateOnIdle_AfterTheTurn_NextCallGetsFreshActivation()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("deactivate");
        var first = await grain.GetActivationNumberAsync();

        await grain.DeactivateAsync();
        await Eventually.TrueAsync(() => silo.Catalog.ActivationCount == 0, "activation removed");

        Assert.Equal([DeactivationReasonCode.ApplicationRequested], silo.Probe.DeactivationsOf("deactivate"));
        Assert.NotEqual(first, await grain.GetActivationNumberAsync());
    }

    [Fact]
    public async Task Catalog_DeactivateAsync_WaitsForRunningTurnAndRedispatchesQueuedCalls()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grain("handover");
        var first = await grain.GetActivationNumberAsync();
        var blocked = grain.BlockAsync("gate");
        var queued = grain.GetActivationNumberAsync();

        var deactivation = silo.Catalog.DeactivateAsync(TestSilo.Id("handover"), new DeactivationReason(DeactivationReasonCode.DuplicateActivation, "test"));
        Assert.False(deactivation.IsCompleted);
        silo.Probe.Open("gate");
        await deactivation.WaitAsync(Patience);

        await blocked;
        Assert.NotEqual(first, await queued.WaitAsync(Patience));
        Assert.Equal([DeactivationReasonCode.DuplicateActivation], silo.Probe.DeactivationsOf("handover"));
    }
}

/// <summary>A grain interface nobody registered.</summary>
public interface IUnregisteredGrain : IGrainWithStringKey
{
    Task DoAsync();
}
