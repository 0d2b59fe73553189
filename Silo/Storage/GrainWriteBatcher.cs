using Microsoft.Extensions.Logging;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Storage;

/*
 * Group commit for grain state writes, shared by every provider.
 *
 * Why: a lock service's throughput is bounded by durable commits (an fsync each). Writes of different grains that
 * arrive while a commit is in progress are committed together in the next transaction, so one fsync serves many
 * grains. Each write keeps its own version check; a failed check fails only that write.
 *
 * How: writes queue in FIFO order. Whenever fewer than MaxConcurrentBatches batches are running, a batch is formed at
 * once from what is queued (up to MaxBatchSize) and handed to the backend. There is no timer: an idle system commits
 * a lone write immediately; under load, writes pile up behind the running batches and the next batch takes them all.
 * A batch that finishes forms the next one.
 *
 * Where a batch starts: a backend whose batch is asynchronous I/O (StartsBatchesInline: PostgreSQL) gets it on the
 * thread that formed it — the writer's (a grain turn) or the finishing batch's — which runs only the CPU part and
 * the socket send, up to the first wait for the database; everything after it (the round trip's completion, the
 * outcomes) runs on the thread pool, because every await on that path uses ConfigureAwait(false) and so never
 * resumes on the grain's scheduler. That saves one thread-pool hop per batch. A blocking backend (SQLite's
 * synchronous commit, the in-memory test store) gets the batch on the thread pool instead, so that a grain's turn
 * never runs a commit.
 *
 * Invariants:
 *  - At most one write per record is in flight (in any running batch). A second write to a record waits in the queue
 *    until the first has committed, so it is checked against the first's result (apply in order), and two concurrent
 *    batches of this process never contend for a row lock. Per-record FIFO order is kept: once a record is blocked,
 *    every later write of it is skipped too.
 *  - Each batch is sorted by key, so batches of different processes take row locks in one order (no deadlocks).
 *  - Every queued write completes exactly once: with its new version, InconsistentStateException (its check failed,
 *    nothing written), StorageUnavailableException (the batch failed or its outcome is unknown), or cancellation
 *    (only while still queued: once in a batch the caller must learn the real outcome, as the write may commit).
 *  - Completing a write never runs grain code: the storage layers above the batcher (GrainStorage, PersistentState)
 *    await with ConfigureAwait(false), so the completion runs their few lines (the ETag) inline on the batch's thread,
 *    and the grain's own await is queued to its activation's scheduler like every grain continuation. (Completions
 *    were asynchronous before: each of the three layers then cost a task scheduled on the activation.)
 *  - The database round trip never runs on a grain's scheduler: see "Where a batch starts".
 */

/// <summary>Queues version-checked writes and commits them in batches through an <see cref="IGrainStorageBackend"/>.</summary>
internal sealed class GrainWriteBatcher : IAsyncDisposable
{
    private readonly IGrainStorageBackend _backend;
    private readonly int _maxBatchSize;
    private readonly int _maxConcurrentBatches;
    private readonly GrainStorageMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    private readonly Lock _gate = new();
    private readonly LinkedList<QueuedWrite> _queue = new();
    private readonly HashSet<StorageKey> _inFlight = [];
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;
    private bool _stopping;

    private long _batches;
    private long _writes;
    private int _largestBatch;

