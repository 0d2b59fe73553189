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
internal sealed class ActivationCollector(
    Catalog catalog,
    TimeProvider timeProvider,
    IOptions<GrainCollectionOptions> options,
    ILogger<ActivationCollector> logger) : IDisposable
{
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private int _collecting;

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
            var (collected, total) = catalog.CollectIdleActivations();
            logger.CollectionPass(collected, total);
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
