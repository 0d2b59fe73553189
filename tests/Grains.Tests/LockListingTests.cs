using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Testing;

namespace OrleansLocks.Grains.Tests;

public sealed class LockListingTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly FakeIndex _index = new();
    private readonly LockOptions _options = new() { WaiterGrace = TimeSpan.FromSeconds(10) };

    private LockListing Listing => new(_index, _time, Options.Create(_options));

    private DateTimeOffset Now => _time.GetUtcNow();

    private LockState Held(LockMode mode, double expiresInSeconds, long token = 1)
        => new()
        {
            FencingCounter = token,
            Holders =
            [
                new LockHolder
                {
                    LeaseId = "secret-lease-id-" + token,
                    RequestId = "r" + token,
                    Owner = "worker",
                    Mode = mode,
                    FencingToken = token,
                    AcquiredAt = Now.AddSeconds(-1),
                    ExpiresAt = Now.AddSeconds(expiresInSeconds),
                    Ttl = TimeSpan.FromSeconds(30),
                },
            ],
        };

    [Fact]
    public async Task ListAsync_StoredRecords_ViewsAsOfNowWithoutLeaseIds()
    {
        var queued = Held(LockMode.Exclusive, 20);
        queued.Waiters.Add(new LockWaiter { RequestId = "w", Owner = "waiter", Mode = LockMode.Shared, EnqueuedAt = Now, PollDeadline = Now.AddSeconds(5) });
        _index.Records.Add(new("a", Held(LockMode.Shared, 20, token: 7), "1"));
        _index.Records.Add(new("b", Held(LockMode.Exclusive, -1), "1")); // expired, not yet swept: left out
        _index.Records.Add(new("c", queued, "3"));

        var page = await Listing.ListAsync(null, 100, null, CancellationToken.None);

        Assert.Equal(["a", "c"], page.Items.Select(i => i.Name));
        Assert.Null(page.NextCursor);
        var a = page.Items[0];
        Assert.Equal(LockStateMode.Shared, a.Mode);
        Assert.Equal(7, a.FencingCounter);
        Assert.Equal(new HolderView("worker", LockMode.Shared, 7, Now.AddSeconds(-1), Now.AddSeconds(20)), Assert.Single(a.Holders));
        var c = page.Items[1];
        Assert.Equal(LockStateMode.Exclusive, c.Mode);
        Assert.Equal(new WaiterView("waiter", LockMode.Shared, 1, Now), Assert.Single(c.Waiters));
        Assert.DoesNotContain("secret", System.Text.Json.JsonSerializer.Serialize(page), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListAsync_FullPage_CursorContinuesAfterLastKey()
    {
        foreach (var key in new[] { "jobs:1", "jobs:2", "jobs:3", "other" })
        {
            _index.Records.Add(new(key, Held(LockMode.Exclusive, 30), "1"));
        }

        var first = await Listing.ListAsync("jobs:", 2, null, CancellationToken.None);
        var second = await Listing.ListAsync("jobs:", 2, first.NextCursor, CancellationToken.None);

        Assert.Equal(["jobs:1", "jobs:2"], first.Items.Select(i => i.Name));
        Assert.Equal("jobs:2", first.NextCursor);
        Assert.Equal(["jobs:3"], second.Items.Select(i => i.Name));
        Assert.Null(second.NextCursor);
        Assert.Equal(("lock", "lock", "jobs:", "jobs:2", 2), _index.Calls[^1]);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-5, 1)]
    [InlineData(100, 100)]
    [InlineData(5000, 1000)]
    public async Task ListAsync_LimitOutOfRange_Clamped(int limit, int expected)
    {
        await Listing.ListAsync(null, limit, null, CancellationToken.None);

        Assert.Equal(expected, _index.Calls.Single().Limit);
    }

    private sealed class FakeIndex : IGrainStorageIndex
    {
        public List<StoredGrainRecord<LockState>> Records { get; } = [];

        public List<(string StateName, string GrainType, string? Prefix, string? AfterKey, int Limit)> Calls { get; } = [];

        public Task<IReadOnlyList<StoredGrainRecord<TState>>> ListAsync<TState>(
            string stateName, string grainType, string? prefix, string? afterKey, int limit, CancellationToken cancellationToken = default)
        {
            Calls.Add((stateName, grainType, prefix, afterKey, limit));
            IReadOnlyList<StoredGrainRecord<TState>> page = [.. Records
                .Where(r => r.State.IsListed)
                .Where(r => prefix is null || r.Key.StartsWith(prefix, StringComparison.Ordinal))
                .Where(r => afterKey is null || string.CompareOrdinal(r.Key, afterKey) > 0)
                .OrderBy(r => r.Key, StringComparer.Ordinal)
                .Take(limit)
                .Cast<StoredGrainRecord<TState>>()];
            return Task.FromResult(page);
        }
    }
}
