using System.Diagnostics;
using System.Net.Http.Json;
using OrleansLocks.Benchmarks.Harness;
using OrleansLocks.Benchmarks.Systems;

namespace OrleansLocks.Benchmarks.Workloads;

/*
 * Workload 4, against the service only, on a service process of its own started with a short
 * GrainCollection:CollectionAge so that idle lock activations are collected within the run:
 *   1. baseline:   RSS after start and a short warm-up (512 pairs on 512 names);
 *   2. held:       K leases held at once on K new names; (RSS while held − baseline) ÷ K is the memory per held
 *                  lock. Measured first, on a heap that has not grown yet: RSS counts what the GC keeps as well as
 *                  what is live, so the figure is an upper bound of the live size, and would be hidden by the
 *                  slack of an earlier, larger phase;
 *   3. released:   the K leases released, then the activations collected (bounded wait on GET /cluster);
 *   4. names:      N distinct names, each acquired and released once (C clients pulling the next name);
 *                  peak RSS (VmHWM) and activations after;
 *   5. collected:  wait until GET /cluster reports the activations gone (bounded), then one more collection quantum
 *                  (the silo's collector compacts the heap on the pass after a large collection), RSS then, against
 *                  the baseline.
 * With the benchmark probe loaded into the service (bench/Probe), the live heap (bytes after a forced full compacting
 * collection) is also read at baseline and while the K leases are held: (live held − live baseline) ÷ K is the live
 * size of a held lock, next to the RSS figure. The baseline heap is read after the baseline RSS, so the forced
 * collection does not lower the RSS baseline.
 * Every phase is bounded in time (--names-time-limit); a phase that hits the bound reports how far it got.
 */
internal static class ManyNames
{
    /// <summary>TTL of the leases of this workload (10 min): the held phase must not see any expire.</summary>
    public const long HeldTtlMs = 600_000;

    public static async Task<ManyNamesResult> RunAsync(ProcessHost service, ServiceSystem system, BenchOptions options, string run, string? probeDirectory)
    {
        var phases = new List<ManyNamesPhase>();
        var clients = await Workload.ConnectAsync(system, options.ManyNamesClients);
        try
        {
            // Warm-up: JIT, connections, storage pools; few enough names that their activations hardly count.
            await PairsAsync(clients, i => $"mw-{run}-{i}", Math.Min(512, options.Names), TimeSpan.FromSeconds(60));
            await Task.Delay(TimeSpan.FromSeconds(1));
            var baseline = service.Memory;
            phases.Add(new ManyNamesPhase("baseline (after start and 512 pairs)", 0, TimeSpan.Zero, null, 0, null, baseline, await ActivationsAsync(system.HttpClient), null));
            var baselineHeap = await service.LiveHeapBytesAsync(probeDirectory);

            var (held, heldPhase) = await HoldAsync(clients, i => $"mh-{run}-{i}", options.Held, options.ManyNamesTimeLimit);
            await Task.Delay(TimeSpan.FromSeconds(1));
            var heldMemory = service.Memory;
            phases.Add(heldPhase with { Name = $"{held.Count:N0} leases held at once", Memory = heldMemory, Activations = await ActivationsAsync(system.HttpClient) });
            var heldHeap = await service.LiveHeapBytesAsync(probeDirectory);

            var released = await ReleaseAllAsync(clients, held);
            phases.Add(released with { Memory = service.Memory, Activations = await ActivationsAsync(system.HttpClient) });
            phases.Add(await CollectedAsync("idle activations collected", service, system, options));

            var names = await PairsAsync(clients, i => $"mn-{run}-{i}", options.Names, options.ManyNamesTimeLimit);
            phases.Add(names with { Name = $"{names.Count:N0} names acquired+released once", Memory = service.Memory, Activations = await ActivationsAsync(system.HttpClient) });
            phases.Add(await CollectedAsync("idle activations collected again", service, system, options));

            return new ManyNamesResult(system.Id, options.Names, options.Held, options.CollectionAge, phases)
            {
                HeldBaselineKb = baseline.RssKb,
                BytesPerHeldLock = held.Count > 0 ? (heldMemory.RssKb - baseline.RssKb) * 1024 / held.Count : null,
                LiveBytesPerHeldLock = held.Count > 0 && baselineHeap is { } before && heldHeap is { } during ? (during - before) / held.Count : null,
                LiveHeapBaselineBytes = baselineHeap,
            };
        }
        finally
        {
            await Workload.DisposeAllAsync(clients);
        }
    }

    private static async Task<ManyNamesPhase> PairsAsync(ILockClient[] clients, Func<long, string> nameOf, long count, TimeSpan limit)
    {
        using var cancel = new CancellationTokenSource(limit);
        var histograms = clients.Select(_ => new Histogram()).ToArray();
        var errors = new long[clients.Length];
        string? firstError = null;
        long next = -1;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(clients.Select((client, c) => Task.Run(async () =>
        {
            long i;
            while ((i = Interlocked.Increment(ref next)) < count && !cancel.IsCancellationRequested)
            {
                var began = Stopwatch.GetTimestamp();
                try
                {
                    var name = nameOf(i);
                    var handle = await client.AcquireAsync(name, Mode.Exclusive, wait: false, cancel.Token)
                        ?? throw new BenchProtocolException($"{name} busy although no one else uses it");
                    await client.ReleaseAsync(handle, CancellationToken.None);
                    histograms[c].Record(ClosedLoop.Nanoseconds(Stopwatch.GetTimestamp() - began));
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is BenchProtocolException or HttpRequestException)
                {
                    Interlocked.CompareExchange(ref firstError, e.Message, null);
                    if (++errors[c] > 100)
                    {
                        return;
                    }
                }
            }
        })));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var all = new Histogram();
        foreach (var histogram in histograms)
        {
            all.Add(histogram);
        }

        var note = all.Count < count ? $"stopped at the time bound after {all.Count:N0} of {count:N0}" : null;
        return new ManyNamesPhase("", all.Count, elapsed, all, errors.Sum(), firstError, default, null, note);
    }

