using OrleansLocks.FaultChecker;
using OrleansLocks.FaultChecker.Soak;

namespace OrleansLocks.Faults.Tests;

public sealed class RunOptionsTests
{
    [Fact]
    public void Parse_DocumentedCommandLine_SetsEveryOption()
    {
        var options = RunOptions.Parse(["--duration", "90s", "--clients", "4", "--locks", "2", "--faults", "kill,pause,client-pause,pg-restart,pg-terminate,drop", "--seed", "7", "--rounds", "2", "--slow-work", "0.5", "--service-env", "Locks__RecoveryGrace=00:00:03"]);

        Assert.Equal(TimeSpan.FromSeconds(90), options.Duration);
        Assert.Equal(4, options.Clients);
        Assert.Equal(2, options.Locks);
        Assert.Equal(RunOptions.AllFaults, options.Faults);
        Assert.Equal(7, options.Seed);
        Assert.Equal(2, options.Rounds);
        Assert.Equal(0.5, options.SlowWorkFraction);
        Assert.Equal("00:00:03", options.ServiceEnvironment["Locks__RecoveryGrace"]);
    }

    [Fact]
    public void Parse_Cluster_DefaultsToThreeSilosTwoGatewaysAndEveryFault()
    {
        var options = RunOptions.Parse(["--cluster", "--duration", "5m"]);

        Assert.True(options.Cluster);
        Assert.False(options.CoHosted);
        Assert.Equal(3, options.Silos);
        Assert.Equal(2, options.Gateways);
        Assert.Equal(RunOptions.AllClusterFaults, options.Faults);
    }

    [Fact]
    public void Parse_CoHosted_NoGatewaysUnlessAsked()
    {
        Assert.Equal(0, RunOptions.Parse(["--cohosted"]).Gateways);
        Assert.Equal(1, RunOptions.Parse(["--cohosted", "--gateways", "1"]).Gateways);
        Assert.Equal(5, RunOptions.Parse(["--silos", "5"]).Silos);
    }

    [Theory]
    [InlineData("partition")]
    [InlineData("pg-partition")]
    [InlineData("isolate")]
    public void Parse_PartitionWithoutCluster_ThrowsNamingIt(string fault)
    {
        var e = Assert.Throws<ArgumentException>(() => RunOptions.Parse(["--faults", "kill," + fault]));
        Assert.Contains(fault, e.Message, StringComparison.Ordinal);
        Assert.Contains("--cluster", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HeadlessClusterWithoutGateways_Throws()
        => Assert.Throws<ArgumentException>(() => RunOptions.Parse(["--cluster", "--gateways", "0"]));

    [Theory]
    [InlineData("2m", 120)]
    [InlineData("1h", 3600)]
    [InlineData("500ms", 0.5)]
    [InlineData("45", 45)]
    public void ParseDuration_UnitSuffixes_Understood(string text, double seconds)
        => Assert.Equal(TimeSpan.FromSeconds(seconds), RunOptions.ParseDuration("--duration", text));

    [Theory]
    [InlineData("--faults", "kill,explode")]
    [InlineData("--clients", "0")]
    [InlineData("--duration", "-5s")]
    [InlineData("--bogus", "1")]
    public void Parse_BadArgument_ThrowsNamingIt(string option, string value)
    {
        var e = Assert.Throws<ArgumentException>(() => RunOptions.Parse([option, value]));
        Assert.Contains(option == "--faults" ? "explode" : option, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_SteadyLinearGrowth_IsGrowing()
    {
        var samples = Enumerable.Range(0, 20).Select(i => (Seconds: i * 5.0, Value: 100.0 + i * 10 + (i % 2))).ToList();

        var verdict = GrowthTest.Judge("rss", "MB", samples, 0.10, 20);

        Assert.True(verdict.Growing);
        Assert.InRange(verdict.SlopePerMinute, 110, 130);
    }

    [Fact]
    public void Judge_WarmUpThenFlatWithNoise_IsNotGrowing()
    {
        var samples = Enumerable.Range(0, 20).Select(i => (Seconds: i * 5.0, Value: i < 10 ? 50.0 + i * 10 : 150.0 + (i % 3) - 1)).ToList();

        var verdict = GrowthTest.Judge("rss", "MB", samples, 0.10, 20);

        Assert.False(verdict.Growing);
    }
}

public sealed class FuzzInputsTests
{
    [Fact]
    public void Sample_FixedSeed_SameCasesEveryRunAndTheRequestedCount()
    {
        var first = Fuzzing.FuzzInputs.Sample(Fuzzing.FuzzInputs.Request, 5, 50).Select(r => r.Describe()).ToList();
        var second = Fuzzing.FuzzInputs.Sample(Fuzzing.FuzzInputs.Request, 5, 50).Select(r => r.Describe()).ToList();

        Assert.Equal(50, first.Count);
        Assert.Equal(first, second);
        Assert.True(first.Distinct().Count() > 30, "the generator should vary its cases");
    }
}
