using OrleansLocks.Grains;

namespace OrleansLocks.Api.Security;

/// <summary>
/// Request ids as the lock grain sees them: scoped to the principal, so that idempotency (a repeated request id
/// returns the same lease, lease id included) never hands one principal's lease to another who guesses or reuses
/// its request id. The anonymous principal's ids are left as they are.
/// </summary>
internal static class ScopedRequestIds
{
    /// <summary>
    /// <c>{length of key}:{key}/{requestId}</c>: the length makes the form unambiguous whatever characters a
    /// principal's name holds (no two principals can produce the same scoped id).
    /// </summary>
    public static string Scope(LockPrincipal? principal, string requestId)
        => principal is null or { IsAnonymous: true }
            ? requestId
            : $"{principal.Key.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)}:{principal.Key}/{requestId}";
}

/*
 * Design note — listings limited to the principal's prefixes.
 *
 * GET /locks?prefix=P lists names starting with P; a principal may only see names starting with one of its own
 * prefixes. The visible names are the union, over the principal's prefixes Q, of the names starting with both P and
 * Q: when Q extends P that is Q; when P extends Q it is P; otherwise nothing. After dropping scopes covered by a
 * shorter one, the scopes are disjoint ranges of the ordinal name order, so a page is read scope by scope in order,
 * and the cursor (the last name returned or skipped) stays meaningful across scopes: a scope entirely before the
 * cursor is skipped, a scope after it is read from its start.
 */

/// <summary>Lists held or queued locks within a principal's prefixes.</summary>
internal static class ScopedListing
{
    public static async Task<LockPage> ListAsync(
        LockListing listing, IReadOnlyList<string> allowed, string? prefix, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var scopes = Scopes(allowed, prefix ?? "");
        var items = new List<OrleansLocks.LockStateView>();
        string? last = null;
        foreach (var scope in scopes)
        {
            // Every name of this scope sorts at or before the cursor: nothing of it is left to read.
            if (cursor is not null && string.CompareOrdinal(cursor, scope) > 0 && !cursor.StartsWith(scope, StringComparison.Ordinal))
            {
                continue;
            }

            var from = cursor is not null && cursor.StartsWith(scope, StringComparison.Ordinal) ? cursor : null;
            var page = await listing.ListAsync(scope.Length == 0 ? null : scope, limit - items.Count, from, cancellationToken);
            items.AddRange(page.Items);
            if (page.NextCursor is not null)
            {
                return new LockPage(items, page.NextCursor);
            }

            if (page.Items.Count > 0)
            {
                last = page.Items[^1].Name;
            }

            if (items.Count >= limit)
            {
                // The page is full at the end of a scope: continue after the last name (later scopes sort after it).
                return new LockPage(items, scope == scopes[^1] ? null : last);
            }
        }

        return new LockPage(items, null);
    }

    /// <summary>The disjoint prefixes, in ordinal order, whose names start with <paramref name="prefix"/> and an allowed prefix.</summary>
    internal static List<string> Scopes(IReadOnlyList<string> allowed, string prefix)
    {
        var scopes = new List<string>();
        foreach (var q in allowed)
        {
            if (q.StartsWith(prefix, StringComparison.Ordinal))
            {
                scopes.Add(q);
            }
            else if (prefix.StartsWith(q, StringComparison.Ordinal))
            {
                scopes.Add(prefix);
            }
        }

        scopes.Sort(StringComparer.Ordinal);
        var disjoint = new List<string>();
        foreach (var scope in scopes)
        {
            if (disjoint.Count == 0 || !scope.StartsWith(disjoint[^1], StringComparison.Ordinal))
            {
                disjoint.Add(scope);
            }
        }

        return disjoint;
    }
}
