using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Xml;

namespace OrleansLocks.Api.Models;

/// <summary>
/// A request duration (<c>ttl</c>, <c>wait</c>): either an integer number of milliseconds (<c>30000</c>) or an
/// ISO-8601 duration string (<c>"PT30S"</c>).
/// </summary>
/// <remarks>
/// Values too large for a <see cref="TimeSpan"/> saturate to <see cref="TimeSpan.MaxValue"/> (or
/// <see cref="TimeSpan.MinValue"/>) instead of failing to parse, so that the range check names them as out of
/// range — "too long" is a more useful answer than "not a duration".
/// </remarks>
[JsonConverter(typeof(DurationJsonConverter))]
public readonly record struct Duration(TimeSpan Value)
{
    /// <summary>Reads <paramref name="text"/> as an ISO-8601 duration (<c>PT30S</c>, <c>P1DT2H</c>, <c>-PT5S</c>).</summary>
    public static bool TryParseIso8601(string text, out Duration duration)
    {
        duration = default;

        // XmlConvert accepts surrounding white space and the empty designator "P"; neither is a duration a client meant.
        if (text.Length < 2 || text != text.Trim() || text is "P" or "-P" || text.EndsWith('T'))
        {
            return false;
        }

        try
        {
            duration = new Duration(XmlConvert.ToTimeSpan(text));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
        catch (OverflowException)
        {
            duration = new Duration(text.StartsWith('-') ? TimeSpan.MinValue : TimeSpan.MaxValue);
            return true;
        }
    }

    /// <summary>Milliseconds as a duration, saturating beyond the range of <see cref="TimeSpan"/>.</summary>
    public static Duration FromMilliseconds(long milliseconds)
        => milliseconds > (long)TimeSpan.MaxValue.TotalMilliseconds ? new Duration(TimeSpan.MaxValue)
            : milliseconds < (long)TimeSpan.MinValue.TotalMilliseconds ? new Duration(TimeSpan.MinValue)
            : new Duration(TimeSpan.FromMilliseconds(milliseconds));

    /// <summary>The ISO-8601 form, e.g. <c>PT30S</c>.</summary>
    public override string ToString() => XmlConvert.ToString(Value);
}

/// <summary>Reads a <see cref="Duration"/> from a JSON integer (milliseconds) or string (ISO-8601); writes milliseconds.</summary>
public sealed class DurationJsonConverter : JsonConverter<Duration>
{
    public override Duration Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out var milliseconds))
                {
                    return Duration.FromMilliseconds(milliseconds);
                }

                // Exponent forms (1e3) and integers beyond long are still whole numbers: beyond long they saturate
                // so that the range check reports them.
                if (reader.TryGetDecimal(out var big) && decimal.Truncate(big) == big)
                {
                    return big is >= long.MinValue and <= long.MaxValue
                        ? Duration.FromMilliseconds((long)big)
                        : new Duration(big > 0 ? TimeSpan.MaxValue : TimeSpan.MinValue);
                }

                if (reader.TryGetDouble(out var huge) && double.IsFinite(huge) && Math.Abs(huge) > (double)decimal.MaxValue)
                {
                    return new Duration(huge > 0 ? TimeSpan.MaxValue : TimeSpan.MinValue);
                }

                throw new ApiJsonException("A duration must be an integer number of milliseconds or an ISO-8601 duration string; got a fractional number.");

            case JsonTokenType.String:
                var text = reader.GetString()!;
                if (Duration.TryParseIso8601(text, out var duration))
                {
                    return duration;
                }

                throw new ApiJsonException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"'{Truncate(text)}' is not an ISO-8601 duration (e.g. \"PT30S\") and not an integer number of milliseconds."));

            default:
                throw new ApiJsonException(
                    $"A duration must be an integer number of milliseconds or an ISO-8601 duration string; got {Describe(reader.TokenType)}.");
        }
    }

    public override void Write(Utf8JsonWriter writer, Duration value, JsonSerializerOptions options)
        => writer.WriteNumberValue((long)value.Value.TotalMilliseconds);

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        _ => token.ToString().ToLowerInvariant(),
    };
}

/// <summary>A JSON error raised by our own converters: its message is written for clients and shown verbatim.</summary>
public sealed class ApiJsonException(string message) : JsonException(message);
