using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace OrleansLocks.Api.Hosting;

/// <summary>Decides whether a request has admin rights: an <c>X-Admin-Key</c> whose SHA-256 is configured, or anonymous admin.</summary>
internal sealed class AdminAuthorizer(IOptions<ApiOptions> options)
{
    public const string HeaderName = "X-Admin-Key";

    private readonly byte[][] _hashes = [.. (options.Value.AdminKeyHashes ?? []).Select(Convert.FromHexString)];
    private readonly bool _allowAnonymous = options.Value.AllowAnonymousAdmin;

    /// <summary>
    /// True when the request may act as admin; <paramref name="requestedBy"/> then says who, for the log: the first
    /// 8 hex digits of the key's hash (identifies the key without revealing it) and the remote address.
    /// </summary>
    public bool TryAuthorize(HttpContext http, out string requestedBy)
    {
        var remote = http.Connection.RemoteIpAddress?.ToString() ?? "unknown address";
        var key = http.Request.Headers[HeaderName].ToString();
        if (key.Length > 0)
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));

            // Compare against every configured hash without an early exit so timing reveals nothing about which matched.
            var match = false;
            foreach (var configured in _hashes)
            {
                match |= CryptographicOperations.FixedTimeEquals(hash, configured);
            }

            if (match)
            {
                requestedBy = $"admin key {Convert.ToHexStringLower(hash)[..8]} from {remote}";
                return true;
            }
        }

        if (_allowAnonymous)
        {
            requestedBy = $"anonymous admin (Api:AllowAnonymousAdmin) from {remote}";
            return true;
        }

        requestedBy = $"unauthorized caller from {remote}";
        return false;
    }
}
