namespace OrleansLocks.Grains.Tests;

public sealed class LockOptionsValidatorTests
{
    [Fact]
    public void Validate_Defaults_Succeed()
    {
        var result = new LockOptionsValidator().Validate(null, new LockOptions());

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData("MinTtl", "00:00:00")]
    [InlineData("MinTtl", "00:01:00")] // above DefaultTtl
    [InlineData("DefaultTtl", "00:00:00.5")]
    [InlineData("MaxTtl", "00:00:10")]
    [InlineData("MaxTtl", "2.00:00:00")]
    [InlineData("MaxWait", "00:00:00")]
    [InlineData("MaxWait", "00:10:01")]
    [InlineData("WaiterGrace", "00:00:00")]
    [InlineData("RecoveryGrace", "-00:00:01")]
    [InlineData("TombstoneRetention", "-00:00:01")]
    [InlineData("MaxTombstones", "-1")]
    [InlineData("MaxQueueLength", "0")]
    public void Validate_BadSetting_FailureNamesIt(string setting, string value)
    {
        var options = new LockOptions();
        var property = typeof(LockOptions).GetProperty(setting)!;
        property.SetValue(options, property.PropertyType == typeof(int) ? int.Parse(value) : TimeSpan.Parse(value));

        var result = new LockOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains($"Locks:{setting}", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ZeroRecoveryGraceAndTombstones_Allowed()
    {
        var result = new LockOptionsValidator().Validate(null, new LockOptions { RecoveryGrace = TimeSpan.Zero, MaxTombstones = 0 });

        Assert.True(result.Succeeded, result.FailureMessage);
    }
}
