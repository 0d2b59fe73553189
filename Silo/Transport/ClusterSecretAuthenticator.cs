using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Silo.Hosting;

namespace OrleansLocks.Silo.Transport;

/*
 * Design note — authenticating silo-to-silo traffic with the cluster secret
 *
 * Every request on the silo port (calls, probes, gossip; from silos and gateways) carries an HMAC-SHA256 signature
 * over "v1\n{method}\n{path}\n{timestamp}\n{SHA-256 of the body}" in X-Silo-Signature, with the timestamp (Unix
 * milliseconds) in X-Silo-Timestamp. The key is derived from Silo:ClusterSecret with HKDF, salted with the service
 * and cluster ids, so the secret itself never crosses the wire and a cluster never accepts another cluster's calls
 * even if they share a secret by mistake. The receiver recomputes the signature over the bytes it received and
 * compares in constant time; it refuses (401, and the call does not run) a missing or wrong signature, and a
 * timestamp more than MaxClockSkew away from its own clock.
 *
 * What this protects against: anyone who can reach the silo port but does not know the secret cannot run a grain
 * call, probe, or gossip, nor alter a request in flight (body, method and path are signed).
 * What it does not: the transport stays cleartext (h2c), so an attacker on the path can read requests (lease ids
 * included) and replay a captured request within the skew window (most grain calls are idempotent; force-release
 * is not), and responses are not signed. Where the silo network is not trusted, run it inside a mesh with mutual TLS
 * (docs/security.md).
 *
 * Without a secret (allowed only in Development, or when the silo is not in a cluster) requests are neither signed
 * nor checked.
 */

/// <summary>Signs outgoing silo requests and checks incoming ones with the key derived from <c>Silo:ClusterSecret</c>.</summary>
internal sealed partial class ClusterSecretAuthenticator
{
    public const string TimestampHeader = "X-Silo-Timestamp";
    public const string SignatureHeader = "X-Silo-Signature";

    /// <summary>The shortest secret accepted, in characters (e.g. <c>openssl rand -base64 32</c> gives 44).</summary>
    public const int MinSecretLength = 32;

    /// <summary>How far a request's timestamp may be from the receiver's clock.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromSeconds(60);

    private readonly byte[]? _key;
    private readonly byte[]? _alternateKey;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ClusterSecretAuthenticator(IOptions<SiloOptions> options, TimeProvider time, ILogger<ClusterSecretAuthenticator> logger)
    {
        _time = time;
        _logger = logger;
        var silo = options.Value;
        _key = DeriveKey(silo.ClusterSecret, silo);
        _alternateKey = _key is null ? null : DeriveKey(silo.AlternateClusterSecret, silo);
    }

    /// <summary>Whether requests are signed and checked (a cluster secret is configured).</summary>
    public bool Enabled => _key is not null;

    /// <summary>Adds the timestamp and signature headers to <paramref name="request"/>, whose body is <paramref name="body"/>.</summary>
    public void Sign(HttpRequestMessage request, ReadOnlySpan<byte> body)
    {
        if (_key is null)
        {
            return;
        }

        var timestamp = _time.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var signature = Compute(_key, request.Method.Method, request.RequestUri!.AbsolutePath, timestamp, body);
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, Convert.ToBase64String(signature));
    }

    /// <summary>Null when the request is authentic (or no secret is configured); otherwise why it is refused.</summary>
    public string? Verify(HttpRequest request, ReadOnlySpan<byte> body)
    {
        if (_key is null)
        {
            return null;
        }

        var timestampText = request.Headers[TimestampHeader].ToString();
        var signatureText = request.Headers[SignatureHeader].ToString();
        if (timestampText.Length == 0 || signatureText.Length == 0)
        {
            return "the request is not signed (is Silo:ClusterSecret set on the sender?)";
        }

        if (!long.TryParse(timestampText, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds)
            || milliseconds > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            return "the request's timestamp is malformed";
        }

        var skew = _time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
        if (skew.Duration() > MaxClockSkew)
        {
            return string.Create(CultureInfo.InvariantCulture, $"the request's timestamp is {skew.TotalSeconds:0.#} s away from this silo's clock (at most {MaxClockSkew.TotalSeconds} s are accepted; check the clocks)");
        }

        Span<byte> given = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!Convert.TryFromBase64String(signatureText, given, out var written) || written != given.Length)
        {
            return "the request's signature is malformed";
        }

        var expected = Compute(_key, request.Method, request.Path.Value ?? "", timestampText, body);
        var match = CryptographicOperations.FixedTimeEquals(expected, given);
        if (_alternateKey is not null)
        {
            // During a rotation a sender may still sign with the other secret.
            match |= CryptographicOperations.FixedTimeEquals(Compute(_alternateKey, request.Method, request.Path.Value ?? "", timestampText, body), given);
        }

        return match ? null : "the request's signature does not match (is Silo:ClusterSecret the same on every silo and gateway?)";
    }

    /// <summary>Logs a refused request (who sent it and why).</summary>
    public void LogRefused(string path, string remote, string reason) => LogRequestRefused(_logger, path, remote, reason);

    /// <summary>The signing key of a secret: HKDF-SHA256, salted with the service and cluster ids; null without a secret.</summary>
    private static byte[]? DeriveKey(string? secret, SiloOptions silo)
        => string.IsNullOrEmpty(secret)
            ? null
            : HKDF.DeriveKey(
                HashAlgorithmName.SHA256,
                Encoding.UTF8.GetBytes(secret),
                outputLength: 32,
                salt: Encoding.UTF8.GetBytes($"orleanslocks/{silo.ServiceId}/{silo.ClusterId}"),
                info: "orleanslocks silo transport v1"u8.ToArray());

    private static byte[] Compute(byte[] key, string method, string path, string timestamp, ReadOnlySpan<byte> body)
    {
        Span<byte> bodyHash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(body, bodyHash);
        var canonical = $"v1\n{method.ToUpperInvariant()}\n{path}\n{timestamp}\n{Convert.ToHexStringLower(bodyHash)}";
        return HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(canonical));
    }

    [LoggerMessage(1900, LogLevel.Warning, "Silo transport request {Path} from {Remote} refused: {Reason}")]
    private static partial void LogRequestRefused(ILogger logger, string path, string remote, string reason);
}