    private static async Task<(List<LockHandle> Held, ManyNamesPhase Phase)> HoldAsync(ILockClient[] clients, Func<long, string> nameOf, long count, TimeSpan limit)
    {
        using var cancel = new CancellationTokenSource(limit);
        var held = clients.Select(_ => new List<LockHandle>()).ToArray();
        var histograms = clients.Select(_ => new Histogram()).ToArray();
        long errors = 0;
        string? firstError = null;
        long next = -1;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(clients.Select((client, c) => Task.Run(async () =>
        {
            long i;
            while ((i = Interlocked.Increment(ref next)) < count && !cancel.IsCancellationRequested)
            {
                var began = Stopwatch.GetTimestamp();
                try
                {
                    var handle = await client.AcquireAsync(nameOf(i), Mode.Exclusive, wait: false, cancel.Token);
                    if (handle is not null)
                    {
                        held[c].Add(handle);
                        histograms[c].Record(ClosedLoop.Nanoseconds(Stopwatch.GetTimestamp() - began));
                    }
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is BenchProtocolException or HttpRequestException)
                {
                    Interlocked.CompareExchange(ref firstError, e.Message, null);
                    if (Interlocked.Increment(ref errors) > 100)
                    {
                        return;
                    }
                }
            }
        })));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var all = held.SelectMany(h => h).ToList();
        var latency = new Histogram();
        foreach (var histogram in histograms)
        {
            latency.Add(histogram);
        }

        var note = all.Count < count ? $"stopped after {all.Count:N0} of {count:N0}" : null;
        return (all, new ManyNamesPhase("", all.Count, elapsed, latency, errors, firstError, default, null, note));
    }

    private static async Task<ManyNamesPhase> ReleaseAllAsync(ILockClient[] clients, List<LockHandle> held)
    {
        long next = -1;
        long errors = 0;
        string? firstError = null;
        var histograms = clients.Select(_ => new Histogram()).ToArray();
        var started = Stopwatch.GetTimestamp();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await Task.WhenAll(clients.Select((client, c) => Task.Run(async () =>
        {
            long i;
            while ((i = Interlocked.Increment(ref next)) < held.Count && !cancel.IsCancellationRequested)
            {
                var began = Stopwatch.GetTimestamp();
                try
                {
                    await client.ReleaseAsync(held[(int)i], cancel.Token);
                    histograms[c].Record(ClosedLoop.Nanoseconds(Stopwatch.GetTimestamp() - began));
                }
                catch (Exception e) when (e is BenchProtocolException or HttpRequestException or OperationCanceledException)
                {
                    Interlocked.CompareExchange(ref firstError, e.Message, null);
                    Interlocked.Increment(ref errors);
                }
            }
        })));
        var latency = new Histogram();
        foreach (var histogram in histograms)
        {
            latency.Add(histogram);
        }

        return new ManyNamesPhase($"{held.Count:N0} leases released", latency.Count, Stopwatch.GetElapsedTime(started), latency, errors, firstError, default, null, null);
    }

    /// <summary>Waits (bounded) until the service reports almost no activations, polling GET /cluster every 2 s.</summary>
    private static async Task<ManyNamesPhase> CollectedAsync(string name, ProcessHost service, ServiceSystem system, BenchOptions options)
    {
        var started = Stopwatch.GetTimestamp();
        var limit = options.CollectionAge + TimeSpan.FromSeconds(90);
        int? activations = null;
        while (Stopwatch.GetElapsedTime(started) < limit)
        {
            activations = await ActivationsAsync(system.HttpClient);
            if (activations is null or <= 100)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
        }

        if (activations is not null and <= 100)
        {
            // The collector's next pass (one quantum later) gives the memory of a large collection back: read RSS after it.
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, options.CollectionAge.TotalSeconds / 4)) + TimeSpan.FromSeconds(2));
        }

        var note = activations switch
        {
            null => "GET /cluster gave no activation count",
            > 100 => $"still {activations:N0} activations after {limit.TotalSeconds:N0} s",
            _ => null,
        };
        return new ManyNamesPhase(name, 0, Stopwatch.GetElapsedTime(started), null, 0, null, service.Memory, activations, note);
    }

    private static async Task<int?> ActivationsAsync(HttpClient http)
    {
        try
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var cluster = await http.GetFromJsonAsync(new Uri("cluster", UriKind.Relative), BenchJson.Default.ClusterView, cancel.Token);
            return cluster?.Silos?.Sum(s => s.ActivationCount);
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException or OperationCanceledException)
        {
            return null;
        }
    }
}
