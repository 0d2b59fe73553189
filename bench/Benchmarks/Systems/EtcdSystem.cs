using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace OrleansLocks.Benchmarks.Systems;

/*
 * etcd 3.4 through its JSON gateway (/v3/...), the way `etcdctl lock` locks.
 *
 * `etcdctl lock NAME` opens a session (one lease, kept alive) and runs the concurrency.Mutex recipe on it: a
 * transaction "if create_revision(NAME/<lease>) == 0 then put NAME/<lease> with the lease", then it waits until
 * every key under NAME with a smaller create revision is deleted (FIFO by revision); unlock deletes its key.
 * etcd's lock service (/v3/lock/lock, v3lock) runs that same recipe inside the server for a given lease, and blocks
 * until the lock is held, so the hot-lock clients wait the natural etcd way, without polling. Hence:
 *   per client: POST /v3/lease/grant once (the session), revoked at the end;
 *   acquire:    POST /v3/lock/lock {name, lease}  -> {key}   (one durable transaction + the wait)
 *   release:    POST /v3/lock/unlock {key}                   (one durable delete)
 * The session lease outlives the cell, so no keep-alive traffic is needed during it. A lock here lives as long as
 * the client's session, not for a per-lock TTL: giving every lock its own lease would add a grant and a revoke
 * (two more durable writes) to every pair.
 */
internal sealed class EtcdSystem(HttpClient http, TimeSpan sessionTtl) : ILockSystem
{
    private static readonly Uri GrantUri = new("v3/lease/grant", UriKind.Relative);
    private static readonly Uri RevokeUri = new("v3/lease/revoke", UriKind.Relative);
    private static readonly Uri LockUri = new("v3/lock/lock", UriKind.Relative);
    private static readonly Uri UnlockUri = new("v3/lock/unlock", UriKind.Relative);

    public string Id => "etcd";

    public string Description => "etcd lock API (/v3/lock/lock, the concurrency.Mutex recipe of `etcdctl lock`) with one session lease per client; release /v3/lock/unlock";

    public string Durability => "durable: raft log fsynced before every reply (single member, default settings)";

    public bool Durable => true;

    public bool SupportsShared => false;

    public string WaitStrategy => "blocking /v3/lock/lock call (server-side FIFO by create revision, woken by a watch)";

    public static async Task<string> VersionAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var version = await http.GetFromJsonAsync(new Uri("version", UriKind.Relative), BenchJson.Default.EtcdVersion, cancellationToken);
        return version?.Server ?? "?";
    }

    public async Task<ILockClient> ConnectAsync(int client, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new EtcdLeaseGrantRequest((long)Math.Ceiling(sessionTtl.TotalSeconds)), BenchJson.Default.EtcdLeaseGrantRequest);
        using var request = Http.Post(GrantUri, body);
        using var response = await http.SendAsync(request, cancellationToken);
        var grant = await ReadAsync(response, BenchJson.Default.EtcdLeaseGrantResponse, "lease grant", cancellationToken);
        return grant.Id == 0 ? throw new BenchProtocolException($"lease grant: {grant.Error}") : new Client(http, grant.Id);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string what, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new BenchProtocolException($"etcd {what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }

        return await response.Content.ReadFromJsonAsync(type, cancellationToken) ?? throw new BenchProtocolException($"etcd {what}: empty answer");
    }

    private sealed class Client(HttpClient http, long lease) : ILockClient
    {
        private string? _lastName;
        private byte[]? _lockBody;

        public async Task<LockHandle?> AcquireAsync(string name, Mode mode, bool wait, CancellationToken cancellationToken)
        {
            if (mode != Mode.Exclusive)
            {
                throw new NotSupportedException("etcd has no shared locks.");
            }

            if (name != _lastName)
            {
                _lastName = name;
                var key = Convert.ToBase64String(Encoding.UTF8.GetBytes(name));
                _lockBody = JsonSerializer.SerializeToUtf8Bytes(new EtcdLockRequest(key, lease), BenchJson.Default.EtcdLockRequest);
            }

            using var request = Http.Post(LockUri, _lockBody!);
            using var response = await http.SendAsync(request, cancellationToken);
            var locked = await ReadAsync(response, BenchJson.Default.EtcdLockResponse, "lock", cancellationToken);
            return new LockHandle(name, mode, locked.Key ?? throw new BenchProtocolException("etcd lock: no key"));
        }

        public async Task ReleaseAsync(LockHandle handle, CancellationToken cancellationToken)
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new EtcdUnlockRequest(handle.Proof), BenchJson.Default.EtcdUnlockRequest);
            using var request = Http.Post(UnlockUri, body);
            using var response = await http.SendAsync(request, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new BenchProtocolException($"etcd unlock: {(int)response.StatusCode}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            // Ends the session: whatever it still holds (a lock call cancelled at the end of a cell) goes with it.
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                var body = JsonSerializer.SerializeToUtf8Bytes(new EtcdLeaseRevokeRequest(lease), BenchJson.Default.EtcdLeaseRevokeRequest);
                using var request = Http.Post(RevokeUri, body);
                using var response = await http.SendAsync(request, cancel.Token);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                // The lease expires by itself.
            }
        }
    }
}
