using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Placement;

/*
 * Group commit for directory writes (the same scheme as GrainWriteBatcher for grain state).
 *
 * Why: every directory write is a durable commit (an fsync). Activating a million names registers a million
 * entries, and an idle sweep unregisters as many; one commit each would bound activations per second by the disk.
 * Operations that arrive while a batch is running are sent together in the next one: one statement, one round trip,
 * one commit for the lot.
 *
 * How: operations queue in FIFO order. Whenever fewer than maxConcurrentBatches batches run, a batch is formed at
 * once from what is queued (up to maxBatchSize), with no timer: a lone operation goes out immediately, and under load
 * operations pile up behind the running batches. A batch never holds two operations on one grain (a multi-row
 * INSERT ... ON CONFLICT DO UPDATE may not touch a row twice); the second waits for a later batch, keeping its order.
 * Each operation completes exactly once, with its own result or with the batch's failure.
 */

/// <summary>Queues directory operations of one kind and executes them in batches.</summary>
internal sealed class DirectoryBatcher<TItem, TResult>(
    Func<IReadOnlyList<TItem>, Task<IReadOnlyList<TResult>>> execute,
    Func<TItem, GrainId> grainOf,
    int maxBatchSize,
    int maxConcurrentBatches)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Pending> _queue = new();
    private int _running;

    /// <summary>Queues <paramref name="item"/>; completes with its result once its batch committed.</summary>
    public Task<TResult> EnqueueAsync(TItem item)
    {
        var pending = new Pending(item);
        List<List<Pending>>? batches;
        lock (_gate)
        {
            _queue.AddLast(pending);
            batches = TakeBatches();
        }

        Start(batches);
        return pending.Completion.Task;
    }

    private List<List<Pending>>? TakeBatches()
    {
        List<List<Pending>>? batches = null;
        while (_running < maxConcurrentBatches && _queue.Count > 0)
        {
            var batch = new List<Pending>(Math.Min(_queue.Count, maxBatchSize));
            var grains = new HashSet<GrainId>();
            for (var node = _queue.First; node is not null && batch.Count < maxBatchSize;)
            {
                var next = node.Next;
                if (grains.Add(grainOf(node.Value.Item)))
                {
                    batch.Add(node.Value);
                    _queue.Remove(node);
                }

                node = next;
            }

            _running++;
            (batches ??= []).Add(batch);
        }

        return batches;
    }

    private void Start(List<List<Pending>>? batches)
    {
        foreach (var batch in batches ?? [])
        {
            _ = Task.Run(() => RunAsync(batch));
        }
    }

    private async Task RunAsync(List<Pending> batch)
    {
        try
        {
            var results = await execute(batch.ConvertAll(p => p.Item));
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(results[i]);
            }
        }
        catch (Exception e)
        {
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(e);
            }
        }

        List<List<Pending>>? next;
        lock (_gate)
        {
            _running--;
            next = TakeBatches();
        }

        Start(next);
    }

    private sealed class Pending(TItem item)
    {
        public TItem Item { get; } = item;

        public TaskCompletionSource<TResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
