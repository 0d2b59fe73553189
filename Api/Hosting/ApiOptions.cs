using System.Globalization;
using Microsoft.Extensions.Options;
using OrleansLocks.Silo.Storage;

namespace OrleansLocks.Api.Hosting;

/// <summary>How the Api reaches the lock grains.</summary>
public enum ApiMode
{
    /// <summary>The Api process co-hosts a silo (alone, or as a member of a cluster on PostgreSQL). The default.</summary>
    CoHosted = 0,

    /// <summary>
    /// The Api is a client (gateway) of a silo cluster: it reads membership from the cluster's PostgreSQL table and
    /// sends every grain call to the owner silo; it hosts no grains.
    /// </summary>
    Gateway = 1,
}

/// <summary>HTTP API settings (configuration section <c>Api</c>).</summary>
public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>Largest request body accepted, in bytes; larger ones get 413 payload-too-large. Default 16 384 (16 KiB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024;

    /// <summary>Co-host a silo (<see cref="ApiMode.CoHosted"/>, the default) or act as a gateway of a silo cluster.</summary>
    public ApiMode Mode { get; set; } = ApiMode.CoHosted;
}

/// <summary>Validates <see cref="ApiOptions"/> at start-up, naming the bad setting.</summary>
internal sealed class ApiOptionsValidator(IOptions<GrainStorageOptions> storage) : IValidateOptions<ApiOptions>
{
    public const long MinBodyBytes = 1024;
    public const long MaxBodyBytes = 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        var failures = new List<string>();
        if (options.MaxRequestBodyBytes is < MinBodyBytes or > MaxBodyBytes)
        {
            failures.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"{ApiOptions.SectionName}:{nameof(ApiOptions.MaxRequestBodyBytes)} is {options.MaxRequestBodyBytes}; it must be between {MinBodyBytes} and {MaxBodyBytes} bytes."));
        }

        if (!Enum.IsDefined(options.Mode))
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{ApiOptions.SectionName}:{nameof(ApiOptions.Mode)} must be CoHosted or Gateway (it is {(int)options.Mode})."));
        }
        else if (options.Mode == ApiMode.Gateway && storage.Value.Provider != GrainStorageProvider.Postgres)
        {
            // A gateway needs the cluster's membership table, and lists locks from the cluster's storage.
            failures.Add(
                $"{ApiOptions.SectionName}:{nameof(ApiOptions.Mode)} is Gateway, which needs the cluster's PostgreSQL database: " +
                $"set Storage:Provider=Postgres and its connection string (Storage:Provider is {storage.Value.Provider}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
