using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Silo.Hosting;

namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// Collects idle activations every <see cref="GrainCollectionOptions.CollectionQuantum"/>: those with no call or
/// keep-alive tick for <see cref="GrainCollectionOptions.CollectionAge"/>, nothing queued or running and no armed
/// keep-alive timer are deactivated (inside their turn loop, with <c>ActivationIdle</c>), so memory follows the
/// working set rather than every name ever used. A pass is one sweep over the catalog; passes never overlap.
/// </summary>
/// <remarks>
/// Giving memory back. Collected activations become garbage, but after a burst of names nothing may allocate for a
/// long time, so no collection runs and the process keeps the memory it grew to (measured: 3.5× its baseline RSS after
/// 100 000 names, with every activation collected). So when a pass deactivated at least
/// <see cref="GrainCollectionOptions.ReleaseMemoryAfterCollecting"/> activations were collected (counted across passes,
/// as a burst is collected over several), the next pass — by then those deactivations have run — first runs one
/// blocking, compacting full collection in <see cref="GCCollectionMode.Aggressive"/> mode, which also decommits the free
/// space. It pauses the process for about as long as a full collection of the live heap takes (tens of milliseconds
/// for a few hundred MB on the benchmark machine), at most once per pass and once per that many collected activations,
/// so a steady trickle of collections costs one such collection per threshold, not one per pass. On Linux with glibc
/// it then also asks the C allocator to hand its free pages back (<c>malloc_trim</c>): native memory freed after the
/// burst (SQLite's caches, the runtime's own allocations) otherwise stays in the process's arenas.
/// </remarks>
internal sealed class ActivationCollector(
    Catalog catalog,
    TimeProvider timeProvider,
    IOptions<GrainCollectionOptions> options,
    ILogger<ActivationCollector> logger) : IDisposable
{
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private int _collecting;
    private bool _releaseMemoryNextPass;
    private long _collectedSinceRelease;

    /// <summary>How memory is returned after a large pass; replaceable by tests.</summary>
    internal Action ReleaseMemory { get; set; } = static () =>
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        CHeap.Trim();
    };

    public void Start()
    {
        var quantum = options.Value.CollectionQuantum;
        lock (_lock)
        {
            if (_timer is not null)
            {
                return;
            }

            using (ExecutionContext.SuppressFlow())
            {
                _timer = timeProvider.CreateTimer(static state => ((ActivationCollector)state!).CollectOnce(), this, quantum, quantum);
            }
        }
    }

    public void Stop()
    {
        ITimer? timer;
        lock (_lock)
        {
            timer = _timer;
            _timer = null;
        }

        timer?.Dispose();
    }

    /// <summary>One collection pass; returns how many deactivations it started.</summary>
    public int CollectOnce()
    {
        if (Interlocked.Exchange(ref _collecting, 1) == 1)
        {
            return 0;
        }

        try
        {
            if (_releaseMemoryNextPass)
            {
                _releaseMemoryNextPass = false;
                var before = GC.GetGCMemoryInfo().TotalCommittedBytes;
                var started = timeProvider.GetTimestamp();
                ReleaseMemory();
                logger.MemoryReleased(before, GC.GetGCMemoryInfo().TotalCommittedBytes, timeProvider.GetElapsedTime(started).TotalMilliseconds);
            }

            var (collected, total) = catalog.CollectIdleActivations();
            logger.CollectionPass(collected, total);
            // Counted across passes: a burst of names ends over several passes (each collects those idle long enough).
            var threshold = options.Value.ReleaseMemoryAfterCollecting;
            _collectedSinceRelease += collected;
            if (threshold > 0 && _collectedSinceRelease >= threshold)
            {
                _releaseMemoryNextPass = true;
                _collectedSinceRelease = 0;
            }

            return collected;
        }
        catch (Exception e)
        {
            // This runs on a timer thread: an exception escaping here would take the whole process down.
            logger.CollectionPassFailed(e);
            return 0;
        }
        finally
        {
            Volatile.Write(ref _collecting, 0);
        }
    }

    public void Dispose() => Stop();
}

/// <summary>Returns the C allocator's free memory to the operating system where that is possible (glibc's malloc_trim).</summary>
internal static class CHeap
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Trims the C heap; true if the allocator released memory. Never throws: elsewhere it does nothing.</summary>
    public static bool Trim()
    {
        if (_unavailable)
        {
            return false;
        }

        try
        {
            return MallocTrim(0) != 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true; // not glibc (e.g. musl on Alpine): nothing to trim this way
            return false;
        }
    }

    // DllImport, not LibraryImport: the signature is blittable, and the project allows no unsafe code.
#pragma warning disable SYSLIB1054
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
#pragma warning restore SYSLIB1054
}
