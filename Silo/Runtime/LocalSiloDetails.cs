using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Silo.Hosting;

namespace OrleansLocks.Silo.Runtime;

/// <summary>This silo's status, moved by <see cref="SiloHostedService"/>; every change is logged.</summary>
internal sealed class LocalSiloStatus(IOptions<SiloOptions> options, TimeProvider timeProvider, ILogger<LocalSiloStatus> logger)
{
    private int _status = (int)SiloStatus.Created;

    public SiloStatus Status => (SiloStatus)Volatile.Read(ref _status);

    /// <summary>When the silo started joining (UTC); its creation time before that.</summary>
    public DateTimeOffset StartedAt { get; private set; } = timeProvider.GetUtcNow();

    /// <summary>
    /// Moves the status forward; a move backwards is ignored (the values are in life-cycle order), so a silo that
    /// was declared dead stays Dead whatever its shutdown does next. Returns whether the status changed.
    /// </summary>
    public bool SetStatus(SiloStatus status)
    {
        while (true)
        {
            var previous = Volatile.Read(ref _status);
            if (previous >= (int)status)
            {
                return false;
            }

            if (status == SiloStatus.Joining)
            {
                StartedAt = timeProvider.GetUtcNow();
            }

            if (Interlocked.CompareExchange(ref _status, (int)status, previous) == previous)
            {
                logger.SiloStatusChanged(options.Value.SiloName, status, (SiloStatus)previous);
                return true;
            }
        }
    }
}

/// <summary>What this silo tells about itself (<c>GET /cluster</c>, health).</summary>
internal sealed class LocalSiloDetails(IOptions<SiloOptions> options, LocalSiloStatus status, Catalog catalog) : ILocalSiloDetails
{
    public string SiloName { get; } = options.Value.SiloName;

    /// <summary>"local" for a single silo; the cluster sets the advertised host:port.</summary>
    public string SiloAddress { get; set; } = "local";

    public DateTimeOffset StartedAt => status.StartedAt;

    public SiloStatus Status => status.Status;

    public int ActivationCount => catalog.ActivationCount;
}
