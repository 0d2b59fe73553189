using System.Net;
using System.Text;
using OrleansLocks.Testing;

namespace OrleansLocks.Client.Tests;

/// <summary>The handle's renew schedule and local deadline on a manual clock, against a scripted HTTP handler.</summary>
public sealed class LockHandleTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(9);

    [Fact]
    public async Task HandleLostToken_RenewHangs_FiresExactlyAtTheLocalDeadline()
    {
        var time = new ManualTimeProvider();
        var service = new ScriptedService(renewHangs: true);
        var client = new LockClient(new HttpClient(service) { BaseAddress = new Uri("http://locks.test/") }, new LockClientOptions(), time);
        var handle = (await client.TryAcquireAsync("x", options: new AcquireOptions { Ttl = Ttl }))!;

        time.Advance(TimeSpan.FromSeconds(3));
        await Eventually.TrueAsync(() => service.Renews == 1, "a renew at a third of the TTL");
        time.Advance(TimeSpan.FromSeconds(5.9));
        Assert.False(handle.IsLost, "lost before the deadline");

        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.True(handle.IsLost);
        Assert.Equal(LeaseLostReason.Expired, handle.LostReason);
        await Eventually.TrueAsync(() => service.RenewsCancelled == 1, "the hanging renew is abandoned at the deadline");
    }

    [Fact]
    public async Task Renew_Succeeds_MovesTheLocalDeadline()
    {
        var time = new ManualTimeProvider();
        var service = new ScriptedService(renewHangs: false);
        var client = new LockClient(new HttpClient(service) { BaseAddress = new Uri("http://locks.test/") }, new LockClientOptions(), time);
        var handle = (await client.TryAcquireAsync("x", options: new AcquireOptions { Ttl = Ttl }))!;

        time.Advance(TimeSpan.FromSeconds(3));
        await Eventually.TrueAsync(() => handle.Renewals == 1, "the first renew");
        time.Advance(TimeSpan.FromSeconds(3));
        await Eventually.TrueAsync(() => handle.Renewals == 2, "the second renew");
        time.Advance(TimeSpan.FromSeconds(4));

        // 10 s after the grant, past the first deadline (9 s): renewed at 6 s, the deadline is 15 s.
        Assert.False(handle.IsLost);
        Assert.True(handle.TimeToLive > TimeSpan.FromSeconds(4), $"time to live {handle.TimeToLive}");
        await handle.DisposeAsync();
        Assert.Equal(1, service.Releases);
    }

    [Fact]
    public async Task Renew_Refused_FiresWithTheServicesReason()
    {
        var time = new ManualTimeProvider();
        var service = new ScriptedService(renewHangs: false) { RenewAnswer = HttpStatusCode.Gone };
        var client = new LockClient(new HttpClient(service) { BaseAddress = new Uri("http://locks.test/") }, new LockClientOptions(), time);
        var handle = (await client.TryAcquireAsync("x", options: new AcquireOptions { Ttl = Ttl }))!;

        time.Advance(TimeSpan.FromSeconds(3));

        await Eventually.TrueAsync(() => handle.IsLost, "the refused renew marks the lease lost");
        Assert.Equal(LeaseLostReason.ForceReleased, handle.LostReason);
        Assert.True(handle.TimeToLive > TimeSpan.FromSeconds(5), "lost on the answer, not at the deadline");
    }

    private sealed class ScriptedService(bool renewHangs) : HttpMessageHandler
    {
        private int _renews;
        private int _renewsCancelled;
        private int _releases;

        public HttpStatusCode RenewAnswer { get; init; } = HttpStatusCode.OK;

        public int Renews => Volatile.Read(ref _renews);

        public int RenewsCancelled => Volatile.Read(ref _renewsCancelled);

        public int Releases => Volatile.Read(ref _releases);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            if (path.EndsWith("/renew", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _renews);
                if (renewHangs)
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        Interlocked.Increment(ref _renewsCancelled);
                        throw;
                    }
                }

                if (RenewAnswer == HttpStatusCode.Gone)
                {
                    return Json(HttpStatusCode.Gone, """{"status":410,"code":"lease-lost","reason":"forceReleased"}""");
                }
            }

            if (path.EndsWith("/release", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _releases);
                return new HttpResponseMessage(HttpStatusCode.NoContent);
            }

            return Json(HttpStatusCode.OK, """{"name":"x","leaseId":"AAAAAAAAAAAAAAAAAAAAAA","mode":"exclusive","fencingToken":7,"owner":"o","acquiredAt":"2030-01-01T00:00:00Z","expiresAt":"2030-01-01T00:00:09Z","ttlMs":9000}""");
        }

        private static HttpResponseMessage Json(HttpStatusCode status, string body)
            => new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
    }
}
