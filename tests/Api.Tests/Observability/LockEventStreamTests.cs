using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests.Observability;

/// <summary>GET /locks/{name}/events: every event of a lock, in order, with ids to resume from.</summary>
public sealed class LockEventStreamTests : IDisposable
{
    private readonly ObservabilityFactory _factory = new();

    [Fact]
    public async Task Events_ScriptedProtocol_DeliversEveryEventInOrder()
    {
        using var client = new LockClient(_factory.CreateClient());
        var name = "sse-" + Guid.NewGuid().ToString("N")[..8];
        await using var stream = await SseReader.OpenAsync(_factory.CreateClient(), name, lastEventId: null);
        var reset = await stream.NextAsync();
        Assert.Equal("reset", reset.Type);
        Assert.Equal("free", reset.Data["state"]!["mode"]!.GetValue<string>());

        var a = (await client.AcquireAsync(name, new { owner = "a", ttl = 60_000 })).Expect(HttpStatusCode.OK).Json;
        var waitingB = client.AcquireAsync(name, new { owner = "b", ttl = 60_000, wait = 60_000, requestId = "b-1" });
        await Eventually.TrueAsync(async () => (await client.GetStateAsync(name)).Json["waiters"]!.AsArray().Count == 1, "b is queued");
        var waitingC = client.AcquireAsync(name, new { owner = "c", ttl = 60_000, wait = 60_000, requestId = "c-1" });
        await Eventually.TrueAsync(async () => (await client.GetStateAsync(name)).Json["waiters"]!.AsArray().Count == 2, "c is queued");
        (await client.RenewAsync(name, new { leaseId = a["leaseId"]!.GetValue<string>() })).Expect(HttpStatusCode.OK);
        (await client.ReleaseAsync(name, a["leaseId"]!.GetValue<string>())).Expect(HttpStatusCode.NoContent);
        var b = (await waitingB).Expect(HttpStatusCode.OK).Json;
        (await client.ReleaseAsync(name, b["leaseId"]!.GetValue<string>())).Expect(HttpStatusCode.NoContent);
        (await waitingC).Expect(HttpStatusCode.OK);
        (await client.ForceReleaseAsync(name, "test", adminKey: null)).Expect(HttpStatusCode.NoContent);
        (await client.AcquireAsync(name, new { owner = "d", ttl = 1_000 })).Expect(HttpStatusCode.OK);

        string[] expected =
        [
            "granted a 1", "queued b @1", "queued c @2", "renewed a 1", "released a 1", "granted b 2", "released b 2", "granted c 3",
            "forced c 3", "granted d 5", "expired d 5",
        ];
        var received = new List<SseEvent>();
        foreach (var _ in expected)
        {
            received.Add(await stream.NextAsync());
        }

        Assert.Equal(expected, received.Select(Describe));

        // Ids are "<epoch>.<sequence>": one epoch, sequences 1, 2, 3, … without gaps.
        var epoch = reset.Id![..reset.Id!.LastIndexOf('.')];
        Assert.Equal(Enumerable.Range(1, expected.Length).Select(i => $"{epoch}.{i}"), received.Select(e => e.Id));
        Assert.Equal(Enumerable.Range(1, expected.Length).Select(i => (long)i), received.Select(e => e.Data["sequence"]!.GetValue<long>()));
        Assert.All(received, e => Assert.Equal(e.Type, e.Data["type"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Events_ReconnectWithLastEventId_ResumesExactlyAfterIt()
    {
        using var client = new LockClient(_factory.CreateClient());
        var name = "sse-resume-" + Guid.NewGuid().ToString("N")[..8];
        string lastSeen;
        await using (var first = await SseReader.OpenAsync(_factory.CreateClient(), name, lastEventId: null))
        {
            Assert.Equal("reset", (await first.NextAsync()).Type);
            var lease = (await client.AcquireAsync(name, new { owner = "x", ttl = 60_000 })).Expect(HttpStatusCode.OK).Json;
            var granted = await first.NextAsync();
            Assert.Equal("granted x 1", Describe(granted));
            lastSeen = granted.Id!;

            // While nobody watches: a release and a new grant.
            (await client.ReleaseAsync(name, lease["leaseId"]!.GetValue<string>())).Expect(HttpStatusCode.NoContent);
        }

        (await client.AcquireAsync(name, new { owner = "y", ttl = 60_000 })).Expect(HttpStatusCode.OK);

        await using var resumed = await SseReader.OpenAsync(_factory.CreateClient(), name, lastSeen);
        var next = await resumed.NextAsync();
        var after = await resumed.NextAsync();
        Assert.Equal(new[] { "released x 1", "granted y 2" }, new[] { Describe(next), Describe(after) });
        var epoch = lastSeen[..lastSeen.LastIndexOf('.')];
        Assert.Equal(new[] { $"{epoch}.2", $"{epoch}.3" }, new[] { next.Id!, after.Id! });
    }

    [Fact]
    public async Task Events_LastEventIdOfAnotherEpoch_StartsWithResetAndCurrentState()
    {
        using var client = new LockClient(_factory.CreateClient());
        var name = "sse-reset-" + Guid.NewGuid().ToString("N")[..8];
        (await client.AcquireAsync(name, new { owner = "holder", ttl = 60_000 })).Expect(HttpStatusCode.OK);

        await using var stream = await SseReader.OpenAsync(_factory.CreateClient(), name, "gone-epoch.17");
        var reset = await stream.NextAsync();

        Assert.Equal("reset", reset.Type);
        Assert.Equal("holder", reset.Data["state"]!["holders"]![0]!["owner"]!.GetValue<string>());
        Assert.EndsWith(".1", reset.Id, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_InvalidLockName_Is400()
    {
        using var client = new LockClient(_factory.CreateClient());
        var response = await client.GetAsync("/locks/bad%20name/events");
        response.Expect(HttpStatusCode.BadRequest);
        Assert.Equal("invalid-lock-name", response.Code);
    }

    public void Dispose() => _factory.Dispose();

    private static string Describe(SseEvent e)
    {
        var owner = e.Data["owner"]!.GetValue<string>();
        return e.Type is "queued" or "dequeued"
            ? $"{e.Type} {owner} @{e.Data["position"]!.GetValue<int>()}"
            : $"{e.Type} {owner} {e.Data["fencingToken"]!.GetValue<long>()}";
    }
}

/// <summary>One server-sent event.</summary>
public sealed record SseEvent(string Type, string? Id, JsonObject Data);

/// <summary>A minimal Server-Sent Events reader over a streaming HTTP response (comments and retry lines skipped).</summary>
public sealed class SseReader : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseReader(HttpClient http, HttpResponseMessage response, StreamReader reader) => (_http, _response, _reader) = (http, response, reader);

    public static async Task<SseReader> OpenAsync(HttpClient http, string name, string? lastEventId)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/locks/{name}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8);
        return new SseReader(http, response, reader);
    }

    /// <summary>The next event (not comment), within a generous timeout.</summary>
    public async Task<SseEvent> NextAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? type = null, id = null;
        var data = new StringBuilder();
        while (true)
        {
            var line = await _reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("The event stream ended.");
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    return new SseEvent(type ?? "message", id, JsonNode.Parse(data.ToString())!.AsObject());
                }

                type = id = null;
                continue;
            }

            if (line.StartsWith(':'))
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "event":
                    type = value;
                    break;
                case "id":
                    id = value;
                    break;
                case "data":
                    data.Append(data.Length > 0 ? "\n" : "").Append(value);
                    break;
                default:
                    break;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
