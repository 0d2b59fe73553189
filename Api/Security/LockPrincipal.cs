using System.Security.Claims;

namespace OrleansLocks.Api.Security;

/*
 * Design note — who a request is, and what it may touch.
 *
 * Every way in (API key, JWT, anonymous) ends in a ClaimsPrincipal with the same normalized claims: the principal's
 * name, how it authenticated, its roles and its lock-name prefixes. Authorization reads only those, so the rules
 * are the same whatever the credential. A principal may use a lock when it has the role the endpoint needs (admin
 * implies client and viewer) and the lock's name starts with one of its prefixes (ordinal, case-sensitive, as lock
 * names are); "*" (or "") is every lock. There is no default: a principal without prefixes touches no lock.
 */

/// <summary>The authenticated caller as authorization sees it.</summary>
/// <param name="Name">The principal's name (the API key's name, the JWT's name claim, or <c>anonymous</c>).</param>
/// <param name="Method">How it authenticated: <c>api-key</c>, <c>jwt</c> or <c>anonymous</c>.</param>
/// <param name="Roles">Its roles.</param>
/// <param name="Prefixes">Its lock-name prefixes, normalized: <c>""</c> stands for every lock.</param>
internal sealed record LockPrincipal(string Name, string Method, LockRoles Roles, IReadOnlyList<string> Prefixes)
{
    public const string NameClaim = "orleanslocks:name";
    public const string MethodClaim = "orleanslocks:auth";
    public const string RoleClaim = "orleanslocks:role";
    public const string PrefixClaim = "orleanslocks:prefix";

    public const string ApiKeyMethod = "api-key";
    public const string JwtMethod = "jwt";
    public const string AnonymousMethod = "anonymous";
    public const string AnonymousName = "anonymous";

    /// <summary>The prefix that stands for every lock in configuration and claims.</summary>
    public const string EveryLock = "*";

    private static readonly System.Buffers.SearchValues<char> NameChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:~");

    /// <summary>The anonymous principal of <see cref="SecurityOptions.AllowAnonymous"/>: every role on every lock.</summary>
    public static LockPrincipal Anonymous { get; } = new(AnonymousName, AnonymousMethod, LockRoles.Admin, [""]);

    // Claims principals made for this instance (see ToClaimsPrincipal); by reference, whatever record equality says.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<LockPrincipal, ClaimsPrincipal> Shared = new();

    public bool IsAnonymous => Method == AnonymousMethod;

    /// <summary>Unique across authentication methods, for rate-limit partitions and lease bounds.</summary>
    /// <remarks>Made once (it only depends on <see cref="Method"/> and <see cref="Name"/>): every request asks for it. So no `with` copies: they would keep the old key.</remarks>
    public string Key { get; } = $"{Method}:{Name}";

    /// <summary>Who, for logs and force-release records: e.g. <c>api-key ops-admin</c>.</summary>
    public string Describe() => $"{Method} {Name}";

    public bool Has(LockRoles role) => (Roles & role) == role;

