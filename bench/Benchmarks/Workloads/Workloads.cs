using System.Diagnostics;
using OrleansLocks.Benchmarks.Harness;
using OrleansLocks.Benchmarks.Systems;

namespace OrleansLocks.Benchmarks.Workloads;

/// <summary>The workloads of issue 5, each a closed loop over clients opened for the cell and closed after it.</summary>
internal static class Workload
{
    public static async Task<UncontendedResult> UncontendedAsync(ILockSystem system, int clients, BenchOptions options, string run)
    {
        var connected = await ConnectAsync(system, clients);
        try
        {
            // Each client its own lock, held for no time: the cost of one acquire and one release.
            var names = Enumerable.Range(0, clients).Select(i => $"u{clients}-{run}-{i}").ToArray();
            var acquires = Enumerable.Range(0, clients).Select(_ => new Histogram()).ToArray();
            var releases = Enumerable.Range(0, clients).Select(_ => new Histogram()).ToArray();
            var loop = await ClosedLoop.RunAsync(clients, options.Warmup, options.Duration, async context =>
            {
                var client = connected[context.Client];
                var began = Stopwatch.GetTimestamp();
                // A try-lock does not wait: it may finish after the window rather than be cut off holding the lock.
                var handle = await client.AcquireAsync(names[context.Client], Mode.Exclusive, wait: false, context.Hard)
                    ?? throw new BenchProtocolException($"{names[context.Client]} busy although no one else uses it");
                var granted = Stopwatch.GetTimestamp();
                await client.ReleaseAsync(handle, context.Hard);
                var ended = Stopwatch.GetTimestamp();
                if (context.InWindow(began) && context.InWindow(ended))
                {
                    acquires[context.Client].Record(ClosedLoop.Nanoseconds(granted - began));
                    releases[context.Client].Record(ClosedLoop.Nanoseconds(ended - granted));
                }
            });
            return new UncontendedResult(system.Id, clients, loop) { Acquire = Merge(acquires), Release = Merge(releases) };
        }
        finally
        {
            await DisposeAllAsync(connected);
        }
    }

    public static async Task<UncontendedResult> CeilingAsync(ICeiling ceiling, int clients, BenchOptions options)
    {
        var connected = await ClosedLoop.ForEachAsync(clients, 16, i => ceiling.ConnectAsync(i, CancellationToken.None));
        try
        {
            var loop = await ClosedLoop.RunAsync(clients, options.Warmup, options.Duration, context => connected[context.Client].OperateAsync(context.Hard));
            return new UncontendedResult(ceiling.Id, clients, loop);
        }
        finally
        {
            foreach (var client in connected)
            {
                await client.DisposeAsync();
            }
        }
    }

    /*
     * Hot lock: every client loops acquire (waiting) + release on one lock, holding it for no time. A hand-off is
     * timed from the moment the holder starts its release to the moment the next client has its grant in hand
     * (whoever it is; with a queue it is the head, with polling whoever polls first). Every grant checks that no
     * one else holds the lock (a violation counter that must stay 0).
     */
    public static async Task<HotResult> HotAsync(ILockSystem system, int clients, BenchOptions options, string run)
    {
        var connected = await ConnectAsync(system, clients);
        try
        {
            var name = $"hot{clients}-{run}";
            var handoffs = Enumerable.Range(0, clients).Select(_ => new Histogram()).ToArray();
            long releaseStartedAt = 0;
            long holders = 0;
            long violations = 0;
            var loop = await ClosedLoop.RunAsync(clients, options.Warmup, options.Duration, async context =>
            {
                var client = connected[context.Client];
                var handle = (await client.AcquireAsync(name, Mode.Exclusive, wait: true, context.Stop))!;
                var granted = Stopwatch.GetTimestamp();
                if (Interlocked.Increment(ref holders) != 1)
                {
                    Interlocked.Increment(ref violations);
                }

                var released = Interlocked.Exchange(ref releaseStartedAt, 0);
                if (released != 0 && context.InWindow(released) && context.InWindow(granted))
                {
                    handoffs[context.Client].Record(ClosedLoop.Nanoseconds(granted - released));
                }

                Interlocked.Decrement(ref holders);
                Volatile.Write(ref releaseStartedAt, Stopwatch.GetTimestamp());
                await client.ReleaseAsync(handle, context.Hard);
            });
            var handoff = new Histogram();
            foreach (var histogram in handoffs)
            {
                handoff.Add(histogram);
            }

            return new HotResult(system.Id, clients, loop, handoff, violations);
        }
        finally
        {
            await DisposeAllAsync(connected);
        }
    }

    /// <summary>Read-mostly: each client picks one of a few locks at random, shared 9 times in 10, exclusive otherwise.</summary>
    public static async Task<ReadMostlyResult> ReadMostlyAsync(ILockSystem system, BenchOptions options, string run)
    {
        var clients = options.ReadMostlyClients;
        var connected = await ConnectAsync(system, clients);
        try
        {
            var names = Enumerable.Range(0, options.ReadMostlyLocks).Select(i => $"rm-{run}-{i}").ToArray();
            var shared = Enumerable.Range(0, clients).Select(_ => new Histogram()).ToArray();
            var exclusive = Enumerable.Range(0, clients).Select(_ => new Histogram()).ToArray();
            var random = Enumerable.Range(0, clients).Select(i => new Random(i)).ToArray();
            var loop = await ClosedLoop.RunAsync(clients, options.Warmup, options.Duration, async context =>
            {
                var client = connected[context.Client];
                var rng = random[context.Client];
                var name = names[rng.Next(names.Length)];
                var mode = rng.Next(10) == 0 ? Mode.Exclusive : Mode.Shared;
                var began = Stopwatch.GetTimestamp();
                var handle = (await client.AcquireAsync(name, mode, wait: true, context.Stop))!;
                await client.ReleaseAsync(handle, context.Hard);
                var ended = Stopwatch.GetTimestamp();
                if (context.InWindow(began) && context.InWindow(ended))
                {
                    (mode == Mode.Shared ? shared : exclusive)[context.Client].Record(ClosedLoop.Nanoseconds(ended - began));
                }
            });
            return new ReadMostlyResult(system.Id, clients, names.Length, loop, Merge(shared), Merge(exclusive));
        }
        finally
        {
            await DisposeAllAsync(connected);
        }
    }

    public static async Task<ILockClient[]> ConnectAsync(ILockSystem system, int clients)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await ClosedLoop.ForEachAsync(clients, 16, i => system.ConnectAsync(i, cancel.Token));
    }

    public static async Task DisposeAllAsync(IEnumerable<ILockClient> clients)
    {
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    private static Histogram Merge(IEnumerable<Histogram> histograms)
    {
        var all = new Histogram();
        foreach (var histogram in histograms)
        {
            all.Add(histogram);
        }

        return all;
    }
}
