using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using OrleansLocks.Client;

namespace OrleansLocks.Cli;

/// <summary>
/// What the script commands print: aligned "key: value" text by default, or the HTTP API's JSON shapes with --json
/// (instants in UTC with a Z, as the service writes them).
/// </summary>
internal static class Output
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static string Json(object value) => JsonSerializer.Serialize(value, JsonOptions);

    public static object LeaseJson(Client.Lease lease) => new
    {
        lease.Name,
        lease.LeaseId,
        lease.Mode,
        lease.FencingToken,
        lease.Owner,
        AcquiredAt = lease.AcquiredAt.UtcDateTime,
        ExpiresAt = lease.ExpiresAt.UtcDateTime,
        TtlMs = (long)lease.TimeToLive.TotalMilliseconds,
    };

    public static object StateJson(LockState state) => new
    {
        state.Name,
        Mode = state.Mode is { } mode ? JsonNamingPolicy.CamelCase.ConvertName(mode.ToString()) : "free",
        Holders = state.Holders.Select(h => new { h.Owner, h.Mode, h.FencingToken, AcquiredAt = h.AcquiredAt.UtcDateTime, ExpiresAt = h.ExpiresAt.UtcDateTime }),
        Waiters = state.Waiters.Select(w => new { w.Owner, w.Mode, w.Position, EnqueuedAt = w.EnqueuedAt.UtcDateTime }),
        state.FencingCounter,
    };

    public static string LeaseText(Client.Lease lease) => Table(
        ("name", lease.Name),
        ("lease-id", lease.LeaseId),
        ("mode", Mode(lease.Mode)),
        ("fencing-token", lease.FencingToken.ToString(CultureInfo.InvariantCulture)),
        ("owner", lease.Owner),
        ("acquired-at", Instant(lease.AcquiredAt)),
        ("expires-at", Instant(lease.ExpiresAt)),
        ("ttl-ms", ((long)lease.TimeToLive.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)));

    public static string StateText(LockState state)
    {
        var lines = new List<string>
        {
            Table(
                ("name", state.Name),
                ("mode", state.Mode is { } m ? Mode(m) : "free"),
                ("fencing-counter", state.FencingCounter.ToString(CultureInfo.InvariantCulture)),
                ("holders", state.Holders.Count.ToString(CultureInfo.InvariantCulture)),
                ("waiters", state.Waiters.Count.ToString(CultureInfo.InvariantCulture))),
        };
        foreach (var holder in state.Holders)
        {
            lines.Add($"  holder  {Mode(holder.Mode),-9} token {holder.FencingToken,-8} {holder.Owner}  acquired {Instant(holder.AcquiredAt)}  expires {Instant(holder.ExpiresAt)}");
        }

        foreach (var waiter in state.Waiters)
        {
            lines.Add($"  waiter  {Mode(waiter.Mode),-9} #{waiter.Position,-13} {waiter.Owner}  since {Instant(waiter.EnqueuedAt)}");
        }

        return string.Join(Environment.NewLine, lines);
    }

    public static string ListLine(LockState state)
        => $"{state.Name,-40} {(state.Mode is { } m ? Mode(m) : "free"),-9} holders {state.Holders.Count,-4} waiters {state.Waiters.Count,-6} counter {state.FencingCounter}";

    private static string Mode(Client.LockMode mode) => mode == Client.LockMode.Shared ? "shared" : "exclusive";

    private static string Instant(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Table(params (string Key, string Value)[] rows)
    {
        var width = rows.Max(r => r.Key.Length) + 2;
        return string.Join(Environment.NewLine, rows.Select(r => (r.Key + ":").PadRight(width) + r.Value));
    }
}
