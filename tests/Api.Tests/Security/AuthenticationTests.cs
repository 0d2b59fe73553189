using System.Net;
using System.Security.Cryptography;
using OrleansLocks.Api.Tests.Infrastructure;

namespace OrleansLocks.Api.Tests.Security;

/// <summary>JWT bearer tokens and API keys: what is accepted, and that forged, expired and foreign credentials are not.</summary>
public sealed class AuthenticationTests(SecurityFixture fixture) : IClassFixture<SecurityFixture>
{
    private static string Orders() => "orders:" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Jwt_Valid_ActsWithItsRolesAndPrefixes()
    {
        using var client = fixture.ClientWithToken(SecurityFixture.Token());

        (await client.AcquireAsync(Orders(), new { })).Expect(HttpStatusCode.OK);
        var outside = (await client.AcquireAsync("billing:" + Guid.NewGuid().ToString("N"), new { })).Expect(HttpStatusCode.Forbidden);
        var noViewer = (await client.GetStateAsync(Orders())).Expect(HttpStatusCode.Forbidden);

        Assert.Contains("outside the lock-name prefixes", outside.Json["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("viewer", noViewer.Json["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jwt_SpaceSeparatedRolesAndEveryLock_Accepted()
    {
        using var client = fixture.ClientWithToken(SecurityFixture.Token(roles: "client viewer", prefixes: "*"));
        var name = "anything-" + Guid.NewGuid().ToString("N");

        (await client.AcquireAsync(name, new { })).Expect(HttpStatusCode.OK);
        (await client.GetStateAsync(name)).Expect(HttpStatusCode.OK);
    }

    public static TheoryData<string, string> BadTokens => new()
    {
        { "forged", SecurityFixture.Token(key: RandomNumberGenerator.GetBytes(32)) },
        { "expired", SecurityFixture.Token(expires: DateTime.UtcNow.AddMinutes(-5)) },
        { "wrong audience", SecurityFixture.Token(audience: "some-other-service") },
        { "wrong issuer", SecurityFixture.Token(issuer: "https://evil.test") },
        { "no subject", SecurityFixture.Token(subject: null) },
        { "not a JWT", "abc.def.ghi" },
        { "unsigned", UnsignedToken() },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Jwt_Bad_Answers401(string why, string token)
    {
        using var client = fixture.ClientWithToken(token);

        var response = (await client.AcquireAsync(Orders(), new { })).Expect(HttpStatusCode.Unauthorized);

        Assert.True(response.Code == "unauthorized", why);
        Assert.Contains("ApiKey", string.Join(",", response.Headers.WwwAuthenticate.Select(h => h.ToString())), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiKey_ValidForAnotherPrefix_Answers403()
    {
        using var billing = fixture.ClientFor("billing-client");

        var response = (await billing.AcquireAsync(Orders(), new { })).Expect(HttpStatusCode.Forbidden);

        Assert.Equal("forbidden", response.Code);
        Assert.Contains("'billing:'", response.Json["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiKeyAndBearerTogether_Answers401()
    {
        using var client = fixture.ClientWithToken(SecurityFixture.Token());
        client.Http.DefaultRequestHeaders.Add("X-Api-Key", SecurityFixture.Principals["orders-client"].Key);

        (await client.AcquireAsync(Orders(), new { })).Expect(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task BasicAuthorization_Answers401()
    {
        using var client = fixture.ClientFor(null);
        client.Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz");

        (await client.AcquireAsync(Orders(), new { })).Expect(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task HealthAndOpenApi_NeedNoCredentials()
    {
        using var client = fixture.ClientFor(null);

        (await client.GetAsync("/health/live")).Expect(HttpStatusCode.OK);
        (await client.GetAsync("/openapi/v1.json")).Expect(HttpStatusCode.OK);
        (await client.GetAsync("/swagger/index.html")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task OpenApi_DeclaresApiKeyAndBearerSchemes_ForSwaggerAuthorize()
    {
        using var client = fixture.ClientFor(null);

        var document = (await client.GetAsync("/openapi/v1.json")).Expect(HttpStatusCode.OK).Json;

        var schemes = document["components"]!["securitySchemes"]!;
        Assert.Equal("apiKey", schemes["ApiKey"]!["type"]!.GetValue<string>());
        Assert.Equal("header", schemes["ApiKey"]!["in"]!.GetValue<string>());
        Assert.Equal("X-Api-Key", schemes["ApiKey"]!["name"]!.GetValue<string>());
        Assert.Equal("http", schemes["Bearer"]!["type"]!.GetValue<string>());
        Assert.Equal("bearer", schemes["Bearer"]!["scheme"]!.GetValue<string>());
        var requirements = document["security"]!.AsArray().SelectMany(r => r!.AsObject().Select(p => p.Key)).ToList();
        Assert.Equal(["ApiKey", "Bearer"], requirements.Order());
    }

    [Fact]
    public async Task ForceRelease_RecordsWhoAndWhy()
    {
        var name = Orders();
        using var owner = fixture.ClientFor("orders-client");
        var lease = (await owner.AcquireAsync(name, new { })).Expect(HttpStatusCode.OK).Json;
        using var admin = fixture.ClientFor("orders-admin");

        (await admin.ForceReleaseAsync(name, "wedged worker, OPS-1", adminKey: null)).Expect(HttpStatusCode.NoContent);

        var renew = (await owner.RenewAsync(name, new { leaseId = lease["leaseId"]!.GetValue<string>() })).Expect(HttpStatusCode.Gone);
        Assert.Equal("forceReleased", renew.Json["reason"]!.GetValue<string>());
        Assert.Contains(fixture.Factory.Logs.Entries, e => e.EventId.Id == 4010 && e.Message.Contains(name, StringComparison.Ordinal)
            && e.Message.Contains("api-key orders-admin", StringComparison.Ordinal) && e.Message.Contains("wedged worker, OPS-1", StringComparison.Ordinal));
    }

    private static string UnsignedToken()
    {
        static string Part(string json) => System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(json));
        var exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        return Part("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." +
            Part($"{{\"sub\":\"x\",\"aud\":\"{SecurityFixture.Audience}\",\"iss\":\"{SecurityFixture.Issuer}\",\"exp\":{exp},\"roles\":[\"admin\"],\"lock_prefixes\":[\"*\"]}}") + ".";
    }
}
