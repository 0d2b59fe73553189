using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Runtime;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests;

/// <summary>
/// How failures of the grain layer reach clients. The grain factory is replaced by one whose grains throw, because
/// these failures (storage down mid-call, silo shutting down) cannot be produced on demand through the real
/// service without racing it; everything else in the host is real.
/// </summary>
public sealed class FailureMappingTests(FailureMappingTests.Fixture fixture) : IClassFixture<FailureMappingTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        private LockServiceFactory? _factory;

        public LockServiceFactory Factory => _factory!;

        public async Task InitializeAsync()
        {
            var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
            _factory = new LockServiceFactory(database, configureServices: services => services.AddSingleton<IGrainFactory, ThrowingGrainFactory>());
            _ = _factory.Server;
        }

        public async Task DisposeAsync() => await _factory!.DisposeAsync();
    }

    public static TheoryData<string> UnavailableKinds => ["storage", "silo", "inconsistent"];

    [Theory]
    [MemberData(nameof(UnavailableKinds))]
    public async Task Acquire_GrainLayerUnavailable_Answers503WithRetryAfter(string kind)
    {
        using var client = new LockClient(fixture.Factory.CreateClient());

        var response = await client.AcquireAsync($"{kind}-down", new { wait = 1000 });

        response.Expect(HttpStatusCode.ServiceUnavailable);
        LockApiTests.AssertProblem(response, "unavailable");
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        Assert.Contains(fixture.Factory.Logs.Entries, e => e.EventId.Id == 4020 && e.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task GetState_StorageUnavailable_Answers503()
    {
        using var client = new LockClient(fixture.Factory.CreateClient());

        var response = await client.GetStateAsync("storage-down");

        response.Expect(HttpStatusCode.ServiceUnavailable);
        LockApiTests.AssertProblem(response, "unavailable");
    }

    [Fact]
    public async Task Renew_UnexpectedException_Answers500WithoutInternalsAndLogsBug()
    {
        using var client = new LockClient(fixture.Factory.CreateClient());

        var response = await client.RenewAsync("bug", new { leaseId = "x" });

        response.Expect(HttpStatusCode.InternalServerError);
        LockApiTests.AssertProblem(response, "internal-error");
        Assert.DoesNotContain(ThrowingGrainFactory.BugMessage, response.RawBody, StringComparison.Ordinal);
        Assert.Contains(fixture.Factory.Logs.Entries, e => e.EventId.Id == 4900 && e.Level == LogLevel.Error && e.Exception?.Message == ThrowingGrainFactory.BugMessage);
    }

    /// <summary>Grains that fail every call according to their name: "storage-…", "silo-…", "inconsistent-…", else a bug.</summary>
    private sealed class ThrowingGrainFactory : IGrainFactory
    {
        public const string BugMessage = "secret internal detail";

        public TGrainInterface GetGrain<TGrainInterface>(string key)
            where TGrainInterface : IGrainWithStringKey
            => (TGrainInterface)(object)new ThrowingLockGrain(key);

        private sealed class ThrowingLockGrain(string key) : ILockGrain
        {
            private Exception Failure => key switch
            {
                _ when key.StartsWith("storage", StringComparison.Ordinal) => new StorageUnavailableException("connection refused"),
                _ when key.StartsWith("silo", StringComparison.Ordinal) => new SiloUnavailableException("the silo is shutting down"),
                _ when key.StartsWith("inconsistent", StringComparison.Ordinal) => new InconsistentStateException("version conflict"),
                _ => new InvalidOperationException(BugMessage),
            };

            public Task<AcquireResult> AcquireAsync(AcquireCommand command) => Task.FromException<AcquireResult>(Failure);

            public Task<AcquireResult> PollAsync(string requestId) => Task.FromException<AcquireResult>(Failure);

            public Task<AcquireResult?> WaitAsync(string requestId, TimeSpan timeout) => Task.FromException<AcquireResult?>(Failure);

            public Task CancelWaitAsync(string requestId) => Task.FromException(Failure);

            public Task<RenewResult> RenewAsync(string leaseId, TimeSpan? ttl) => Task.FromException<RenewResult>(Failure);

            public Task<ReleaseResult> ReleaseAsync(string leaseId) => Task.FromException<ReleaseResult>(Failure);

            public Task<ValidateResult> ValidateAsync(long fencingToken) => Task.FromException<ValidateResult>(Failure);

            public Task<ForceReleaseResult> ForceReleaseAsync(string requestedBy, string reason) => Task.FromException<ForceReleaseResult>(Failure);

            public Task<LockStateView> GetStateAsync() => Task.FromException<LockStateView>(Failure);

            public Task<LockEventBatch> WatchAsync(string? epoch, long afterSequence, TimeSpan maxWait) => Task.FromException<LockEventBatch>(Failure);
        }
    }
}
