using System.Globalization;
using System.Net;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests.Security;

/// <summary>The per-principal rate limit and the bound on a principal's leases per lock answer 429 with their codes.</summary>
public sealed class AbuseLimitTests(SecurityFixture fixture) : IClassFixture<SecurityFixture>
{
    [Fact]
    public async Task RateLimit_PrincipalOverItsBucket_Gets429WithRetryAfter_OthersDoNot()
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");

        // A bucket of 3 refilled hourly: the 4th request in this test is over the limit, whatever the machine's speed.
        await using var factory = new LockServiceFactory(database, new Dictionary<string, string?>
        {
            ["Security:RateLimit:TokenLimit"] = "3",
            ["Security:RateLimit:TokensPerPeriod"] = "1",
            ["Security:RateLimit:ReplenishmentPeriod"] = "01:00:00",
        });
        using var client = new LockClient(factory.CreateClient());
        for (var i = 0; i < 3; i++)
        {
            (await client.GetStateAsync("limited")).Expect(HttpStatusCode.OK);
        }

        var limited = (await client.AcquireAsync("limited", new { })).Expect(HttpStatusCode.TooManyRequests);

        Assert.Equal("rate-limited", limited.Code);
        var retryAfter = long.Parse(limited.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 3600);
        (await client.GetStateAsync("limited")).Expect(HttpStatusCode.TooManyRequests);

        // Another principal has a bucket of its own.
        using var admin = new LockClient(factory.Server.CreateClient());
        admin.Http.DefaultRequestHeaders.Add("X-Api-Key", LockServiceFactory.AdminKey);
        (await admin.GetStateAsync("limited")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task LeaseLimit_PrincipalAtItsBoundOnALock_Gets429_OthersAndOtherLocksDoNot()
    {
        var name = "orders:" + Guid.NewGuid().ToString("N");
        using var client = fixture.ClientFor("orders-client");
        using var other = fixture.ClientFor("orders-client-2");

        // Security:MaxLeasesPerPrincipalPerLock is 2 in this fixture.
        (await client.AcquireAsync(name, new { mode = "shared" })).Expect(HttpStatusCode.OK);
        var second = (await client.AcquireAsync(name, new { mode = "shared" })).Expect(HttpStatusCode.OK).Json;
        var third = (await client.AcquireAsync(name, new { mode = "shared" })).Expect(HttpStatusCode.TooManyRequests);

        Assert.Equal("lease-limit", third.Code);
        Assert.True(third.Headers.Contains("Retry-After"));
        (await other.AcquireAsync(name, new { mode = "shared" })).Expect(HttpStatusCode.OK);
        (await client.AcquireAsync(name + "-other", new { mode = "shared" })).Expect(HttpStatusCode.OK);

        // A repeat of a granted request is not a new lease; a released lease frees its place.
        (await client.ReleaseAsync(name, second["leaseId"]!.GetValue<string>())).Expect(HttpStatusCode.NoContent);
        (await client.AcquireAsync(name, new { mode = "shared" })).Expect(HttpStatusCode.OK);
    }
}
