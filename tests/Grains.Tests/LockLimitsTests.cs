namespace OrleansLocks.Grains.Tests;

public sealed class LockLimitsTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("orders-42")]
    [InlineData("A.b_c-d:e~f")]
    [InlineData("...")]
    [InlineData(".hidden")]
    public void ValidateName_AllowedNames_Null(string name) => Assert.Null(LockLimits.ValidateName(name));

    [Theory]
    [InlineData("", "empty")]
    [InlineData(".", "reserved")]
    [InlineData("..", "reserved")]
    [InlineData("a b", "' ' at position 1")]
    [InlineData("a/b", "'/' at position 1")]
    [InlineData("ключ", "position 0")]
    public void ValidateName_BadNames_SaysWhy(string name, string expected)
        => Assert.Contains(expected, LockLimits.ValidateName(name), StringComparison.Ordinal);

    [Fact]
    public void ValidateName_201Characters_SaysTheLimit()
        => Assert.Contains("at most 200", LockLimits.ValidateName(new string('n', 201)), StringComparison.Ordinal);

    [Theory]
    [InlineData(null, false, null)]
    [InlineData(null, true, "required")]
    [InlineData("ok", true, null)]
    [InlineData("tab\there", false, "control character")]
    public void ValidateLabel_Cases(string? value, bool required, string? expected)
    {
        var error = LockLimits.ValidateLabel("owner", value, required);
        if (expected is null)
        {
            Assert.Null(error);
        }
        else
        {
            Assert.Contains(expected, error, StringComparison.Ordinal);
        }
    }
}
