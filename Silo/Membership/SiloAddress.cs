using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace OrleansLocks.Silo.Membership;

/// <summary>
/// Identifies one incarnation of a silo (Orleans' SiloAddress): the endpoint other silos reach it at, plus a
/// generation that a restarted silo on the same endpoint never repeats, so the membership table keeps one row per
/// incarnation and a probe or call meant for a dead incarnation is never answered by its successor.
/// Written as <c>host:port@generation</c> (<c>[v6]:port@generation</c> for IPv6 literals).
/// </summary>
internal sealed record SiloAddress(string Host, int Port, int Generation) : IComparable<SiloAddress>
{
    /// <summary>Generations count seconds from this epoch (as Orleans does), so they fit an int for decades.</summary>
    private static readonly DateTimeOffset GenerationEpoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static int _lastGeneration;

    /// <summary>The endpoint as host:port (IPv6 literals in brackets): what <c>GET /cluster</c> shows.</summary>
    public string Endpoint => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>The base URI of the silo's transport (h2c).</summary>
    public Uri BaseUri => new($"http://{Endpoint}/");

    /// <summary>
    /// A generation for a silo starting now: seconds since 2024-01-01, and strictly greater than any generation this
    /// process handed out before (in-process test clusters start several silos within one second).
    /// </summary>
    public static int NewGeneration(TimeProvider timeProvider)
    {
        var now = (int)Math.Clamp((timeProvider.GetUtcNow() - GenerationEpoch).TotalSeconds, 1, int.MaxValue - 1);
        while (true)
        {
            var last = Volatile.Read(ref _lastGeneration);
            var next = Math.Max(now, last + 1);
            if (Interlocked.CompareExchange(ref _lastGeneration, next, last) == last)
            {
                return next;
            }
        }
    }

    public static SiloAddress Parse(string text)
        => TryParse(text, out var address) ? address : throw new FormatException($"'{text}' is not a silo address (host:port@generation).");

    public static bool TryParse(string? text, [NotNullWhen(true)] out SiloAddress? address)
    {
        address = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var at = text.LastIndexOf('@');
        var colon = at < 0 ? -1 : text.LastIndexOf(':', at);
        if (colon <= 0
            || !int.TryParse(text.AsSpan(colon + 1, at - colon - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || !int.TryParse(text.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var generation)
            || port is < 1 or > 65535)
        {
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (host.Length == 0)
        {
            return false;
        }

        address = new SiloAddress(host, port, generation);
        return true;
    }

    public int CompareTo(SiloAddress? other)
    {
        if (other is null)
        {
            return 1;
        }

        var byHost = string.CompareOrdinal(Host, other.Host);
        if (byHost != 0)
        {
            return byHost;
        }

        return Port != other.Port ? Port.CompareTo(other.Port) : Generation.CompareTo(other.Generation);
    }

    /// <summary>Whether <paramref name="other"/> is an incarnation of the same endpoint (any generation).</summary>
    public bool IsSameEndpoint(SiloAddress other) => Port == other.Port && string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"{Endpoint}@{Generation.ToString(CultureInfo.InvariantCulture)}";
}
