using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Cluster.Tests.Membership;

public sealed class SiloAddressTests
{
    [Theory]
    [InlineData("10.1.2.3", 11111, 42, "10.1.2.3:11111@42", "10.1.2.3:11111")]
    [InlineData("::1", 30000, 7, "[::1]:30000@7", "[::1]:30000")]
    [InlineData("silo-0.silos.default.svc", 11111, 1, "silo-0.silos.default.svc:11111@1", "silo-0.silos.default.svc:11111")]
    public void ToStringAndParse_RoundTrip(string host, int port, int generation, string text, string endpoint)
    {
        var address = new SiloAddress(host, port, generation);

        Assert.Equal(text, address.ToString());
        Assert.Equal(endpoint, address.Endpoint);
        Assert.Equal(address, SiloAddress.Parse(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.0.0.1:11111")]
    [InlineData("10.0.0.1@5")]
    [InlineData(":11111@5")]
    [InlineData("10.0.0.1:0@5")]
    [InlineData("10.0.0.1:70000@5")]
    [InlineData("10.0.0.1:11111@-5")]
    public void TryParse_NotAnAddress_IsFalse(string text) => Assert.False(SiloAddress.TryParse(text, out _));

    [Fact]
    public void NewGeneration_CalledTwiceInOneSecond_NeverRepeats()
    {
        var first = SiloAddress.NewGeneration(TimeProvider.System);
        var second = SiloAddress.NewGeneration(TimeProvider.System);

        Assert.True(second > first);
    }
}
