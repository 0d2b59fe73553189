using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OrleansLocks.Api.Problems;

namespace OrleansLocks.Api.Security;

/// <summary>Authentication (API keys, JWT, anonymous), authorization by role and prefix, rate limiting and HSTS.</summary>
public static partial class SecurityExtensions
{
    /// <summary>The rate-limiting policy of the lock and cluster endpoints: a token bucket per principal.</summary>
    public const string RateLimitPolicy = "per-principal";

    /// <summary>
    /// Registers the <c>Security</c> section (validated at start-up), the authentication scheme that accepts
    /// <c>X-Api-Key</c>, <c>Authorization: Bearer</c> or (when allowed) no credential, the role and prefix
    /// authorization, and the per-principal rate limiter.
    /// </summary>
    public static IHostApplicationBuilder AddLockSecurity(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SecurityOptions>, SecurityOptionsValidator>();
        services.AddSingleton<ApiKeyStore>();
        services.AddHostedService<SecurityStartupReport>();

        services.AddAuthentication(options =>
            {
                options.DefaultScheme = LockAuthenticationHandler.SchemeName;
                options.DefaultChallengeScheme = LockAuthenticationHandler.SchemeName;
            })
            .AddScheme<AuthenticationSchemeOptions, LockAuthenticationHandler>(LockAuthenticationHandler.SchemeName, null)
            .AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<SecurityOptions>>((jwt, security) => ConfigureJwt(jwt, security.Value.Jwt));

        services.AddAuthorization();
        services.AddSingleton<IAuthorizationHandler, LockAccessHandler>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, LockAuthorizationResultHandler>();

        services.AddRateLimiter(options =>
        {
            options.AddPolicy(RateLimitPolicy, http => Partition(http, http.RequestServices.GetRequiredService<IOptions<SecurityOptions>>().Value.RateLimit));
            options.OnRejected = OnRateLimitedAsync;
        });

        services.AddHsts(options =>
        {
            options.MaxAge = TimeSpan.FromDays(365);
            options.IncludeSubDomains = false;
        });
        return builder;
    }

