using System.Security.Cryptography;

namespace OrleansLocks.Grains;

/*
 * Design note — the lock's event history for watchers (GET /locks/{name}/events).
 *
 * The grain appends events in its turn, after the commit that made them true (so a watcher never sees an event
 * that is not in storage); watchers read outside the turn (WatchAsync is [AlwaysInterleave]), so the ring is
 * guarded by a lock and a watcher waits on a TaskCompletionSource that the next append completes and replaces.
 *
 * Sequence numbers belong to one activation: they start at 1 and the ring is memory only. The epoch (random, fresh
 * per activation) tells a watcher that the numbering restarted (failover to another silo, idle collection, a
 * version conflict that dropped the activation); it then gets Reset, re-reads the state, and continues. The ring is
 * bounded (Capacity): a watcher that falls further behind gets Reset too, never a silent gap.
 *
 * Memory: every activation has a ring, and most locks are never watched, so the ring costs nothing until it is
 * used. Its array starts at a few slots with the first event and doubles up to Capacity (sequence s lives at index
 * (s - 1) mod length: before the array is full nothing wraps, so growing keeps every index); the watchers' wake-up
 * source is created by the first watcher that waits, and the epoch by the first reader. A held lock with no watcher
 * so keeps a small array of its last events instead of Capacity slots (2 KB).
 */

/// <summary>A bounded, thread-safe history of one activation's lock events with a long-poll wait.</summary>
internal sealed class LockEventRing
{
    /// <summary>Most events kept; a watcher further behind is told to reset.</summary>
    public const int Capacity = 256;

    /// <summary>Slots of the array allocated with the first event.</summary>
    internal const int InitialSlots = 4;

    private readonly Lock _gate = new();
    private LockEventView[]? _items;
    private long _last;
    private bool _closed;
    private string? _epoch;

    // Completed (and dropped) by the next append or the close; null while nobody waits.
    private TaskCompletionSource? _next;

    /// <summary>This activation's epoch: 64 random bits, base64url, drawn when first asked for.</summary>
    public string Epoch
    {
        get
        {
            lock (_gate)
            {
                return EpochLocked();
            }
        }
    }

    /// <summary>Slots allocated now (for tests): 0 before the first event, at most <see cref="Capacity"/>.</summary>
    internal int AllocatedSlots
    {
        get
        {
            lock (_gate)
            {
                return _items?.Length ?? 0;
            }
        }
    }

    /// <summary>The latest sequence number (0 before the first event).</summary>
    public long LastSequence
    {
        get
        {
            lock (_gate)
            {
                return _last;
            }
        }
    }

    /// <summary>Appends one event, numbering it, and wakes the watchers.</summary>
    public void Append(Func<long, LockEventView> create)
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            var item = create(_last + 1);
            if (_items is null)
            {
                _items = new LockEventView[InitialSlots];
            }
            else if (_last == _items.Length && _items.Length < Capacity)
            {
                // Full and not wrapped yet: every kept sequence s is at index s - 1, which a larger array keeps.
                Array.Resize(ref _items, Math.Min(_items.Length * 2, Capacity));
            }

            _last++;
            _items[(_last - 1) % _items.Length] = item;
            wake = _next;
            _next = null;
        }

        wake?.TrySetResult();
    }

    /// <summary>Wakes every watcher for good: the activation is going away, so they must re-ask (another epoch).</summary>
    public void Close()
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            _closed = true;
            wake = _next;
            _next = null;
        }

        wake?.TrySetResult();
    }

    /// <summary>The events after <paramref name="afterSequence"/>, waiting up to <paramref name="maxWait"/> for one.</summary>
    public async Task<LockEventBatch> WatchAsync(string? epoch, long afterSequence, TimeSpan maxWait, TimeProvider timeProvider)
    {
        Task next;
        lock (_gate)
        {
            if (TryRead(epoch, afterSequence, out var batch) || _closed || maxWait <= TimeSpan.Zero)
            {
                return batch;
            }

            next = (_next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        try
        {
            await next.WaitAsync(maxWait, timeProvider);
        }
        catch (TimeoutException)
        {
            // Nothing happened: answer an empty batch, the watcher asks again.
        }

        lock (_gate)
        {
            TryRead(epoch, afterSequence, out var batch);
            return batch;
        }
    }

    /// <summary>True when the batch is final (events, or a reset); false when the watcher is up to date.</summary>
    private bool TryRead(string? epoch, long afterSequence, out LockEventBatch batch)
    {
        var current = EpochLocked();
        var oldest = Math.Max(1, _last - Capacity + 1);
        if (epoch != current || afterSequence > _last || afterSequence < 0 || (afterSequence < oldest - 1 && _last > 0))
        {
            batch = new LockEventBatch(current, [], _last, Reset: true);
            return true;
        }

        if (afterSequence == _last)
        {
            batch = new LockEventBatch(current, [], _last, Reset: false);
            return false;
        }

        var events = new LockEventView[_last - afterSequence];
        for (var s = afterSequence + 1; s <= _last; s++)
        {
            events[s - afterSequence - 1] = _items![(s - 1) % _items.Length];
        }

        batch = new LockEventBatch(current, events, _last, Reset: false);
        return true;
    }

    // Called under _gate.
    private string EpochLocked()
        => _epoch ??= Convert.ToBase64String(RandomNumberGenerator.GetBytes(8)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
