using System.Text;

namespace OrleansLocks.Silo.Storage;

/// <summary>
/// Identifies one stored record within a service: (grain type, state name, grain key). Equality is ordinal.
/// </summary>
internal readonly record struct StorageKey(string GrainType, string StateName, string GrainKey)
{
    /// <summary>Longest grain key accepted, in UTF-8 bytes (a PostgreSQL btree entry must stay well under 2.7 kB).</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>Longest grain type or state name accepted, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 128;

    /// <summary>
    /// Checks that every part can be stored by every provider. A value PostgreSQL rejects (a NUL character, an unpaired
    /// surrogate, an over-long key) would otherwise abort the whole group-committed batch and fail its neighbours too.
    /// </summary>
    public static StorageKey Create(string grainType, string stateName, string grainKey)
    {
        KeyOrder.EnsureStorable(grainType, MaxNameBytes, nameof(grainType));
        KeyOrder.EnsureStorable(stateName, MaxNameBytes, nameof(stateName));
        KeyOrder.EnsureStorable(grainKey, MaxKeyBytes, nameof(grainKey));
        return new StorageKey(grainType, stateName, grainKey);
    }

    /// <summary>Orders keys the way the databases do (code point order), so concurrent batches take row locks in one order.</summary>
    public static int Compare(StorageKey x, StorageKey y)
    {
        var c = KeyOrder.Compare(x.GrainType, y.GrainType);
        if (c != 0)
        {
            return c;
        }

        c = KeyOrder.Compare(x.StateName, y.StateName);
        return c != 0 ? c : KeyOrder.Compare(x.GrainKey, y.GrainKey);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{GrainType}/{GrainKey} ({StateName})";
}

/// <summary>
/// The order listings use: Unicode code point order, which is what PostgreSQL's <c>COLLATE "C"</c> and SQLite's
/// <c>BINARY</c> collation give for UTF-8 text (byte order). It equals .NET ordinal (UTF-16 code unit) order except
/// that characters U+E000–U+FFFF sort before supplementary characters; lock names are ASCII, where all agree.
/// </summary>
internal static class KeyOrder
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Compares in code point order.</summary>
    public static int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        var length = Math.Min(x.Length, y.Length);
        for (var i = 0; i < length; i++)
        {
            var a = x[i];
            var b = y[i];
            if (a != b)
            {
                return Fixup(a) - Fixup(b);
            }
        }

        return x.Length - y.Length;
    }

    /// <summary>
    /// The smallest string greater than every string that starts with <paramref name="prefix"/>, or null when there is
    /// none (the prefix is empty or all U+10FFFF). Keys in [prefix, successor) are exactly the keys with that prefix.
    /// </summary>
    public static string? PrefixSuccessor(string prefix)
    {
        var runes = prefix.EnumerateRunes().ToList();
        while (runes.Count > 0 && runes[^1].Value == 0x10FFFF)
        {
            runes.RemoveAt(runes.Count - 1);
        }

        if (runes.Count == 0)
        {
            return null;
        }

        var next = runes[^1].Value + 1;
        if (next == 0xD800)
        {
            next = 0xE000; // skip the surrogate range: not scalar values, never stored.
        }

        runes[^1] = new Rune(next);
        var builder = new StringBuilder(prefix.Length + 1);
        foreach (var rune in runes)
        {
            builder.Append(rune.ToString());
        }

        return builder.ToString();
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="value"/> is valid UTF-16 without NUL and short enough.</summary>
    public static void EnsureStorable(string? value, int maxBytes, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(value, parameterName);
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("Storage keys cannot contain NUL characters.", parameterName);
        }

        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("Storage keys must be valid UTF-16 (no unpaired surrogates).", parameterName, e);
        }

        if (bytes > maxBytes)
        {
            throw new ArgumentException($"Storage keys are limited to {maxBytes} UTF-8 bytes; this one has {bytes}.", parameterName);
        }
    }

    // Maps UTF-16 code units so that their order matches code point order: surrogates (supplementary characters) move
    // above U+E000–U+FFFF.
    private static int Fixup(char c) => c >= 0xE000 ? c - 0x800 : c >= 0xD800 ? c + 0x2000 : c;
}
