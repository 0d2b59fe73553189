using System.Collections.Concurrent;
using System.Net;
using OrleansLocks.Api.Tests.Infrastructure;

namespace OrleansLocks.Api.Tests;

/// <summary>Many clients contending for few locks through HTTP: mutual exclusion, fencing order, liveness.</summary>
public sealed class ContentionTests(PostgresServiceFixture fixture) : IClassFixture<PostgresServiceFixture>
{
    private const int Clients = 32;
    private const int Locks = 3;
    private const int RoundsPerClient = 8;

    [Fact]
    public async Task AcquireRelease_32ClientsOn3Locks_NeverTwoExclusiveHoldersAndAllServed()
    {
        var names = Enumerable.Range(0, Locks).Select(i => $"contended-{i}-{Guid.NewGuid():N}").ToArray();
        var holders = new int[Locks];
        var lastToken = new long[Locks];
        var grants = new int[Locks];
        var violations = new ConcurrentQueue<string>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(4));

        async Task RunClientAsync(int clientNumber)
        {
            using var client = fixture.CreateClient();
            for (var round = 0; round < RoundsPerClient; round++)
            {
                var lockIndex = (clientNumber + round) % Locks;
                var name = names[lockIndex];
                var requestId = $"client-{clientNumber}-round-{round}";
                ApiResponse response;

                // A 409 after the wait is allowed under load; the same request id keeps the place, so retry with it.
                do
                {
                    deadline.Token.ThrowIfCancellationRequested();
                    response = await client.AcquireAsync(name, new { owner = $"client-{clientNumber}", ttl = 60_000, wait = 20_000, requestId });
                    Assert.True(response.Status is HttpStatusCode.OK or HttpStatusCode.Conflict, response.Describe());
                }
                while (response.Status == HttpStatusCode.Conflict);

                var token = response.Json["fencingToken"]!.GetValue<long>();
                if (Interlocked.Increment(ref holders[lockIndex]) != 1)
                {
                    violations.Enqueue($"{name}: two exclusive holders at once (token {token})");
                }

                // Only the holder writes lastToken, so the read-compare-write needs no lock while exclusion holds.
                if (token <= Volatile.Read(ref lastToken[lockIndex]))
                {
                    violations.Enqueue($"{name}: token {token} after {lastToken[lockIndex]}");
                }

                Volatile.Write(ref lastToken[lockIndex], token);
                Interlocked.Increment(ref grants[lockIndex]);
                await Task.Yield();
                Interlocked.Decrement(ref holders[lockIndex]);

                (await client.ReleaseAsync(name, response.Json["leaseId"]!.GetValue<string>())).Expect(HttpStatusCode.NoContent);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(() => RunClientAsync(c))));

        Assert.Empty(violations);
        Assert.Equal(Clients * RoundsPerClient, grants.Sum());
        using var checker = fixture.CreateClient();
        for (var i = 0; i < Locks; i++)
        {
            var state = (await checker.GetStateAsync(names[i])).Expect(HttpStatusCode.OK).Json;
            Assert.Equal("free", state["mode"]!.GetValue<string>());
            Assert.Empty(state["waiters"]!.AsArray());

            // Every grant took exactly one token: none was given to a request nobody received.
            Assert.Equal(grants[i], state["fencingCounter"]!.GetValue<long>());
            Assert.Equal(grants[i], lastToken[i]);
        }
    }
}
