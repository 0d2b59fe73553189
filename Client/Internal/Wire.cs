using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace OrleansLocks.Client;

// The HTTP API v1 wire format, written and read by hand with Utf8JsonWriter/JsonDocument: no reflection-based
// serialization (trimming/AOT-safe), and the client tolerates fields it does not know, so a newer service with
// more fields does not break an older client.

/// <summary>A ProblemDetails answer (RFC 9457) of the service, or the description of a failure without one.</summary>
internal sealed record ProblemInfo(
    HttpStatusCode Status,
    string? Code,
    string? Title,
    string? Detail,
    string? TraceId,
    string? Reason,
    TimeSpan? RetryAfter,
    int? Position,
    IReadOnlyDictionary<string, string[]> Errors)
{
    public string Describe()
    {
        var text = $"{(int)Status} {Code ?? Title ?? Status.ToString()}";
        if (!string.IsNullOrEmpty(Detail))
        {
            text += $": {Detail}";
        }

        if (Errors.Count > 0)
        {
            text += " (" + string.Join("; ", Errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")) + ")";
        }

        return text;
    }
}

/// <summary>An answer of the service with its body read.</summary>
internal sealed record ServiceResponse(HttpStatusCode Status, byte[] Body, TimeSpan? RetryAfter)
{
    /// <summary>TimeProvider timestamp when the attempt that got this answer started.</summary>
    public long SentAt { get; init; }

    /// <summary>TimeProvider timestamp when the answer was read.</summary>
    public long ReceivedAt { get; init; }

    public bool IsSuccess => (int)Status is >= 200 and < 300;

    public JsonElement Json()
    {
        using var document = JsonDocument.Parse(Body);
        return document.RootElement.Clone();
    }

    public ProblemInfo Problem()
    {
        string? code = null, title = null, detail = null, traceId = null, reason = null;
        int? position = null;
        var errors = new Dictionary<string, string[]>();
        try
        {
            if (Body.Length > 0)
            {
                var root = Json();
                if (root.ValueKind == JsonValueKind.Object)
                {
                    code = Str(root, "code");
                    title = Str(root, "title");
                    detail = Str(root, "detail");
                    traceId = Str(root, "traceId");
                    reason = Str(root, "reason");
                    position = root.TryGetProperty("position", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetInt32() : null;
                    if (root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var field in e.EnumerateObject())
                        {
                            errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                                ? field.Value.EnumerateArray().Select(v => v.ToString()).ToArray()
                                : [field.Value.ToString()];
                        }
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not a ProblemDetails body (e.g. a proxy's HTML error page): the status alone describes it.
        }

        return new ProblemInfo(Status, code, title, detail, traceId, reason, RetryAfter, position, errors);
    }

    private static string? Str(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

internal static class Wire
{
    public static byte[] Body(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static string ModeName(LockMode mode) => mode == LockMode.Shared ? "shared" : "exclusive";

    public static long Milliseconds(TimeSpan value) => (long)Math.Ceiling(value.TotalMilliseconds);

    public static Lease ParseLease(JsonElement e) => new(
        e.GetProperty("name").GetString()!,
        e.GetProperty("leaseId").GetString()!,
        ParseMode(e.GetProperty("mode").GetString()),
        e.GetProperty("fencingToken").GetInt64(),
        e.TryGetProperty("owner", out var owner) ? owner.GetString() ?? "" : "",
        e.GetProperty("acquiredAt").GetDateTimeOffset(),
        e.GetProperty("expiresAt").GetDateTimeOffset(),
        TimeSpan.FromMilliseconds(Math.Max(0, e.GetProperty("ttlMs").GetInt64())));

    public static LockState ParseState(JsonElement e) => new(
        e.GetProperty("name").GetString()!,
        e.GetProperty("mode").GetString() is "free" or null ? null : ParseMode(e.GetProperty("mode").GetString()),
        [.. e.GetProperty("holders").EnumerateArray().Select(h => new LockHolder(
            h.GetProperty("owner").GetString() ?? "",
            ParseMode(h.GetProperty("mode").GetString()),
            h.GetProperty("fencingToken").GetInt64(),
            h.GetProperty("acquiredAt").GetDateTimeOffset(),
            h.GetProperty("expiresAt").GetDateTimeOffset()))],
        [.. e.GetProperty("waiters").EnumerateArray().Select(w => new LockWaiter(
            w.GetProperty("owner").GetString() ?? "",
            ParseMode(w.GetProperty("mode").GetString()),
            w.GetProperty("position").GetInt32(),
            w.GetProperty("enqueuedAt").GetDateTimeOffset()))],
        e.GetProperty("fencingCounter").GetInt64());

    public static LockPage ParsePage(JsonElement e) => new(
        [.. e.GetProperty("items").EnumerateArray().Select(ParseState)],
        e.TryGetProperty("nextCursor", out var cursor) && cursor.ValueKind == JsonValueKind.String ? cursor.GetString() : null);

    public static FencingValidation ParseValidation(JsonElement e)
        => new(e.GetProperty("valid").GetBoolean(), e.GetProperty("currentToken").GetInt64());

    private static LockMode ParseMode(string? mode) => mode switch
    {
        "shared" => LockMode.Shared,
        "exclusive" => LockMode.Exclusive,
        _ => throw new JsonException($"Unknown lock mode '{mode}'."),
    };

    /// <summary>Retry-After as delta-seconds or an HTTP date, relative to <paramref name="now"/>.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            return date > now ? date - now : TimeSpan.Zero;
        }

        return null;
    }

    public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
