using System.Diagnostics;

namespace OrleansLocks.Benchmarks.Harness;

/// <summary>What an operation of a closed-loop client gets: its index, the cell's clocks and two cancellation tokens.</summary>
internal sealed class OperationContext(int client, long measureFrom, long stopAt, CancellationToken stop, CancellationToken hard)
{
    public int Client => client;

    /// <summary>Cancelled when the cell's measured window ends: waiting acquires give up.</summary>
    public CancellationToken Stop => stop;

    /// <summary>Cancelled a while after <see cref="Stop"/>: releases of what is held still complete before it.</summary>
    public CancellationToken Hard => hard;

    public bool InWindow(long timestamp) => timestamp >= measureFrom && timestamp <= stopAt;
}

/// <summary>The outcome of one cell: what was counted in the measured window.</summary>
internal sealed record LoopResult(Histogram Latency, long Operations, long[] OperationsPerClient, long Errors, string? FirstError, TimeSpan Window)
{
    /// <summary>The 1-minute load average when the cell ended (this run's own processes included).</summary>
    public string Load { get; init; } = Report.MachineInfo.LoadAverage().Split(' ')[0];

    public double PerSecond => Operations / Window.TotalSeconds;
}

/*
 * The closed loop every system gets: C clients, each issuing its next operation as soon as the previous one
 * completed (no think time, no open-loop arrival schedule). An operation counts, and its latency is recorded, when
 * it started after the warm-up and finished before the end of the window; the throughput is those operations over
 * the window. Bounded: the loop stops at the end of the window, in-flight waits are cancelled then, and a cell with
 * too many errors gives up early (the errors are reported).
 */
internal static class ClosedLoop
{
    private const int MaxErrorsPerClient = 200;

    public static async Task<LoopResult> RunAsync(int clients, TimeSpan warmup, TimeSpan window, Func<OperationContext, Task> operation)
    {
        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + Ticks(warmup);
        var stopAt = measureFrom + Ticks(window);
        using var stop = new CancellationTokenSource(warmup + window);
        using var hard = new CancellationTokenSource(warmup + window + TimeSpan.FromSeconds(15));
        var histograms = new Histogram[clients];
        var counts = new long[clients];
        var errors = new long[clients];
        var firstErrors = new string?[clients];

        var tasks = new Task[clients];
        for (var i = 0; i < clients; i++)
        {
            var client = i;
            histograms[i] = new Histogram();
            tasks[i] = Task.Run(async () =>
            {
                var context = new OperationContext(client, measureFrom, stopAt, stop.Token, hard.Token);
                while (true)
                {
                    var began = Stopwatch.GetTimestamp();
                    if (began >= stopAt)
                    {
                        return;
                    }

                    try
                    {
                        await operation(context);
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        firstErrors[client] ??= $"{e.GetType().Name}: {e.Message}";
                        if (++errors[client] >= MaxErrorsPerClient)
                        {
                            return;
                        }

                        await Task.Delay(5, CancellationToken.None);
                        continue;
                    }

                    var ended = Stopwatch.GetTimestamp();
                    if (began >= measureFrom && ended <= stopAt)
                    {
                        histograms[client].Record(Nanoseconds(ended - began));
                        counts[client]++;
                    }
                }
            });
        }

        await Task.WhenAll(tasks);
        var all = new Histogram();
        foreach (var histogram in histograms)
        {
            all.Add(histogram);
        }

        return new LoopResult(all, counts.Sum(), counts, errors.Sum(), firstErrors.FirstOrDefault(e => e is not null), window);
    }

    public static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    public static long Nanoseconds(long stopwatchTicks) => (long)(stopwatchTicks * (1e9 / Stopwatch.Frequency));

    /// <summary>Runs <paramref name="action"/> for each index with at most <paramref name="parallelism"/> at once.</summary>
    public static async Task<T[]> ForEachAsync<T>(int count, int parallelism, Func<int, Task<T>> action)
    {
        var results = new T[count];
        var next = -1;
        var workers = Enumerable.Range(0, Math.Min(parallelism, count)).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                results[i] = await action(i);
            }
        }));
        await Task.WhenAll(workers);
        return results;
    }
}
