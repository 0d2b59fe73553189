using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;

namespace OrleansLocks.Grains;

/// <summary>A page of <c>GET /locks</c>.</summary>
/// <param name="Items">Held or queued locks, in ordinal name order.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> to get the next page; null when this is the last page.</param>
public sealed record LockPage(IReadOnlyList<LockStateView> Items, string? NextCursor);

/// <summary>
/// Lists held or queued locks straight from storage (<see cref="IGrainStorageIndex"/>), without activating grains.
/// </summary>
/// <remarks>
/// A listing is a snapshot of stored records seen as of now: holders whose deadline has passed and abandoned
/// waiters are left out (their grains will remove them on their next turn), and a record left with neither is
/// skipped. It does not grant queued waiters the way the grain would; the authoritative view of one lock is
/// <see cref="ILockGrain.GetStateAsync"/>. A page may therefore hold fewer than <c>limit</c> items and still
/// have a next cursor.
/// </remarks>
public sealed class LockListing(IGrainStorageIndex index, TimeProvider timeProvider, IOptions<LockOptions> options)
{
    /// <summary>The largest page.</summary>
    public const int MaxLimit = 1000;

    /// <summary>
    /// Up to <paramref name="limit"/> (1–1000) locks whose name starts with <paramref name="prefix"/> and sorts
    /// (ordinal) after <paramref name="cursor"/>, which is the previous page's <see cref="LockPage.NextCursor"/>.
    /// </summary>
    public async Task<LockPage> ListAsync(string? prefix, int limit, string? cursor, CancellationToken cancellationToken)
    {
        // The Api validates the limit; clamping keeps a bug from turning into a storage error.
        limit = Math.Clamp(limit, 1, MaxLimit);
        var records = await index.ListAsync<LockState>(
            LockGrain.StateName, LockGrainsServiceCollectionExtensions.GrainType, prefix, cursor, limit, cancellationToken);

        var now = timeProvider.GetUtcNow();
        var waiterGrace = options.Value.WaiterGrace;
        var items = new List<LockStateView>(records.Count);
        foreach (var record in records)
        {
            var view = LockStateMachine.CreateView(record.Key, record.State ?? new LockState(), now, waiterGrace);
            if (view.Holders.Count > 0 || view.Waiters.Count > 0)
            {
                items.Add(view);
            }
        }

        // A full page may have more after it; the last key is the cursor (keys are lock names, nothing secret).
        var nextCursor = records.Count >= limit ? records[^1].Key : null;
        return new LockPage(items, nextCursor);
    }
}
