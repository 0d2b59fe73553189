using System.Buffers;

namespace OrleansLocks;

/// <summary>The input rules of SPEC §2 that the Api checks and the grain relies on.</summary>
public static class LockLimits
{
    /// <summary>Longest lock name.</summary>
    public const int MaxNameLength = 200;

    /// <summary>Longest owner label, request id, force-release reason.</summary>
    public const int MaxLabelLength = 200;

    private static readonly SearchValues<char> NameChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:~");

    /// <summary>Null when <paramref name="name"/> is a valid lock name; otherwise what is wrong with it.</summary>
    public static string? ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "The lock name is empty.";
        }

        if (name.Length > MaxNameLength)
        {
            return $"The lock name has {name.Length} characters; at most {MaxNameLength} are allowed.";
        }

        if (name is "." or "..")
        {
            // URL normalisation removes these path segments, so no HTTP request could ever address such a lock.
            return $"The lock name '{name}' is reserved: URLs cannot address it.";
        }

        var bad = name.AsSpan().IndexOfAnyExcept(NameChars);
        return bad < 0
            ? null
            : $"The lock name contains '{name[bad]}' at position {bad}; only A-Z a-z 0-9 . _ - : ~ are allowed.";
    }

    /// <summary>Null when a label (owner, request id, reason) is acceptable; otherwise what is wrong with it.</summary>
    public static string? ValidateLabel(string field, string? value, bool required)
    {
        if (string.IsNullOrEmpty(value))
        {
            return required ? $"'{field}' is required." : null;
        }

        if (value.Length > MaxLabelLength)
        {
            return $"'{field}' has {value.Length} characters; at most {MaxLabelLength} are allowed.";
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return $"'{field}' contains a control character.";
            }
        }

        return null;
    }
}