/// <summary>Signs every request the silo transport client sends (see <see cref="ClusterSecretAuthenticator"/>).</summary>
internal sealed class SiloRequestSigningHandler(ClusterSecretAuthenticator authenticator) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (authenticator.Enabled)
        {
            // Buffers the (small, JSON) body; the buffered bytes are what is sent, so they are what is signed.
            var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            authenticator.Sign(request, body);
        }

        return await base.SendAsync(request, cancellationToken);
    }
}

/// <summary>
/// Requires <c>Silo:ClusterSecret</c> for a cluster member or gateway outside Development, so that an outsider who
/// reaches the silo port cannot call grains; and refuses a secret too short to resist guessing.
/// </summary>
internal sealed class ClusterSecretValidator(IServiceProvider services) : IValidateOptions<SiloOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloOptions options)
    {
        if (options.AlternateClusterSecret is { Length: > 0 } alternate)
        {
            if (string.IsNullOrEmpty(options.ClusterSecret))
            {
                return ValidateOptionsResult.Fail("Silo:AlternateClusterSecret is set but Silo:ClusterSecret is not: the alternate is only accepted next to a cluster secret.");
            }

            if (alternate.Length < ClusterSecretAuthenticator.MinSecretLength || string.IsNullOrWhiteSpace(alternate))
            {
                return ValidateOptionsResult.Fail(
                    $"Silo:AlternateClusterSecret must be at least {ClusterSecretAuthenticator.MinSecretLength} characters of random data; it has {alternate.Length}.");
            }
        }

        var secret = options.ClusterSecret;
        if (!string.IsNullOrEmpty(secret))
        {
            return secret.Length < ClusterSecretAuthenticator.MinSecretLength || string.IsNullOrWhiteSpace(secret)
                ? ValidateOptionsResult.Fail(
                    $"Silo:ClusterSecret must be at least {ClusterSecretAuthenticator.MinSecretLength} characters of random data (e.g. the output of `openssl rand -base64 32`); " +
                    $"it has {secret.Length}.")
                : ValidateOptionsResult.Success;
        }

        // A gateway registers no ClusterMode: it always talks to a cluster.
        var inCluster = services.GetService<ClusterMode>()?.Enabled ?? true;
        var development = services.GetService<IHostEnvironment>()?.IsDevelopment() ?? false;
        return inCluster && !development
            ? ValidateOptionsResult.Fail(
                "Silo:ClusterSecret is required for a cluster outside the Development environment (Cluster:Enabled, the default on PostgreSQL, " +
                "or Api:Mode=Gateway): it authenticates every call between silos and gateways, so an outsider who reaches the silo port cannot call grains. " +
                "Set the same random value on every silo and gateway (e.g. Silo__ClusterSecret from a Kubernetes Secret; `openssl rand -base64 32`), " +
                "or Cluster:Enabled=false for a single silo. See docs/security.md.")
            : ValidateOptionsResult.Success;
    }
}
