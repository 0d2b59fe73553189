using System.Globalization;
using Microsoft.Extensions.Options;

namespace OrleansLocks.Api.Security;

/// <summary>Validates <see cref="SecurityOptions"/> at start-up, naming the bad setting.</summary>
internal sealed class SecurityOptionsValidator(IConfiguration configuration) : IValidateOptions<SecurityOptions>
{
    private const string S = SecurityOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        var failures = new List<string>();
        ValidateRetiredSettings(failures);

        var names = new HashSet<string>(StringComparer.Ordinal);
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            var at = string.Create(CultureInfo.InvariantCulture, $"{S}:ApiKeys:{i}");
            if (string.IsNullOrWhiteSpace(key.Name) || key.Name.Length > 100 || key.Name.Any(char.IsControl))
            {
                failures.Add($"{at}:Name must name the principal (1-100 characters, no control characters).");
            }
            else if (!names.Add(key.Name))
            {
                failures.Add($"{at}:Name '{key.Name}' is used by another key; give each principal its own name.");
            }

            if (key.KeyHash is not { Length: 64 } hash || !hash.All(char.IsAsciiHexDigit))
            {
                failures.Add($"{at}:KeyHash must be the SHA-256 of the key as 64 hexadecimal characters (printf %s \"$KEY\" | sha256sum), never the key itself.");
            }
            else if (!hashes.Add(hash))
            {
                failures.Add($"{at}:KeyHash is the hash of another configured key; every key must be distinct.");
            }

            if (key.Roles.Count == 0)
            {
                failures.Add($"{at}:Roles must list at least one of client, viewer, admin.");
            }

            for (var r = 0; r < key.Roles.Count; r++)
            {
                if (LockPrincipal.ParseRole(key.Roles[r]) == LockRoles.None)
                {
                    failures.Add(string.Create(CultureInfo.InvariantCulture, $"{at}:Roles:{r} is '{key.Roles[r]}'; a role is client, viewer or admin."));
                }
            }

            if (key.Prefixes.Count == 0)
            {
                failures.Add($"{at}:Prefixes must list at least one lock-name prefix (\"*\" for every lock).");
            }

            for (var p = 0; p < key.Prefixes.Count; p++)
            {
                if (LockPrincipal.ValidatePrefix(key.Prefixes[p]) is { } error)
                {
                    failures.Add(string.Create(CultureInfo.InvariantCulture, $"{at}:Prefixes:{p} {error}"));
                }
            }
        }

        ValidateJwt(options.Jwt, failures);

        var rate = options.RateLimit;
        if (rate.TokenLimit < 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{S}:RateLimit:TokenLimit must be 0 (off) or positive (it is {rate.TokenLimit})."));
        }
        else if (rate.TokenLimit > 0)
        {
            if (rate.TokensPerPeriod < 1)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{S}:RateLimit:TokensPerPeriod must be positive (it is {rate.TokensPerPeriod})."));
            }

            if (rate.ReplenishmentPeriod <= TimeSpan.Zero || rate.ReplenishmentPeriod > TimeSpan.FromDays(1))
            {
                failures.Add($"{S}:RateLimit:ReplenishmentPeriod must be positive and at most a day (it is {rate.ReplenishmentPeriod}).");
            }
        }

        if (options.MaxLeasesPerPrincipalPerLock < 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{S}:MaxLeasesPerPrincipalPerLock must be 0 (off) or positive (it is {options.MaxLeasesPerPrincipalPerLock})."));
        }

        if (!options.AllowAnonymous && options.ApiKeys.Count == 0 && !options.Jwt.Enabled)
        {
            failures.Add(
                $"{S}: no way to authenticate is configured, so every request would be refused. Configure {S}:ApiKeys " +
                $"(e.g. {S}__ApiKeys__0__Name, __KeyHash, __Roles__0, __Prefixes__0) or {S}:Jwt:Audience with {S}:Jwt:Authority; " +
                $"or, for development only, {S}:AllowAnonymous=true. See docs/security.md.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// The interim admin settings are gone. Left configured, they would silently grant nothing (a key) or be
    /// mistaken for still working (anonymous admin), so they stop the start with what to use instead.
    /// </summary>
    private void ValidateRetiredSettings(List<string> failures)
    {
        if (configuration.GetSection("Api:AdminKeyHashes").GetChildren().Any(c => !string.IsNullOrEmpty(c.Value)))
        {
            failures.Add(
                "Api:AdminKeyHashes is no longer supported: configure each admin key as Security:ApiKeys:N with Name, KeyHash (the same " +
                "SHA-256 hex), Roles [admin] and Prefixes [\"*\"], and send it in the X-Api-Key header. See docs/security.md.");
        }

        if (configuration.GetValue<bool?>("Api:AllowAnonymousAdmin") == true)
        {
            failures.Add("Api:AllowAnonymousAdmin is no longer supported: use Security:AllowAnonymous=true (development only). See docs/security.md.");
        }
    }

    private static void ValidateJwt(JwtOptions jwt, List<string> failures)
    {
        var hasAuthority = !string.IsNullOrWhiteSpace(jwt.Authority);
        var hasKey = !string.IsNullOrWhiteSpace(jwt.SigningKey);
        if (!jwt.Enabled)
        {
            if (hasAuthority || hasKey)
            {
                failures.Add($"{S}:Jwt:Audience is required when {S}:Jwt:Authority or {S}:Jwt:SigningKey is set: tokens are only accepted for this audience.");
            }

            return;
        }

        if (hasAuthority == hasKey)
        {
            failures.Add($"{S}:Jwt needs exactly one of Authority (an OIDC issuer) and SigningKey (a shared HS256 key).");
        }

        if (hasAuthority)
        {
            if (!Uri.TryCreate(jwt.Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("https" or "http"))
            {
                failures.Add($"{S}:Jwt:Authority must be an absolute http(s) URL (it is '{jwt.Authority}').");
            }
            else if (authority.Scheme == "http" && jwt.RequireHttpsMetadata)
            {
                failures.Add($"{S}:Jwt:Authority must use https (or set {S}:Jwt:RequireHttpsMetadata=false, for development only).");
            }
        }

        if (hasKey)
        {
            byte[]? bytes = null;
            try
            {
                bytes = Convert.FromBase64String(jwt.SigningKey!);
            }
            catch (FormatException)
            {
                // Reported below.
            }

            if (bytes is not { Length: >= 32 })
            {
                failures.Add($"{S}:Jwt:SigningKey must be base64 of at least 32 random bytes (e.g. openssl rand -base64 32).");
            }
        }

        foreach (var (setting, value) in new[] { ("NameClaim", jwt.NameClaim), ("RoleClaim", jwt.RoleClaim), ("PrefixClaim", jwt.PrefixClaim) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                failures.Add($"{S}:Jwt:{setting} must name a claim.");
            }
        }

        if (jwt.ClockSkew < TimeSpan.Zero || jwt.ClockSkew > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{S}:Jwt:ClockSkew must be between 0 and 5 minutes (it is {jwt.ClockSkew}).");
        }
    }
}
