using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace OrleansLocks.Faults.Tests.Fuzzing;

/// <summary>One generated HTTP request.</summary>
public sealed record FuzzRequest(string Method, string Name, string Action, string? Query, byte[]? Body, string? ContentType, IReadOnlyList<(string Header, string Value)> Headers)
{
    public string Path => $"locks/{Uri.EscapeDataString(Name)}{(Action.Length == 0 ? "" : "/" + Action)}{Query}";

    /// <summary>A reproduction for the failure message.</summary>
    public string Describe()
    {
        var body = Body is null ? "(no body)" : Encoding.UTF8.GetString(Body);
        body = body.Length > 300 ? body[..300] + $"… ({Body!.Length} bytes)" : body;
        var headers = string.Concat(Headers.Select(h => $" -H '{h.Header}: {h.Value}'"));
        return $"{Method} /{(Path.Length > 200 ? Path[..200] + "…" : Path)}{(ContentType is null ? "" : $" [{ContentType}]")}{headers} {body}";
    }
}

/// <summary>
/// FsCheck generators for bad input: malformed JSON, wrong types, huge and unicode names, extreme durations,
/// unknown and forged lease ids. Sampled with a fixed seed, so every run sends the same cases.
/// </summary>
public static class FuzzInputs
{
    /// <summary>The valid lock names the fuzz cases aim at (so their state can be checked afterwards).</summary>
    public static readonly string[] TargetNames = ["fz-a", "fz-b", "fz.c:d~e_f", "FZ-0123456789"];

    public static IReadOnlyList<T> Sample<T>(Gen<T> gen, int seed, int count, int size = 30)
        => [.. Gen.Sample(gen, count, new Rnd((ulong)seed), size)];

    // No "wait": a generated valid wait on a held lock would long-poll up to 60 s per case. Waits are fuzzed on free
    // locks by the duration property instead.
    private static readonly string[] Fields = ["mode", "owner", "ttl", "requestId", "leaseId", "fencingToken", "reason", "unknown", "TTL", "Mode", ""];

    /// <summary>JSON values of every type and many edge cases (as JSON text).</summary>
    public static Gen<string> JsonValue => Gen.OneOf(
        Gen.Elements(
            "null", "true", "false", "0", "-1", "1", "999", "1000", "2000", "1.5", "-0", "1e308", "-1e308", "1e-308",
            "2147483647", "2147483648", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999999",
            "\"exclusive\"", "\"shared\"", "\"EXCLUSIVE\"", "\"upgrade\"", "\"\"", "\" \"", "\"anonymous\"",
            "[]", "{}", "[1,2,3]", "{\"a\":1}", "[\"exclusive\"]", "{\"ms\":1000}",
            "\"PT30S\"", "\"PT0S\"", "\"PT-5S\"", "\"-PT5S\"", "\"P1000Y\"", "\"PT1H\"", "\"PT1H0.001S\"", "\"P1D\"", "\"PT\"", "\"P\"",
            "\"PT60S\"", "\"PT60.001S\"", "\"PT0.0000001S\"", "\"PT1e3S\"", "\"PT9999999999999999999S\"", "\"P10675199DT2H48M5.4775807S\"",
            "\"30000\"", "\"30s\"", "\"00:00:30\"", "\"abc\"", "\"\\u0000\"", "\"\\ud800\"", "\"é🔒\"", "\"\\n\\t\"",
            "\"AAAAAAAAAAAAAAAAAAAAAA\"", "\"not-a-lease\""),
        LongString.Select(s => JsonText(s)),
        Gen.Choose(-1_000_000, 4_000_000).Select(n => n.ToString(CultureInfo.InvariantCulture)),
        ForgedLeaseId.Select(s => JsonText(s)));

    /// <summary>Strings of 0–5000 characters: ASCII, unicode (accents, emoji, RTL, zero-width), controls.</summary>
    public static Gen<string> LongString => Gen.OneOf(
        Gen.Elements(0, 1, 199, 200, 201, 1000, 5000).SelectMany(n => Gen.Elements("a", "é", "🔒", "\u200b", "\u202e", "\u0007").Select(c => string.Concat(Enumerable.Repeat(c, n)))),
        Gen.ArrayOf(Gen.Choose(0, 0x2FFF).Select(i => (char)i)).Select(cs => new string(cs)));

    /// <summary>Lease ids that are not leases: random base64url of the right length, wrong lengths, unicode.</summary>
    public static Gen<string> ForgedLeaseId => Gen.OneOf(
        Gen.ArrayOf(Gen.Elements("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".ToCharArray()), 22).Select(cs => new string(cs)),
        Gen.Choose(0, 300).Select(n => new string('A', n)),
        Gen.Elements("", " ", "null", "🔒🔒🔒", "AAAAAAAAAAAAAAAAAAAAA=", "../../etc/passwd", "' OR 1=1 --"));

