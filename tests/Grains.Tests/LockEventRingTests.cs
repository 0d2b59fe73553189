using OrleansLocks.Grains;
using OrleansLocks.Testing;

namespace OrleansLocks.Grains.Tests;

/// <summary>The lock's bounded event history and its long poll.</summary>
public sealed class LockEventRingTests
{
    private readonly ManualTimeProvider _time = new(DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task Watch_AfterKnownSequence_ReturnsTheEventsAfterItInOrder()
    {
        var ring = new LockEventRing();
        Append(ring, "a");
        Append(ring, "b");
        Append(ring, "c");

        var batch = await ring.WatchAsync(ring.Epoch, 1, TimeSpan.Zero, _time);

        Assert.False(batch.Reset);
        Assert.Equal([2L, 3L], batch.Events.Select(e => e.Sequence));
        Assert.Equal(["b", "c"], batch.Events.Select(e => e.Owner));
        Assert.Equal(3, batch.LastSequence);
    }

    [Fact]
    public async Task Watch_OtherEpochOrNoEpoch_ResetsAtOnce()
    {
        var ring = new LockEventRing();
        Append(ring, "a");

        var unknown = await ring.WatchAsync("other", 1, TimeSpan.FromSeconds(10), _time);
        var none = await ring.WatchAsync(null, 0, TimeSpan.FromSeconds(10), _time);

        Assert.True(unknown.Reset);
        Assert.True(none.Reset);
        Assert.Equal(ring.Epoch, unknown.Epoch);
        Assert.Equal(1, unknown.LastSequence);
        Assert.Empty(unknown.Events);
    }

    [Fact]
    public async Task Watch_FurtherBehindThanTheCapacity_Resets()
    {
        var ring = new LockEventRing();
        for (var i = 0; i < LockEventRing.Capacity + 5; i++)
        {
            Append(ring, "o" + i);
        }

        var tooOld = await ring.WatchAsync(ring.Epoch, 4, TimeSpan.Zero, _time);
        var oldestKept = await ring.WatchAsync(ring.Epoch, 5, TimeSpan.Zero, _time);

        Assert.True(tooOld.Reset);
        Assert.False(oldestKept.Reset);
        Assert.Equal(LockEventRing.Capacity, oldestKept.Events.Count);
        Assert.Equal(6, oldestKept.Events[0].Sequence);
    }

    [Fact]
    public async Task Watch_UpToDate_WaitsForTheNextAppend()
    {
        var ring = new LockEventRing();
        Append(ring, "a");
        var watching = ring.WatchAsync(ring.Epoch, 1, TimeSpan.FromSeconds(30), _time);
        Assert.False(watching.IsCompleted);

        Append(ring, "b");
        var batch = await watching.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("b", Assert.Single(batch.Events).Owner);
    }

    [Fact]
    public async Task Watch_NothingHappens_AnswersEmptyWhenTheWaitEnds()
    {
        var ring = new LockEventRing();
        var watching = ring.WatchAsync(ring.Epoch, 0, TimeSpan.FromSeconds(15), _time);
        Assert.False(watching.IsCompleted);

        _time.Advance(TimeSpan.FromSeconds(15));
        var batch = await watching.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(batch.Reset);
        Assert.Empty(batch.Events);
    }

    [Fact]
    public async Task Close_WakesWatchersAndLaterWatchesAnswerAtOnce()
    {
        var ring = new LockEventRing();
        var watching = ring.WatchAsync(ring.Epoch, 0, TimeSpan.FromSeconds(30), _time);

        ring.Close();

        Assert.Empty((await watching.WaitAsync(TimeSpan.FromSeconds(30))).Events);
        Assert.True(ring.WatchAsync(ring.Epoch, 0, TimeSpan.FromSeconds(30), _time).IsCompleted);
    }

    [Fact]
    public void NewRing_AllocatesNoSlotsUntilTheFirstEvent_ThenAFew()
    {
        var ring = new LockEventRing();
        Assert.Equal(0, ring.AllocatedSlots);

        Append(ring, "a");

        Assert.Equal(LockEventRing.InitialSlots, ring.AllocatedSlots);
    }

    [Fact]
    public async Task Append_GrowingUpToTheCapacity_KeepsEveryEventInOrder()
    {
        var ring = new LockEventRing();
        var slots = new List<int>();
        for (var i = 1; i <= LockEventRing.Capacity + 3; i++)
        {
            Append(ring, "o" + i);
            slots.Add(ring.AllocatedSlots);

            // Every event since the first (or the last Capacity of them) is readable after each append, so no
            // growth step loses or reorders one.
            var oldest = Math.Max(1, i - LockEventRing.Capacity + 1);
            var batch = await ring.WatchAsync(ring.Epoch, oldest - 1, TimeSpan.Zero, _time);
            Assert.False(batch.Reset);
            Assert.Equal(Enumerable.Range(oldest, i - oldest + 1).Select(s => (long)s), batch.Events.Select(e => e.Sequence));
            Assert.Equal(Enumerable.Range(oldest, i - oldest + 1).Select(s => "o" + s), batch.Events.Select(e => e.Owner));
        }

        Assert.Equal(LockEventRing.Capacity, slots[^1]);
        Assert.Equal(LockEventRing.InitialSlots * 2, slots[LockEventRing.InitialSlots]);
        Assert.All(slots, s => Assert.InRange(s, LockEventRing.InitialSlots, LockEventRing.Capacity));
    }

    [Fact]
    public void Epoch_IsTheSameEveryTimeItIsAsked()
    {
        var ring = new LockEventRing();
        var first = ring.Epoch;
        Append(ring, "a");

        Assert.Equal(first, ring.Epoch);
        Assert.Equal(11, first.Length);
        Assert.NotEqual(first, new LockEventRing().Epoch);
    }

    private void Append(LockEventRing ring, string owner)
        => ring.Append(sequence => new LockEventView(sequence, LockEventType.Granted, _time.GetUtcNow(), owner, LockMode.Exclusive, FencingToken: sequence));
}
