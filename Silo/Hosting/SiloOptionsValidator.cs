using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;

namespace OrleansLocks.Silo.Hosting;

/// <summary>Validates the cluster-facing settings of <see cref="SiloOptions"/> at start-up, naming the bad setting.</summary>
internal sealed class SiloOptionsValidator : IValidateOptions<SiloOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloOptions options)
    {
        var failures = new List<string>();
        if (options.SiloPort is < 0 or > 65535)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"Silo:SiloPort must be between 0 (any free port) and 65535 (it is {options.SiloPort})."));
        }

        if (options.AdvertisedAddress is { } advertised && !IsAdvertisable(advertised))
        {
            failures.Add(
                $"Silo:AdvertisedAddress must be an IP address or a DNS name other silos can reach (it is '{advertised}'); " +
                "a wildcard address such as 0.0.0.0 is not one.");
        }

        if (options.ListenAddress is { } listen && !IPAddress.TryParse(listen, out _))
        {
            failures.Add($"Silo:ListenAddress must be a local IP address (it is '{listen}'); leave it unset to listen on every interface.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsAdvertisable(string address)
    {
        if (IPAddress.TryParse(address, out var ip))
        {
            return !ip.Equals(IPAddress.Any) && !ip.Equals(IPAddress.IPv6Any) && !ip.Equals(IPAddress.None) && !ip.Equals(IPAddress.IPv6None);
        }

        return address.Length <= 253 && Uri.CheckHostName(address) == UriHostNameType.Dns;
    }
}
