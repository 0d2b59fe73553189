using System.Net;

namespace OrleansLocks.Api.Tests.Security;

/// <summary>One principal's lease ids and request ids are useless to another; listings show only a principal's prefixes.</summary>
public sealed class PrincipalIsolationTests(SecurityFixture fixture) : IClassFixture<SecurityFixture>
{
    [Fact]
    public async Task LeaseId_UsedByPrincipalOfAnotherPrefix_IsRefusedAndTheLeaseSurvives()
    {
        var name = "orders:" + Guid.NewGuid().ToString("N");
        using var orders = fixture.ClientFor("orders-client");
        using var billing = fixture.ClientFor("billing-client");
        var leaseId = (await orders.AcquireAsync(name, new { ttl = 60_000 })).Expect(HttpStatusCode.OK).Json["leaseId"]!.GetValue<string>();

        (await billing.RenewAsync(name, new { leaseId })).Expect(HttpStatusCode.Forbidden);
        (await billing.ReleaseAsync(name, leaseId)).Expect(HttpStatusCode.Forbidden);
        (await billing.AcquireAsync(name, new { leaseId })).Expect(HttpStatusCode.Forbidden);

        // On a lock of its own the lease id means nothing: lease ids belong to one lock.
        var own = "billing:" + Guid.NewGuid().ToString("N");
        var lost = (await billing.ReleaseAsync(own, leaseId)).Expect(HttpStatusCode.Gone);
        Assert.Equal("unknown", lost.Json["reason"]!.GetValue<string>());

        (await orders.RenewAsync(name, new { leaseId })).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task RequestId_RepeatedByAnotherPrincipal_DoesNotReturnTheLease()
    {
        var name = "orders:" + Guid.NewGuid().ToString("N");
        using var first = fixture.ClientFor("orders-client");
        using var second = fixture.ClientFor("orders-client-2");
        var lease = (await first.AcquireAsync(name, new { requestId = "job-42" })).Expect(HttpStatusCode.OK).Json;

        var again = (await first.AcquireAsync(name, new { requestId = "job-42" })).Expect(HttpStatusCode.OK).Json;
        var other = (await second.AcquireAsync(name, new { requestId = "job-42" })).Expect(HttpStatusCode.Conflict);

        Assert.Equal(lease["leaseId"]!.GetValue<string>(), again["leaseId"]!.GetValue<string>());
        Assert.Equal("lock-busy", other.Code);
        Assert.DoesNotContain(lease["leaseId"]!.GetValue<string>(), other.RawBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_PrincipalWithTwoPrefixes_SeesExactlyThoseLocks_AcrossPages()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        string[] visible = [$"billing:b{run}-1", $"billing:b{run}-2", $"orders:{run}-1", $"orders:{run}-2", $"orders:{run}-3"];
        string[] hidden = [$"billing:a{run}", $"other:{run}"];
        using var setup = fixture.CreateClient();
        foreach (var name in visible.Concat(hidden))
        {
            (await setup.AcquireAsync(name, new { ttl = 60_000 })).Expect(HttpStatusCode.OK);
        }

        using var viewer = fixture.ClientFor("two-prefixes");
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = (await viewer.GetAsync("/locks?limit=2" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)))).Expect(HttpStatusCode.OK).Json;
            seen.AddRange(page["items"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()));
            cursor = page["nextCursor"]?.GetValue<string>();
            Assert.True(++pages < 100, "the listing does not end");
        }
        while (cursor is not null);

        Assert.All(visible, name => Assert.Contains(name, seen));
        Assert.All(hidden, name => Assert.DoesNotContain(name, seen));
        Assert.All(seen, name => Assert.True(name.StartsWith("orders:", StringComparison.Ordinal) || name.StartsWith("billing:b", StringComparison.Ordinal), name));
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }
}
