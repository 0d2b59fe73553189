namespace OrleansLocks.Grains.Tests;

/// <summary>The per-principal bound on leases and queue places, and who force-released a lease.</summary>
public sealed partial class LockStateMachineTests
{
    private static AcquireCommand ByPrincipal(string requestId, string principal, int max, LockMode mode = LockMode.Shared, double wait = 0)
        => Command(requestId, mode, wait: wait) with { Principal = principal, MaxLeasesPerPrincipal = max };

    [Fact]
    public void Acquire_PrincipalAtItsBound_LeaseLimitAndNothingChanges()
    {
        Assert.Equal(AcquireStatus.Granted, Machine.Acquire(_state, At(0), ByPrincipal("a1", "p", 2)).Result.Status);
        Assert.Equal(AcquireStatus.Granted, Machine.Acquire(_state, At(0), ByPrincipal("a2", "p", 2)).Result.Status);

        var refused = Machine.Acquire(_state, At(0), ByPrincipal("a3", "p", 2));

        Assert.Equal(AcquireStatus.LeaseLimit, refused.Result.Status);
        Assert.False(refused.Changes.StateChanged);
        Assert.Equal(["a1", "a2"], HolderRequests());
        Assert.Equal(AcquireStatus.Granted, Machine.Acquire(_state, At(0), ByPrincipal("b1", "q", 2)).Result.Status);
    }

    [Fact]
    public void Acquire_PrincipalAtItsBound_RepeatsAreStillAnsweredAndWaitersCount()
    {
        Grant("holder", LockMode.Exclusive);
        Assert.Equal(AcquireStatus.Queued, Machine.Acquire(_state, At(0), ByPrincipal("w1", "p", 1, wait: 30)).Result.Status);

        // A repeat keeps its place; a new request of the same principal is over the bound (waiters count too).
        Assert.Equal(AcquireStatus.Queued, Machine.Acquire(_state, At(1), ByPrincipal("w1", "p", 1, wait: 30)).Result.Status);
        Assert.Equal(AcquireStatus.LeaseLimit, Machine.Acquire(_state, At(1), ByPrincipal("w2", "p", 1, wait: 30)).Result.Status);
    }

    [Fact]
    public void Grant_FromTheQueue_KeepsThePrincipal()
    {
        var holder = Grant("holder", LockMode.Exclusive);
        Machine.Acquire(_state, At(0), ByPrincipal("w1", "p", 5, LockMode.Exclusive, wait: 30));

        Release(holder.LeaseId, at: 1);

        Assert.Equal("p", Assert.Single(_state.Holders).Principal);
        Assert.Equal(AcquireStatus.LeaseLimit, Machine.Acquire(_state, At(2), ByPrincipal("w2", "p", 1)).Result.Status);
    }

    [Fact]
    public void ForceRelease_RecordsWhoAndWhyWithTheEndedLease()
    {
        var lease = Grant("r1");

        Machine.ForceRelease(_state, At(1), "api-key ops from 10.0.0.1", "wedged, OPS-1");

        var tombstone = Assert.Single(_state.Tombstones, t => t.LeaseId == lease.LeaseId);
        Assert.Equal(LeaseLostReason.ForceReleased, tombstone.Reason);
        Assert.Equal("api-key ops from 10.0.0.1", tombstone.ForcedBy);
        Assert.Equal("wedged, OPS-1", tombstone.ForceReason);
    }
}
