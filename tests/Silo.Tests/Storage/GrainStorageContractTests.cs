using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Storage;
using OrleansLocks.Testing;

namespace OrleansLocks.Silo.Tests.Storage;

/// <summary>
/// The behaviour every grain storage provider must have, run against each of them (as DistributedLock runs one suite
/// per lock provider). A subclass supplies empty stores and backends on them; the base composes the real
/// <see cref="GrainStorage"/> (serializer, group-commit batcher) on top.
/// </summary>
public abstract class GrainStorageContractTests : IAsyncLifetime
{
    protected const string StateName = "state";
    protected const string GrainType = "lock";

    private static readonly GrainStorageMetrics Metrics =
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());

    private readonly List<IAsyncDisposable> _opened = [];

    /// <summary>The store of the current test (a database, a file, an in-memory database).</summary>
    protected object Store { get; private set; } = null!;

    /// <summary>A service id of the current test, so tests sharing a database never see each other's rows.</summary>
    protected string ServiceId { get; } = "svc-" + Guid.NewGuid().ToString("N")[..12];

    public async Task InitializeAsync() => Store = await CreateStoreAsync();

    public virtual async Task DisposeAsync()
    {
        for (var i = _opened.Count - 1; i >= 0; i--)
        {
            await _opened[i].DisposeAsync();
        }

        await DeleteStoreAsync(Store);
    }

    [Fact]
    public async Task Read_MissingRecord_ReportsNoRecordAndKeepsState()
    {
        var storage = await OpenAsync();
        var state = new GrainState<TestState>(new TestState { Value = "untouched" }) { ETag = "garbage", RecordExists = true };

        await storage.ReadStateAsync(StateName, Grain("missing"), state);

        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);
        Assert.Equal("untouched", state.State.Value);
    }

    [Fact]
    public async Task Write_NewRecord_InsertsVersionOneAndReadsBack()
    {
        var storage = await OpenAsync();
        var state = New("first");

        await storage.WriteStateAsync(StateName, Grain("k"), state);

        Assert.Equal("1", state.ETag);
        Assert.True(state.RecordExists);
        var read = await ReadAsync(storage, "k");
        Assert.Equal(("first", "1", true), (read.State.Value, read.ETag, read.RecordExists));
    }

    [Fact]
    public async Task Write_WithCurrentVersion_UpdatesAndBumpsVersion()
    {
        var storage = await OpenAsync();
        var state = New("v1");
        await storage.WriteStateAsync(StateName, Grain("k"), state);

        state.State = new TestState { Value = "v2" };
        await storage.WriteStateAsync(StateName, Grain("k"), state);
        state.State = new TestState { Value = "v3" };
        await storage.WriteStateAsync(StateName, Grain("k"), state);

        Assert.Equal("3", state.ETag);
        var read = await ReadAsync(storage, "k");
        Assert.Equal(("v3", "3"), (read.State.Value, read.ETag));
    }

    [Fact]
    public async Task Write_WithStaleVersion_ThrowsInconsistentStateAndWritesNothing()
    {
        var storage = await OpenAsync();
        var writer = New("v1");
        await storage.WriteStateAsync(StateName, Grain("k"), writer);
        var stale = await ReadAsync(storage, "k");
        writer.State = new TestState { Value = "v2" };
        await storage.WriteStateAsync(StateName, Grain("k"), writer);

        stale.State = new TestState { Value = "lost update" };
        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, Grain("k"), stale));

        Assert.Equal("1", error.CurrentEtag);
        Assert.Equal("1", stale.ETag); // the caller's view is not advanced
        var read = await ReadAsync(storage, "k");
        Assert.Equal(("v2", "2"), (read.State.Value, read.ETag));
    }

    [Fact]
    public async Task Write_InsertWhenRecordExists_ThrowsInconsistentStateAndWritesNothing()
    {
        var storage = await OpenAsync();
        await storage.WriteStateAsync(StateName, Grain("k"), New("original"));

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, Grain("k"), New("second insert")));

        var read = await ReadAsync(storage, "k");
        Assert.Equal(("original", "1"), (read.State.Value, read.ETag));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("W/\"1\"")]
    [InlineData(" 1")]
    public async Task Write_ETagNotWrittenByStorage_ThrowsInconsistentState(string etag)
    {
        var storage = await OpenAsync();
        await storage.WriteStateAsync(StateName, Grain("k"), New("original"));

        var state = New("foreign");
        state.ETag = etag;
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, Grain("k"), state));

        Assert.Equal("original", (await ReadAsync(storage, "k")).State.Value);
    }

    [Fact]
    public async Task Write_KeyWithNulCharacter_IsRejectedBeforeReachingStorage()
    {
        var storage = await OpenAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => storage.WriteStateAsync(StateName, Grain("bad\0key"), New("x")));

        Assert.Equal(0, storage.Batcher.Statistics.Writes);
    }

    [Fact]
    public async Task Write_ConcurrentInsertsOfNewKey_ExactlyOneWins()
    {
        // Two providers on one store, as two silos (or a duplicate activation) would be.
        var first = await OpenAsync();
        var second = await OpenAsync();
        for (var round = 0; round < 5; round++)
        {
            var key = $"race-{round}";
            var states = Enumerable.Range(0, 6).Select(i => New($"writer {i}")).ToArray();
            var writes = states.Select((s, i) => (i % 2 == 0 ? first : second).WriteStateAsync(StateName, Grain(key), s)).ToArray();

            var outcomes = await Outcomes(writes);

            Assert.Equal(1, outcomes.Count(o => o is null));
            Assert.All(outcomes.Where(o => o is not null), o => Assert.IsType<InconsistentStateException>(o));
            var winner = states[Array.IndexOf(outcomes, null)];
            var read = await ReadAsync(first, key);
            Assert.Equal((winner.State.Value, "1"), (read.State.Value, read.ETag));
        }
    }

    [Fact]
    public async Task Write_ConcurrentWritersOnOneKey_ExactlyOneWinsPerVersion()
    {
        var first = await OpenAsync();
        var second = await OpenAsync();
        await first.WriteStateAsync(StateName, Grain("k"), New("v1"));
        for (var version = 1; version <= 6; version++)
        {
            var states = new List<GrainState<TestState>>();
            for (var i = 0; i < 8; i++)
            {
                var state = await ReadAsync(i % 2 == 0 ? first : second, "k");
                Assert.Equal(version.ToString(), state.ETag);
                state.State = new TestState { Value = $"round {version} writer {i}" };
                states.Add(state);
            }

            var outcomes = await Outcomes(states.Select((s, i) => (i % 2 == 0 ? first : second).WriteStateAsync(StateName, Grain("k"), s)));

            Assert.Equal(1, outcomes.Count(o => o is null));
            Assert.All(outcomes.Where(o => o is not null), o => Assert.IsType<InconsistentStateException>(o));
            var winner = states[Array.IndexOf(outcomes, null)];
            Assert.Equal((version + 1).ToString(), winner.ETag);
            var read = await ReadAsync(second, "k");
            Assert.Equal((winner.State.Value, winner.ETag), (read.State.Value, read.ETag));
        }
    }

    [Fact]
    public async Task Write_ManyConcurrentWritesToDifferentKeys_AreGroupCommitted()
    {
        const int count = 300;
        var gated = new GatedBackend(await CreateInitializedBackendAsync(Store, ServiceId));
        var storage = Compose(gated, maxBatchSize: 64);

        // While the first batches wait at the gate, everything else queues behind them.
        var writes = Enumerable.Range(0, count).Select(i => storage.WriteStateAsync(StateName, Grain($"key-{i:D3}"), New($"value {i}"))).ToArray();
        await Eventually.TrueAsync(
            () => storage.Batcher.Statistics.Running == gated.MaxConcurrentBatches,
            "every writer slot is busy with a batch held at the gate");
        Assert.Equal(count - gated.MaxConcurrentBatches, storage.Batcher.Statistics.Queued);
        gated.Open();
        await Task.WhenAll(writes);

        var statistics = storage.Batcher.Statistics;
        Assert.Equal(count, statistics.Writes);
        Assert.Equal(64, statistics.LargestBatch);
        Assert.True(statistics.Batches < count / 4, $"{statistics.Batches} batches for {count} writes");
        for (var i = 0; i < count; i += 37)
        {
            var read = await ReadAsync(storage, $"key-{i:D3}");
            Assert.Equal(($"value {i}", "1"), (read.State.Value, read.ETag));
        }
    }

    [Fact]
    public async Task Write_SeveralWritesOfOneRecordQueuedTogether_AreAppliedInOrder()
    {
        var gated = new GatedBackend(await CreateInitializedBackendAsync(Store, ServiceId));
        var storage = Compose(gated, maxBatchSize: 64);
        gated.Open();
        await storage.WriteStateAsync(StateName, Grain("k"), New("v1"));
        gated.Close();
        var blockers = await FillWriterSlotsAsync(storage, gated);

        // Queued together: the second expects the version the first will produce; the third is stale by then.
        var first = WithETag("v2", "1");
        var second = WithETag("v3", "2");
        var stale = WithETag("stale", "1");
        var writes = new[] { first, second, stale }.Select(s => storage.WriteStateAsync(StateName, Grain("k"), s)).ToArray();
        await Eventually.TrueAsync(() => storage.Batcher.Statistics.Queued == 3, "the three writes are queued");
        gated.Open();

        await writes[0];
        await writes[1];
        await Assert.ThrowsAsync<InconsistentStateException>(() => writes[2]);
        await Task.WhenAll(blockers);
        Assert.Equal(("2", "3"), (first.ETag, second.ETag));
        var read = await ReadAsync(storage, "k");
        Assert.Equal(("v3", "3"), (read.State.Value, read.ETag));
    }

    [Fact]
    public async Task Write_BatchWithConflicts_FailsOnlyTheConflictingWrites()
    {
        var gated = new GatedBackend(await CreateInitializedBackendAsync(Store, ServiceId));
        var storage = Compose(gated, maxBatchSize: 64);
        gated.Open();
        await storage.WriteStateAsync(StateName, Grain("existing-1"), New("v1"));
        await storage.WriteStateAsync(StateName, Grain("existing-2"), New("v1"));
        var current = await ReadAsync(storage, "existing-2");
        var blockers = await FillWriterSlotsAsync(storage, gated);

        current.State = new TestState { Value = "v2" };
        var writes = new[]
        {
            storage.WriteStateAsync(StateName, Grain("new-1"), New("inserted")),
            storage.WriteStateAsync(StateName, Grain("existing-1"), WithETag("stale", "7")),
            storage.WriteStateAsync(StateName, Grain("existing-2"), current),
            storage.WriteStateAsync(StateName, Grain("existing-1"), New("insert over existing")),
            storage.WriteStateAsync(StateName, Grain("new-2"), New("inserted")),
        };
        await Eventually.TrueAsync(() => storage.Batcher.Statistics.Queued == 5, "the writes are queued");
        var batchesBefore = storage.Batcher.Statistics.Batches;
        gated.Open();
        var outcomes = await Outcomes(writes);
        await Task.WhenAll(blockers);

        Assert.Null(outcomes[0]);
        Assert.IsType<InconsistentStateException>(outcomes[1]);
        Assert.Null(outcomes[2]);
        Assert.IsType<InconsistentStateException>(outcomes[3]);
        Assert.Null(outcomes[4]);
        Assert.Equal(("v2", "2"), ((await ReadAsync(storage, "existing-2")).State.Value, current.ETag));
        Assert.Equal(("v1", "1"), ((await ReadAsync(storage, "existing-1")).State.Value, (await ReadAsync(storage, "existing-1")).ETag));
        Assert.Equal("inserted", (await ReadAsync(storage, "new-2")).State.Value);
        Assert.True(storage.Batcher.Statistics.LargestBatch >= 3, "the writes of distinct records shared a batch");
        Assert.True(storage.Batcher.Statistics.Batches - batchesBefore <= gated.MaxConcurrentBatches + 2);
    }

    [Fact]
    public async Task Write_CancelledWhileQueued_IsNotWritten()
    {
        var gated = new GatedBackend(await CreateInitializedBackendAsync(Store, ServiceId));
        var storage = Compose(gated, maxBatchSize: 64);
        var blockers = await FillWriterSlotsAsync(storage, gated);
        using var cancellation = new CancellationTokenSource();

        var write = storage.WriteStateAsync(StateName, Grain("cancelled"), New("never"), cancellation.Token);
        await Eventually.TrueAsync(() => storage.Batcher.Statistics.Queued == 1, "the write is queued");
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write);
        gated.Open();
        await Task.WhenAll(blockers);
        Assert.False((await ReadAsync(storage, "cancelled")).RecordExists);
        Assert.Equal(gated.MaxConcurrentBatches, storage.Batcher.Statistics.Writes);
    }

    [Fact]
    public async Task Dispose_WithQueuedWrites_FailsThemAsUnavailableAndFinishesRunningBatches()
    {
        var gated = new GatedBackend(await CreateInitializedBackendAsync(Store, ServiceId));
        var storage = Compose(gated, maxBatchSize: 64);
        var blockers = await FillWriterSlotsAsync(storage, gated);
        var queued = storage.WriteStateAsync(StateName, Grain("queued"), New("never"));
        await Eventually.TrueAsync(() => storage.Batcher.Statistics.Queued == 1, "the write is queued");

        var disposing = storage.DisposeAsync().AsTask();

        await Assert.ThrowsAsync<StorageUnavailableException>(() => queued);
        Assert.False(disposing.IsCompleted, "disposal waits for the batches that are running");
        gated.Open();
        await disposing;
        await Task.WhenAll(blockers);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => storage.WriteStateAsync(StateName, Grain("late"), New("late")));
        var reader = await OpenAsync();
        Assert.False((await ReadAsync(reader, "queued")).RecordExists);
        Assert.True((await ReadAsync(reader, "blocker-0")).RecordExists);
    }

    [Fact]
    public async Task List_ReturnsListedRecordsOnlyInOrdinalOrder()
    {
        var storage = await OpenAsync();
        string[] listed = ["b", "a_b", "A", "a%b", "ab", "a", "a.b", "a\\b", "a-", "a%", "Z9", "~x"];
        foreach (var key in listed)
        {
            await storage.WriteStateAsync(StateName, Grain(key), New("state of " + key, listed: true));
        }

        await storage.WriteStateAsync(StateName, Grain("a%x"), New("hidden", listed: false));
        await storage.WriteStateAsync("other-state", Grain("a0"), New("other state name", listed: true));
        await storage.WriteStateAsync(StateName, new GrainId("other-type", "a1"), New("other grain type", listed: true));

        var all = await storage.ListAsync<TestState>(StateName, GrainType, prefix: null, afterKey: null, limit: 100);

        Assert.Equal(listed.Order(StringComparer.Ordinal), all.Select(r => r.Key));
        Assert.All(all, r => Assert.Equal(("state of " + r.Key, "1"), (r.State.Value, r.ETag)));
    }

    [Theory]
    [InlineData("a%", new[] { "a%", "a%b" })]
    [InlineData("a_", new[] { "a_b" })]
    [InlineData("a\\", new[] { "a\\b" })]
    [InlineData("a", new[] { "a", "a%", "a%b", "a-", "a.b", "a\\b", "a_b", "ab" })]
    [InlineData("A", new[] { "A" })]
    [InlineData("ab", new[] { "ab" })]
    [InlineData("abc", new string[0])]
    [InlineData("~", new[] { "~x" })]
    public async Task List_Prefix_MatchesLiterallyIncludingLikeWildcards(string prefix, string[] expected)
    {
        var storage = await OpenAsync();
        foreach (var key in new[] { "b", "a_b", "A", "a%b", "ab", "a", "a.b", "a\\b", "a-", "a%", "~x" })
        {
            await storage.WriteStateAsync(StateName, Grain(key), New(key, listed: true));
        }

        await storage.WriteStateAsync(StateName, Grain("a%x"), New("hidden", listed: false));

        var page = await storage.ListAsync<TestState>(StateName, GrainType, prefix, afterKey: null, limit: 100);

        Assert.Equal(expected, page.Select(r => r.Key));
    }

    [Fact]
    public async Task List_CursorPaging_VisitsEveryListedRecordOnceInOrder()
    {
        var storage = await OpenAsync();
        var keys = Enumerable.Range(0, 23).Select(i => $"job:{i:D2}").Concat(["jobs", "jo", "k"]).ToArray();
        await Task.WhenAll(keys.Select(k => storage.WriteStateAsync(StateName, Grain(k), New(k, listed: true))));

        var visited = new List<string>();
        string? cursor = null;
        int pages = 0;
        while (true)
        {
            var page = await storage.ListAsync<TestState>(StateName, GrainType, "job:", cursor, limit: 5);
            visited.AddRange(page.Select(r => r.Key));
            pages++;
            if (page.Count < 5)
            {
                break;
            }

            cursor = page[^1].Key;
        }

        Assert.Equal(keys.Where(k => k.StartsWith("job:", StringComparison.Ordinal)).Order(StringComparer.Ordinal), visited);
        Assert.Equal(5, pages);
        var afterPrefixStart = await storage.ListAsync<TestState>(StateName, GrainType, "job", afterKey: "job:22", limit: 10);
        Assert.Equal(["jobs"], afterPrefixStart.Select(r => r.Key));
        var cursorBeforePrefix = await storage.ListAsync<TestState>(StateName, GrainType, "jobs", afterKey: "a", limit: 10);
        Assert.Equal(["jobs"], cursorBeforePrefix.Select(r => r.Key));
    }

    [Fact]
    public async Task List_RecordWrittenUnlisted_IsHiddenUntilListedAgain()
    {
        var storage = await OpenAsync();
        var state = New("held", listed: true);
        await storage.WriteStateAsync(StateName, Grain("k"), state);
        Assert.Single(await storage.ListAsync<TestState>(StateName, GrainType, null, null, 10));

        state.State = new TestState { Value = "free", IsListed = false };
        await storage.WriteStateAsync(StateName, Grain("k"), state);
        Assert.Empty(await storage.ListAsync<TestState>(StateName, GrainType, null, null, 10));

        state.State = new TestState { Value = "held again", IsListed = true };
        await storage.WriteStateAsync(StateName, Grain("k"), state);
        var listed = Assert.Single(await storage.ListAsync<TestState>(StateName, GrainType, null, null, 10));
        Assert.Equal(("held again", "3"), (listed.State.Value, listed.ETag));
    }

    [Fact]
    public async Task Records_OfDifferentServices_NeverMix()
    {
        var mine = await OpenAsync();
        var theirs = await OpenAsync(serviceId: ServiceId + "-other");
        await mine.WriteStateAsync(StateName, Grain("k"), New("mine", listed: true));

        Assert.False((await ReadAsync(theirs, "k")).RecordExists);
        Assert.Empty(await theirs.ListAsync<TestState>(StateName, GrainType, null, null, 10));
        await theirs.WriteStateAsync(StateName, Grain("k"), New("theirs"));
        Assert.Equal(("mine", "1"), ((await ReadAsync(mine, "k")).State.Value, (await ReadAsync(mine, "k")).ETag));
    }

    [Fact]
    public async Task Write_ThenNewProviderOnSameStore_ReadsCommittedState()
    {
        var storage = await OpenAsync();
        var state = New("v1", listed: true);
        await storage.WriteStateAsync(StateName, Grain("k"), state);
        state.State = new TestState { Value = "v2", IsListed = true };
        await storage.WriteStateAsync(StateName, Grain("k"), state);
        await CloseAsync(storage);

        var reopened = await OpenAsync();
        var read = await ReadAsync(reopened, "k");

        Assert.Equal(("v2", "2"), (read.State.Value, read.ETag));
        Assert.Single(await reopened.ListAsync<TestState>(StateName, GrainType, null, null, 10));
        read.State = new TestState { Value = "v3" };
        await reopened.WriteStateAsync(StateName, Grain("k"), read);
        Assert.Equal("3", read.ETag);
    }

    [Fact]
    public async Task Initialize_FromFiveTasksAtOnceOnFreshStore_SucceedsAndIsIdempotent()
    {
        var backends = Enumerable.Range(0, 5).Select(_ => Track(CreateBackend(Store, ServiceId))).ToArray();

        var versions = await Task.WhenAll(backends.Select(b => Task.Run(() => b.InitializeAsync(createSchema: true, CancellationToken.None))));
        var again = await backends[0].InitializeAsync(createSchema: true, CancellationToken.None);
        var verified = await backends[1].InitializeAsync(createSchema: false, CancellationToken.None);

        Assert.All(versions, v => Assert.Equal(backends[0].SchemaVersion, v));
        Assert.Equal((backends[0].SchemaVersion, backends[0].SchemaVersion), (again, verified));
        var storage = Compose(backends[2], maxBatchSize: 16);
        await storage.WriteStateAsync(StateName, Grain("k"), New("after init"));
        Assert.Equal("after init", (await ReadAsync(Compose(backends[3], maxBatchSize: 16), "k")).State.Value);
    }

    [Fact]
    public async Task CheckHealth_OnInitializedStore_Succeeds()
    {
        var backend = await CreateInitializedBackendAsync(Store, ServiceId);

        await backend.CheckHealthAsync(CancellationToken.None);
    }

    /// <summary>Creates a new, empty store.</summary>
    protected abstract Task<object> CreateStoreAsync();

    /// <summary>Creates a backend on <paramref name="store"/> for <paramref name="serviceId"/>, without initializing it.</summary>
    private protected abstract IGrainStorageBackend CreateBackend(object store, string serviceId);

    /// <summary>Removes what <see cref="CreateStoreAsync"/> made, once every backend on it is disposed.</summary>
    protected virtual Task DeleteStoreAsync(object store) => Task.CompletedTask;

    protected static GrainId Grain(string key) => new(GrainType, key);

    protected static GrainState<TestState> New(string value, bool listed = false)
        => new(new TestState { Value = value, IsListed = listed });

    private protected static async Task<GrainState<TestState>> ReadAsync(GrainStorage storage, string key)
    {
        var state = new GrainState<TestState>(new TestState());
        await storage.ReadStateAsync(StateName, Grain(key), state);
        return state;
    }

    /// <summary>Opens a provider (initialized) on the current store; disposed at the end of the test.</summary>
    private protected async Task<GrainStorage> OpenAsync(string? serviceId = null, int maxBatchSize = 256)
        => Compose(await CreateInitializedBackendAsync(Store, serviceId ?? ServiceId), maxBatchSize);

    private protected async Task<IGrainStorageBackend> CreateInitializedBackendAsync(object store, string serviceId)
    {
        var backend = Track(CreateBackend(store, serviceId));
        await backend.InitializeAsync(createSchema: true, CancellationToken.None);
        return backend;
    }

    private protected GrainStorage Compose(IGrainStorageBackend backend, int maxBatchSize)
        => Track(new GrainStorage(
            backend, new JsonGrainStorageSerializer(), Metrics, TimeProvider.System, maxBatchSize, NullLogger<GrainStorage>.Instance));

    /// <summary>Disposes a provider (and its backend) before the end of the test, as a process stopping would.</summary>
    private protected static async Task CloseAsync(GrainStorage storage)
    {
        await storage.DisposeAsync();
        await storage.Backend.DisposeAsync();
    }

    protected T Track<T>(T disposable)
        where T : IAsyncDisposable
    {
        _opened.Add(disposable);
        return disposable;
    }

    /// <summary>The outcome of each task: null for success, else its exception.</summary>
    protected static async Task<Exception?[]> Outcomes(IEnumerable<Task> tasks)
    {
        var all = tasks.ToArray();
        try
        {
            await Task.WhenAll(all);
        }
        catch (Exception)
        {
            // Inspected per task below.
        }

        return all.Select(t => t.Exception?.InnerException).ToArray();
    }

    private static GrainState<TestState> WithETag(string value, string etag)
    {
        var state = New(value);
        state.ETag = etag;
        return state;
    }

    // Starts one write per writer slot; each becomes a batch held at the gate, so later writes queue.
    private static async Task<Task[]> FillWriterSlotsAsync(GrainStorage storage, GatedBackend gated)
    {
        gated.Close();
        var blockers = Enumerable.Range(0, gated.MaxConcurrentBatches)
            .Select(i => storage.WriteStateAsync(StateName, Grain($"blocker-{i}"), New("blocker")))
            .ToArray();
        await Eventually.TrueAsync(
            () => storage.Batcher.Statistics.Running == gated.MaxConcurrentBatches && gated.Waiting == gated.MaxConcurrentBatches,
            "every writer slot holds a batch at the gate");
        return blockers;
    }
}

