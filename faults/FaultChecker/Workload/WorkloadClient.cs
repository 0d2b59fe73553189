using Microsoft.Extensions.Logging;
using OrleansLocks.FaultChecker.Harness;
using OrleansLocks.FaultChecker.History;

namespace OrleansLocks.FaultChecker.Workload;

/*
 * Design note — one workload client.
 *
 * A loop of critical sections: acquire (exclusive, short TTL, long-poll wait, one request id per cycle) → protected
 * work → write to the fenced store with the fencing token → release. The client behaves like a correct user of
 * the API under failures:
 *  - an acquire of unknown outcome (timeout, drop, 5xx) or refused connection is retried with the SAME request id,
 *    so a grant the client never heard of is returned to it instead of being orphaned; 409 lock-busy is retried
 *    with the same request id too (it keeps the queue place); 410 means that request's lease already ended.
 *  - a release of unknown outcome is retried with the same lease id (idempotent); 410 ends it.
 *  - the fenced write is never retried: its outcome, if unknown, stays unknown in the history.
 * The client does NOT check its own deadline before writing: the fenced store must stop a stale writer, and the
 * checker verifies that it did. A "client pause" fault makes the client sleep past its TTL while holding a lease
 * and then write with its old token.
 * Stopping is cooperative: a stop request lets the current cycle finish (so leases are released); only the hard
 * cancellation (Ctrl-C) abandons it.
 */

