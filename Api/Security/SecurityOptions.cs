namespace OrleansLocks.Api.Security;

/// <summary>The roles a principal may have. <see cref="Admin"/> implies the others.</summary>
[Flags]
public enum LockRoles
{
    /// <summary>No rights.</summary>
    None = 0,

    /// <summary>Acquire, renew, release and validate locks within the principal's prefixes.</summary>
    Client = 1,

    /// <summary>Read lock state and listings within the principal's prefixes, and the cluster view.</summary>
    Viewer = 2,

    /// <summary>Force-release locks within the principal's prefixes, and everything a client and a viewer may do.</summary>
    Admin = 4 | Client | Viewer,
}

/// <summary>Authentication, authorization and abuse limits of the HTTP API (configuration section <c>Security</c>).</summary>
public sealed class SecurityOptions
{
    public const string SectionName = "Security";

    /// <summary>
    /// Lets requests without credentials in, as the principal <c>anonymous</c> with every role on every lock. For
    /// development only (<c>appsettings.Development.json</c> sets it); a warning is logged at start-up. Default false.
    /// A request that does carry a credential is still authenticated, and refused when the credential is bad.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>The API keys accepted in the <c>X-Api-Key</c> header. Default none.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>JWT bearer tokens from an OIDC issuer; off unless <see cref="JwtOptions.Audience"/> is set.</summary>
    public JwtOptions Jwt { get; set; } = new();

    /// <summary>Requests per principal (ASP.NET Core rate limiting, token bucket).</summary>
    public RateLimitOptions RateLimit { get; set; } = new();

    /// <summary>
    /// Most leases and queue places one principal may have on one lock at a time (shared leases, waiters); a further
    /// acquire gets 429 <c>lease-limit</c>. Keeps one principal from growing a lock's state without bound with shared
    /// leases, or from taking most of its queue. 0 turns the bound off. Not applied to the anonymous principal.
    /// Default 1000.
    /// </summary>
    public int MaxLeasesPerPrincipalPerLock { get; set; } = 1000;
}

/// <summary>One API key: a named principal with roles and lock-name prefixes.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The principal's name, shown in logs and force-release records (e.g. <c>billing-workers</c>).</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// The SHA-256 of the key, 64 hexadecimal characters (<c>printf %s "$KEY" | sha256sum</c>). Never the key itself:
    /// configuration and its backups then hold nothing a caller could use.
    /// </summary>
    public string KeyHash { get; set; } = "";

    /// <summary>Any of <c>client</c>, <c>viewer</c>, <c>admin</c>.</summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>
    /// The lock-name prefixes the principal may use (ordinal, case-sensitive); <c>*</c> means every lock.
    /// At least one is required.
    /// </summary>
    public List<string> Prefixes { get; set; } = [];
}

/// <summary>JWT bearer tokens (section <c>Security:Jwt</c>).</summary>
public sealed class JwtOptions
{
    /// <summary>
    /// The OIDC issuer (e.g. <c>https://login.example.com/realms/locks</c>); its discovery document gives the signing
    /// keys and issuer. Either this or <see cref="SigningKey"/>.
    /// </summary>
    public string? Authority { get; set; }

    /// <summary>The audience tokens must be issued for (the <c>aud</c> claim). Setting it turns JWT authentication on.</summary>
    public string? Audience { get; set; }

    /// <summary>The issuer tokens must carry (<c>iss</c>). Default: the authority's, from its discovery document.</summary>
    public string? Issuer { get; set; }

    /// <summary>
    /// A symmetric signing key (base64, at least 32 bytes) for HS256 tokens, instead of an authority: for tests and
    /// closed set-ups where the token issuer shares the key. Keep it in a secret store.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>Whether the authority's metadata must be fetched over HTTPS. Default true.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The claim that names the principal. Default <c>sub</c>.</summary>
    public string NameClaim { get; set; } = "sub";

    /// <summary>The claim(s) holding roles (<c>client</c>, <c>viewer</c>, <c>admin</c>). Default <c>roles</c>.</summary>
    public string RoleClaim { get; set; } = "roles";

    /// <summary>The claim(s) holding lock-name prefixes (<c>*</c> for every lock). Default <c>lock_prefixes</c>.</summary>
    public string PrefixClaim { get; set; } = "lock_prefixes";

    /// <summary>Tolerance for clock differences when checking <c>exp</c> and <c>nbf</c>. Default 30 s.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether JWT authentication is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Audience);
}

/// <summary>Per-principal rate limit (section <c>Security:RateLimit</c>): a token bucket per principal.</summary>
public sealed class RateLimitOptions
{
    /// <summary>The bucket size: the most requests a principal may send in a burst. 0 turns rate limiting off. Default 200.</summary>
    public int TokenLimit { get; set; } = 200;

    /// <summary>Tokens added to the bucket every <see cref="ReplenishmentPeriod"/>. Default 100.</summary>
    public int TokensPerPeriod { get; set; } = 100;

    /// <summary>How often tokens are added. Default 1 s (so 100 requests per second sustained).</summary>
    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);
}