    /// <summary>Whether the lock name is within one of the principal's prefixes.</summary>
    public bool Covers(string lockName)
    {
        foreach (var prefix in Prefixes)
        {
            if (lockName.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The principal's prefixes as a reader-friendly list, for error messages.</summary>
    public string DescribePrefixes()
        => Prefixes.Count == 0 ? "none" : string.Join(", ", Prefixes.Select(p => p.Length == 0 ? EveryLock : $"'{p}'"));

    /// <summary>
    /// The claims principal of this (long-lived) principal, made once and shared by its requests: the anonymous
    /// principal and each configured API key authenticate every request with the same read-only identity, instead
    /// of building claims per request and parsing them back (three times) into a <see cref="LockPrincipal"/>.
    /// </summary>
    public ClaimsPrincipal ToClaimsPrincipal()
        => Shared.GetValue(this, static principal => new ClaimsPrincipal(principal.ToIdentity()));

    /// <summary>The normalized claims of a principal (written by every authentication method).</summary>
    /// <remarks>The identity is read-only and carries this principal, so <see cref="From(ClaimsPrincipal)"/> needs no parsing.</remarks>
    public ClaimsIdentity ToIdentity()
    {
        var claims = new List<Claim>
        {
            new(NameClaim, Name),
            new(MethodClaim, Method),
        };
        foreach (var role in new[] { LockRoles.Admin, LockRoles.Client, LockRoles.Viewer })
        {
            if (Has(role))
            {
                claims.Add(new Claim(RoleClaim, role.ToString().ToLowerInvariant()));
            }
        }

        claims.AddRange(Prefixes.Select(p => new Claim(PrefixClaim, p)));
        return new LockClaimsIdentity(this, claims);
    }

    /// <summary>The principal of an authenticated request; null when the request is not authenticated.</summary>
    public static LockPrincipal? From(ClaimsPrincipal user)
    {
        // The common case: one identity, made by ToIdentity (every way in ends there).
        if (user.Identity is LockClaimsIdentity { IsAuthenticated: true } own)
        {
            return own.Principal;
        }

        var identity = user.Identities.FirstOrDefault(i => i.IsAuthenticated && i.HasClaim(c => c.Type == MethodClaim));
        if (identity is null)
        {
            return null;
        }

        var roles = LockRoles.None;
        foreach (var claim in identity.FindAll(RoleClaim))
        {
            roles |= ParseRole(claim.Value);
        }

        return new LockPrincipal(
            identity.FindFirst(NameClaim)?.Value ?? "",
            identity.FindFirst(MethodClaim)!.Value,
            roles,
            [.. identity.FindAll(PrefixClaim).Select(c => c.Value)]);
    }

    /// <summary>The request's principal, or null.</summary>
    public static LockPrincipal? From(HttpContext http) => From(http.User);

    /// <summary>A configured or claimed role; <see cref="LockRoles.None"/> when it is not one.</summary>
    public static LockRoles ParseRole(string? role) => role?.Trim().ToLowerInvariant() switch
    {
        "client" => LockRoles.Client,
        "viewer" => LockRoles.Viewer,
        "admin" => LockRoles.Admin,
        _ => LockRoles.None,
    };

    /// <summary>Normalizes configured or claimed prefixes: <c>*</c> becomes <c>""</c>, invalid ones are dropped.</summary>
    public static IReadOnlyList<string> NormalizePrefixes(IEnumerable<string?> prefixes)
    {
        var result = new List<string>();
        foreach (var prefix in prefixes)
        {
            if (prefix is null || ValidatePrefix(prefix) is not null)
            {
                continue;
            }

            var normalized = prefix.Trim() == EveryLock ? "" : prefix;
            if (!result.Contains(normalized, StringComparer.Ordinal))
            {
                result.Add(normalized);
            }
        }

        return result;
    }

    /// <summary>Null when <paramref name="prefix"/> is usable as a lock-name prefix; otherwise what is wrong with it.</summary>
    public static string? ValidatePrefix(string prefix)
    {
        if (prefix.Trim() == EveryLock || prefix.Length == 0)
        {
            return null;
        }

        if (prefix.Length > OrleansLocks.LockLimits.MaxNameLength)
        {
            return $"is {prefix.Length} characters long; a prefix has at most {OrleansLocks.LockLimits.MaxNameLength}.";
        }

        var bad = prefix.AsSpan().IndexOfAnyExcept(NameChars);
        return bad < 0 ? null : $"is '{prefix}', which contains '{prefix[bad]}': a prefix consists of lock-name characters (A-Z a-z 0-9 . _ - : ~), or is \"*\" for every lock.";
    }
}

/// <summary>
/// The claims of a <see cref="LockPrincipal"/>, which it carries. Read-only: it may be shared by many requests
/// (<see cref="LockPrincipal.ToClaimsPrincipal"/>), so a claim added by one request must not reach the others.
/// </summary>
internal sealed class LockClaimsIdentity(LockPrincipal principal, IEnumerable<Claim> claims)
    : ClaimsIdentity(claims, principal.Method, LockPrincipal.NameClaim, LockPrincipal.RoleClaim)
{
    public LockPrincipal Principal { get; } = principal;

    public override void AddClaim(Claim claim)
        => throw new InvalidOperationException("The identity of a lock principal is read-only (it may be shared between requests).");

    public override void AddClaims(IEnumerable<Claim?> claims)
        => throw new InvalidOperationException("The identity of a lock principal is read-only (it may be shared between requests).");

    public override bool TryRemoveClaim(Claim? claim) => false;

    public override void RemoveClaim(Claim? claim)
        => throw new InvalidOperationException("The identity of a lock principal is read-only (it may be shared between requests).");
}
