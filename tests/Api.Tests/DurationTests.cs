using System.Text.Json;
using OrleansLocks.Api.Models;

namespace OrleansLocks.Api.Tests;

/// <summary>The Duration input convention: integer milliseconds or ISO-8601, with saturation instead of overflow.</summary>
public sealed class DurationTests
{
    private sealed record Holder(Duration? Ttl);

    private static TimeSpan? Read(string json) => JsonSerializer.Deserialize<Holder>($"{{\"Ttl\": {json}}}")!.Ttl?.Value;

    public static TheoryData<string, TimeSpan> Valid => new()
    {
        { "30000", TimeSpan.FromSeconds(30) },
        { "0", TimeSpan.Zero },
        { "-5", TimeSpan.FromMilliseconds(-5) },
        { "1e3", TimeSpan.FromSeconds(1) },
        { "\"PT30S\"", TimeSpan.FromSeconds(30) },
        { "\"PT1M30S\"", TimeSpan.FromSeconds(90) },
        { "\"PT0.5S\"", TimeSpan.FromMilliseconds(500) },
        { "\"P1DT2H\"", TimeSpan.FromHours(26) },
        { "\"-PT5S\"", TimeSpan.FromSeconds(-5) },
        { "9223372036854775807", TimeSpan.MaxValue },
        { "1e30", TimeSpan.MaxValue },
        { "-1e30", TimeSpan.MinValue },
        { "\"P100000000D\"", TimeSpan.MaxValue },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Read_MillisecondsOrIso_ParsesOrSaturates(string json, TimeSpan expected) => Assert.Equal(expected, Read(json));

    [Fact]
    public void Read_Null_IsAbsent() => Assert.Null(Read("null"));

    public static TheoryData<string> Invalid => ["1.5", "true", "\"soon\"", "\"30000\"", "\"P\"", "\"PT\"", "\" PT5S\"", "{}", "[]", "\"\""];

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Read_NotADuration_ThrowsNamingThePath(string json)
    {
        var error = Assert.ThrowsAny<JsonException>(() => Read(json));
        Assert.Equal("$.Ttl", error.Path);
    }

    [Fact]
    public void Write_AnyDuration_AsMilliseconds()
        => Assert.Equal("{\"Ttl\":90000}", JsonSerializer.Serialize(new Holder(new Duration(TimeSpan.FromSeconds(90)))));

    [Fact]
    public void ToString_IsIso8601() => Assert.Equal("PT1M30S", new Duration(TimeSpan.FromSeconds(90)).ToString());
}
