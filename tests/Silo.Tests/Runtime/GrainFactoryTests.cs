using OrleansLocks.Runtime;
using OrleansLocks.Silo.Runtime;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>Grain references made by the factory's cached constructor behave as DispatchProxy.Create's.</summary>
public sealed class GrainFactoryTests
{
    [Fact]
    public async Task GetGrain_ManyKeys_EachReferenceIsItsOwnAndCallsItsGrain()
    {
        await using var silo = await TestSilo.StartAsync();

        var first = silo.Grain("f-1");
        var again = silo.Grain("f-1");
        var other = silo.Grain("f-2");

        Assert.NotSame(first, again);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Equal(new GrainId(TestSilo.GrainType, "f-1"), ((GrainReference)(object)first).GrainId);
        Assert.Equal(new GrainId(TestSilo.GrainType, "f-2"), ((GrainReference)(object)other).GrainId);
        Assert.Equal(1, await first.IncrementAsync());
        Assert.Equal(2, await again.IncrementAsync());
        Assert.Equal(1, await other.IncrementAsync());
    }
}
