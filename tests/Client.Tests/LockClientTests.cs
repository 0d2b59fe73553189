using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using OrleansLocks.Client.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Client.Tests;

public sealed class LockClientTests(LockServiceFixture fixture) : IClassFixture<LockServiceFixture>
{
    private LockService Service => fixture.Service;

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task AcquireAsync_DisposeHandle_ReleasesTheLock()
    {
        var client = Service.CreateClient();
        var name = NewName("dispose");

        var handle = await client.AcquireAsync(name, TimeSpan.FromSeconds(5));
        var held = await client.GetStateAsync(name);
        Assert.Equal(LockMode.Exclusive, held.Mode);
        Assert.Equal(handle.FencingToken, Assert.Single(held.Holders).FencingToken);
        Assert.Equal(name, handle.Name);
        Assert.Equal(22, handle.LeaseId.Length);

        await handle.DisposeAsync();

        var free = await client.GetStateAsync(name);
        Assert.True(free.IsFree);
        Assert.False(handle.IsLost);
        await using var next = await client.TryAcquireAsync(name);
        Assert.NotNull(next);
        Assert.True(next.FencingToken > handle.FencingToken);
    }

    [Fact]
    public async Task TryAcquireAsync_Held_ReturnsNullAndAcquireAsyncThrowsTimeout()
    {
        var client = Service.CreateClient();
        var name = NewName("busy");
        await using var holder = await client.AcquireAsync(name);

        Assert.Null(await client.TryAcquireAsync(name));
        Assert.Null(await client.TryAcquireAsync(name, TimeSpan.FromMilliseconds(200)));
        await Assert.ThrowsAsync<TimeoutException>(() => client.AcquireAsync(name, TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task AcquireSharedAsync_TwoReaders_HoldTogetherAndBlockAWriter()
    {
        var client = Service.CreateClient();
        var name = NewName("shared");
        await using var first = await client.AcquireSharedAsync(name);
        await using var second = await client.AcquireSharedAsync(name, TimeSpan.Zero);

        Assert.Equal(LockMode.Shared, second.Mode);
        Assert.NotEqual(first.FencingToken, second.FencingToken);
        Assert.Equal(2, (await client.GetStateAsync(name)).Holders.Count);
        Assert.Null(await client.TryAcquireAsync(name));
    }

    [Fact]
    public async Task AutoRenew_ShortTtl_KeepsTheLockPastSeveralTtls()
    {
        var client = Service.CreateClient();
        var name = NewName("renew");
        // Short enough to span several TTLs quickly, long enough that a renew delayed by a loaded machine still lands.
        var ttl = TimeSpan.FromSeconds(4);
        await using var handle = await client.AcquireAsync(name, options: new AcquireOptions { Ttl = ttl });
        var firstExpiry = handle.ExpiresAt;

        // Renewals happen every TTL/3: nine of them span three TTLs, long past the first deadline.
        await Eventually.TrueAsync(() => handle.Renewals >= 9 || handle.IsLost, "nine background renewals", TimeSpan.FromSeconds(90));

        Assert.False(handle.IsLost, $"the lease was lost: {handle.LostReason}");
        Assert.True(handle.ExpiresAt > firstExpiry + (2 * ttl), $"expiresAt moved from {firstExpiry:o} to {handle.ExpiresAt:o}");
        var state = await client.GetStateAsync(name);
        Assert.Equal(handle.FencingToken, Assert.Single(state.Holders).FencingToken);
        Assert.Equal(handle.FencingToken, state.FencingCounter);
    }

    [Fact]
    public async Task HandleLostToken_ForceRelease_FiresWithReason()
    {
        var client = Service.CreateClient();
        var name = NewName("forced");
        await using var handle = await client.AcquireAsync(name, options: new AcquireOptions { Ttl = TimeSpan.FromSeconds(3) });
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = handle.HandleLostToken.Register(() => fired.TrySetResult());

        await client.ForceReleaseAsync(name, "test: the holder is wedged");

        // The next renew (at most TTL/3 away) is refused with 410 forceReleased.
        await fired.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(handle.IsLost);
        Assert.Equal(LeaseLostReason.ForceReleased, handle.LostReason);
        var ex = await Assert.ThrowsAsync<LeaseLostException>(() => handle.RenewAsync());
        Assert.Equal(LeaseLostReason.ForceReleased, ex.Reason);
    }

    [Fact]
    public async Task HandleLostToken_ServiceGoesAway_FiresAtTheDeadline()
    {
        var service = await LockService.StartAsync();
        var client = service.CreateClient();
        var handle = await client.AcquireAsync(NewName("gone"), options: new AcquireOptions { Ttl = TimeSpan.FromSeconds(2) });
        try
        {
            await service.DisposeAsync();

            // No renew can succeed now: the handle must give the lease up by its local deadline, not hang in retries.
            await Eventually.TrueAsync(() => handle.IsLost, "the handle presumes the lease lost", TimeSpan.FromSeconds(30));
            Assert.Equal(LeaseLostReason.Expired, handle.LostReason);
            Assert.Equal(TimeSpan.Zero, handle.TimeToLive);
        }
        finally
        {
            await handle.DisposeAsync();
        }
    }

    [Fact]
    public async Task AcquireAsync_ConnectionDropsAfterTheServiceQueuedIt_RetryKeepsTheQueuePlace()
    {
        var admin = Service.CreateClient();
        var name = NewName("retry");
        await using var holder = await admin.AcquireAsync(name);

        var attempts = new ConcurrentBag<string>();
        var dropped = 0;
        Task<LockHandle>? third = null;
        var thirdClient = Service.CreateClient(o => o.Owner = "third");
        var handler = new InterceptingHandler(async (request, forward, ct) =>
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(ct);
            attempts.Add(body);
            if (!request.RequestUri!.AbsolutePath.EndsWith("/acquire", StringComparison.Ordinal) || Interlocked.Exchange(ref dropped, 1) != 0)
            {
                return await forward(ct);
            }

            // First attempt: let the service queue it, let another waiter queue behind it, then drop the connection.
            using var abandon = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var inFlight = forward(abandon.Token);
            await Eventually.TrueAsync(async () => (await admin.GetStateAsync(name)).Waiters.Any(w => w.Owner == "second"), "second is queued");
            third = thirdClient.AcquireAsync(name, TimeSpan.FromSeconds(60), cancellationToken: CancellationToken.None);
            await Eventually.TrueAsync(async () => (await admin.GetStateAsync(name)).Waiters.Count == 2, "third is queued behind second");
            await abandon.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => inFlight);
            throw new HttpRequestException("connection reset (test)");
        });
        var secondClient = Service.CreateClient(o => o.Owner = "second", handler);

        var second = secondClient.AcquireAsync(name, TimeSpan.FromSeconds(60));
        await Eventually.TrueAsync(() => attempts.Count >= 2, "the acquire was retried");
        var state = await admin.GetStateAsync(name);
        Assert.Equal(["second", "third"], state.Waiters.Select(w => w.Owner));

        await holder.ReleaseAsync();
        await using var secondHandle = await second.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(third!.IsCompleted, "third was granted before second: the retry lost its place");
        var requestIds = attempts.Select(b => JsonNode.Parse(b)!["requestId"]!.GetValue<string>()).Distinct().ToList();
        Assert.Single(requestIds);
        await secondHandle.ReleaseAsync();
        await using var thirdHandle = await third.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(thirdHandle.FencingToken > secondHandle.FencingToken);
    }

    [Fact]
    public async Task SendAsync_ServiceUnavailable_RetriesAfterRetryAfterWithTheSameRequest()
    {
        var calls = 0;
        var handler = new InterceptingHandler(async (request, forward, ct) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                var busy = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Content = new StringContent("{\"code\":\"unavailable\"}") };
                busy.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromMilliseconds(100));
                return busy;
            }

