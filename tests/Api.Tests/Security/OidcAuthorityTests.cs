using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests.Security;

/// <summary>
/// JWT with <c>Security:Jwt:Authority</c>: the signing keys and issuer come from the issuer's OIDC discovery document
/// (served here in memory through the JWT handler's back channel), as with a real identity provider.
/// </summary>
public sealed class OidcAuthorityTests : IAsyncLifetime
{
    private const string Authority = "https://idp.test/realms/locks";
    private static readonly RSA IssuerKey = RSA.Create(2048);
    private LockServiceFactory _factory = null!;

    public async Task InitializeAsync()
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
        _factory = new LockServiceFactory(
            database,
            new Dictionary<string, string?>
            {
                ["Security:Jwt:Authority"] = Authority,
                ["Security:Jwt:Audience"] = "orleanslocks",
            },
            services => services.Configure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, o => o.BackchannelHttpHandler = new IdentityProvider()));
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public async Task Token_SignedByTheAuthoritysKey_Accepted()
    {
        using var client = Client(Token(new RsaSecurityKey(IssuerKey) { KeyId = "k1" }, Authority));

        (await client.AcquireAsync("orders:oidc", new { })).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Token_SignedByAnotherKeyWithTheSameKeyId_Refused()
    {
        using var other = RSA.Create(2048);
        using var client = Client(Token(new RsaSecurityKey(other) { KeyId = "k1" }, Authority));

        (await client.AcquireAsync("orders:oidc", new { })).Expect(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Token_FromAnotherIssuer_Refused()
    {
        using var client = Client(Token(new RsaSecurityKey(IssuerKey) { KeyId = "k1" }, "https://other.test/"));

        (await client.AcquireAsync("orders:oidc", new { })).Expect(HttpStatusCode.Unauthorized);
    }

    private LockClient Client(string token)
    {
        var http = _factory.Server.CreateClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return new LockClient(http);
    }

    private static string Token(SecurityKey key, string issuer)
        => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = "orleanslocks",
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object>
            {
                ["sub"] = "svc-orders",
                ["roles"] = new[] { "client" },
                ["lock_prefixes"] = new[] { "orders:" },
            },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });

    /// <summary>The identity provider's discovery document and key set, answered in memory.</summary>
    private sealed class IdentityProvider : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            object? body = path switch
            {
                "/realms/locks/.well-known/openid-configuration" => new Dictionary<string, object>
                {
                    ["issuer"] = Authority,
                    ["jwks_uri"] = Authority + "/keys",
                },
                "/realms/locks/keys" => new Dictionary<string, object>
                {
                    ["keys"] = new[]
                    {
                        new Dictionary<string, string>
                        {
                            ["kty"] = "RSA",
                            ["use"] = "sig",
                            ["alg"] = "RS256",
                            ["kid"] = "k1",
                            ["n"] = Base64UrlEncoder.Encode(IssuerKey.ExportParameters(false).Modulus),
                            ["e"] = Base64UrlEncoder.Encode(IssuerKey.ExportParameters(false).Exponent),
                        },
                    },
                },
                _ => null,
            };
            return Task.FromResult(body is null
                ? new HttpResponseMessage(HttpStatusCode.NotFound)
                : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") });
        }
    }
}
