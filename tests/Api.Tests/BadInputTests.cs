using System.Net;
using System.Text;
using OrleansLocks.Api.Tests.Infrastructure;

namespace OrleansLocks.Api.Tests;

/// <summary>
/// Malformed requests get the right 4xx with a stable code, never a 5xx, and change nothing: every case runs
/// against a lock held by a known lease, whose state is compared before and after.
/// </summary>
public sealed class BadInputTests(BadInputTests.Fixture fixture) : IClassFixture<BadInputTests.Fixture>
{
    public sealed class Fixture : PostgresServiceFixture
    {
        public string HeldName { get; } = $"held-{Guid.NewGuid():N}";

        public string LeaseId { get; private set; } = "";

        public async Task<string> SnapshotAsync()
        {
            using var client = CreateClient();
            return (await client.GetStateAsync(HeldName)).Expect(HttpStatusCode.OK).RawBody;
        }

        public async Task EnsureHeldAsync()
        {
            if (LeaseId.Length > 0)
            {
                return;
            }

            using var client = CreateClient();
            LeaseId = (await client.AcquireAsync(HeldName, new { owner = "holder", ttl = "PT1H" })).Expect(HttpStatusCode.OK).Json["leaseId"]!.GetValue<string>();
        }
    }

    /// <param name="ErrorKey">For 400s: the key <c>errors</c> must contain.</param>
    public sealed record Case(
        HttpMethod Method,
        string Path,
        string? Body,
        HttpStatusCode Status,
        string Code,
        string? ErrorKey = null,
        string? ContentType = "application/json",
        Dictionary<string, string>? Headers = null,
        Func<HttpContent>? Content = null);

