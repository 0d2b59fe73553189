using System.Net;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests;

/// <summary>A lock outlives the process that granted it: state lives in PostgreSQL, not in the silo.</summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task Acquire_ServiceRestarts_LockStillHeldWithSameTokenAndDeadline()
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
        var name = $"durable-{Guid.NewGuid():N}";
        string leaseId;
        long token;
        DateTime expiresAt;

        await using (var first = new LockServiceFactory(database))
        {
            using var client = new LockClient(first.CreateClient());
            var lease = (await client.AcquireAsync(name, new { owner = "survivor", ttl = "PT1H" })).Expect(HttpStatusCode.OK).Json;
            leaseId = lease["leaseId"]!.GetValue<string>();
            token = lease["fencingToken"]!.GetValue<long>();
            expiresAt = lease["expiresAt"]!.GetValue<DateTime>();
        }

        await using var second = new LockServiceFactory(database);
        using var again = new LockClient(second.CreateClient());

        var state = (await again.GetStateAsync(name)).Expect(HttpStatusCode.OK).Json;
        var holder = Assert.Single(state["holders"]!.AsArray())!;
        Assert.Equal("survivor", holder["owner"]!.GetValue<string>());
        Assert.Equal(token, holder["fencingToken"]!.GetValue<long>());
        Assert.Equal(expiresAt, holder["expiresAt"]!.GetValue<DateTime>());
        Assert.Equal(token, state["fencingCounter"]!.GetValue<long>());

        // The lease id still works after the restart, and the next grant continues the token sequence.
        Assert.True((await again.ValidateAsync(name, token)).Expect(HttpStatusCode.OK).Json["valid"]!.GetValue<bool>());
        (await again.AcquireAsync(name, new { })).Expect(HttpStatusCode.Conflict);
        (await again.ReleaseAsync(name, leaseId)).Expect(HttpStatusCode.NoContent);
        var next = (await again.AcquireAsync(name, new { })).Expect(HttpStatusCode.OK).Json;
        Assert.Equal(token + 1, next["fencingToken"]!.GetValue<long>());
    }
}
