using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Npgsql;
using OrleansLocks.Cluster.Tests.Infrastructure;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Storage.Postgres;
using OrleansLocks.Testing;
using Xunit.Abstractions;

namespace OrleansLocks.Cluster.Tests;

/*
 * Three real headless silo processes on one PostgreSQL database, the Api in front as a gateway process, HTTP clients
 * acquiring and releasing throughout. One silo is killed with SIGKILL, another stopped with SIGTERM. Checks what a
 * client relies on: nothing acknowledged is lost (every acknowledged grant's token is in the lock's history, and
 * released locks end free), never two holders, tokens issued once and in order; and reports how long each lock was
 * unavailable (answered 503) around each event.
 */
public sealed class MultiProcessClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ThreeSiloProcessesAndAGateway_SigkillAndSigterm_NothingAcknowledgedIsLost()
    {
        var server = await PostgresServer.GetAsync();
        var connectionString = await server.CreateDatabaseAsync("multiprocess");
        var settings = new Dictionary<string, string?>
        {
            ["Silo:ServiceId"] = "mp",
            ["Silo:ClusterId"] = "mp-" + Guid.NewGuid().ToString("N")[..8],
            ["Storage:Provider"] = "Postgres",
            ["Storage:PostgresConnectionString"] = connectionString,
        };
        var silos = new List<SiloProcess>();
        try
        {
            for (var i = 1; i <= 3; i++)
            {
                silos.Add(SiloProcess.Start(new Dictionary<string, string?>(settings)
                {
                    ["Silo:SiloName"] = "process" + i,
                    ["Silo:SiloPort"] = "0",
                    ["Silo:AdvertisedAddress"] = "127.0.0.1",
                    ["Silo:ListenAddress"] = "127.0.0.1",
                }));
            }

            await using var table = PostgresDataSources.Create(connectionString);
            var membership = new PostgresMembershipTable(table, settings["Silo:ServiceId"]!, settings["Silo:ClusterId"]!);
            await Eventually.TrueAsync(
                async () => (await ReadActiveAsync(membership)) == 3, "three silo processes are active", TimeSpan.FromSeconds(120));

            // The Api as a process of its own on a loopback port, running as a gateway of the three silos.
            var gateway = SiloProcess.Start(
                new Dictionary<string, string?>(settings) { ["Api:Mode"] = "Gateway" },
                "OrleansLocks.Api.dll");
            silos.Add(gateway); // disposed (killed) with the silos
            using var probe = new HttpClient { BaseAddress = gateway.HealthUri };
            await Eventually.TrueAsync(
                async () => !gateway.HasExited && await IsReadyAsync(probe), "the Api gateway process is ready", TimeSpan.FromSeconds(120));

            var run = new ClientRun(gateway.HealthUri, locks: 8);
            var clients = Enumerable.Range(0, 6).Select(i => Task.Run(() => run.ClientAsync(i))).ToList();

            await Eventually.TrueAsync(() => run.Grants >= 60, "the clients make progress");
            var killedAt = Stopwatch.GetTimestamp();
            silos[1].Kill();
            var beforeKill = run.Grants;
            await Eventually.TrueAsync(() => run.Grants >= beforeKill + 60, "the clients make progress after the SIGKILL", TimeSpan.FromSeconds(60));
            await Eventually.TrueAsync(async () => (await ReadActiveAsync(membership)) == 2, "the killed silo is declared dead");

            var stoppedAt = Stopwatch.GetTimestamp();
            await silos[2].StopAsync(TimeSpan.FromSeconds(60));
            var beforeStop = run.Grants;
            await Eventually.TrueAsync(() => run.Grants >= beforeStop + 60, "the clients make progress after the SIGTERM", TimeSpan.FromSeconds(60));

            run.Stop();
            await Task.WhenAll(clients);

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{run.Grants} grants, {run.Unavailable} answers 503"));
            output.WriteLine(run.Describe("SIGKILL", killedAt, stoppedAt));
            output.WriteLine(run.Describe("SIGTERM", stoppedAt, long.MaxValue));
            Assert.Empty(run.Violations);
            await run.AssertHistoryAsync();
        }
        finally
        {
            foreach (var silo in silos)
            {
                silo.Dispose();
            }

            output.WriteLine(string.Join(Environment.NewLine, silos.Select(s => s.Output)));
            NpgsqlConnection.ClearAllPools();
        }
    }

    private static async Task<bool> IsReadyAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync(new Uri("health/ready", UriKind.Relative));
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static async Task<int> ReadActiveAsync(PostgresMembershipTable table)
    {
        await table.InitializeAsync(createSchema: true, default);
        return (await table.ReadAllAsync(default)).Members.Count(m => m.Status == Silo.SiloStatus.Active);
    }

    /// <summary>The clients' shared bookkeeping: acknowledged grants, violations, and 503 windows per lock.</summary>
    private sealed class ClientRun(Uri gateway, int locks)
    {
        private readonly string[] _locks = Enumerable.Range(0, locks).Select(i => "mp" + i).ToArray();
        private readonly string?[] _holders = new string?[locks];
        private readonly long[] _lastToken = new long[locks];
        private readonly ConcurrentBag<long>[] _tokens = Enumerable.Range(0, locks).Select(_ => new ConcurrentBag<long>()).ToArray();
        private readonly ConcurrentQueue<(int Lock, long At, bool Ok, TimeSpan Took)> _answers = new();
        private readonly CancellationTokenSource _stop = new();
        private int _grants;
        private int _unavailable;

        public int Grants => Volatile.Read(ref _grants);

        public int Unavailable => Volatile.Read(ref _unavailable);

        public ConcurrentQueue<string> Violations { get; } = new();

        public void Stop() => _stop.Cancel();

        public async Task ClientAsync(int client)
        {
            using var http = new HttpClient { BaseAddress = gateway };
            var random = new Random(client);
            for (var round = 0; !_stop.IsCancellationRequested; round++)
            {
                var index = random.Next(_locks.Length);
                var me = $"client{client}";
                var requestId = $"{me}-{round}";
                var acquired = await UntilAnsweredAsync(index, () => http.PostAsJsonAsync($"/locks/{_locks[index]}/acquire", new { owner = me, requestId }));
                if (acquired.StatusCode == HttpStatusCode.Conflict)
                {
                    await Task.Delay(random.Next(1, 10));
                    continue;
                }

                Check(acquired.StatusCode == HttpStatusCode.OK, $"acquire answered {acquired.StatusCode}");
                var lease = (await acquired.Content.ReadFromJsonAsync<JsonObject>())!;
                var token = lease["fencingToken"]!.GetValue<long>();
                Check(Interlocked.CompareExchange(ref _holders[index], me, null) is null, $"{_locks[index]}: {me} granted token {token} while another client holds it");
                Check(token > _lastToken[index], $"{_locks[index]}: token {token} after {_lastToken[index]}");
                _lastToken[index] = Math.Max(_lastToken[index], token);
                _tokens[index].Add(token);
                Interlocked.Increment(ref _grants);
                await Task.Delay(random.Next(0, 5));
                Volatile.Write(ref _holders[index], null);
                var leaseId = lease["leaseId"]!.GetValue<string>();
                var released = await UntilAnsweredAsync(index, () => http.PostAsJsonAsync($"/locks/{_locks[index]}/release", new { leaseId }));
                Check(released.StatusCode == HttpStatusCode.NoContent, $"{_locks[index]}: release of token {token} answered {released.StatusCode}");
            }
        }

        /// <summary>
        /// For the answers in [from, to): per lock, the longest time from a request that did not succeed at once
        /// (it answered 503, or the gateway held it while re-routing) to the next success; the worst over all locks.
        /// </summary>
        public string Describe(string what, long from, long to)
        {
            var window = _answers.Where(a => a.At >= from && a.At < to).ToList();
            var slowest = window.Where(a => a.Ok).Select(a => a.Took).DefaultIfEmpty().Max();
            var longest = TimeSpan.Zero;
            var affected = 0;
            foreach (var perLock in window.GroupBy(a => a.Lock))
            {
                long? troubleSince = null;
                var worst = TimeSpan.Zero;
                foreach (var answer in perLock.OrderBy(a => a.At))
                {
                    var sentAt = answer.At - (long)(answer.Took.TotalSeconds * Stopwatch.Frequency);
                    if (!answer.Ok)
                    {
                        troubleSince ??= sentAt;
                    }
                    else
                    {
                        worst = Max(worst, Stopwatch.GetElapsedTime(troubleSince ?? sentAt, answer.At));
                        troubleSince = null;
                    }
                }

                affected += worst > TimeSpan.FromSeconds(1) ? 1 : 0;
                longest = Max(longest, worst);
            }

            return string.Create(
                CultureInfo.InvariantCulture,
                $"{what}: {window.Count(a => !a.Ok)} answers 503; {affected} lock(s) waited more than 1 s; the longest a lock made its client wait was {longest.TotalMilliseconds:0} ms (slowest single request {slowest.TotalMilliseconds:0} ms)");
        }

        /// <summary>Every acknowledged grant is in storage's history: tokens 1..counter, each acknowledged once; every lock ends free.</summary>
        public async Task AssertHistoryAsync()
        {
            using var http = new HttpClient { BaseAddress = gateway };
            for (var i = 0; i < _locks.Length; i++)
            {
                var state = (await http.GetFromJsonAsync<JsonObject>($"/locks/{_locks[i]}"))!;
                Assert.Empty(state["holders"]!.AsArray());
                var counter = state["fencingCounter"]!.GetValue<long>();
                Assert.Equal(Enumerable.Range(1, (int)counter).Select(t => (long)t), _tokens[i].Order());
            }
        }

        private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

        private async Task<HttpResponseMessage> UntilAnsweredAsync(int index, Func<Task<HttpResponseMessage>> send)
        {
            while (true)
            {
                var sent = Stopwatch.GetTimestamp();
                var response = await send();
                var ok = response.StatusCode != HttpStatusCode.ServiceUnavailable;
                _answers.Enqueue((index, Stopwatch.GetTimestamp(), ok, Stopwatch.GetElapsedTime(sent)));
                if (ok)
                {
                    return response;
                }

                Interlocked.Increment(ref _unavailable);
                response.Dispose();
                await Task.Delay(25); // a client honouring Retry-After, sped up
            }
        }

        private void Check(bool condition, string violation)
        {
            if (!condition)
            {
                Violations.Enqueue(violation);
            }
        }
    }
}
