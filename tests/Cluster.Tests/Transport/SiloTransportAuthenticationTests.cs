using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OrleansLocks.Cluster.Tests.Infrastructure;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Transport;
using OrleansLocks.Testing;

namespace OrleansLocks.Cluster.Tests.Transport;

/// <summary>
/// The silo port refuses calls that are not signed with the cluster secret: unsigned, signed with another secret,
/// altered after signing, or too old. Only a correctly signed call runs (the control case).
/// </summary>
public sealed class SiloTransportAuthenticationTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(ClusterBackend.InMemory, silos: 2);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Invoke_Unsigned_Refused401AndRunsNothing()
    {
        var (owner, name, body) = Call();

        var status = await PostAsync(owner.Address, SiloTransportServer.InvokePath, body, sign: null);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.False(owner.Hosts(name));
    }

    [Fact]
    public async Task Invoke_SignedWithAnotherSecret_Refused401AndRunsNothing()
    {
        var (owner, name, body) = Call();

        var status = await PostAsync(owner.Address, SiloTransportServer.InvokePath, body, Authenticator("another-secret-0123456789abcdefghijklmnop"));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.False(owner.Hosts(name));
    }

    [Fact]
    public async Task Invoke_BodyAlteredAfterSigning_Refused401AndRunsNothing()
    {
        var (owner, name, body) = Call();
        var (_, otherName, otherBody) = Call("other");

        var status = await PostAsync(owner.Address, SiloTransportServer.InvokePath, body, Authenticator(TestSecrets.ClusterSecret), signedBody: otherBody);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.False(owner.Hosts(name));
        Assert.False(owner.Hosts(otherName));
    }

    [Fact]
    public async Task Invoke_SignedTooLongAgo_Refused401()
    {
        var (owner, name, body) = Call();
        var past = new ShiftedTime(-ClusterSecretAuthenticator.MaxClockSkew - TimeSpan.FromMinutes(1));

        var status = await PostAsync(owner.Address, SiloTransportServer.InvokePath, body, Authenticator(TestSecrets.ClusterSecret, past));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.False(owner.Hosts(name));
    }

    [Fact]
    public async Task Invoke_SignedWithTheClusterSecret_Runs()
    {
        var (owner, name, body) = Call();

        var status = await PostAsync(owner.Address, SiloTransportServer.InvokePath, body, Authenticator(TestSecrets.ClusterSecret));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(owner.Hosts(name));
    }

    [Fact]
    public async Task Invoke_SignedWithTheAlternateSecret_AcceptedDuringARotation()
    {
        const string next = "next-cluster-secret-0123456789abcdefghijklmn";
        var silo = await _cluster.StartAdditionalSiloAsync(new Dictionary<string, string?> { ["Silo:AlternateClusterSecret"] = next });
        var name = _cluster.LockOwnedBy(silo, "rotation");
        var request = new InvokeRequest(
            silo.Address.ToString(), "lock", name, typeof(ILockGrain).FullName!,
            Silo.Runtime.GrainMethod.Create(typeof(ILockGrain), typeof(ILockGrain).GetMethod(nameof(ILockGrain.GetStateAsync))!).Name,
            [], 0);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, SiloJson.Options);

        Assert.Equal(HttpStatusCode.OK, await PostAsync(silo.Address, SiloTransportServer.InvokePath, body, Authenticator(next)));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(_cluster.Silos[0].Address, SiloTransportServer.InvokePath, Call().Body, Authenticator(next)));
    }

    [Fact]
    public async Task Silo_WithAnotherSecret_CannotJoin_AndTheClusterServesOn()
    {
        await Assert.ThrowsAnyAsync<Exception>(() => _cluster.StartAdditionalSiloAsync(new Dictionary<string, string?>
        {
            ["Silo:ClusterSecret"] = "not-the-cluster-secret-0123456789abcdefghij",
            ["Cluster:MaxJoinAttemptTime"] = "00:00:05",
        }));

        // Requests between it and the members were refused (event 1900); the members still serve each other.
        Assert.Contains(_cluster.Logs.Lines, l => l.EventId == 1900);
        var state = await _cluster.Silos[1].Grains.GetGrain<ILockGrain>(_cluster.LockOwnedBy(_cluster.Silos[0], "after")).GetStateAsync();
        Assert.Equal(LockStateMode.Free, state.Mode);
    }

    [Fact]
    public async Task ProbeAndGossip_Unsigned_Refused401()
    {
        var silo = _cluster.Silos[0];
        var probe = JsonSerializer.SerializeToUtf8Bytes(new ProbeRequest(silo.Address.ToString(), "outsider", 0), SiloJson.Options);

        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(silo.Address, SiloTransportServer.ProbePath, probe, sign: null));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(silo.Address, SiloTransportServer.GossipPath, "{}"u8.ToArray(), sign: null));
    }

    [Fact]
    public void Validator_ClusterWithoutSecret_RequiredOutsideDevelopmentOnly()
    {
        static ValidateOptionsResult Validate(string environment, string? secret)
        {
            var services = new ServiceCollection()
                .AddSingleton<IHostEnvironment>(new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = environment })
                .BuildServiceProvider();
            return new ClusterSecretValidator(services).Validate(null, new SiloOptions { ClusterSecret = secret });
        }

        Assert.Contains("Silo:ClusterSecret", Validate("Production", null).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Silo:ClusterSecret", Validate("Testing", "short").FailureMessage, StringComparison.Ordinal);
        Assert.True(Validate("Development", null).Succeeded);
        Assert.True(Validate("Production", TestSecrets.ClusterSecret).Succeeded);
    }

    private (TestSilo Owner, string Name, byte[] Body) Call(string hint = "auth")
    {
        var owner = _cluster.Silos[0];
        var name = _cluster.LockOwnedBy(owner, hint);
        var request = new InvokeRequest(
            owner.Address.ToString(), "lock", name, typeof(ILockGrain).FullName!,
            Silo.Runtime.GrainMethod.Create(typeof(ILockGrain), typeof(ILockGrain).GetMethod(nameof(ILockGrain.GetStateAsync))!).Name,
            [], 0);
        return (owner, name, JsonSerializer.SerializeToUtf8Bytes(request, SiloJson.Options));
    }

    private ClusterSecretAuthenticator Authenticator(string secret, TimeProvider? time = null)
        => new(
            Options.Create(new SiloOptions { ServiceId = _cluster.ServiceId, ClusterId = _cluster.ClusterId, ClusterSecret = secret }),
            time ?? TimeProvider.System,
            NullLogger<ClusterSecretAuthenticator>.Instance);

    /// <summary>Posts <paramref name="body"/> over h2c, signed by <paramref name="sign"/> over <paramref name="signedBody"/> (default: the body).</summary>
    private static async Task<HttpStatusCode> PostAsync(SiloAddress target, string path, byte[] body, ClusterSecretAuthenticator? sign, byte[]? signedBody = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target.BaseUri, path))
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = Encoding.UTF8.WebName };
        sign?.Sign(request, signedBody ?? body);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private sealed class ShiftedTime(TimeSpan offset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
    }
}
