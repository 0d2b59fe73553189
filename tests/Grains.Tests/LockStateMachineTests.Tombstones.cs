using System.Text;
using System.Text.Json;

namespace OrleansLocks.Grains.Tests;

public sealed partial class LockStateMachineTests
{
    // The storage's serializer options (Silo/Storage/GrainStorageSerializer.cs): the row is exactly this JSON.
    private static readonly JsonSerializerOptions StorageJson = new(JsonSerializerDefaults.General);

    private AcquireResult AcquireGenerated(string requestId, double at = 0, double wait = 0)
        => Machine.Acquire(_state, At(at), Command(requestId, wait: wait) with { RequestIdGenerated = true }).Result;

    [Fact]
    public void Tombstone_GeneratedRequestId_NotKept()
    {
        var lease = AcquireGenerated("srv-generated").Lease!;
        Release(lease.LeaseId, at: 1);

        var tombstone = Assert.Single(_state.Tombstones);
        Assert.Equal("", tombstone.RequestId);
        Assert.Equal(lease.LeaseId, tombstone.LeaseId);

        // The release is still answered truthfully by lease id; the (unrepeatable) request is simply not known.
        Assert.Equal(new ReleaseResult(true, null), Release(lease.LeaseId, at: 2));
        Assert.Equal(AcquireStatus.NotGranted, Poll("srv-generated", at: 2).Status);
    }

    [Fact]
    public void Tombstone_GeneratedRequestIdGrantedFromQueue_NotKept()
    {
        var first = Grant("r1");
        Assert.Equal(AcquireStatus.Queued, AcquireGenerated("srv-waiting", wait: 30).Status);
        Release(first.LeaseId, at: 1);
        var granted = Poll("srv-waiting", at: 1);
        Assert.Equal(AcquireStatus.Granted, granted.Status);

        Release(granted.Lease!.LeaseId, at: 2);

        Assert.Equal(["r1", ""], _state.Tombstones.Select(t => t.RequestId));
    }

    [Fact]
    public void Tombstone_ClientRequestId_KeptAndRepeatAnswered()
    {
        var lease = Grant("client-request");
        Release(lease.LeaseId, at: 1);

        Assert.Equal("client-request", Assert.Single(_state.Tombstones).RequestId);
        var repeat = Acquire("client-request", at: 2);
        Assert.Equal(AcquireStatus.LeaseEnded, repeat.Status);
        Assert.Equal(LeaseLostReason.Released, repeat.LostReason);
    }

    [Fact]
    public void TombstoneJson_WrittenAsCompactArray_RoundTrips()
    {
        var tombstone = new LockTombstone
        {
            LeaseId = "AC8I0p4Ws0cR69IRrhQAmA",
            RequestId = "req-1",
            Reason = LeaseLostReason.Expired,
            FencingToken = 42,
            EndedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_123),
        };

        var json = JsonSerializer.Serialize(tombstone, StorageJson);
        Assert.Equal("""["AC8I0p4Ws0cR69IRrhQAmA","req-1",0,42,1795000000123]""", json);