    /// <summary>
    /// HSTS outside Development (only on HTTPS responses), authentication, the rate limiter (after authentication, so
    /// it knows the principal; before authorization, so floods of refused requests are limited too) and authorization.
    /// </summary>
    public static WebApplication UseLockSecurity(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseHsts();
        }

        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }

    private static void ConfigureJwt(JwtBearerOptions jwt, JwtOptions options)
    {
        if (!options.Enabled)
        {
            return;
        }

        // Claims keep the names the issuer gave them: the role and prefix claims are configured by those names.
        jwt.MapInboundClaims = false;
        jwt.Audience = options.Audience;
        jwt.RequireHttpsMetadata = options.RequireHttpsMetadata;
        var parameters = jwt.TokenValidationParameters;
        parameters.ValidAudience = options.Audience;
        parameters.ValidateAudience = true;
        parameters.ValidateLifetime = true;
        parameters.RequireExpirationTime = true;
        parameters.ClockSkew = options.ClockSkew;
        parameters.NameClaimType = options.NameClaim;
        if (!string.IsNullOrWhiteSpace(options.Authority))
        {
            jwt.Authority = options.Authority;
            if (!string.IsNullOrWhiteSpace(options.Issuer))
            {
                parameters.ValidIssuer = options.Issuer;
            }
        }
        else
        {
            // A shared key: only HMAC algorithms, so a token cannot pick a weaker or different algorithm.
            parameters.IssuerSigningKey = new SymmetricSecurityKey(Convert.FromBase64String(options.SigningKey!));
            parameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512];
            parameters.ValidateIssuer = !string.IsNullOrWhiteSpace(options.Issuer);
            parameters.ValidIssuer = options.Issuer;
        }

        jwt.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                var user = context.Principal!;
                var name = user.FindFirst(options.NameClaim)?.Value;
                if (string.IsNullOrWhiteSpace(name))
                {
                    context.Fail($"The bearer token has no '{options.NameClaim}' claim naming the principal.");
                    return Task.CompletedTask;
                }

                // A claim may be repeated (a JSON array) or hold space-separated values (as OAuth scopes do).
                var roles = user.FindAll(options.RoleClaim)
                    .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    .Aggregate(LockRoles.None, (all, r) => all | LockPrincipal.ParseRole(r));
                var prefixes = LockPrincipal.NormalizePrefixes(user.FindAll(options.PrefixClaim)
                    .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
                var principal = new LockPrincipal(name, LockPrincipal.JwtMethod, roles, prefixes);
                context.Principal = new System.Security.Claims.ClaimsPrincipal(principal.ToIdentity());
                return Task.CompletedTask;
            },
        };
    }

    private static RateLimitPartition<string> Partition(HttpContext http, RateLimitOptions options)
    {
        // Authenticated callers are limited per principal; the others (refused anyway) and anonymous callers per client
        // address, so a flood of bad credentials cannot crowd out a real principal, nor one anonymous client the others.
        if (options.TokenLimit <= 0)
        {
            return RateLimitPartition.GetNoLimiter("off"); // limits are off: no key to compute per request
        }

        var principal = LockPrincipal.From(http);
        var address = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var key = principal switch
        {
            null => "address:" + address,
            { IsAnonymous: true } => "anonymous:" + address,
            _ => principal.Key,
        };
        return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.TokenLimit,
            TokensPerPeriod = options.TokensPerPeriod,
            ReplenishmentPeriod = options.ReplenishmentPeriod,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static async ValueTask OnRateLimitedAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        var who = LockPrincipal.From(http)?.Describe() ?? "an unauthenticated caller from " + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown address");
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SecurityExtensions).FullName!)
            .RateLimited(http.Request.Method, http.Request.Path.Value ?? "", who, seconds);

        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var problem = ApiProblems.Create(new ProblemDetails(), http, StatusCodes.Status429TooManyRequests, ProblemCodes.RateLimited, "Too many requests",
            $"{who} sent more requests than Security:RateLimit allows. Retry after {seconds} s.");
        await TypedResults.Problem(problem).ExecuteAsync(http);
    }

    [LoggerMessage(4503, LogLevel.Information, "{Method} {Path} refused with 429: {Principal} is over its rate limit; retry after {RetryAfterSeconds} s")]
    private static partial void RateLimited(this ILogger logger, string method, string path, string principal, long retryAfterSeconds);
}

/// <summary>Says at start-up how the API authenticates, and warns when anonymous access is on.</summary>
internal sealed partial class SecurityStartupReport(IOptions<SecurityOptions> options, IHostEnvironment environment, ILogger<SecurityStartupReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var security = options.Value;
        if (security.AllowAnonymous)
        {
            LogAnonymousAllowed(logger, environment.EnvironmentName);
        }

        LogSecurity(
            logger,
            security.ApiKeys.Count,
            security.Jwt.Enabled ? security.Jwt.Authority ?? "a shared signing key" : "off",
            security.RateLimit.TokenLimit > 0 ? $"{security.RateLimit.TokensPerPeriod} per {security.RateLimit.ReplenishmentPeriod}, burst {security.RateLimit.TokenLimit}" : "off",
            security.MaxLeasesPerPrincipalPerLock);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(4500, LogLevel.Warning, "Security:AllowAnonymous is on (environment {Environment}): requests without credentials act as 'anonymous' with every role on every lock. Never enable it in production.")]
    private static partial void LogAnonymousAllowed(ILogger logger, string environment);

    [LoggerMessage(4510, LogLevel.Information, "Security: {ApiKeyCount} API key(s), JWT {Jwt}, rate limit {RateLimit} per principal, at most {MaxLeases} leases per principal per lock")]
    private static partial void LogSecurity(ILogger logger, int apiKeyCount, string jwt, string rateLimit, int maxLeases);
}
