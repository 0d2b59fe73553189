using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Silo.Placement;

/// <summary>
/// One activation of a grain as the directory records it (Orleans' GrainAddress): the grain, the silo incarnation that
/// hosts it, and the activation's id, which tells two activations of one grain on one silo apart.
/// </summary>
internal sealed record GrainAddress(GrainId GrainId, SiloAddress Silo, Guid ActivationId)
{
    public override string ToString() => $"{GrainId} on {Silo} (activation {ActivationId:N})";
}

/// <summary>
/// The cluster's grain directory (Orleans' IGrainDirectory, after its ADO.NET implementation): which activation of
/// each grain is the one. Register is first writer wins; Unregister removes only the caller's own entry. The contract
/// is the same on PostgreSQL and in memory; ContractTests in Cluster.Tests check both.
/// </summary>
internal interface IGrainDirectory
{
    /// <summary>Creates the schema if asked and checks that it exists. Throws StorageUnavailableException while unreachable.</summary>
    Task InitializeAsync(bool createSchema, CancellationToken cancellationToken);

    /// <summary>
    /// Records <paramref name="address"/> unless the grain already has an entry, and returns the entry that holds
    /// after the call: <paramref name="address"/> itself if it won, otherwise the existing one. With
    /// <paramref name="previous"/>, an existing entry with exactly that activation id is replaced (the caller has
    /// established that it is stale: its silo is dead, or it is an earlier activation of the caller's own silo).
    /// </summary>
    Task<GrainAddress> RegisterAsync(GrainAddress address, GrainAddress? previous, CancellationToken cancellationToken);

    /// <summary>Removes the grain's entry if it is <paramref name="address"/> (same activation id); true if it removed it.</summary>
    Task<bool> UnregisterAsync(GrainAddress address, CancellationToken cancellationToken);

    /// <summary>The grain's entry, if any.</summary>
    Task<GrainAddress?> LookupAsync(GrainId grainId, CancellationToken cancellationToken);

    /// <summary>Removes every entry of the given silo incarnations (dead silos); idempotent. Returns how many it removed.</summary>
    Task<int> UnregisterSilosAsync(IReadOnlyCollection<SiloAddress> silos, CancellationToken cancellationToken);

    /// <summary>How many entries the cluster has (diagnostics and tests; a full count on PostgreSQL).</summary>
    Task<long> CountAsync(CancellationToken cancellationToken);
}
