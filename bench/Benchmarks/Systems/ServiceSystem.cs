using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace OrleansLocks.Benchmarks.Systems;

/*
 * The lock service over its HTTP contract (BRIEF "HTTP API v1"), exactly as a client application would use it.
 *
 * acquire: POST /locks/{name}/acquire {mode, owner, ttl (ms), wait (ms)} -> 200 lease | 409 lock-busy.
 *   Try-lock: wait = 0. Waiting: wait = 5 s long polls with a client-given request id (Idempotency-Key), repeated
 *   with the same id after a 409 so the client keeps its place in the FIFO queue (SPEC §2 "Waiting").
 * release: POST /locks/{name}/release {leaseId} -> 204.
 * Request bodies are serialized once per client (source-generated System.Text.Json); only the release body, which
 * carries the lease id, is serialized per call.
 */
internal sealed class ServiceSystem(string id, string store, HttpClient http, long ttlMs, IReadOnlyList<HttpClient>? spread = null) : ILockSystem
{
    private const long LongPollMs = 5_000;

    public string Id => id;

    public string Description => spread is { Count: > 1 }
        ? $"the service as a {spread.Count}-silo cluster on one PostgreSQL database ({spread.Count} Api processes, each co-hosting a silo; clients spread round-robin over them, so most calls are forwarded to the owner silo over the silo transport): POST /locks/{{name}}/acquire + POST /locks/{{name}}/release over HTTP/1.1 keep-alive"
        : $"the service on {store}: POST /locks/{{name}}/acquire + POST /locks/{{name}}/release over HTTP/1.1 keep-alive";

    public string Durability => store.StartsWith("PostgreSQL", StringComparison.Ordinal)
        ? "durable: every grant and release committed to PostgreSQL (synchronous_commit=on, fsync=on) before the reply"
        : "durable: every grant and release committed to SQLite (WAL, synchronous=FULL) before the reply";

    public bool Durable => true;

    public bool SupportsShared => true;

    public string WaitStrategy => "FIFO queue in the lock grain: 5 s long polls, repeated with the same request id (keeps the place)";

    public HttpClient HttpClient => http;

    public Task<ILockClient> ConnectAsync(int client, CancellationToken cancellationToken)
        => Task.FromResult<ILockClient>(new Client(spread is { Count: > 0 } ? spread[client % spread.Count] : http, $"bench-{client}", ttlMs));

    private sealed class Client : ILockClient
    {
        private readonly HttpClient _http;
        private readonly byte[] _tryExclusive;
        private readonly byte[] _tryShared;
        private readonly byte[] _waitExclusive;
        private readonly byte[] _waitShared;
        private string? _lastName;
        private Uri? _acquireUri;
        private Uri? _releaseUri;

        public Client(HttpClient http, string owner, long ttlMs)
        {
            _http = http;
            _tryExclusive = Body("exclusive", owner, ttlMs, 0);
            _tryShared = Body("shared", owner, ttlMs, 0);
            _waitExclusive = Body("exclusive", owner, ttlMs, LongPollMs);
            _waitShared = Body("shared", owner, ttlMs, LongPollMs);
        }

        public async Task<LockHandle?> AcquireAsync(string name, Mode mode, bool wait, CancellationToken cancellationToken)
        {
            var (acquireUri, _) = UrisOf(name);
            var body = (mode, wait) switch
            {
                (Mode.Exclusive, false) => _tryExclusive,
                (Mode.Shared, false) => _tryShared,
                (Mode.Exclusive, true) => _waitExclusive,
                _ => _waitShared,
            };
            var requestId = wait ? Guid.NewGuid().ToString("N") : null;
            for (var attempt = 0; ; attempt++)
            {
                using var request = Http.Post(acquireUri, body);
                if (requestId is not null)
                {
                    request.Headers.TryAddWithoutValidation("Idempotency-Key", requestId);
                }

                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var lease = await response.Content.ReadFromJsonAsync(BenchJson.Default.ServiceLease, cancellationToken)
                        ?? throw new BenchProtocolException("acquire: 200 without a lease");
                    return new LockHandle(name, mode, lease.LeaseId);
                }

                var code = await CodeOf(response, cancellationToken);
                switch (response.StatusCode, code)
                {
                    case (HttpStatusCode.Conflict, "lock-busy") when !wait:
                        return null;
                    case (HttpStatusCode.Conflict, "lock-busy"):
                        continue; // the long poll ended; the same request id keeps the place
                    case (HttpStatusCode.Gone, "lease-lost") when wait:
                        // Granted while no request of ours was waiting and the short first lease ran out: ask anew.
                        requestId = Guid.NewGuid().ToString("N");
                        continue;
                    case (HttpStatusCode.ServiceUnavailable, _) when attempt < 50:
                        await Task.Delay(10, cancellationToken);
                        continue;
                    default:
                        throw new BenchProtocolException($"acquire {name}: {(int)response.StatusCode} {code}");
                }
            }
        }

        public async Task ReleaseAsync(LockHandle handle, CancellationToken cancellationToken)
        {
            var (_, releaseUri) = UrisOf(handle.Name);
            var body = JsonSerializer.SerializeToUtf8Bytes(new ServiceReleaseRequest(handle.Proof), BenchJson.Default.ServiceReleaseRequest);
            using var request = Http.Post(releaseUri, body);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.NoContent)
            {
                throw new BenchProtocolException($"release {handle.Name}: {(int)response.StatusCode} {await CodeOf(response, cancellationToken)}");
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private (Uri Acquire, Uri Release) UrisOf(string name)
        {
            // Workloads reuse a name many times in a row; lock names here never need escaping.
            if (name != _lastName)
            {
                _lastName = name;
                _acquireUri = new Uri($"locks/{name}/acquire", UriKind.Relative);
                _releaseUri = new Uri($"locks/{name}/release", UriKind.Relative);
            }

            return (_acquireUri!, _releaseUri!);
        }

        private static byte[] Body(string mode, string owner, long ttlMs, long waitMs)
            => JsonSerializer.SerializeToUtf8Bytes(new ServiceAcquireRequest(mode, owner, ttlMs, waitMs), BenchJson.Default.ServiceAcquireRequest);

        private static async Task<string?> CodeOf(HttpResponseMessage response, CancellationToken cancellationToken)
        {
            try
            {
                var problem = await response.Content.ReadFromJsonAsync(BenchJson.Default.ServiceProblem, cancellationToken);
                return problem?.Code;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}
