using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using OrleansLocks.Cluster.Tests.Infrastructure;
using OrleansLocks.Grains;
using OrleansLocks.Runtime;
using Xunit.Abstractions;

namespace OrleansLocks.Cluster.Tests;

/// <summary>
/// Three silos on PostgreSQL; three clients contend for one lock, each entering the cluster through a different silo.
/// The protocol's log events tell the whole story: forwarded calls carry each client's W3C trace to the owner silo,
/// and the grants come in FIFO order. With ORLEANSLOCKS_WALKTHROUGH_LOG set, the log is written there
/// (docs/protocol-walkthrough.md is annotated from such a run).
/// </summary>
public sealed class ProtocolWalkthroughTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ThreeContendingClients_OnThreeSilos_EnterInFifoOrderWithTheirTracesLogged()
    {
        var log = new WalkthroughLog();
        await using var cluster = await TestCluster.StartAsync(
            ClusterBackend.Postgres,
            silos: 3,
            configureSilo: (name, builder) => builder.Logging.AddProvider(log.CreateProvider(name)));
        try
        {
            await RunAsync(cluster, log);
        }
        finally
        {
            output.WriteLine(cluster.Logs.Dump());
        }
    }

    private async Task RunAsync(TestCluster cluster, WalkthroughLog log)
    {
        var silos = cluster.Silos;
        var name = cluster.LockOwnedBy(silos[0], "orders");
        log.Recording = true;

        // Client 1 enters through the owner silo, clients 2 and 3 through the others (their calls are forwarded).
        var client1 = new Client("client-1", silos[0], name);
        var client2 = new Client("client-2", silos[1], name);
        var client3 = new Client("client-3", silos[2], name);
        var lease1 = await client1.AcquireAsync();
        var waiting2 = client2.AcquireAsync();
        await WaitForWaitersAsync(silos[0], name, 1, waiting2);
        var waiting3 = client3.AcquireAsync();
        await WaitForWaitersAsync(silos[0], name, 2, waiting3);

        await client1.ReleaseAsync(lease1);
        var lease2 = await waiting2.WaitAsync(TimeSpan.FromSeconds(60));
        await client2.ReleaseAsync(lease2);
        var lease3 = await waiting3.WaitAsync(TimeSpan.FromSeconds(60));
        await client3.ReleaseAsync(lease3);
        log.Recording = false;

        var text = log.Format(new Dictionary<string, string>
        {
            [client1.TraceId] = client1.Name,
            [client2.TraceId] = client2.Name,
            [client3.TraceId] = client3.Name,
        });
        output.WriteLine(text);
        if (Environment.GetEnvironmentVariable("ORLEANSLOCKS_WALKTHROUGH_LOG") is { Length: > 0 } path)
        {
            await File.WriteAllTextAsync(path, text);
        }

        // FIFO: tokens in the order the clients asked.
        Assert.Equal([1L, 2L, 3L], new[] { lease1.FencingToken, lease2.FencingToken, lease3.FencingToken });
        var grants = log.Entries.Where(e => e.EventId == 3002).Select(e => e.Values["Owner"]).ToList();
        Assert.Equal(["client-1", "client-2", "client-3"], grants);

        // The grain logs on the owner silo, under each client's own trace, although clients 2 and 3 called other silos.
        foreach (var client in new[] { client1, client2, client3 })
        {
            var requested = Assert.Single(log.Entries, e => e.EventId == 3000 && e.Values["Owner"] == client.Name);
            Assert.Equal(silos[0].Name, requested.Silo);
            Assert.Equal(silos[0].Name, requested.Scope["Silo"]);
            Assert.Equal(client.TraceId, requested.TraceId);
        }

        var queued2 = Assert.Single(log.Entries, e => e.EventId == 3001 && e.Values["Owner"] == "client-2");
        Assert.Equal(client2.TraceId, queued2.TraceId);
        Assert.Equal("1", queued2.Values["Position"]);

        // The entry silos logged the forwarding under the same traces; the owner silo forwarded nothing.
        Assert.Contains(log.Entries, e => e.EventId == 5204 && e.Silo == silos[1].Name && e.TraceId == client2.TraceId);
        Assert.Contains(log.Entries, e => e.EventId == 5204 && e.Silo == silos[2].Name && e.TraceId == client3.TraceId);
        Assert.DoesNotContain(log.Entries, e => e.EventId == 5204 && e.Silo == silos[0].Name);

        // Client 2's grant was caused by client 1's release: it is logged under client 1's trace.
        var granted2 = Assert.Single(log.Entries, e => e.EventId == 3002 && e.Values["Owner"] == "client-2");
        Assert.Equal(client1.TraceId, granted2.TraceId);
    }

    private static Task WaitForWaitersAsync(TestSilo silo, string name, int count, Task<Lease> pending)
        => Testing.Eventually.TrueAsync(
            async () => pending.IsFaulted ? throw pending.Exception! : (await silo.Lock(name).GetStateAsync()).Waiters.Count == count,
            $"{count} waiter(s) queued");

    /// <summary>A client that does what the Api's acquire handler does, under an Activity of its own (its trace).</summary>
    private sealed class Client(string name, TestSilo entry, string lockName)
    {
        private readonly ActivityTraceId _traceId = ActivityTraceId.CreateRandom();

        public string Name => name;

        public string TraceId => _traceId.ToString();

        public async Task<Lease> AcquireAsync()
        {
            using var activity = Start("acquire");
            var grain = entry.Lock(lockName);
            var requestId = name + "/job-1";
            var result = await grain.AcquireAsync(new AcquireCommand
            {
                Mode = LockMode.Exclusive, Owner = name, Ttl = Ttl, RequestId = requestId, Wait = TimeSpan.FromSeconds(60),
            });
            while (result.Status == AcquireStatus.Queued)
            {
                await grain.WaitAsync(requestId, TimeSpan.FromSeconds(30));
                result = await grain.PollAsync(requestId);
            }

            return result.Lease ?? throw new InvalidOperationException($"{name} was not granted: {result.Status}");
        }

        public async Task ReleaseAsync(Lease lease)
        {
            using var activity = Start("release");
            var released = await entry.Lock(lockName).ReleaseAsync(lease.LeaseId);
            Assert.True(released.Released);
        }

        private Activity Start(string operation)
        {
            // As ASP.NET Core does for a request with a traceparent header: a new span in the client's trace.
            var activity = new Activity($"{name} {operation}");
            activity.SetParentId(_traceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
            return activity.Start();
        }
    }

    /// <summary>The silos' protocol log (Debug and up, OrleansLocks categories but membership), with scopes and traces.</summary>
    private sealed class WalkthroughLog
    {
        private readonly ConcurrentQueue<Entry> _entries = new();
        private readonly long _start = Stopwatch.GetTimestamp();

        public volatile bool Recording;

        public IReadOnlyCollection<Entry> Entries => _entries;

        public ILoggerProvider CreateProvider(string silo) => new Provider(this, silo);

        public string Format(Dictionary<string, string> traces)
        {
            var text = new StringBuilder();
            var origin = _entries.IsEmpty ? TimeSpan.Zero : _entries.First().At;
            foreach (var e in _entries)
            {
                var trace = e.TraceId is null ? "-" : traces.TryGetValue(e.TraceId, out var client) ? client : e.TraceId[..8];
                text.Append(CultureInfo.InvariantCulture, $"{(e.At - origin).TotalMilliseconds,6:0.0} ms  {e.Silo,-6} {e.EventId,5} {e.Level,-5} trace={trace,-9} {e.Message}\n");
            }

            return text.ToString();
        }

        public sealed record Entry(
            TimeSpan At, string Silo, string Level, int EventId, string Message, IReadOnlyDictionary<string, string?> Values, IReadOnlyDictionary<string, string?> Scope, string? TraceId);

        private sealed class Provider(WalkthroughLog log, string silo) : ILoggerProvider, ISupportExternalScope
        {
            private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

            public ILogger CreateLogger(string categoryName) => new Logger(log, this, silo, categoryName);

            public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

            public void Dispose()
            {
            }

            internal IExternalScopeProvider Scopes => _scopes;
        }

        private sealed class Logger(WalkthroughLog log, Provider provider, string silo, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => provider.Scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel)
                => log.Recording && logLevel >= LogLevel.Debug
                    && category.StartsWith("OrleansLocks.", StringComparison.Ordinal)
                    && !category.Contains(".Membership.", StringComparison.Ordinal);

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (!IsEnabled(logLevel))
                {
                    return;
                }

                var values = new Dictionary<string, string?>(StringComparer.Ordinal);
                if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var (key, value) in pairs)
                    {
                        values[key] = Convert.ToString(value, CultureInfo.InvariantCulture);
                    }
                }

                var scope = new Dictionary<string, string?>(StringComparer.Ordinal);
                provider.Scopes.ForEachScope(
                    static (item, target) =>
                    {
                        if (item is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                        {
                            foreach (var (key, value) in scopePairs)
                            {
                                target[key] = Convert.ToString(value, CultureInfo.InvariantCulture);
                            }
                        }
                    },
                    scope);
                var level = logLevel switch { LogLevel.Debug => "dbug", LogLevel.Information => "info", LogLevel.Warning => "warn", _ => logLevel.ToString() };
                log._entries.Enqueue(new Entry(
                    Stopwatch.GetElapsedTime(log._start), silo, level, eventId.Id, formatter(state, exception), values, scope, Activity.Current?.TraceId.ToString()));
            }
        }
    }
}
