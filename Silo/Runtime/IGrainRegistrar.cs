using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// How the catalog records its activations in the cluster's grain directory (set by the cluster; a single silo has
/// none). An activation registers after placement chose this silo and before it reads its state; it unregisters
/// when it goes away.
/// </summary>
internal interface IGrainRegistrar
{
    /// <summary>
    /// Registers the activation. Null when it is now the grain's activation; otherwise the live silo that hosts the
    /// registered one (this activation is a duplicate and must not activate). Throws StorageUnavailableException
    /// when the directory is unreachable, SiloUnavailableException when this silo may not register any more.
    /// </summary>
    Task<SiloAddress?> RegisterAsync(GrainId grainId, Guid activationId, CancellationToken cancellationToken);

    /// <summary>Removes the activation's entry (only its own). Never throws: a failure is logged and the entry is left for cleanup.</summary>
    Task UnregisterAsync(GrainId grainId, Guid activationId);
}