    /// <summary>A JSON object with 0–5 fields (names from the contract and a few wrong ones), duplicates allowed.</summary>
    public static Gen<string> ObjectBody =>
        Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(Gen.Elements(Fields).SelectMany(f => JsonValue.Select(v => $"{JsonText(f)}:{v}")), n))
            .Select(pairs => "{" + string.Join(",", pairs) + "}");

    /// <summary>Text that is not valid JSON, or is JSON of the wrong shape.</summary>
    public static Gen<string> MalformedBody => Gen.OneOf(
        Gen.Elements(
            "", " ", "{", "}", "[", "]", "nul", "tru", "{\"mode\":}", "{\"ttl\":1,}", "{'mode':'exclusive'}", "{mode:\"exclusive\"}",
            "{\"mode\":\"exclusive\"}{}", "{\"mode\":\"exclusive\"} trailing", "\"just a string\"", "42", "[{}]", "null",
            "{\"ttl\":1e99999}", "{\"ttl\":NaN}", "{\"ttl\":Infinity}", "{\"ttl\":0x10}", "{\"ttl\":+1}", "{\"ttl\":01}",
            "{\"owner\":\"\\uZZZZ\"}", "{\"owner\":\"a\u0000b\"}", "/* comment */ {}", "{\"a\":1 // c\n}",
            new string('[', 2000) + new string(']', 2000), string.Concat(Enumerable.Repeat("{\"a\":", 300)) + "1" + new string('}', 300)),
        ObjectBody.SelectMany(body => Gen.Choose(0, Math.Max(0, body.Length - 1)).Select(cut => body[..cut])),
        ObjectBody.SelectMany(body => Gen.Elements('"', '{', '}', ',', ':', '\\', '\u0001').SelectMany(c => Gen.Choose(0, body.Length).Select(at => body.Insert(at, c.ToString())))));

    /// <summary>A lock name: mostly the targets, else something huge, unicode or forbidden.</summary>
    public static Gen<string> Name => Gen.Frequency(
        (6, Gen.Elements(TargetNames)),
        (1, Gen.Elements("", " ", "a b", "a/b", "a\\b", "a%2Fb", "a?b", "a#b", "a\u0000b", "é", "🔒", "\u202elock", "lock\n", "*", "%", "+", "a+b")),
        (1, Gen.Elements(200, 201, 1000, 10_000).Select(n => new string('n', n))),
        (1, LongString.Where(s => s.Length > 0)));

    private static readonly string[] Actions = ["acquire", "renew", "release", "validate", "force-release"];

    /// <summary>A request to one of the lock endpoints with a generated body and headers.</summary>
    public static Gen<FuzzRequest> Request =>
        from name in Name
        from action in Gen.Frequency((8, Gen.Elements(Actions)), (1, Gen.Constant("")), (1, Gen.Elements("ACQUIRE", "acquire/extra", "%20")))
        from method in action.Length == 0 ? Gen.Elements("GET", "GET", "POST", "DELETE") : Gen.Frequency((9, Gen.Constant("POST")), (1, Gen.Elements("GET", "PUT", "PATCH", "DELETE")))
        from body in Gen.Frequency(
            (5, ObjectBody.Select(s => (string?)s)),
            (4, MalformedBody.Select(s => (string?)s)),
            (1, Gen.Constant<string?>(null)))
        from contentType in Gen.Frequency(
            (8, Gen.Constant<string?>("application/json")),
            (1, Gen.Elements<string?>("text/plain", "application/json; charset=utf-16", "application/xml", "application/problem+json", "multipart/form-data", null)))
        from rawBytes in Gen.Frequency((19, Gen.Constant<byte[]?>(null)), (1, Gen.Elements<byte[]?>([0xff, 0xfe, 0x00], [0xef, 0xbb, 0xbf, 0x7b, 0x7d], [0xc3, 0x28], new byte[100_000])))
        from headers in Gen.Frequency(
            (7, Gen.Constant<(string, string)[]>([])),
            (3, Gen.Elements("Idempotency-Key", "X-Admin-Key").SelectMany(h => Gen.OneOf(ForgedLeaseId, LongString).Select(v => new[] { (h, v) }))))
        select new FuzzRequest(method, name, action, null, rawBytes ?? (body is null ? null : Encoding.UTF8.GetBytes(body)), contentType, headers);

    /// <summary>GET /locks with generated query strings.</summary>
    public static Gen<string> ListQuery =>
        from limit in Gen.Elements("", "limit=0", "limit=-1", "limit=1", "limit=1000", "limit=1001", "limit=abc", "limit=99999999999", "limit=1.5", "limit=")
        from cursor in Gen.OneOf(Gen.Constant(""), ForgedLeaseId.Select(c => "cursor=" + Uri.EscapeDataString(c)), LongString.Select(c => "cursor=" + Uri.EscapeDataString(c)))
        from prefix in Gen.OneOf(Gen.Constant(""), Gen.Elements("prefix=fz", "prefix=", "prefix=%00", "prefix=" + new string('p', 500)), LongString.Select(p => "prefix=" + Uri.EscapeDataString(p)))
        select "locks?" + string.Join("&", new[] { limit, cursor, prefix }.Where(s => s.Length > 0));

    /// <summary>Extreme durations for ttl and wait, as JSON.</summary>
    public static Gen<(string Ttl, string Wait)> Durations =>
        from ttl in JsonValue
        from wait in Gen.Frequency((3, Gen.Elements("0", "1", "\"PT0S\"", "\"PT0.05S\"")), (1, JsonValue))
        select (ttl, wait);

    public static string JsonText(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
