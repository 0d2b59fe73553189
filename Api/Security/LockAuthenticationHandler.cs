using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace OrleansLocks.Api.Security;

/*
 * Design note — one authentication scheme in front of three ways in.
 *
 * The request's credential decides: X-Api-Key → the configured keys; Authorization: Bearer → the JwtBearer handler
 * (when Security:Jwt is configured); neither → the anonymous principal when Security:AllowAnonymous is on, else no
 * identity (the endpoint then answers 401). A credential that is present but bad always fails, even with anonymous
 * access on: a client with a typo in its key must hear so, not quietly run as someone else. Sending both kinds of
 * credential is refused as ambiguous.
 *
 * API keys are compared by SHA-256: configuration holds only hashes. The presented key's hash is compared with every
 * configured hash in constant time and without an early exit, so timing tells nothing about which hash (or how
 * much of one) matched. A 256-bit hash of a high-entropy key needs no salt or slow KDF: keys are random, not
 * passwords, and cannot be guessed from a dictionary.
 */

/// <summary>The configured API keys, with their hashes decoded once.</summary>
internal sealed class ApiKeyStore(IOptions<SecurityOptions> options)
{
    private readonly (byte[] Hash, LockPrincipal Principal)[] _keys =
    [
        .. options.Value.ApiKeys.Select(k => (
            Convert.FromHexString(k.KeyHash),
            new LockPrincipal(
                k.Name,
                LockPrincipal.ApiKeyMethod,
                k.Roles.Aggregate(LockRoles.None, (roles, r) => roles | LockPrincipal.ParseRole(r)),
                LockPrincipal.NormalizePrefixes(k.Prefixes)))),
    ];

    /// <summary>The principal of <paramref name="key"/>, or null when no configured key matches.</summary>
    public LockPrincipal? Find(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        LockPrincipal? found = null;
        foreach (var (configured, principal) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, configured))
            {
                found = principal;
            }
        }

        return found;
    }
}

/// <summary>Authenticates a request by its API key, bearer token, or as the anonymous principal.</summary>
internal sealed class LockAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IOptions<SecurityOptions> security,
    ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "OrleansLocks";
    public const string ApiKeyHeader = "X-Api-Key";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var apiKey = Request.Headers[ApiKeyHeader];
        var authorization = Request.Headers.Authorization;
        if (apiKey.Count > 0 && authorization.Count > 0)
        {
            return AuthenticateResult.Fail(new AuthenticationFailure(
                $"The request carries both {ApiKeyHeader} and Authorization; send one credential."));
        }

        if (apiKey.Count > 0)
        {
            var key = apiKey.ToString();
            var principal = apiKey.Count == 1 && key.Length is > 0 and <= 1024 ? keys.Find(key) : null;
            if (principal is null)
            {
                return AuthenticateResult.Fail(new AuthenticationFailure($"The {ApiKeyHeader} header does not hold a valid API key."));
            }

            return Success(principal);
        }

        if (authorization.Count > 0)
        {
            var value = authorization.ToString();
            if (!value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return AuthenticateResult.Fail(new AuthenticationFailure("The Authorization header must be 'Bearer <token>'; for an API key, use the X-Api-Key header."));
            }

            if (!security.Value.Jwt.Enabled)
            {
                return AuthenticateResult.Fail(new AuthenticationFailure("Bearer tokens are not accepted here (Security:Jwt is not configured)."));
            }

            var result = await Context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
            if (result.Succeeded)
            {
                return result;
            }

            return AuthenticateResult.Fail(new AuthenticationFailure(DescribeJwtFailure(result.Failure)));
        }

        return security.Value.AllowAnonymous ? Success(LockPrincipal.Anonymous) : AuthenticateResult.NoResult();
    }

    private AuthenticateResult Success(LockPrincipal principal)
        => AuthenticateResult.Success(new AuthenticationTicket(principal.ToClaimsPrincipal(), Scheme.Name));

    /// <summary>Why a token was refused, in words a client can act on, without echoing the token.</summary>
    private static string DescribeJwtFailure(Exception? failure) => failure switch
    {
        Microsoft.IdentityModel.Tokens.SecurityTokenExpiredException => "The bearer token has expired.",
        Microsoft.IdentityModel.Tokens.SecurityTokenNotYetValidException => "The bearer token is not valid yet.",
        Microsoft.IdentityModel.Tokens.SecurityTokenInvalidAudienceException => "The bearer token was not issued for this service (audience).",
        Microsoft.IdentityModel.Tokens.SecurityTokenInvalidIssuerException => "The bearer token comes from an issuer this service does not trust.",
        Microsoft.IdentityModel.Tokens.SecurityTokenSignatureKeyNotFoundException
            or Microsoft.IdentityModel.Tokens.SecurityTokenInvalidSignatureException => "The bearer token's signature is not valid.",
        _ => "The bearer token is not valid.",
    };
}

/// <summary>A failed authentication whose message is safe to show the client.</summary>
internal sealed class AuthenticationFailure(string message) : Exception(message);