/// <summary>A grain state for storage tests.</summary>
public sealed class TestState : IListedState
{
    public string Value { get; set; } = string.Empty;

    public bool IsListed { get; set; }
}

/// <summary>
/// Passes everything to a real backend, but holds batches at a gate while it is closed, so tests can make writes queue
/// deterministically behind running batches.
/// </summary>
internal sealed class GatedBackend(IGrainStorageBackend inner) : IGrainStorageBackend
{
    private volatile TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting;

    public int Waiting => Volatile.Read(ref _waiting);

    public string Name => inner.Name;

    public bool IsDurable => inner.IsDurable;

    public int SchemaVersion => inner.SchemaVersion;

    public string Location => inner.Location;

    public int MaxConcurrentBatches => inner.MaxConcurrentBatches;

    public void Open() => _gate.TrySetResult();

    public void Close()
    {
        if (_gate.Task.IsCompleted)
        {
            _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public async Task<int[]> ExecuteBatchAsync(IReadOnlyList<StorageWrite> writes, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _gate.Task;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        return await inner.ExecuteBatchAsync(writes, cancellationToken);
    }

    public Task<int> InitializeAsync(bool createSchema, CancellationToken cancellationToken) => inner.InitializeAsync(createSchema, cancellationToken);

    public Task<StoredRow?> ReadAsync(StorageKey key, CancellationToken cancellationToken) => inner.ReadAsync(key, cancellationToken);

    public Task<IReadOnlyList<ListedRow>> ListAsync(
        string grainType, string stateName, string? prefix, string? afterKey, int limit, CancellationToken cancellationToken)
        => inner.ListAsync(grainType, stateName, prefix, afterKey, limit, cancellationToken);

    public Task CheckHealthAsync(CancellationToken cancellationToken) => inner.CheckHealthAsync(cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the inner backend is tracked and disposed by the test

    public void Dispose()
    {
    }
}
