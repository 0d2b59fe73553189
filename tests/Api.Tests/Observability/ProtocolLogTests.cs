using System.Diagnostics;
using System.Net;
using System.Text.Json;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests.Observability;

/// <summary>
/// Every step of the lock protocol is a structured log event with the lock, owner, token and request id, written in a
/// scope that names the silo, under the trace of the HTTP request that caused it (W3C traceparent honoured).
/// </summary>
public sealed class ProtocolLogTests : IDisposable
{
    private readonly ObservabilityFactory _factory = new();

    [Fact]
    public async Task LockProtocol_EachStep_IsLoggedWithLockOwnerTokenRequestSiloAndTrace()
    {
        using var client = new LockClient(_factory.CreateClient());
        var name = "logs-" + Guid.NewGuid().ToString("N")[..8];
        var (acquireA, acquireB, renewA, releaseA, force, acquireC) =
            (Trace(), Trace(), Trace(), Trace(), Trace(), Trace());

        var a = (await Send(client, acquireA, "acquire", name, new { owner = "alice", ttl = 60_000, requestId = "alice-1" })).Expect(HttpStatusCode.OK).Json;
        var waitingB = Send(client, acquireB, "acquire", name, new { owner = "bob", ttl = 60_000, wait = 60_000, requestId = "bob-1" });
        await Eventually.TrueAsync(() => Find(3001, "bob") is not null, "bob is queued");
        (await Send(client, renewA, "renew", name, new { leaseId = a["leaseId"]!.GetValue<string>() })).Expect(HttpStatusCode.OK);
        (await Send(client, releaseA, "release", name, new { leaseId = a["leaseId"]!.GetValue<string>() })).Expect(HttpStatusCode.NoContent);
        (await waitingB).Expect(HttpStatusCode.OK);
        (await Send(client, force, "force-release", name, new { reason = "wedged worker" })).Expect(HttpStatusCode.NoContent);
        (await Send(client, acquireC, "acquire", name, new { owner = "carol", ttl = 1_000, requestId = "carol-1" })).Expect(HttpStatusCode.OK);
        await Eventually.TrueAsync(() => Find(3005, "carol") is not null, "carol's lease expires");

        // Request received (Api and grain), with the request's trace id.
        AssertEvent(Find(4000, "alice"), name, "alice", token: null, "alice-1", acquireA);
        AssertEvent(Find(3000, "alice"), name, "alice", token: null, "alice-1", acquireA);

        // Granted with token 1; queued at position 1.
        AssertEvent(Find(3002, "alice"), name, "alice", token: 1, "alice-1", acquireA);
        var queued = Find(3001, "bob");
        AssertEvent(queued, name, "bob", token: null, "bob-1", acquireB);
        Assert.Equal("1", queued!.Get("Position"));

        // Renewed and released under their own requests' traces; bob's grant is caused by the release.
        AssertEvent(Find(3003, "alice"), name, "alice", token: 1, "alice-1", renewA);
        AssertEvent(Find(3004, "alice"), name, "alice", token: 1, "alice-1", releaseA);
        AssertEvent(Find(3002, "bob"), name, "bob", token: 2, "bob-1", releaseA);

        // Forced: who and why, under the admin request's trace.
        var forced = Find(3008, "bob");
        AssertEvent(forced, name, "bob", token: 2, "bob-1", force);
        Assert.Equal("wedged worker", forced!.Get("Reason"));
        Assert.Equal(force.TraceId.ToString(), Find(4010, null)!.TraceId);

        // Expired: found by the grain's timer, so no request's trace, but still in the silo's scope.
        var expired = Find(3005, "carol");
        Assert.NotNull(expired);
        Assert.Equal(name, expired!.Get("LockName"));
        Assert.Equal("4", expired.Get("FencingToken"));
        Assert.Equal("obs-silo", expired.Scope["Silo"]);
    }

    [Fact]
    public async Task Traceparent_OfARequest_IsTheTraceOfItsLogsAndProblemDetails()
    {
        using var client = new LockClient(_factory.CreateClient());
        var name = "trace-" + Guid.NewGuid().ToString("N")[..8];
        var holder = Trace();
        (await Send(client, holder, "acquire", name, new { owner = "holder", ttl = 60_000 })).Expect(HttpStatusCode.OK);

        var busy = Trace();
        var conflict = (await Send(client, busy, "acquire", name, new { owner = "late", ttl = 60_000 })).Expect(HttpStatusCode.Conflict).Json;

        // The problem's traceId is the W3C trace id the client sent, so a user can find the service's logs of it.
        Assert.Contains(busy.TraceId.ToString(), conflict["traceId"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(busy.TraceId.ToString(), Find(3000, "late")!.TraceId);
    }

    public void Dispose() => _factory.Dispose();

    private static ActivityContext Trace() => new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);

    private static Task<ApiResponse> Send(LockClient client, ActivityContext trace, string operation, string name, object body)
        => client.SendAsync(
            HttpMethod.Post,
            $"/locks/{name}/{operation}",
            JsonSerializer.Serialize(body),
            headers: new Dictionary<string, string> { ["traceparent"] = $"00-{trace.TraceId}-{trace.SpanId}-01" });

    private StructuredLogCapture.Entry? Find(int eventId, string? owner)
        => _factory.Logs.Entries.FirstOrDefault(e => e.EventId == eventId && (owner is null || e.Get("Owner") == owner));

    private static void AssertEvent(StructuredLogCapture.Entry? entry, string name, string owner, long? token, string requestId, ActivityContext trace)
    {
        Assert.NotNull(entry);
        Assert.Equal(name, entry!.Get("LockName"));
        Assert.Equal(owner, entry.Get("Owner"));
        Assert.Equal(requestId, entry.Get("RequestId"));
        if (token is { } t)
        {
            Assert.Equal(t.ToString(System.Globalization.CultureInfo.InvariantCulture), entry.Get("FencingToken"));
        }

        Assert.Equal(trace.TraceId.ToString(), entry.TraceId);
        if (entry.Category.StartsWith("OrleansLocks.Grains", StringComparison.Ordinal))
        {
            Assert.Equal("obs-silo", entry.Scope["Silo"]);
        }
    }
}
