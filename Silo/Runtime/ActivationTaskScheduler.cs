namespace OrleansLocks.Silo.Runtime;

/*
 * Design note — ActivationTaskScheduler (Orleans' name; concurrency without parallelism)
 *
 * Every piece of an activation's code — the turn loop, each turn's continuations, interleaved calls, timer ticks,
 * OnActivateAsync/OnDeactivateAsync — runs as a task on this scheduler, and the scheduler runs one task at a time,
 * in the order they were queued, on thread-pool threads. Because `await` inside grain code captures
 * TaskScheduler.Current, every continuation of grain code comes back here. So grain code never runs in parallel
 * with itself, even when an [AlwaysInterleave] method interleaves with a turn: interleaving happens only at awaits,
 * and grain state needs no locks.
 *
 * Invariants: at most one thread executes tasks of this scheduler at a time (_scheduled is true from the moment
 * work is queued until a worker found the queue empty under the lock). Inlining is allowed only on the thread that
 * is currently executing this scheduler's tasks, which keeps the invariant.
 *
 * A worker runs at most MaxTasksPerQuantum tasks and then re-queues itself, so a busy activation cannot keep a
 * thread-pool thread from other activations. Memory: most activations never have more than one task pending, so the
 * oldest pending task sits in a field and a queue is allocated only when a second one waits behind it.
 */
internal sealed class ActivationTaskScheduler : TaskScheduler, IThreadPoolWorkItem
{
    private const int MaxTasksPerQuantum = 64;

    [ThreadStatic]
    private static ActivationTaskScheduler? _executing;

    private Task? _next;
    private Queue<Task>? _more;
    private bool _scheduled;

    public override int MaximumConcurrencyLevel => 1;

    void IThreadPoolWorkItem.Execute()
    {
        _executing = this;
        try
        {
            for (var i = 0; i < MaxTasksPerQuantum; i++)
            {
                Task? task;
                lock (this)
                {
                    task = _next;
                    if (task is null)
                    {
                        _scheduled = false;
                        return;
                    }

                    _next = _more is { Count: > 0 } more ? more.Dequeue() : null;
                }

                TryExecuteTask(task);
            }
        }
        finally
        {
            _executing = null;
        }

        // Work remains: yield this thread and continue on another turn of the thread pool.
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    protected override void QueueTask(Task task)
    {
        bool schedule;
        lock (this)
        {
            // Invariant: _next is the oldest pending task, and _more is empty whenever _next is null.
            if (_next is null)
            {
                _next = task;
            }
            else
            {
                (_more ??= new Queue<Task>()).Enqueue(task);
            }

            schedule = !_scheduled;
            _scheduled = true;
        }

        if (schedule)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued)
        => !taskWasPreviouslyQueued && _executing == this && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks()
    {
        lock (this)
        {
            return _next is null ? [] : [_next, .. _more ?? []];
        }
    }
}