        var read = JsonSerializer.Deserialize<LockTombstone>(json, StorageJson)!;
        Assert.Equal(JsonSerializer.Serialize(read, StorageJson), json);
        Assert.Equal(tombstone.EndedAt, read.EndedAt);
        Assert.Null(read.ForcedBy);
    }

    [Fact]
    public void TombstoneJson_WrittenAgain_CopiesItsJsonUntilAPropertyChanges()
    {
        var tombstone = new LockTombstone { LeaseId = "a", RequestId = "r", FencingToken = 1, EndedAt = DateTimeOffset.FromUnixTimeMilliseconds(5) };
        var state = new LockState { FencingCounter = 2, Tombstones = [tombstone, new LockTombstone { LeaseId = "b", FencingToken = 2 }] };

        var first = JsonSerializer.Serialize(state, StorageJson);
        var cached = tombstone.CachedJson;
        Assert.NotNull(cached);
        Assert.Equal(first, JsonSerializer.Serialize(state, StorageJson));
        Assert.Same(cached, tombstone.CachedJson);
        Assert.Contains("""["a","r",0,1,5]""", first, StringComparison.Ordinal);

        tombstone.FencingToken = 9;
        Assert.Null(tombstone.CachedJson);
        Assert.Contains("""["a","r",0,9,5]""", JsonSerializer.Serialize(state, StorageJson), StringComparison.Ordinal);

        // An indented writer writes the tombstone out instead of copying the compact form; it reads back the same.
        var indented = JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true });
        var read = JsonSerializer.Deserialize<LockState>(indented, StorageJson)!;
        Assert.Equal(9, read.Tombstones[0].FencingToken);
        Assert.Equal("b", read.Tombstones[1].LeaseId);
    }

    [Fact]
    public void TombstoneJson_ForceReleased_KeepsWhoAndWhy()
    {
        var tombstone = new LockTombstone
        {
            LeaseId = "lease",
            Reason = LeaseLostReason.ForceReleased,
            FencingToken = 7,
            EndedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_000),
            ForcedBy = "ops-admin",
            ForceReason = "stuck \"job\"",
        };

        var json = JsonSerializer.Serialize(tombstone, StorageJson);
        var read = JsonSerializer.Deserialize<LockTombstone>(json, StorageJson)!;

        Assert.Equal("ops-admin", read.ForcedBy);
        Assert.Equal("stuck \"job\"", read.ForceReason);
        Assert.Equal(LeaseLostReason.ForceReleased, read.Reason);
    }

    [Fact]
    public void TombstoneJson_OlderObjectForm_StillRead()
    {
        // A row as the previous version wrote it (objects, ISO-8601 times): an upgraded silo must read it.
        const string row = """
            {"FencingCounter":9,"Holders":[],"Waiters":[],"Tombstones":[
              {"LeaseId":"old-lease","RequestId":"old-request","Reason":2,"FencingToken":9,
               "EndedAt":"2030-01-01T00:00:05.123+00:00","ForcedBy":"admin","ForceReason":"why"}]}
            """;

        var state = JsonSerializer.Deserialize<LockState>(row, StorageJson)!;

        var tombstone = Assert.Single(state.Tombstones);
        Assert.Equal("old-lease", tombstone.LeaseId);
        Assert.Equal("old-request", tombstone.RequestId);
        Assert.Equal(LeaseLostReason.ForceReleased, tombstone.Reason);
        Assert.Equal(9, tombstone.FencingToken);
        Assert.Equal(T0.AddSeconds(5.123), tombstone.EndedAt);
        Assert.Equal("admin", tombstone.ForcedBy);
        Assert.Equal("why", tombstone.ForceReason);
        Assert.Equal(LeaseLostReason.ForceReleased, Machine.Release(state, At(6), "old-lease").Result.LostReason);
    }

    [Theory]
    [InlineData("""["lease","req",1,5]""")]
    [InlineData("\"lease\"")]
    public void TombstoneJson_Malformed_Refused(string json)
        => Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<LockTombstone>(json, StorageJson));

    [Fact]
    public void TombstoneJson_LaterTrailingFields_Skipped()
    {
        var read = JsonSerializer.Deserialize<LockTombstone>("""["l","r",1,5,1000,null,null,{"future":[1,2]},3]""", StorageJson)!;

        Assert.Equal("l", read.LeaseId);
        Assert.Null(read.ForcedBy);
    }

    /// <summary>
    /// The row budget: a lock used over and over (every lease ended and remembered) must stay below PostgreSQL's
    /// ~2 KB TOAST threshold with the default options, or every write compresses the row and rewrites TOAST chunks.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void StateRow_LockUsedRepeatedlyWithDefaultOptions_StaysUnderToastThreshold(bool generatedRequestIds)
    {
        var defaults = new LockOptions();
        var machine = new LockStateMachine("orders/nightly-report", defaults, LockStateMachine.NewLeaseId);
        var state = new LockState();
        for (var i = 0; i < 200; i++)
        {
            var requestId = generatedRequestIds ? "srv-" + LockStateMachine.NewLeaseId() : Guid.NewGuid().ToString();
            var command = new AcquireCommand
            {
                RequestId = requestId,
                RequestIdGenerated = generatedRequestIds,
                Mode = LockMode.Exclusive,
                Owner = "worker-" + i,
                Ttl = TimeSpan.FromSeconds(30),
            };
            var lease = machine.Acquire(state, At(i), command).Result.Lease!;
            machine.Release(state, At(i + 0.5), lease.LeaseId);
        }

        // Held once more, as it is on most writes.
        machine.Acquire(state, At(300), Command(Guid.NewGuid().ToString(), owner: "worker-holding"));
        var bytes = JsonSerializer.SerializeToUtf8Bytes(state, StorageJson).Length;

        Assert.Equal(defaults.MaxTombstones, state.Tombstones.Count);
        Assert.True(bytes < 1_800, $"A repeatedly used lock's row is {bytes} bytes: {Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(state, StorageJson))}");
    }
}