    private const string Forged = "AAAAAAAAAAAAAAAAAAAAAA";
    private static readonly string Name201 = new('n', 201);
    private static readonly string Label201 = new('x', 201);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["name with a space"] = new(HttpMethod.Post, "/locks/bad%20name/acquire", "{}", HttpStatusCode.BadRequest, "invalid-lock-name", "name"),
        ["cyrillic name"] = new(HttpMethod.Post, "/locks/%D0%BA%D0%BB%D1%8E%D1%87/acquire", "{}", HttpStatusCode.BadRequest, "invalid-lock-name", "name"),
        ["emoji name"] = new(HttpMethod.Post, "/locks/lock%F0%9F%94%92/acquire", "{}", HttpStatusCode.BadRequest, "invalid-lock-name", "name"),
        ["201-character name"] = new(HttpMethod.Post, $"/locks/{Name201}/acquire", "{}", HttpStatusCode.BadRequest, "invalid-lock-name", "name"),
        ["201-character name, state"] = new(HttpMethod.Get, $"/locks/{Name201}", null, HttpStatusCode.BadRequest, "invalid-lock-name", "name"),
        ["encoded slash in name"] = new(HttpMethod.Post, "/locks/a%2Fb/renew", "{\"leaseId\":\"x\"}", HttpStatusCode.BadRequest, "invalid-lock-name", "name"),
        ["slash in name"] = new(HttpMethod.Post, "/locks/a/b/acquire", "{}", HttpStatusCode.NotFound, "not-found"),
        ["no body"] = new(HttpMethod.Post, "/locks/{name}/acquire", null, HttpStatusCode.BadRequest, "invalid-request", "body", ContentType: null),
        ["empty JSON body"] = new(HttpMethod.Post, "/locks/{name}/acquire", "", HttpStatusCode.BadRequest, "invalid-request", "body"),
        ["JSON null body"] = new(HttpMethod.Post, "/locks/{name}/acquire", "null", HttpStatusCode.BadRequest, "invalid-request", "body"),
        ["truncated JSON"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{", HttpStatusCode.BadRequest, "invalid-json"),
        ["missing value"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": }", HttpStatusCode.BadRequest, "invalid-json", "$.ttl"),
        ["array instead of object"] = new(HttpMethod.Post, "/locks/{name}/acquire", "[]", HttpStatusCode.BadRequest, "invalid-json", "$"),
        ["trailing garbage"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{} x", HttpStatusCode.BadRequest, "invalid-json"),
        ["ttl boolean"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": true}", HttpStatusCode.BadRequest, "invalid-json", "$.ttl"),
        ["ttl prose"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": \"soon\"}", HttpStatusCode.BadRequest, "invalid-json", "$.ttl"),
        ["ttl fractional"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": 1.5}", HttpStatusCode.BadRequest, "invalid-json", "$.ttl"),
        ["ttl number as string"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": \"30000\"}", HttpStatusCode.BadRequest, "invalid-json", "$.ttl"),
        ["ttl object"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": {\"ms\": 5}}", HttpStatusCode.BadRequest, "invalid-json", "$.ttl"),
        ["ttl negative"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": -1000}", HttpStatusCode.BadRequest, "invalid-request", "ttl"),
        ["ttl zero"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": 0}", HttpStatusCode.BadRequest, "invalid-request", "ttl"),
        ["ttl below minimum"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": 999}", HttpStatusCode.BadRequest, "invalid-request", "ttl"),
        ["ttl above maximum"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": 3600001}", HttpStatusCode.BadRequest, "invalid-request", "ttl"),
        ["ttl beyond long"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": 1e30}", HttpStatusCode.BadRequest, "invalid-request", "ttl"),
        ["ttl beyond TimeSpan"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": 9223372036854775807}", HttpStatusCode.BadRequest, "invalid-request", "ttl"),
        ["ttl ISO far too long"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": \"P100000000D\"}", HttpStatusCode.BadRequest, "invalid-request", "ttl"),
        ["ttl ISO negative"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"ttl\": \"-PT5S\"}", HttpStatusCode.BadRequest, "invalid-request", "ttl"),
        ["wait above maximum"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"wait\": 60001}", HttpStatusCode.BadRequest, "invalid-request", "wait"),
        ["wait negative"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"wait\": -1}", HttpStatusCode.BadRequest, "invalid-request", "wait"),
        ["wait ISO too long"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"wait\": \"PT2M\"}", HttpStatusCode.BadRequest, "invalid-request", "wait"),
        ["unknown mode"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"mode\": \"upgrade\"}", HttpStatusCode.BadRequest, "invalid-request", "mode"),
        ["mode as number"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"mode\": 1}", HttpStatusCode.BadRequest, "invalid-json", "$.mode"),
        ["owner too long"] = new(HttpMethod.Post, "/locks/{name}/acquire", $"{{\"owner\": \"{Label201}\"}}", HttpStatusCode.BadRequest, "invalid-request", "owner"),
        ["owner with control character"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"owner\": \"a\\u0007b\"}", HttpStatusCode.BadRequest, "invalid-request", "owner"),
        ["requestId too long"] = new(HttpMethod.Post, "/locks/{name}/acquire", $"{{\"requestId\": \"{Label201}\"}}", HttpStatusCode.BadRequest, "invalid-request", "requestId"),
        ["requestId differs from Idempotency-Key"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"requestId\": \"a\"}", HttpStatusCode.BadRequest, "invalid-request", "requestId",
            Headers: new() { ["Idempotency-Key"] = "b" }),
        ["Idempotency-Key too long"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{}", HttpStatusCode.BadRequest, "invalid-request", "Idempotency-Key",
            Headers: new() { ["Idempotency-Key"] = Label201 }),
        ["misspelt property"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{\"wiat\": 1000}", HttpStatusCode.BadRequest, "invalid-json"),
        ["try-lock on the held lock"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{}", HttpStatusCode.Conflict, "lock-busy"),
        ["acquire with a forged lease id"] = new(HttpMethod.Post, "/locks/{name}/acquire", $"{{\"leaseId\": \"{Forged}\"}}", HttpStatusCode.Conflict, "lock-busy"),
        ["renew without leaseId"] = new(HttpMethod.Post, "/locks/{name}/renew", "{}", HttpStatusCode.BadRequest, "invalid-request", "leaseId"),
        ["renew forged lease id"] = new(HttpMethod.Post, "/locks/{name}/renew", $"{{\"leaseId\": \"{Forged}\"}}", HttpStatusCode.Gone, "lease-lost"),
        ["renew lease of another lock"] = new(HttpMethod.Post, "/locks/other-lock/renew", "{\"leaseId\": \"{leaseId}\"}", HttpStatusCode.Gone, "lease-lost"),
        ["renew ttl above maximum"] = new(HttpMethod.Post, "/locks/{name}/renew", "{\"leaseId\": \"{leaseId}\", \"ttl\": 7200000}", HttpStatusCode.BadRequest, "invalid-request", "ttl"),
        ["renew leaseId as number"] = new(HttpMethod.Post, "/locks/{name}/renew", "{\"leaseId\": 123}", HttpStatusCode.BadRequest, "invalid-json", "$.leaseId"),
        ["release unknown lease id"] = new(HttpMethod.Post, "/locks/{name}/release", $"{{\"leaseId\": \"{Forged}\"}}", HttpStatusCode.Gone, "lease-lost"),
        ["release empty leaseId"] = new(HttpMethod.Post, "/locks/{name}/release", "{\"leaseId\": \"\"}", HttpStatusCode.BadRequest, "invalid-request", "leaseId"),
        ["release without body"] = new(HttpMethod.Post, "/locks/{name}/release", null, HttpStatusCode.BadRequest, "invalid-request", "body", ContentType: null),
        ["validate token zero"] = new(HttpMethod.Post, "/locks/{name}/validate", "{\"fencingToken\": 0}", HttpStatusCode.BadRequest, "invalid-request", "fencingToken"),
        ["validate negative token"] = new(HttpMethod.Post, "/locks/{name}/validate", "{\"fencingToken\": -5}", HttpStatusCode.BadRequest, "invalid-request", "fencingToken"),
        ["validate token as string"] = new(HttpMethod.Post, "/locks/{name}/validate", "{\"fencingToken\": \"5\"}", HttpStatusCode.BadRequest, "invalid-json", "$.fencingToken"),
        ["validate token beyond long"] = new(HttpMethod.Post, "/locks/{name}/validate", "{\"fencingToken\": 1e40}", HttpStatusCode.BadRequest, "invalid-json", "$.fencingToken"),
        ["validate without token"] = new(HttpMethod.Post, "/locks/{name}/validate", "{}", HttpStatusCode.BadRequest, "invalid-request", "fencingToken"),
        ["force-release without admin rights"] = new(HttpMethod.Post, "/locks/{name}/force-release", "{\"reason\": \"x\"}", HttpStatusCode.Forbidden, "forbidden"),
        ["force-release with a wrong key"] = new(HttpMethod.Post, "/locks/{name}/force-release", "{\"reason\": \"x\"}", HttpStatusCode.Unauthorized, "unauthorized",
            Headers: new() { ["X-Api-Key"] = "wrong" }),
        ["force-release without reason"] = new(HttpMethod.Post, "/locks/{name}/force-release", "{}", HttpStatusCode.BadRequest, "invalid-request", "reason",
            Headers: new() { ["X-Api-Key"] = LockServiceFactory.AdminKey }),
        ["body over the limit"] = new(HttpMethod.Post, "/locks/{name}/acquire", $"{{\"owner\": \"{new string('o', 100_000)}\"}}", HttpStatusCode.RequestEntityTooLarge, "payload-too-large"),
        ["chunked body over the limit"] = new(HttpMethod.Post, "/locks/{name}/acquire", null, HttpStatusCode.RequestEntityTooLarge, "payload-too-large",
            Content: () => new UnknownLengthContent($"{{\"owner\": \"{new string('o', 100_000)}\"}}")),
        ["text/plain body"] = new(HttpMethod.Post, "/locks/{name}/acquire", "{}", HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", ContentType: "text/plain"),
        ["form body"] = new(HttpMethod.Post, "/locks/{name}/release", "leaseId={leaseId}", HttpStatusCode.UnsupportedMediaType, "unsupported-media-type",
            ContentType: "application/x-www-form-urlencoded"),
        ["list limit zero"] = new(HttpMethod.Get, "/locks?limit=0", null, HttpStatusCode.BadRequest, "invalid-request", "limit"),
        ["list limit above maximum"] = new(HttpMethod.Get, "/locks?limit=1001", null, HttpStatusCode.BadRequest, "invalid-request", "limit"),
        ["list limit not a number"] = new(HttpMethod.Get, "/locks?limit=many", null, HttpStatusCode.BadRequest, "invalid-request", "limit"),
        ["list prefix with a space"] = new(HttpMethod.Get, "/locks?prefix=a%20b", null, HttpStatusCode.BadRequest, "invalid-request", "prefix"),
        ["list forged cursor"] = new(HttpMethod.Get, "/locks?cursor=%00", null, HttpStatusCode.BadRequest, "invalid-request", "cursor"),
        ["DELETE a lock"] = new(HttpMethod.Delete, "/locks/{name}", null, HttpStatusCode.MethodNotAllowed, "method-not-allowed"),
        ["GET acquire"] = new(HttpMethod.Get, "/locks/{name}/acquire", null, HttpStatusCode.MethodNotAllowed, "method-not-allowed"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Request_Malformed_Answers4xxWithCodeAndChangesNothing(string caseName)
    {
        var test = Cases[caseName];
        await fixture.EnsureHeldAsync();
        var before = await fixture.SnapshotAsync();
        using var client = fixture.CreateClient();

        var response = await client.SendAsync(
            test.Method,
            test.Path.Replace("{name}", fixture.HeldName, StringComparison.Ordinal),
            test.Body?.Replace("{leaseId}", fixture.LeaseId, StringComparison.Ordinal),
            test.ContentType,
            test.Headers,
            test.Content?.Invoke());

        Assert.True(response.Status == test.Status, $"{caseName}: expected {(int)test.Status}, got {response.Describe()}");
        LockApiTests.AssertProblem(response, test.Code);
        if (test.ErrorKey is not null)
        {
            var errors = response.Json["errors"]!.AsObject();
            Assert.True(errors.ContainsKey(test.ErrorKey), $"{caseName}: errors should name '{test.ErrorKey}': {response.RawBody}");
        }

        Assert.Equal(before, await fixture.SnapshotAsync());
    }

    [Fact]
    public void Cases_AtLeastThirty() => Assert.True(Cases.Count >= 30, $"{Cases.Count} cases");

    /// <summary>A body sent without Content-Length (chunked), so only reading it reveals its size.</summary>
    private sealed class UnknownLengthContent : HttpContent
    {
        private readonly byte[] _bytes;

        public UnknownLengthContent(string json)
        {
            _bytes = Encoding.UTF8.GetBytes(json);
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
