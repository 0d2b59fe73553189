using System.Diagnostics;
using System.Globalization;
using System.Runtime;

/*
 * Benchmark probe, loaded with DOTNET_STARTUP_HOOKS=<path>/OrleansLocks.BenchProbe.dll into a process under test
 * (bench/run.sh sets it when BENCH_PROBE_DIR is given). Every second it appends one line to
 * $BENCH_PROBE_DIR/probe-<pid>.tsv with cumulative counters, so per-request costs can be computed over a
 * benchmark window without changing the Api: allocated bytes (all threads), completed thread-pool work items
 * (a work item is one hop onto the pool), lock contentions, GC counts, the GC heap and RSS.
 * If the file $BENCH_PROBE_DIR/gc-<pid> appears, the probe runs a full blocking compacting collection first and
 * deletes the file, so a reading of the live heap (heap after a forced GC) can be taken at a chosen moment.
 */

/// <summary>The startup hook entry point (the runtime looks for this exact type name, outside any namespace).</summary>
internal static class StartupHook
{
    /// <summary>Called by the runtime before Main.</summary>
    public static void Initialize()
    {
        var dir = Environment.GetEnvironmentVariable("BENCH_PROBE_DIR");
        if (string.IsNullOrEmpty(dir))
        {
            return;
        }

        var thread = new Thread(() => Run(dir)) { IsBackground = true, Name = "bench-probe" };
        thread.Start();
    }

    private static void Run(string dir)
    {
        var pid = Environment.ProcessId;
        var path = Path.Combine(dir, $"probe-{pid}.tsv");
        var trigger = Path.Combine(dir, $"gc-{pid}");
        using var writer = new StreamWriter(path, append: true) { AutoFlush = true };
        writer.WriteLine("unix_ms\talloc_bytes\twork_items\tcontentions\tgen0\tgen1\tgen2\theap_bytes\tcommitted_bytes\trss_bytes\tforced_gc");
        while (true)
        {
            var forced = 0;
            if (File.Exists(trigger))
            {
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                File.Delete(trigger);
                forced = 1;
            }

            var info = GC.GetGCMemoryInfo(GCKind.Any);
            using var process = Process.GetCurrentProcess();
            writer.WriteLine(string.Join('\t',
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
                GC.GetTotalAllocatedBytes(precise: false).ToString(CultureInfo.InvariantCulture),
                ThreadPool.CompletedWorkItemCount.ToString(CultureInfo.InvariantCulture),
                Monitor.LockContentionCount.ToString(CultureInfo.InvariantCulture),
                GC.CollectionCount(0).ToString(CultureInfo.InvariantCulture),
                GC.CollectionCount(1).ToString(CultureInfo.InvariantCulture),
                GC.CollectionCount(2).ToString(CultureInfo.InvariantCulture),
                GC.GetTotalMemory(forceFullCollection: false).ToString(CultureInfo.InvariantCulture),
                info.TotalCommittedBytes.ToString(CultureInfo.InvariantCulture),
                process.WorkingSet64.ToString(CultureInfo.InvariantCulture),
                forced.ToString(CultureInfo.InvariantCulture)));
            Thread.Sleep(forced == 1 ? 10 : 1000);
        }
    }
}
