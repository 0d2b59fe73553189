using System.Globalization;
using Microsoft.Extensions.Options;

namespace OrleansLocks.Api.Hosting;

/// <summary>HTTP API settings (configuration section <c>Api</c>).</summary>
public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>
    /// SHA-256 hashes (64 hexadecimal characters, either case) of the keys that grant admin rights when sent in the
    /// <c>X-Admin-Key</c> header. Hashes, not keys, so configuration never holds a usable secret. Default none.
    /// </summary>
    public string[] AdminKeyHashes { get; set; } = [];

    /// <summary>
    /// Grants admin rights (force-release) to every caller. For development only; a warning is logged at start-up.
    /// Default false.
    /// </summary>
    public bool AllowAnonymousAdmin { get; set; }

    /// <summary>Largest request body accepted, in bytes; larger ones get 413 payload-too-large. Default 16 384 (16 KiB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024;
}

/// <summary>Validates <see cref="ApiOptions"/> at start-up, naming the bad setting.</summary>
internal sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public const long MinBodyBytes = 1024;
    public const long MaxBodyBytes = 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        var failures = new List<string>();
        var hashes = options.AdminKeyHashes ?? [];
        for (var i = 0; i < hashes.Length; i++)
        {
            if (hashes[i] is not { Length: 64 } hash || !hash.All(char.IsAsciiHexDigit))
            {
                failures.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{ApiOptions.SectionName}:{nameof(ApiOptions.AdminKeyHashes)}:{i} must be the SHA-256 hash of an admin key as 64 hexadecimal characters (e.g. the output of `printf %s \"$KEY\" | sha256sum`)."));
            }
        }

        if (options.MaxRequestBodyBytes is < MinBodyBytes or > MaxBodyBytes)
        {
            failures.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"{ApiOptions.SectionName}:{nameof(ApiOptions.MaxRequestBodyBytes)} is {options.MaxRequestBodyBytes}; it must be between {MinBodyBytes} and {MaxBodyBytes} bytes."));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
