using OrleansLocks.Silo.Storage;
using OrleansLocks.Silo.Storage.Memory;

namespace OrleansLocks.Silo.Tests.Storage;

/// <summary>The storage contract on the in-memory provider (two writer slots, to exercise concurrent batches).</summary>
public sealed class MemoryGrainStorageTests : GrainStorageContractTests
{
    protected override Task<object> CreateStoreAsync() => Task.FromResult<object>(new MemoryGrainStorageDatabase());

    private protected override IGrainStorageBackend CreateBackend(object store, string serviceId)
        => new MemoryGrainStorageBackend((MemoryGrainStorageDatabase)store, serviceId, maxConcurrentBatches: 2);
}