    public GrainWriteBatcher(
        IGrainStorageBackend backend, int maxBatchSize, GrainStorageMetrics metrics, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        _backend = backend;
        _maxBatchSize = maxBatchSize;
        _maxConcurrentBatches = Math.Max(1, backend.MaxConcurrentBatches);
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>What the batcher has done so far (for tests and diagnostics).</summary>
    public WriteBatchStatistics Statistics
    {
        get
        {
            lock (_gate)
            {
                return new WriteBatchStatistics(_batches, _writes, _largestBatch, _queue.Count, _running);
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="write"/> and returns its new version once its batch committed. Throws
    /// <see cref="InconsistentStateException"/> or <see cref="StorageUnavailableException"/> as described above.
    /// </summary>
    public async Task<int> WriteAsync(StorageWrite write, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var queued = new QueuedWrite(this, write, _timeProvider.GetTimestamp());
        List<QueuedWrite[]>? batches;
        lock (_gate)
        {
            if (_stopping)
            {
                throw new StorageUnavailableException("Grain storage is stopping; the write was not attempted.");
            }

            queued.Node = _queue.AddLast(queued);
            batches = TakeBatches();
        }

        Start(batches);
        if (!cancellationToken.CanBeCanceled)
        {
            return await queued.Completion.Task.ConfigureAwait(false);
        }

        using (cancellationToken.Register(static state => ((QueuedWrite)state!).Cancel(), queued))
        {
            return await queued.Completion.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Fails the writes still queued, waits for running batches to finish, and refuses new writes.</summary>
    public async ValueTask DisposeAsync()
    {
        List<QueuedWrite> abandoned;
        lock (_gate)
        {
            _stopping = true;
            abandoned = [.. _queue];
            foreach (var queued in abandoned)
            {
                queued.Node = null;
            }

            _queue.Clear();
            if (_running == 0)
            {
                _drained.TrySetResult();
            }
        }

        if (abandoned.Count > 0)
        {
            _logger.QueuedWritesAbandoned(abandoned.Count);
            foreach (var queued in abandoned)
            {
                queued.Completion.TrySetException(new StorageUnavailableException("Grain storage is stopping; the write was not attempted."));
            }
        }

        await _drained.Task;
    }

    private void TryCancel(QueuedWrite queued)
    {
        lock (_gate)
        {
            if (queued.Node is null)
            {
                return; // already in a batch (or done): its real outcome will be reported.
            }

            _queue.Remove(queued.Node);
            queued.Node = null;
        }

        queued.Completion.TrySetCanceled();
    }

    // Called under _gate. Forms as many batches as there are free slots and eligible writes.
    private List<QueuedWrite[]>? TakeBatches()
    {
        List<QueuedWrite[]>? batches = null;
        while (_running < _maxConcurrentBatches && _queue.Count > 0)
        {
            var batch = new List<QueuedWrite>(Math.Min(_queue.Count, _maxBatchSize));
            var node = _queue.First;
            while (node is not null && batch.Count < _maxBatchSize)
            {
                var next = node.Next;
                if (_inFlight.Add(node.Value.Write.Key))
                {
                    _queue.Remove(node);
                    node.Value.Node = null;
                    batch.Add(node.Value);
                }

                node = next;
            }

            if (batch.Count == 0)
            {
                break; // everything queued waits for a record in flight; that batch's completion forms the next one.
            }

            _running++;
            (batches ??= []).Add([.. batch]);
        }

        return batches;
    }

    private void Start(List<QueuedWrite[]>? batches)
    {
        if (batches is null)
        {
            return;
        }

        foreach (var batch in batches)
        {
            if (_backend.StartsBatchesInline)
            {
                // Up to the backend's first wait for the database, then on the thread pool (see the design note).
                _ = RunBatchAsync(batch);
            }
            else
            {
                // On the thread pool: the caller (a grain turn) must not run a blocking commit inline.
                _ = Task.Run(() => RunBatchAsync(batch));
            }
        }
    }

    private async Task RunBatchAsync(QueuedWrite[] batch)
    {
        Array.Sort(batch, static (a, b) => StorageKey.Compare(a.Write.Key, b.Write.Key));
        var writes = new StorageWrite[batch.Length];
        for (var i = 0; i < batch.Length; i++)
        {
            writes[i] = batch[i].Write;
        }

        var started = _timeProvider.GetTimestamp();
        int[]? versions = null;
        Exception? failure = null;
        try
        {
            // No cancellation: a batch that was sent must run to a known end (or fail by the command timeout).
            versions = await _backend.ExecuteBatchAsync(writes, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Backends map database failures to StorageUnavailableException; anything else is a bug and passes as is.
            failure = e;
        }

        var elapsed = _timeProvider.GetElapsedTime(started);

        // The batch has ended: free its records and slot first, so the next batch starts while we report outcomes.
        List<QueuedWrite[]>? next;
        lock (_gate)
        {
            foreach (var queued in batch)
            {
                _inFlight.Remove(queued.Write.Key);
            }

            _running--;
            _batches++;
            _writes += batch.Length;
            _largestBatch = Math.Max(_largestBatch, batch.Length);
            next = _stopping ? null : TakeBatches();
            if (_stopping && _running == 0)
            {
                _drained.TrySetResult();
            }
        }

        Start(next);
        _metrics.RecordBatch(_backend.Name, batch.Length, elapsed, committed: versions is not null);
        if (versions is null)
        {
            _logger.BatchFailed(failure!, batch.Length, _backend.Name);
            foreach (var queued in batch)
            {
                _metrics.RecordWrite(_backend.Name, "failed", _timeProvider.GetElapsedTime(queued.EnqueuedAt));
                queued.Completion.TrySetException(failure!);
            }

            return;
        }

        var conflicts = 0;
        for (var i = 0; i < batch.Length; i++)
        {
            var queued = batch[i];
            if (versions[i] > 0)
            {
                _metrics.RecordWrite(_backend.Name, "committed", _timeProvider.GetElapsedTime(queued.EnqueuedAt));
                queued.Completion.TrySetResult(versions[i]);
            }
            else
            {
                conflicts++;
                _logger.VersionConflict(queued.Write.Key, queued.Write.ExpectedVersion);
                _metrics.RecordVersionConflict(_backend.Name, queued.Write.Key.GrainType);
                _metrics.RecordWrite(_backend.Name, "conflict", _timeProvider.GetElapsedTime(queued.EnqueuedAt));
                queued.Completion.TrySetException(Conflict(queued.Write));
            }
        }

        _logger.BatchCommitted(batch.Length, conflicts, _backend.Name, elapsed.TotalMilliseconds);
    }

    private static InconsistentStateException Conflict(StorageWrite write)
        => write.ExpectedVersion is { } expected
            ? new InconsistentStateException(
                $"Version conflict on {write.Key}: the stored version is no longer {expected}; another writer changed the record. Nothing was written.",
                storedEtag: null,
                currentEtag: expected.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : new InconsistentStateException(
                $"Version conflict on {write.Key}: a record already exists, so it cannot be inserted. Nothing was written.",
                storedEtag: null,
                currentEtag: null);

    private sealed class QueuedWrite(GrainWriteBatcher owner, StorageWrite write, long enqueuedAt)
    {
        public StorageWrite Write { get; } = write;

        public long EnqueuedAt { get; } = enqueuedAt;

        // Synchronous continuations: see "Completing a write never runs grain code" in the design note.
        public TaskCompletionSource<int> Completion { get; } = new();

        // Its place in the queue while queued; null once taken into a batch, cancelled or abandoned. Guarded by _gate.
        public LinkedListNode<QueuedWrite>? Node { get; set; }

        public void Cancel() => owner.TryCancel(this);
    }
}

/// <summary>Counters of a <see cref="GrainWriteBatcher"/>.</summary>
/// <param name="Batches">Batches executed (committed or failed).</param>
/// <param name="Writes">Writes in those batches.</param>
/// <param name="LargestBatch">The most writes one batch held.</param>
/// <param name="Queued">Writes waiting now.</param>
/// <param name="Running">Batches executing now.</param>
internal readonly record struct WriteBatchStatistics(long Batches, long Writes, int LargestBatch, int Queued, int Running);
