using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Testing;

namespace OrleansLocks.Silo.Tests.Storage;

/// <summary>The start-up retry policy, on a scripted backend and a manual clock (the databases are tested elsewhere).</summary>
public sealed class GrainStorageInitializerTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly ListLogger<GrainStorageInitializer> _logger = new();

    [Fact]
    public async Task Starting_TransientFailures_RetriesWithBackoffUntilReady()
    {
        var backend = new ScriptedBackend(attempt => attempt <= 2 ? throw new StorageUnavailableException("down") : 1);
        var initializer = Create(backend, TimeSpan.FromMinutes(1));

        var starting = initializer.StartingAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => _time.ArmedTimerCount == 1, "the first retry delay is armed");
        Assert.False(starting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(249));
        Assert.Equal(1, backend.Attempts);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await Eventually.TrueAsync(() => backend.Attempts == 2 && _time.ArmedTimerCount == 1, "the second attempt failed and its delay is armed");
        _time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.Equal(2, backend.Attempts);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await starting;

        Assert.Equal(3, backend.Attempts);
        Assert.True(initializer.IsReady);
        Assert.Equal(2, _logger.Entries.Count(e => e.EventId == 2001));
        Assert.Single(_logger.Entries, e => e.EventId == 2000);
    }

    [Fact]
    public async Task Starting_StillUnreachableAtTheLimit_FailsStartUpWithClearMessage()
    {
        var backend = new ScriptedBackend(_ => throw new StorageUnavailableException("connection refused"));
        var initializer = Create(backend, TimeSpan.FromSeconds(1));

        var starting = initializer.StartingAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => _time.ArmedTimerCount == 1, "the first retry delay is armed");
        _time.Advance(TimeSpan.FromMilliseconds(250));
        await Eventually.TrueAsync(() => backend.Attempts == 2 && _time.ArmedTimerCount == 1, "the second retry delay is armed");
        _time.Advance(TimeSpan.FromMilliseconds(500));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => starting);
        Assert.Equal(3, backend.Attempts); // a third wait of 1 s would pass the 1 s limit
        Assert.Contains("not reachable within 1 s (3 attempts)", error.Message, StringComparison.Ordinal);
        Assert.Contains("connection refused", error.Message, StringComparison.Ordinal);
        Assert.False(initializer.IsReady);
        Assert.Single(_logger.Entries, e => e.EventId == 2002);
    }

    [Fact]
    public async Task Starting_PermanentFailure_FailsAtOnceWithoutRetrying()
    {
        var backend = new ScriptedBackend(_ => throw new InvalidOperationException("credentials rejected"));
        var initializer = Create(backend, TimeSpan.FromMinutes(1));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => initializer.StartingAsync(CancellationToken.None));

        Assert.Equal("credentials rejected", error.Message);
        Assert.Equal(1, backend.Attempts);
        Assert.Equal(0, _time.ArmedTimerCount);
    }

    [Fact]
    public async Task Starting_SchemaNewerThanCode_WarnsAndContinues()
    {
        var initializer = Create(new ScriptedBackend(_ => 2), TimeSpan.FromMinutes(1));

        await initializer.StartingAsync(CancellationToken.None);

        Assert.True(initializer.IsReady);
        Assert.Single(_logger.Entries, e => e.EventId == 2004);
    }

    private GrainStorageInitializer Create(ScriptedBackend backend, TimeSpan retryLimit)
        => new(backend, Options.Create(new GrainStorageOptions()), _time, _logger) { RetryLimit = retryLimit };

    private sealed class ScriptedBackend(Func<int, int> initialize) : IGrainStorageBackend
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public string Name => "scripted";

        public bool IsDurable => true;

        public int SchemaVersion => 1;

        public string Location => "nowhere";

        public int MaxConcurrentBatches => 1;

        public Task<int> InitializeAsync(bool createSchema, CancellationToken cancellationToken)
            => Task.FromResult(initialize(Interlocked.Increment(ref _attempts)));

        public Task<StoredRow?> ReadAsync(StorageKey key, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<ListedRow>> ListAsync(
            string grainType, string stateName, string? prefix, string? afterKey, int limit, CancellationToken cancellationToken)
            => throw new NotSupportedException();

        public Task<int[]> ExecuteBatchAsync(IReadOnlyList<StorageWrite> writes, CancellationToken cancellationToken)
            => throw new NotSupportedException();

        public Task CheckHealthAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        public void Dispose()
        {
        }
    }
}
