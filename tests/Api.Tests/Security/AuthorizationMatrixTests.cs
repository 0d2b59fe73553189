using System.Net;
using OrleansLocks.Api.Tests.Infrastructure;

namespace OrleansLocks.Api.Tests.Security;

/// <summary>
/// Every endpoint × caller (none, a bad key, each role on <c>orders:</c>) × a lock inside or outside the caller's
/// prefixes: 401 without valid credentials, 403 without the role or outside the prefixes, 2xx otherwise.
/// </summary>
public sealed class AuthorizationMatrixTests(SecurityFixture fixture) : IClassFixture<SecurityFixture>
{
    private static readonly string[] Endpoints = ["acquire", "renew", "release", "validate", "force-release", "state", "list", "cluster"];
    private static readonly string[] Callers = ["none", "bad-key", "orders-client", "orders-viewer", "orders-admin"];

    public static TheoryData<string, string, bool> Cases()
    {
        var cases = new TheoryData<string, string, bool>();
        foreach (var endpoint in Endpoints)
        {
            foreach (var caller in Callers)
            {
                cases.Add(endpoint, caller, true);
                cases.Add(endpoint, caller, false);
            }
        }

        return cases;
    }

    /// <summary>The rules of docs/security.md, stated independently of the implementation.</summary>
    private static HttpStatusCode Expected(string endpoint, string caller, bool inside)
    {
        if (caller is "none" or "bad-key")
        {
            return HttpStatusCode.Unauthorized;
        }

        var needed = endpoint switch
        {
            "acquire" or "renew" or "release" or "validate" => "client",
            "state" or "list" or "cluster" => "viewer",
            _ => "admin",
        };
        if (caller != "orders-admin" && caller != "orders-" + needed)
        {
            return HttpStatusCode.Forbidden;
        }

        if (endpoint is "list" or "cluster")
        {
            return HttpStatusCode.OK;
        }

        if (!inside)
        {
            return HttpStatusCode.Forbidden;
        }

        return endpoint is "release" or "force-release" ? HttpStatusCode.NoContent : HttpStatusCode.OK;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Endpoint_Caller_AnswersByRoleAndPrefix(string endpoint, string caller, bool inside)
    {
        var name = (inside ? "orders:" : "billing:") + Guid.NewGuid().ToString("N");
        using var setup = fixture.CreateClient(); // test-client: client and viewer on every lock
        var lease = (await setup.AcquireAsync(name, new { ttl = 60_000, mode = "shared" })).Expect(HttpStatusCode.OK).Json;
        var leaseId = lease["leaseId"]!.GetValue<string>();
        var token = lease["fencingToken"]!.GetValue<long>();
        using var client = caller switch
        {
            "none" => fixture.ClientFor(null),
            "bad-key" => new LockClient(WithKey(fixture.Factory.Server.CreateClient(), "not-a-configured-key")),
            _ => fixture.ClientFor(caller),
        };

        var response = endpoint switch
        {
            "acquire" => await client.AcquireAsync(name, new { mode = "shared" }),
            "renew" => await client.RenewAsync(name, new { leaseId }),
            "release" => await client.ReleaseAsync(name, leaseId),
            "validate" => await client.ValidateAsync(name, token),
            "force-release" => await client.ForceReleaseAsync(name, "matrix", adminKey: null),
            "state" => await client.GetStateAsync(name),
            "list" => await client.GetAsync("/locks?prefix=" + (inside ? "orders:" : "billing:")),
            _ => await client.GetAsync("/cluster"),
        };

        var expected = Expected(endpoint, caller, inside);
        response.Expect(expected);
        if (expected == HttpStatusCode.Unauthorized)
        {
            Assert.Equal("unauthorized", response.Code);
            Assert.NotEmpty(response.Headers.WwwAuthenticate);
        }
        else if (expected == HttpStatusCode.Forbidden)
        {
            Assert.Equal("forbidden", response.Code);
        }

        if (endpoint == "list" && expected == HttpStatusCode.OK)
        {
            // Listing outside the prefixes is not refused, but shows nothing of it.
            var names = response.Json["items"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()).ToList();
            Assert.All(names, n => Assert.StartsWith("orders:", n, StringComparison.Ordinal));
            Assert.Equal(inside, names.Contains(name));
        }
    }

    private static HttpClient WithKey(HttpClient http, string key)
    {
        http.DefaultRequestHeaders.Add("X-Api-Key", key);
        return http;
    }
}
