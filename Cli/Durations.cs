using System.Globalization;
using System.Xml;

namespace OrleansLocks.Cli;

/// <summary>Durations on the command line: <c>500ms</c>, <c>10s</c>, <c>2m</c>, <c>1h</c>, <c>1m30s</c>, ISO-8601 (<c>PT30S</c>), or plain milliseconds.</summary>
internal static class Durations
{
    /// <summary>Words that mean "no limit" for --wait.</summary>
    private static readonly string[] Forever = ["forever", "infinite", "inf", "-1"];

    public static bool TryParse(string text, bool allowInfinite, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        if (allowInfinite && Forever.Contains(text, StringComparer.OrdinalIgnoreCase))
        {
            value = Timeout.InfiniteTimeSpan;
            return true;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            value = TimeSpan.FromMilliseconds(ms);
            return true;
        }

        if (text.StartsWith('P') || text.StartsWith('p'))
        {
            try
            {
                value = XmlConvert.ToTimeSpan(text.ToUpperInvariant());
                return value >= TimeSpan.Zero;
            }
            catch (FormatException)
            {
                return false;
            }
        }

        // A sequence of <number><unit>: 1h30m, 2m, 10s, 250ms, 1.5s.
        var total = TimeSpan.Zero;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }

            if (start == i || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i]))
            {
                i++;
            }

            TimeSpan? part = text[unitStart..i].ToLowerInvariant() switch
            {
                "ms" => TimeSpan.FromMilliseconds(number),
                "s" => TimeSpan.FromSeconds(number),
                "m" => TimeSpan.FromMinutes(number),
                "h" => TimeSpan.FromHours(number),
                _ => null,
            };
            if (part is null)
            {
                return false;
            }

            total += part.Value;
        }

        value = total;
        return true;
    }

    public static string Format(TimeSpan value)
        => value == Timeout.InfiniteTimeSpan ? "forever"
            : value.TotalMilliseconds < 1000 ? $"{value.TotalMilliseconds:0} ms"
            : $"{value.TotalSeconds:0.###} s";
}
