using System.Globalization;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OrleansLocks.Api.Tests.Infrastructure;

namespace OrleansLocks.Api.Tests.Security;

/// <summary>The principals of the security tests: one API key per role on the <c>orders:</c> prefix, and JWT settings.</summary>
public sealed class SecurityFixture : PostgresServiceFixture
{
    public const string Audience = "orleanslocks-tests";
    public const string Issuer = "https://issuer.test";

    /// <summary>The keys, by principal name. Index 0 and 1 are the factory's own (test-client, test-admin on every lock).</summary>
    public static readonly IReadOnlyDictionary<string, (string Key, string[] Roles, string[] Prefixes)> Principals =
        new Dictionary<string, (string, string[], string[])>
        {
            ["orders-client"] = ("key-orders-client-0123456789", ["client"], ["orders:"]),
            ["orders-client-2"] = ("key-orders-client-2-0123456789", ["client"], ["orders:"]),
            ["orders-viewer"] = ("key-orders-viewer-0123456789", ["viewer"], ["orders:"]),
            ["orders-admin"] = ("key-orders-admin-0123456789", ["admin"], ["orders:"]),
            ["billing-client"] = ("key-billing-client-0123456789", ["client", "viewer"], ["billing:"]),
            ["two-prefixes"] = ("key-two-prefixes-0123456789", ["viewer"], ["orders:", "billing:b"]),
        };

    /// <summary>The HS256 key the service accepts tokens signed with.</summary>
    public static readonly byte[] SigningKey = RandomNumberGenerator.GetBytes(32);

    protected override IReadOnlyDictionary<string, string?> Settings
    {
        get
        {
            var settings = new Dictionary<string, string?>
            {
                ["Security:Jwt:Audience"] = Audience,
                ["Security:Jwt:Issuer"] = Issuer,
                ["Security:Jwt:SigningKey"] = Convert.ToBase64String(SigningKey),
                ["Security:MaxLeasesPerPrincipalPerLock"] = "2",
            };
            var i = 2;
            foreach (var (name, (key, roles, prefixes)) in Principals)
            {
                var at = string.Create(CultureInfo.InvariantCulture, $"Security:ApiKeys:{i++}");
                settings[$"{at}:Name"] = name;
                settings[$"{at}:KeyHash"] = LockServiceFactory.Hash(key);
                for (var r = 0; r < roles.Length; r++)
                {
                    settings[string.Create(CultureInfo.InvariantCulture, $"{at}:Roles:{r}")] = roles[r];
                }

                for (var p = 0; p < prefixes.Length; p++)
                {
                    settings[string.Create(CultureInfo.InvariantCulture, $"{at}:Prefixes:{p}")] = prefixes[p];
                }
            }

            return settings;
        }
    }

    /// <summary>A client that sends the key of <paramref name="principal"/>, or no credential at all when null.</summary>
    public LockClient ClientFor(string? principal)
    {
        var http = Factory.Server.CreateClient();
        if (principal is not null)
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", Principals[principal].Key);
        }

        return new LockClient(http);
    }

    /// <summary>A client that sends <paramref name="token"/> as a bearer token.</summary>
    public LockClient ClientWithToken(string token)
    {
        var http = Factory.Server.CreateClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return new LockClient(http);
    }

    /// <summary>A JWT; by default valid for this service, for 5 minutes, as a client on <c>orders:</c>.</summary>
    public static string Token(
        string? subject = "worker-1",
        object? roles = null,
        object? prefixes = null,
        string audience = Audience,
        string issuer = Issuer,
        byte[]? key = null,
        DateTime? expires = null)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>
        {
            ["roles"] = roles ?? new[] { "client" },
            ["lock_prefixes"] = prefixes ?? new[] { "orders:" },
        };
        if (subject is not null)
        {
            claims["sub"] = subject;
        }

        var exp = expires ?? now.AddMinutes(5);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Audience = audience,
            Issuer = issuer,
            IssuedAt = exp.AddMinutes(-10),
            NotBefore = exp.AddMinutes(-10),
            Expires = exp,
            Claims = claims,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key ?? SigningKey), SecurityAlgorithms.HmacSha256),
        });
    }
}
