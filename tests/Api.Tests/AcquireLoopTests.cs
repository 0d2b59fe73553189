using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Runtime;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests;

/// <summary>
/// The acquire handler's long-poll loop against a scripted grain, for the interleavings the real grain cannot be
/// made to produce on demand: a grant that lands between the last poll and the cancel, and a grant that lands
/// after the client has gone. The rest of the host is real.
/// </summary>
public sealed class AcquireLoopTests(AcquireLoopTests.Fixture fixture) : IClassFixture<AcquireLoopTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        private LockServiceFactory? _factory;

        public LockServiceFactory Factory => _factory!;

        public ScriptedGrainFactory Grains { get; } = new();

        public async Task InitializeAsync()
        {
            var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
            _factory = new LockServiceFactory(database, configureServices: services => services.AddSingleton<IGrainFactory>(Grains));
            _ = _factory.Server;
        }

        public async Task DisposeAsync() => await _factory!.DisposeAsync();
    }

    [Fact]
    public async Task Acquire_GrantedWhileServerCancelsItsWaiter_Answers200WithTheLease()
    {
        var grain = fixture.Grains.Script("race-grant");
        grain.OnPoll = cancelled => cancelled ? grain.Granted() : ScriptedLockGrain.Queued(1);
        using var client = new LockClient(fixture.Factory.CreateClient());

        var response = await client.AcquireAsync("race-grant", new { wait = 200 });

        response.Expect(HttpStatusCode.OK);
        Assert.Equal(ScriptedLockGrain.LeaseId, response.Json["leaseId"]!.GetValue<string>());
        Assert.Contains("cancel", grain.Calls);
    }

    [Fact]
    public async Task Acquire_GrantArrivesWithTheWakeUp_Answers200WithoutAnotherGrainCall()
    {
        var grain = fixture.Grains.Script("grant-on-wait");
        grain.GrantOnWait = grain.Granted;
        using var client = new LockClient(fixture.Factory.CreateClient());

        var response = await client.AcquireAsync("grant-on-wait", new { wait = 5000 });

        response.Expect(HttpStatusCode.OK);
        Assert.Equal(ScriptedLockGrain.LeaseId, response.Json["leaseId"]!.GetValue<string>());
        Assert.Equal(["acquire", "wait"], grain.Calls);
    }

    [Fact]
    public async Task Acquire_ClientGivenRequestIdNotGranted_KeepsItsPlace()
    {
        var grain = fixture.Grains.Script("keeps-place");
        grain.OnPoll = _ => ScriptedLockGrain.Queued(3);
        using var client = new LockClient(fixture.Factory.CreateClient());

        var response = await client.AcquireAsync("keeps-place", new { wait = 200, requestId = "mine" });

        response.Expect(HttpStatusCode.Conflict);
        Assert.Equal(3, response.Json["position"]!.GetValue<int>());
        Assert.Equal("0", response.Headers.GetValues("Retry-After").Single());
        Assert.DoesNotContain("cancel", grain.Calls);
        // The grain sees the request id scoped to the principal (test-client's API key), the same on every call.
        Assert.All(grain.RequestIds, id => Assert.Equal("19:api-key:test-client/mine", id));
    }

    [Fact]
    public async Task Acquire_GrantArrivesAfterClientLeft_LeaseIsReleased()
    {
        var grain = fixture.Grains.Script("orphan");
        grain.WaitForever = true;
        grain.OnPoll = cancelled => cancelled ? grain.Granted() : ScriptedLockGrain.Queued(1);
        using var client = new LockClient(fixture.Factory.CreateClient());
        using var abort = new CancellationTokenSource();

        var waiting = client.AcquireAsync("orphan", new { wait = 60_000 }, cancellationToken: abort.Token);
        await Eventually.TrueAsync(() => grain.Calls.Contains("wait"), "the request is waiting");
        await abort.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        await Eventually.TrueAsync(() => grain.Calls.Contains("release:" + ScriptedLockGrain.LeaseId), "the orphaned lease is released");
        Assert.Contains("cancel", grain.Calls);
    }

    public sealed class ScriptedGrainFactory : IGrainFactory
    {
        private readonly ConcurrentDictionary<string, ScriptedLockGrain> _grains = new();

        public ScriptedLockGrain Script(string name) => _grains.GetOrAdd(name, n => new ScriptedLockGrain(n));

        public TGrainInterface GetGrain<TGrainInterface>(string key)
            where TGrainInterface : IGrainWithStringKey
            => (TGrainInterface)(object)Script(key);
    }

    /// <summary>Queued on acquire; polls answer <see cref="OnPoll"/>(whether the waiter was cancelled); records every call.</summary>
    public sealed class ScriptedLockGrain(string name) : ILockGrain
    {
        public const string LeaseId = "scriptedLeaseId0000000";

        private volatile bool _cancelled;

        public ConcurrentQueue<string> Calls { get; } = new();

        public ConcurrentQueue<string> RequestIds { get; } = new();

        public Func<bool, AcquireResult> OnPoll { get; set; } = _ => Queued(1);

        public bool WaitForever { get; set; }

        /// <summary>When set, the wait ends at once with this grant (as the real grain wakes a granted waiter).</summary>
        public Func<AcquireResult>? GrantOnWait { get; set; }

        public static AcquireResult Queued(int position) => new() { Status = AcquireStatus.Queued, Position = position, QueueLength = position, Holders = [] };

        public AcquireResult Granted()
        {
            var now = DateTimeOffset.UtcNow;
            return new AcquireResult
            {
                Status = AcquireStatus.Granted,
                Lease = new Lease(name, LeaseId, LockMode.Exclusive, 7, "anonymous", now, now.AddSeconds(30), TimeSpan.FromSeconds(30)),
                Holders = [],
            };
        }

        public Task<AcquireResult> AcquireAsync(AcquireCommand command)
        {
            Calls.Enqueue("acquire");
            RequestIds.Enqueue(command.RequestId);
            return Task.FromResult(Queued(1));
        }

        public Task<AcquireResult> PollAsync(string requestId)
        {
            Calls.Enqueue("poll");
            RequestIds.Enqueue(requestId);
            return Task.FromResult(OnPoll(_cancelled));
        }

        public async Task<AcquireResult?> WaitAsync(string requestId, TimeSpan timeout)
        {
            Calls.Enqueue("wait");
            if (GrantOnWait is { } grant)
            {
                return grant();
            }

            await (WaitForever ? Task.Delay(Timeout.Infinite) : Task.Delay(timeout));
            return null; // the loop under test then polls
        }

        public Task CancelWaitAsync(string requestId)
        {
            Calls.Enqueue("cancel");
            _cancelled = true;
            return Task.CompletedTask;
        }

        public Task<ReleaseResult> ReleaseAsync(string leaseId)
        {
            Calls.Enqueue("release:" + leaseId);
            return Task.FromResult(new ReleaseResult(true, null));
        }

        public Task<RenewResult> RenewAsync(string leaseId, TimeSpan? ttl) => throw new NotSupportedException();

        public Task<ValidateResult> ValidateAsync(long fencingToken) => throw new NotSupportedException();

        public Task<ForceReleaseResult> ForceReleaseAsync(string requestedBy, string reason) => throw new NotSupportedException();

        public Task<LockStateView> GetStateAsync() => throw new NotSupportedException();

        public Task<LockEventBatch> WatchAsync(string? epoch, long afterSequence, TimeSpan maxWait) => throw new NotSupportedException();
    }
}
