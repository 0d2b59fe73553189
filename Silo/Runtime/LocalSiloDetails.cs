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

    public void SetStatus(SiloStatus status)
    {
        if (status == SiloStatus.Joining)
        {
            StartedAt = timeProvider.GetUtcNow();
        }

        var previous = (SiloStatus)Interlocked.Exchange(ref _status, (int)status);
        if (previous != status)
        {
            logger.SiloStatusChanged(options.Value.SiloName, status, previous);
        }
    }
}

/// <summary>What this silo tells about itself (<c>GET /cluster</c>, health).</summary>
internal sealed class LocalSiloDetails(IOptions<SiloOptions> options, LocalSiloStatus status, Catalog catalog) : ILocalSiloDetails
{
    public string SiloName { get; } = options.Value.SiloName;

    /// <summary>"local" for a single silo; the cluster sets the advertised host:port.</summary>
    public string SiloAddress { get; internal set; } = "local";

    public DateTimeOffset StartedAt => status.StartedAt;

    public SiloStatus Status => status.Status;

    public int ActivationCount => catalog.ActivationCount;
}
