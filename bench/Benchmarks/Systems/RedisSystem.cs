using System.Net;

namespace OrleansLocks.Benchmarks.Systems;

/*
 * Redis 7, single node, the common single-instance lock recipe:
 *   acquire: SET lock:{name} {random token} NX PX {ttl}      -> +OK granted, nil busy
 *   release: EVALSHA {compare-and-delete script} 1 lock:{name} {token}  (the script is loaded once per connection
 *            with SCRIPT LOAD; EVALSHA is EVAL by digest)
 * One TCP connection per client. Redis has no wait: a busy lock is retried after the short back-off.
 * Started by bench/run.sh with appendonly yes + appendfsync always, so a reply follows the fsync of its write.
 */
internal sealed class RedisSystem(IPEndPoint endpoint, long ttlMs) : ILockSystem
{
    private const string ReleaseScript =
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

    public string Id => "redis";

    public string Description => "Redis: SET key token NX PX ttl; release by a compare-and-delete Lua script (EVALSHA); raw RESP over one socket per client";

    public string Durability => "durable on one node: appendonly yes, appendfsync always (AOF fsynced before the reply); no replica, no fencing token";

    public bool Durable => true;

    public bool SupportsShared => false;

    public string WaitStrategy => "no wait primitive: SET NX retried after a 1 ms back-off";

    public static async Task<string> VersionAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        await using var connection = await RespConnection.ConnectAsync(endpoint, cancellationToken);
        var info = await connection.CommandAsync(["INFO", "server"], cancellationToken);
        var line = info.Text?.Split('\n').FirstOrDefault(l => l.StartsWith("redis_version:", StringComparison.Ordinal));
        var aof = await connection.CommandAsync(["CONFIG", "GET", "appendonly"], cancellationToken);
        var fsync = await connection.CommandAsync(["CONFIG", "GET", "appendfsync"], cancellationToken);
        return $"{line?["redis_version:".Length..].Trim() ?? "?"} (appendonly {Value(aof)}, appendfsync {Value(fsync)})";

        // CONFIG GET answers [name, value].
        static string? Value(RespReply reply) => reply.Items is { Count: 2 } items ? items[1].Text : reply.ToString();
    }

    public async Task<ILockClient> ConnectAsync(int client, CancellationToken cancellationToken)
    {
        var connection = await RespConnection.ConnectAsync(endpoint, cancellationToken);
        var loaded = await connection.CommandAsync(["SCRIPT", "LOAD", ReleaseScript], cancellationToken);
        return loaded.Kind == '$' && loaded.Text is { } sha
            ? new Client(connection, sha, ttlMs.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : throw new BenchProtocolException($"redis SCRIPT LOAD: {loaded}");
    }

    private sealed class Client(RespConnection connection, string releaseSha, string ttl) : ILockClient
    {
        public async Task<LockHandle?> AcquireAsync(string name, Mode mode, bool wait, CancellationToken cancellationToken)
        {
            if (mode != Mode.Exclusive)
            {
                throw new NotSupportedException("Redis has no shared locks in this recipe.");
            }

            var key = "lock:" + name;
            var token = Guid.NewGuid().ToString("N");
            while (true)
            {
                var reply = await connection.CommandAsync(["SET", key, token, "NX", "PX", ttl], cancellationToken);
                if (reply.Kind == '+')
                {
                    return new LockHandle(key, mode, token);
                }

                if (!reply.IsNull)
                {
                    throw new BenchProtocolException($"redis SET NX: {reply}");
                }

                if (!wait)
                {
                    return null;
                }

                await Backoff.DelayAsync(cancellationToken);
            }
        }

        public async Task ReleaseAsync(LockHandle handle, CancellationToken cancellationToken)
        {
            var reply = await connection.CommandAsync(["EVALSHA", releaseSha, "1", handle.Name, handle.Proof], cancellationToken);
            if (reply.Kind != ':' || reply.Integer != 1)
            {
                throw new BenchProtocolException($"redis release {handle.Name}: {reply} (lock lost)");
            }
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }
}