/// <summary>One client of the workload.</summary>
internal sealed class WorkloadClient(
    string name,
    LockServiceClient service,
    FencedStore store,
    IReadOnlyList<string> locks,
    RunOptions options,
    HistoryRecorder history,
    Random random,
    ILogger logger)
{
    private static readonly TimeSpan AcquireBudget = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan ReleaseBudget = TimeSpan.FromSeconds(30);
    private TaskCompletionSource<Operation?>? _pauseRequest;
    private long _cycle;

    public string Name => name;

    private readonly List<(double Start, double End)> _completed = [];

    /// <summary>Critical sections completed (granted, written, accepted, released) that started at or after <paramref name="ms"/>.</summary>
    public int CyclesStartedAfter(double ms)
    {
        lock (_completed)
        {
            return _completed.Count(c => c.Start >= ms);
        }
    }

    /// <summary>An extra step per cycle (the soak's try-lock on a fresh name).</summary>
    public Func<string, long, CancellationToken, Task>? ExtraStep { get; init; }

    /// <summary>
    /// Asks the client to pause past its TTL in its next critical section and then write with its old token.
    /// The task completes with that write (null if the client stopped before it held a lease).
    /// </summary>
    public Task<Operation?> RequestPause()
    {
        var request = new TaskCompletionSource<Operation?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _pauseRequest, request)?.TrySetResult(null);
        return request.Task;
    }

    public async Task RunAsync(CancellationToken stop, CancellationToken abort)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await CycleAsync(Interlocked.Increment(ref _cycle), abort);
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
        }
        finally
        {
            Interlocked.Exchange(ref _pauseRequest, null)?.TrySetResult(null);
        }
    }

    private async Task CycleAsync(long cycle, CancellationToken abort)
    {
        var started = history.Now;
        var lockName = locks[random.Next(locks.Count)];
        var requestId = $"{name}-{cycle}-{random.Next():x8}";
        var grant = await AcquireAsync(cycle, lockName, requestId, abort);
        if (grant is null)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(10, 50)), history.Time, abort);
            return;
        }

        var token = grant.Token!.Value;
        var leaseId = grant.LeaseId!;
        if (random.NextDouble() < options.SlowWorkFraction)
        {
            // Work that lasts about the TTL, then a renew: renew, write and release race the lease's expiry at the
            // service (and the grant of the next waiter), the boundary where off-by-a-little bugs live.
            var slow = TimeSpan.FromMilliseconds(options.Ttl.TotalMilliseconds * (0.8 + 0.5 * random.NextDouble()));
            await Task.Delay(slow, history.Time, abort);
            await service.RenewAsync(name, cycle, lockName, leaseId, options.Ttl, abort);
        }
        else
        {
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(5, 40)), history.Time, abort);
            if (random.NextDouble() < 0.2)
            {
                await service.RenewAsync(name, cycle, lockName, leaseId, options.Ttl, abort);
            }
        }

        var pause = Interlocked.Exchange(ref _pauseRequest, null);
        string? detail = null;
        if (pause is not null)
        {
            // Hold the lease (without renewing) well past its TTL, then write as if nothing happened.
            var sleep = options.Ttl + TimeSpan.FromMilliseconds(1500);
            logger.ClientNote(name, $"pausing {sleep.TotalMilliseconds:0} ms holding token {token} of {lockName}");
            await Task.Delay(sleep, history.Time, abort);
            detail = $"after a client pause of {sleep.TotalMilliseconds:0} ms";
        }

        var write = await WriteAsync(cycle, lockName, token, detail, abort);
        pause?.TrySetResult(write);
        var released = await ReleaseAsync(cycle, lockName, leaseId, token, abort);
        if (write.Outcome == OpOutcome.Ok && released)
        {
            lock (_completed)
            {
                _completed.Add((started, history.Now));
            }
        }

        if (ExtraStep is not null)
        {
            await ExtraStep(name, cycle, abort);
        }
    }

    private async Task<Operation?> AcquireAsync(long cycle, string lockName, string requestId, CancellationToken abort)
    {
        var deadline = history.Now + AcquireBudget.TotalMilliseconds;
        var backoff = 50;
        while (true)
        {
            var op = await service.AcquireAsync(name, cycle, lockName, requestId, options.Ttl, options.Wait, abort);
            switch (op.Outcome)
            {
                case OpOutcome.Ok when op.Token is not null && op.LeaseId is not null:
                    return op;
                case OpOutcome.Fail when op.Status == 410:
                    // This request's lease was granted (by an attempt we never heard back from) and has ended.
                    return null;
                case OpOutcome.Fail when op.Status is 409 or 429 && op.Code is "lock-busy" or "queue-full":
                    backoff = 50;
                    break;
                case OpOutcome.Fail when op.Status is not null:
                    logger.Unexpected(name, op.Status, op.Code, "acquire", lockName, op.Detail);
                    return null;
                default:
                    // Unknown outcome or refused connection: retry the same request id.
                    await Task.Delay(TimeSpan.FromMilliseconds(backoff), history.Time, abort);
                    backoff = Math.Min(backoff * 2, 500);
                    break;
            }

            if (history.Now > deadline)
            {
                return null;
            }
        }
    }

    private async Task<Operation> WriteAsync(long cycle, string lockName, long token, string? detail, CancellationToken abort)
    {
        var value = $"{name}#{cycle}";
        var template = new Operation
        {
            Process = name,
            Kind = OpKind.Write,
            Outcome = OpOutcome.Info,
            InvokedMs = history.Now,
            CompletedMs = 0,
            Lock = lockName,
            Cycle = cycle,
            Token = token,
            Value = value,
            Detail = detail,
        };
        Operation op;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(abort);
            timeout.CancelAfter(TimeSpan.FromSeconds(20));
            var seq = await store.WriteAsync(lockName, token, name, value, timeout.Token);
            op = seq is not null
                ? template with { Outcome = OpOutcome.Ok, Code = "accepted", Detail = Join(detail, $"seq {seq}") }
                : template with { Outcome = OpOutcome.Fail, Code = "rejected", Detail = Join(detail, "stale token") };
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or OperationCanceledException or IOException or InvalidOperationException && !abort.IsCancellationRequested)
        {
            op = template with { Outcome = OpOutcome.Info, Detail = Join(detail, e.GetType().Name + ": " + e.Message) };
        }

        return history.Add(op with { CompletedMs = history.Now });
    }

    private async Task<bool> ReleaseAsync(long cycle, string lockName, string leaseId, long token, CancellationToken abort)
    {
        var deadline = history.Now + ReleaseBudget.TotalMilliseconds;
        var backoff = 50;
        while (true)
        {
            var op = await service.ReleaseAsync(name, cycle, lockName, leaseId, token, abort);
            if (op.Outcome == OpOutcome.Ok)
            {
                return true;
            }

            if (op.Outcome == OpOutcome.Fail && op.Status is not null)
            {
                if (op.Status != 410)
                {
                    logger.Unexpected(name, op.Status, op.Code, "release", lockName, op.Detail);
                }

                return false;
            }

            if (history.Now > deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(backoff), history.Time, abort);
            backoff = Math.Min(backoff * 2, 500);
        }
    }

    private static string? Join(string? a, string b) => a is null ? b : $"{a}; {b}";
}