            return await forward(ct);
        });
        var client = Service.CreateClient(handler: handler);

        await using var handle = await client.AcquireAsync(NewName("unavailable"), TimeSpan.FromSeconds(5));

        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task SendAsync_Unreachable_ThrowsServiceUnavailableAfterTheRetries()
    {
        var client = new LockClient(new LockClientOptions
        {
            BaseAddress = new Uri("http://127.0.0.1:1/"),
            MaxRetries = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            RetryMaxDelay = TimeSpan.FromMilliseconds(20),
        });

        var ex = await Assert.ThrowsAsync<LockServiceUnavailableException>(() => client.TryAcquireAsync("unreachable"));
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }

    [Fact]
    public async Task AcquireAsync_WaitLongerThanOnePoll_PollsAgainWithTheSameRequestId()
    {
        await using var service = await LockService.StartAsync(new Dictionary<string, string?> { ["Locks:MaxWait"] = "00:00:01" });
        var admin = service.CreateClient(o => o.MaxWaitPerRequest = TimeSpan.FromSeconds(1));
        var name = NewName("polls");
        var holder = await admin.AcquireAsync(name);
        var bodies = new ConcurrentQueue<string>();
        var handler = new InterceptingHandler(async (request, forward, ct) =>
        {
            bodies.Enqueue(request.Content is null ? "" : await request.Content.ReadAsStringAsync(ct));
            return await forward(ct);
        });
        var client = service.CreateClient(o => o.MaxWaitPerRequest = TimeSpan.FromSeconds(1), handler);

        var waiting = client.AcquireAsync(name, TimeSpan.FromSeconds(60));
        await Eventually.TrueAsync(() => bodies.Count >= 3, "three long polls");
        Assert.False(waiting.IsCompleted);
        await holder.DisposeAsync();

        await using var handle = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        var polls = bodies.Select(b => JsonNode.Parse(b)!).Where(b => b["wait"] is not null).ToList();
        Assert.True(polls.Count >= 3);
        Assert.Single(polls.Select(b => b["requestId"]!.GetValue<string>()).Distinct());
        Assert.All(polls, b => Assert.True(b["wait"]!.GetValue<long>() <= 1000));
    }

    [Fact]
    public async Task Errors_MapToTypedExceptions()
    {
        var client = Service.CreateClient();
        var name = NewName("errors");

        var lost = await Assert.ThrowsAsync<LeaseLostException>(() => client.RenewAsync(name, "AAAAAAAAAAAAAAAAAAAAAA"));
        Assert.Equal(LeaseLostReason.Unknown, lost.Reason);
        Assert.Equal(HttpStatusCode.Gone, lost.StatusCode);
        Assert.Equal("lease-lost", lost.Code);

        var invalid = await Assert.ThrowsAsync<InvalidLockRequestException>(() => client.TryAcquireAsync("bad name!"));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);

        var ttl = await Assert.ThrowsAsync<InvalidLockRequestException>(() => client.TryAcquireAsync(name, options: new AcquireOptions { Ttl = TimeSpan.FromDays(2) }));
        Assert.Equal("invalid-request", ttl.Code);

        await using var handle = await client.AcquireAsync(name);
        await client.ReleaseAsync(name, handle.LeaseId);
        await client.ReleaseAsync(name, handle.LeaseId);
        var renew = await Assert.ThrowsAsync<LeaseLostException>(() => handle.RenewAsync());
        Assert.Equal(LeaseLostReason.Released, renew.Reason);
        Assert.True(handle.IsLost);
    }

    [Fact]
    public async Task ApiKey_ClientRole_IsSentAndForceReleaseIsForbidden()
    {
        const string Key = "client-tests-key-0123456789abcdef";
        await using var service = await LockService.StartAsync(new Dictionary<string, string?>
        {
            ["Security:AllowAnonymous"] = "false",
            ["Security:ApiKeys:0:Name"] = "client-tests",
            ["Security:ApiKeys:0:KeyHash"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Key))),
            ["Security:ApiKeys:0:Roles:0"] = "client",
            ["Security:ApiKeys:0:Prefixes:0"] = "keyed:",
        });
        var anonymous = service.CreateClient();
        var keyed = service.CreateClient(o => o.ApiKey = Key);

        var unauthenticated = await Assert.ThrowsAsync<LockForbiddenException>(() => anonymous.TryAcquireAsync("keyed:a"));
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        await using (var handle = await keyed.AcquireAsync("keyed:a"))
        {
            Assert.True(handle.FencingToken > 0);
        }

        var outside = await Assert.ThrowsAsync<LockForbiddenException>(() => keyed.TryAcquireAsync("other:a"));
        Assert.Equal(HttpStatusCode.Forbidden, outside.StatusCode);
        var notAdmin = await Assert.ThrowsAsync<LockForbiddenException>(() => keyed.ForceReleaseAsync("keyed:a", "test"));
        Assert.Equal(HttpStatusCode.Forbidden, notAdmin.StatusCode);
    }

    [Fact]
    public async Task ValidateListAndState_ReflectTheHolder()
    {
        var client = Service.CreateClient();
        var prefix = NewName("list") + ":";
        await using var a = await client.AcquireAsync(prefix + "a");
        await using var b = await client.AcquireSharedAsync(prefix + "b");

        var valid = await client.ValidateAsync(prefix + "a", a.FencingToken);
        Assert.True(valid.Valid);
        Assert.Equal(a.FencingToken, valid.CurrentToken);
        Assert.False((await client.ValidateAsync(prefix + "a", a.FencingToken + 1)).Valid);

        var page = await client.ListAsync(prefix, limit: 1);
        Assert.Single(page.Items);
        var all = new List<LockState>();
        await foreach (var state in client.ListAllAsync(prefix))
        {
            all.Add(state);
        }

        Assert.Equal([prefix + "a", prefix + "b"], all.Select(s => s.Name));
        Assert.Equal(LockMode.Shared, all[1].Mode);
    }
}
