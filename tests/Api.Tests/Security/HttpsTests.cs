using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests.Security;

/// <summary>
/// The service on Kestrel over HTTPS, configured as docs/security.md says (Kestrel:Endpoints with a PFX certificate),
/// with a self-signed certificate made here: it serves the API over TLS with that certificate, and sends HSTS.
/// </summary>
public sealed class HttpsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("orleanslocks-https-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Kestrel_HttpsEndpointWithPfx_ServesTheApiOverTlsWithHsts()
    {
        using var certificate = CreateSelfSigned();
        var pfx = Path.Combine(_directory, "locks.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "pfx-password"));
        var port = FreePort();
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
        await using var factory = new LockServiceFactory(database, new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Https:Url"] = $"https://127.0.0.1:{port}",
            ["Kestrel:Endpoints:Https:Certificate:Path"] = pfx,
            ["Kestrel:Endpoints:Https:Certificate:Password"] = "pfx-password",
        });
        factory.UseKestrel();
        factory.StartServer();

        X509Certificate2? presented = null;
        using var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                // Trust exactly this self-signed certificate (a real client trusts its CA instead).
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                {
                    presented = cert is null ? null : new X509Certificate2(cert);
                    return cert is not null && cert.GetCertHashString() == certificate.GetCertHashString();
                },
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}") };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/locks/tls-check");
        request.Headers.Add("X-Api-Key", LockServiceFactory.ClientKey);

        // HSTS is not sent for localhost names (browsers ignore it there); ask as the service's public name.
        request.Headers.Host = "locks.example.com";
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(certificate.Thumbprint, presented?.Thumbprint);
        Assert.Contains("max-age=", string.Join(",", response.Headers.GetValues("Strict-Transport-Security")), StringComparison.Ordinal);
        presented?.Dispose();
    }

    private static X509Certificate2 CreateSelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=locks.example.com", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("locks.example.com");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
