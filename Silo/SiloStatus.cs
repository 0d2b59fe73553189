namespace OrleansLocks.Silo;

/// <summary>The life cycle of a silo; the values are Orleans' own.</summary>
public enum SiloStatus
{
    None = 0,
    Created = 1,
    Joining = 2,
    Active = 3,
    ShuttingDown = 4,
    Stopping = 5,
    Dead = 6,
}

/// <summary>What this silo tells about itself (for <c>GET /cluster</c> and health checks).</summary>
public interface ILocalSiloDetails
{
    /// <summary>The silo's name (by default the machine name).</summary>
    string SiloName { get; }

    /// <summary>The address the silo advertises (host:port, or "local" for a single silo with no silo port).</summary>
    string SiloAddress { get; }

    /// <summary>When this silo started (UTC).</summary>
    DateTimeOffset StartedAt { get; }

    /// <summary>The silo's current status.</summary>
    SiloStatus Status { get; }

    /// <summary>How many grain activations this silo hosts now.</summary>
    int ActivationCount { get; }
}
