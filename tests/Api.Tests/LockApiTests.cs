using System.Net;
using OrleansLocks.Api.Tests.Infrastructure;

namespace OrleansLocks.Api.Tests;

/// <summary>The whole API's happy paths against the real service on PostgreSQL.</summary>
public sealed class LockApiTests(PostgresServiceFixture fixture) : IClassFixture<PostgresServiceFixture>
{
    private static string NewName(string hint) => $"{hint}-{Guid.NewGuid():N}";

    [Fact]
    public async Task Acquire_FreeLock_GrantsLeaseWithAllFields()
    {
        using var client = fixture.CreateClient();
        var name = NewName("acquire");
        var before = DateTime.UtcNow;

        var lease = (await client.AcquireAsync(name, new { owner = "worker-1", ttl = 20_000 })).Expect(HttpStatusCode.OK).Json;

        Assert.Equal(name, lease["name"]!.GetValue<string>());
        Assert.Equal("exclusive", lease["mode"]!.GetValue<string>());
        Assert.Equal("worker-1", lease["owner"]!.GetValue<string>());
        Assert.Equal(1, lease["fencingToken"]!.GetValue<long>());
        Assert.Equal(22, lease["leaseId"]!.GetValue<string>().Length);
        var acquiredAt = lease["acquiredAt"]!.GetValue<DateTime>();
        var expiresAt = lease["expiresAt"]!.GetValue<DateTime>();
        Assert.EndsWith("Z", lease["expiresAt"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.InRange(acquiredAt, before.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));
        Assert.Equal(TimeSpan.FromSeconds(20), expiresAt - acquiredAt);
        Assert.InRange(lease["ttlMs"]!.GetValue<long>(), 1, 20_000);
    }

    [Fact]
    public async Task Acquire_Defaults_ExclusiveAnonymousThirtySeconds()
    {
        using var client = fixture.CreateClient();
        var lease = (await client.AcquireAsync(NewName("defaults"), new { })).Expect(HttpStatusCode.OK).Json;

        Assert.Equal("exclusive", lease["mode"]!.GetValue<string>());
        Assert.Equal("anonymous", lease["owner"]!.GetValue<string>());
        Assert.Equal(TimeSpan.FromSeconds(30), lease["expiresAt"]!.GetValue<DateTime>() - lease["acquiredAt"]!.GetValue<DateTime>());
    }

    [Fact]
    public async Task Acquire_IsoDurationTtl_AcceptedLikeMilliseconds()
    {
        using var client = fixture.CreateClient();
        var lease = (await client.AcquireAsync(NewName("iso"), new { ttl = "PT1M30S" })).Expect(HttpStatusCode.OK).Json;

        Assert.Equal(TimeSpan.FromSeconds(90), lease["expiresAt"]!.GetValue<DateTime>() - lease["acquiredAt"]!.GetValue<DateTime>());
    }

    [Fact]
    public async Task Acquire_HeldExclusive_TryLockAnswers409LockBusyWithHolders()
    {
        using var client = fixture.CreateClient();
        var name = NewName("busy");
        var lease = (await client.AcquireAsync(name, new { owner = "holder", ttl = 60_000 })).Expect(HttpStatusCode.OK).Json;

        var busy = (await client.AcquireAsync(name, new { owner = "other" })).Expect(HttpStatusCode.Conflict);

        Assert.Equal("application/problem+json", busy.ContentType);
        Assert.Equal("lock-busy", busy.Code);
        var holder = Assert.Single(busy.Json["holders"]!.AsArray())!;
        Assert.Equal("holder", holder["owner"]!.GetValue<string>());
        Assert.Equal(lease["fencingToken"]!.GetValue<long>(), holder["fencingToken"]!.GetValue<long>());
        Assert.Null(holder["leaseId"]);
        Assert.Equal(0, busy.Json["queueLength"]!.GetValue<int>());
        Assert.Null(busy.Json["position"]);
        var retryAfter = int.Parse(busy.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
    }

    [Fact]
    public async Task Acquire_SameRequestIdTwice_ReturnsSameLease()
    {
        using var client = fixture.CreateClient();
        var name = NewName("idem");
        var first = (await client.AcquireAsync(name, new { requestId = "req-1" })).Expect(HttpStatusCode.OK).Json;
        var second = (await client.AcquireAsync(name, new { requestId = "req-1" })).Expect(HttpStatusCode.OK).Json;
        var viaHeader = (await client.AcquireAsync(name, new { }, idempotencyKey: "req-1")).Expect(HttpStatusCode.OK).Json;

        Assert.Equal(first["leaseId"]!.GetValue<string>(), second["leaseId"]!.GetValue<string>());
        Assert.Equal(first["fencingToken"]!.GetValue<long>(), second["fencingToken"]!.GetValue<long>());
        Assert.Equal(first["leaseId"]!.GetValue<string>(), viaHeader["leaseId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Acquire_WithHeldLeaseId_ReturnsThatLease()
    {
        using var client = fixture.CreateClient();
        var name = NewName("reacquire");
        var first = (await client.AcquireAsync(name, new { })).Expect(HttpStatusCode.OK).Json;

        var again = (await client.AcquireAsync(name, new { leaseId = first["leaseId"]!.GetValue<string>() })).Expect(HttpStatusCode.OK).Json;

        Assert.Equal(first["fencingToken"]!.GetValue<long>(), again["fencingToken"]!.GetValue<long>());
    }

    [Fact]
    public async Task Acquire_HolderAsksOtherMode_Answers409ModeConflict()
    {
        using var client = fixture.CreateClient();
        var name = NewName("mode");
        var lease = (await client.AcquireAsync(name, new { mode = "shared" })).Expect(HttpStatusCode.OK).Json;

        var conflict = await client.AcquireAsync(name, new { mode = "exclusive", leaseId = lease["leaseId"]!.GetValue<string>() });

        conflict.Expect(HttpStatusCode.Conflict);
        Assert.Equal("mode-conflict", conflict.Code);
    }

    [Fact]
    public async Task Acquire_RequestIdOfReleasedLease_Answers410LeaseLost()
    {
        using var client = fixture.CreateClient();
        var name = NewName("ended");
        var lease = (await client.AcquireAsync(name, new { requestId = "once" })).Expect(HttpStatusCode.OK).Json;
        (await client.ReleaseAsync(name, lease["leaseId"]!.GetValue<string>())).Expect(HttpStatusCode.NoContent);

        var again = (await client.AcquireAsync(name, new { requestId = "once" })).Expect(HttpStatusCode.Gone);

        Assert.Equal("lease-lost", again.Code);
        Assert.Equal("released", again.Json["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Shared_TwoReaders_BothGrantedWithIncreasingTokens()
    {
        using var client = fixture.CreateClient();
        var name = NewName("shared");
        var a = (await client.AcquireAsync(name, new { mode = "shared", owner = "a" })).Expect(HttpStatusCode.OK).Json;
        var b = (await client.AcquireAsync(name, new { mode = "shared", owner = "b" })).Expect(HttpStatusCode.OK).Json;

        Assert.True(b["fencingToken"]!.GetValue<long>() > a["fencingToken"]!.GetValue<long>());
        var state = (await client.GetStateAsync(name)).Expect(HttpStatusCode.OK).Json;
        Assert.Equal("shared", state["mode"]!.GetValue<string>());
        Assert.Equal(2, state["holders"]!.AsArray().Count);
    }

    [Fact]
    public async Task Renew_HeldLease_ExtendsDeadline()
    {
        using var client = fixture.CreateClient();
        var name = NewName("renew");
        var lease = (await client.AcquireAsync(name, new { ttl = 5_000 })).Expect(HttpStatusCode.OK).Json;
        var leaseId = lease["leaseId"]!.GetValue<string>();

        var renewed = (await client.RenewAsync(name, new { leaseId, ttl = "PT10M" })).Expect(HttpStatusCode.OK).Json;

        Assert.Equal(leaseId, renewed["leaseId"]!.GetValue<string>());
        Assert.Equal(lease["fencingToken"]!.GetValue<long>(), renewed["fencingToken"]!.GetValue<long>());
        Assert.True(renewed["expiresAt"]!.GetValue<DateTime>() >= lease["expiresAt"]!.GetValue<DateTime>().AddMinutes(9));
        Assert.InRange(renewed["ttlMs"]!.GetValue<long>(), 500_000, 600_000);

        var again = (await client.RenewAsync(name, new { leaseId })).Expect(HttpStatusCode.OK).Json;
        Assert.Equal(lease["fencingToken"]!.GetValue<long>(), again["fencingToken"]!.GetValue<long>());
    }

    [Fact]
    public async Task Release_Twice_BothNoContentAndRenewThenLost()
    {
        using var client = fixture.CreateClient();
        var name = NewName("release");
        var leaseId = (await client.AcquireAsync(name, new { })).Expect(HttpStatusCode.OK).Json["leaseId"]!.GetValue<string>();

        (await client.ReleaseAsync(name, leaseId)).Expect(HttpStatusCode.NoContent);
        (await client.ReleaseAsync(name, leaseId)).Expect(HttpStatusCode.NoContent);

        var renew = (await client.RenewAsync(name, new { leaseId })).Expect(HttpStatusCode.Gone);
        Assert.Equal("lease-lost", renew.Code);
        Assert.Equal("released", renew.Json["reason"]!.GetValue<string>());
        var state = (await client.GetStateAsync(name)).Expect(HttpStatusCode.OK).Json;
        Assert.Equal("free", state["mode"]!.GetValue<string>());
        Assert.Empty(state["holders"]!.AsArray());
        Assert.Equal(1, state["fencingCounter"]!.GetValue<long>());
    }

    [Fact]
    public async Task Validate_CurrentAndStaleTokens_AnswersValidity()
    {
        using var client = fixture.CreateClient();
        var name = NewName("validate");
        var first = (await client.AcquireAsync(name, new { })).Expect(HttpStatusCode.OK).Json;
        (await client.ReleaseAsync(name, first["leaseId"]!.GetValue<string>())).Expect(HttpStatusCode.NoContent);
        var second = (await client.AcquireAsync(name, new { })).Expect(HttpStatusCode.OK).Json;

        var current = (await client.ValidateAsync(name, second["fencingToken"]!.GetValue<long>())).Expect(HttpStatusCode.OK).Json;
        var stale = (await client.ValidateAsync(name, first["fencingToken"]!.GetValue<long>())).Expect(HttpStatusCode.OK).Json;

        Assert.True(current["valid"]!.GetValue<bool>());
        Assert.False(stale["valid"]!.GetValue<bool>());
        Assert.Equal(2, stale["currentToken"]!.GetValue<long>());
    }

    [Fact]
    public async Task GetState_NeverAcquired_FreeWithCounterZero()
    {
        using var client = fixture.CreateClient();
        var name = NewName("fresh");

        var state = (await client.GetStateAsync(name)).Expect(HttpStatusCode.OK).Json;

        Assert.Equal(name, state["name"]!.GetValue<string>());
        Assert.Equal("free", state["mode"]!.GetValue<string>());
        Assert.Empty(state["holders"]!.AsArray());
        Assert.Empty(state["waiters"]!.AsArray());
        Assert.Equal(0, state["fencingCounter"]!.GetValue<long>());
    }

    [Fact]
    public async Task GetState_HeldWithWaiter_ShowsHolderAndWaiterWithoutLeaseIds()
    {
        using var client = fixture.CreateClient();
        var name = NewName("state");
        var lease = (await client.AcquireAsync(name, new { owner = "holder", ttl = 60_000 })).Expect(HttpStatusCode.OK);
        (await client.AcquireAsync(name, new { owner = "waiter", wait = 200, requestId = "w-1" })).Expect(HttpStatusCode.Conflict);

        var state = (await client.GetStateAsync(name)).Expect(HttpStatusCode.OK);

        Assert.Equal("exclusive", state.Json["mode"]!.GetValue<string>());
        var holder = Assert.Single(state.Json["holders"]!.AsArray())!;
        Assert.Equal("holder", holder["owner"]!.GetValue<string>());
        Assert.Equal("exclusive", holder["mode"]!.GetValue<string>());
        var waiter = Assert.Single(state.Json["waiters"]!.AsArray())!;
        Assert.Equal("waiter", waiter["owner"]!.GetValue<string>());
        Assert.Equal(1, waiter["position"]!.GetValue<int>());
        Assert.NotNull(waiter["enqueuedAt"]);
        Assert.DoesNotContain(lease.Json["leaseId"]!.GetValue<string>(), state.RawBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_HeldLocksWithPrefix_PagesInNameOrder()
    {
        using var client = fixture.CreateClient();
        var prefix = $"list-{Guid.NewGuid():N}-";
        var names = Enumerable.Range(0, 5).Select(i => $"{prefix}{i}").ToList();
        foreach (var name in names)
        {
            (await client.AcquireAsync(name, new { ttl = 60_000 })).Expect(HttpStatusCode.OK);
        }

        (await client.GetStateAsync(prefix + "free")).Expect(HttpStatusCode.OK);

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var query = $"/locks?prefix={prefix}&limit=2" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            var page = (await client.GetAsync(query)).Expect(HttpStatusCode.OK).Json;
            seen.AddRange(page["items"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()));
            Assert.All(page["items"]!.AsArray(), i => Assert.Single(i!["holders"]!.AsArray()));
            cursor = page["nextCursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(names, seen);
    }

    [Fact]
    public async Task List_DefaultLimit_ReturnsItemsArray()
    {
        using var client = fixture.CreateClient();
        var name = NewName("listdefault");
        (await client.AcquireAsync(name, new { })).Expect(HttpStatusCode.OK);

        var page = (await client.GetAsync($"/locks?prefix={name}")).Expect(HttpStatusCode.OK).Json;

        Assert.Equal(name, Assert.Single(page["items"]!.AsArray())!["name"]!.GetValue<string>());
        Assert.Null(page["nextCursor"]);
    }

    [Fact]
    public async Task ForceRelease_WithAdminKey_RemovesHolderAndBumpsCounter()
    {
        using var client = fixture.CreateClient();
        var name = NewName("force");
        var lease = (await client.AcquireAsync(name, new { ttl = 60_000 })).Expect(HttpStatusCode.OK).Json;

        (await client.ForceReleaseAsync(name, "stuck worker", LockServiceFactory.AdminKey)).Expect(HttpStatusCode.NoContent);

        var state = (await client.GetStateAsync(name)).Expect(HttpStatusCode.OK).Json;
        Assert.Equal("free", state["mode"]!.GetValue<string>());
        Assert.True(state["fencingCounter"]!.GetValue<long>() > lease["fencingToken"]!.GetValue<long>());
        var renew = (await client.RenewAsync(name, new { leaseId = lease["leaseId"]!.GetValue<string>() })).Expect(HttpStatusCode.Gone);
        Assert.Equal("forceReleased", renew.Json["reason"]!.GetValue<string>());
        Assert.Contains(fixture.Factory.Logs.Entries, e => e.EventId.Id == 4010 && e.Message.Contains(name, StringComparison.Ordinal)
            && e.Message.Contains("stuck worker", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ForceRelease_WithoutAdminKey_Answers403AndKeepsHolder()
    {
        using var client = fixture.CreateClient();
        var name = NewName("forbidden");
        var lease = (await client.AcquireAsync(name, new { ttl = 60_000 })).Expect(HttpStatusCode.OK).Json;

        var forbidden = (await client.ForceReleaseAsync(name, "nope", adminKey: null)).Expect(HttpStatusCode.Forbidden);
        var wrongKey = (await client.ForceReleaseAsync(name, "nope", adminKey: "guess")).Expect(HttpStatusCode.Unauthorized);

        Assert.Equal("forbidden", forbidden.Code);
        Assert.Equal("unauthorized", wrongKey.Code);
        var state = (await client.GetStateAsync(name)).Expect(HttpStatusCode.OK).Json;
        Assert.Equal(lease["fencingToken"]!.GetValue<long>(), Assert.Single(state["holders"]!.AsArray())!["fencingToken"]!.GetValue<long>());
    }

    [Fact]
    public async Task Cluster_LocalSilo_ActiveWithActivations()
    {
        using var client = fixture.CreateClient();
        (await client.AcquireAsync(NewName("cluster"), new { })).Expect(HttpStatusCode.OK);

        var cluster = (await client.GetAsync("/cluster")).Expect(HttpStatusCode.OK).Json;

        var silo = Assert.Single(cluster["silos"]!.AsArray())!;
        Assert.Equal("active", silo["status"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(silo["name"]!.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(silo["address"]!.GetValue<string>()));
        Assert.True(silo["startedAt"]!.GetValue<DateTime>() <= DateTime.UtcNow.AddMinutes(1));
        Assert.True(silo["activationCount"]!.GetValue<int>() >= 1);
    }

    [Fact]
    public async Task Health_LiveAndReady_Healthy()
    {
        using var client = fixture.CreateClient();

        var live = (await client.GetAsync("/health/live")).Expect(HttpStatusCode.OK).Json;
        var ready = (await client.GetAsync("/health/ready")).Expect(HttpStatusCode.OK).Json;

        Assert.Equal("Healthy", live["status"]!.GetValue<string>());
        Assert.Empty(live["checks"]!.AsObject());
        Assert.Equal("Healthy", ready["status"]!.GetValue<string>());
        Assert.Contains("silo", ready["checks"]!.AsObject().Select(c => c.Key));
        Assert.Contains("storage", ready["checks"]!.AsObject().Select(c => c.Key));
    }

    [Fact]
    public async Task UnknownRoute_Answers404ProblemDetails()
    {
        using var client = fixture.CreateClient();

        var response = (await client.GetAsync("/nothing/here")).Expect(HttpStatusCode.NotFound);

        AssertProblem(response, "not-found");
    }

    internal static void AssertProblem(ApiResponse response, string code)
    {
        Assert.True(response.ContentType == "application/problem+json", response.Describe());
        var problem = response.Json;
        Assert.Equal(code, problem["code"]?.GetValue<string>());
        Assert.Equal((int)response.Status, problem["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(problem["title"]?.GetValue<string>()), response.Describe());
        Assert.False(string.IsNullOrEmpty(problem["detail"]?.GetValue<string>()), response.Describe());
        Assert.False(string.IsNullOrEmpty(problem["instance"]?.GetValue<string>()), response.Describe());
        Assert.False(string.IsNullOrEmpty(problem["traceId"]?.GetValue<string>()), response.Describe());
        Assert.False(string.IsNullOrEmpty(problem["type"]?.GetValue<string>()), response.Describe());
    }
}
