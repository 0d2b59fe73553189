using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FsCheck.Fluent;

namespace OrleansLocks.Faults.Tests.Fuzzing;

/// <summary>
/// Property-based fuzzing of HTTP API v1 against the real service on a real PostgreSQL: generated bad input never
/// gets a 5xx, every 4xx the Api decides is a ProblemDetails with a code, forged lease ids never touch a real
/// lease, concurrent duplicates of one requestId yield one lease, and afterwards every lock's state is well-formed
/// (at most one exclusive holder, no exclusive with readers, positions 1..n, fencingCounter ≥ every holder token).
/// The cases are sampled from FsCheck generators with a fixed seed and a bounded count: every run sends the same
/// requests, and a failure message carries each offending request for reproduction.
/// </summary>
public sealed class BadInputFuzzTests(FuzzServiceFixture service) : IClassFixture<FuzzServiceFixture>
{
    private const int Seed = 20261122;

    // Statuses the Api itself decides (as opposed to routing's 404/405): the contract says they carry a code.
    private static readonly HashSet<int> CodedStatuses = [400, 403, 409, 410, 413, 429, 503];

    private static async Task<(int Status, string Body)> SendAsync(
        HttpClient client, HttpMethod method, string path, byte[]? body, string? contentType, IEnumerable<(string, string)>? headers = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (contentType is not null)
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            }
        }

        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request, cancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    private static async Task<(int Status, string Body)> PostJsonAsync(
        HttpClient client, string path, string json, IEnumerable<(string, string)>? headers = null, CancellationToken cancellationToken = default)
        => await SendAsync(client, HttpMethod.Post, path, Encoding.UTF8.GetBytes(json), "application/json", headers, cancellationToken);

    private static string? ProblemCode(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String
                ? code.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Preview(string body) => body.Length > 300 ? body[..300] + "…" : body;

    private async Task AssertInvariantsAsync()
    {
        var problems = await service.InvariantProblemsAsync();
        Assert.True(problems.Count == 0, "State invariants broken after fuzzing:\n" + string.Join("\n", problems));
    }

    private static void AssertNoFailures(List<string> failures, int cases)
        => Assert.True(failures.Count == 0, $"{failures.Count} of {cases} generated requests failed:\n" + string.Join("\n", failures.Take(40)));

    [Fact]
    public async Task LockEndpoints_GeneratedBadRequests_NeverServerErrorAndStateStaysWellFormed()
    {
        var cases = FuzzInputs.Sample(FuzzInputs.Request, Seed, 400);
        Assert.Equal(400, cases.Count);
        var failures = new List<string>();
        foreach (var c in cases)
        {
            if (LockLimits.ValidateName(c.Name) is null)
            {
                service.Touched.TryAdd(c.Name, true);
            }

            if (c.Path.Contains("%00", StringComparison.Ordinal))
            {
                // The in-process test client refuses to send a NUL in the path (Kestrel answers such a request 400
                // before it reaches the app), so there is nothing of the Api's to test.
                continue;
            }

            var (status, body) = await SendAsync(service.Client, new HttpMethod(c.Method), c.Path, c.Body, c.ContentType, c.Headers);
            if (status >= 500)
            {
                failures.Add($"{status} for {c.Describe()} → {Preview(body)}");
            }
            else if (CodedStatuses.Contains(status) && ProblemCode(body) is null)
            {
                failures.Add($"{status} without a ProblemDetails code for {c.Describe()} → {Preview(body)}");
            }
        }

        AssertNoFailures(failures, cases.Count);
        await AssertInvariantsAsync();
    }

    [Fact]
    public async Task ListLocks_GeneratedQueries_NeverServerError()
    {
        var queries = FuzzInputs.Sample(FuzzInputs.ListQuery, Seed + 1, 120);
        var failures = new List<string>();
        foreach (var query in queries)
        {
            var (status, body) = await SendAsync(service.Client, HttpMethod.Get, query, null, null);
            if (status >= 500 || (CodedStatuses.Contains(status) && ProblemCode(body) is null) || status is not (200 or 400))
            {
                failures.Add($"{status} for GET /{(query.Length > 200 ? query[..200] + "…" : query)} → {Preview(body)}");
            }
        }

        AssertNoFailures(failures, queries.Count);
    }

    [Fact]
    public async Task Acquire_ExtremeDurations_NeverServerErrorAndGrantsRespectBounds()
    {
        var cases = FuzzInputs.Sample(FuzzInputs.Durations, Seed + 2, 200);
        var failures = new List<string>();
        for (var i = 0; i < cases.Count; i++)
        {
            // A fresh, free lock per case: any wait is answered at once, so a valid 60 s wait costs nothing.
            var name = $"fz-dur-{i}";
            service.Touched.TryAdd(name, true);
            var json = $"{{\"ttl\":{cases[i].Ttl},\"wait\":{cases[i].Wait},\"owner\":\"fuzz\"}}";
            var (status, body) = await PostJsonAsync(service.Client, $"locks/{name}/acquire", json);
            if (status >= 500 || (CodedStatuses.Contains(status) && ProblemCode(body) is null))
            {
                failures.Add($"{status} for POST /locks/{name}/acquire {json} → {Preview(body)}");
            }
            else if (status == 200)
            {
                using var lease = JsonDocument.Parse(body);
                var ttlMs = lease.RootElement.GetProperty("ttlMs").GetInt64();
                if (ttlMs is < 0 or > 3_600_000)
                {
                    failures.Add($"granted ttlMs {ttlMs} outside 1 s..1 h for {json}");
                }
            }
            else if (status is not (400 or 413))
            {
                failures.Add($"{status} (expected 200, 400, or 413 for a body over the limit) for POST /locks/{name}/acquire {json} → {Preview(body)}");
            }
        }

        AssertNoFailures(failures, cases.Count);
        await AssertInvariantsAsync();
    }

    [Fact]
    public async Task RenewReleaseAcquire_ForgedLeaseIds_NeverServerErrorAndNeverTouchTheHolder()
    {
        const string name = "fz-forge";
        const string other = "fz-forge-other";
        service.Touched.TryAdd(name, true);
        service.Touched.TryAdd(other, true);
        var (status, body) = await PostJsonAsync(service.Client, $"locks/{name}/acquire", "{\"owner\":\"holder\",\"ttl\":\"PT5M\"}");
        Assert.True(status == 200, $"acquire {name}: {status} {body}");
        using var real = JsonDocument.Parse(body);
        var leaseId = real.RootElement.GetProperty("leaseId").GetString()!;
        var token = real.RootElement.GetProperty("fencingToken").GetInt64();
        (status, body) = await PostJsonAsync(service.Client, $"locks/{other}/acquire", "{\"owner\":\"other\",\"ttl\":\"PT5M\"}");
        Assert.True(status == 200, $"acquire {other}: {status} {body}");
        using var otherLease = JsonDocument.Parse(body);

        var forged = FuzzInputs.Sample(FuzzInputs.ForgedLeaseId, Seed + 3, 120).ToList();
        forged.Add(otherLease.RootElement.GetProperty("leaseId").GetString()!); // a real lease of another lock
        forged.Add(leaseId[..^1] + (leaseId[^1] == 'A' ? 'B' : 'A'));            // one character off
        forged.Add(string.Equals(leaseId.ToUpperInvariant(), leaseId, StringComparison.Ordinal) ? leaseId.ToLowerInvariant() : leaseId.ToUpperInvariant());
        var failures = new List<string>();
        foreach (var id in forged)
        {
            var idJson = FuzzInputs.JsonText(id);
            foreach (var (action, json) in new[]
                     {
                         ("renew", $"{{\"leaseId\":{idJson},\"ttl\":1000}}"),
                         ("release", $"{{\"leaseId\":{idJson}}}"),
                         ("acquire", $"{{\"leaseId\":{idJson},\"owner\":\"forger\"}}"),
                     })
            {
                (status, body) = await PostJsonAsync(service.Client, $"locks/{name}/{action}", json);
                var wrong = status >= 500
                    || (CodedStatuses.Contains(status) && ProblemCode(body) is null)
                    || (action == "renew" && status == 200)
                    || (action == "acquire" && status == 200);
                if (wrong)
                {
                    failures.Add($"{status} for POST /locks/{name}/{action} {json} → {Preview(body)}");
                }
            }
        }

        AssertNoFailures(failures, forged.Count * 3);
        var state = await service.ReadStateAsync(name);
        Assert.Equal("exclusive", state.Mode);
        Assert.Equal(token, Assert.Single(state.Holders).FencingToken);
        (status, body) = await PostJsonAsync(service.Client, $"locks/{name}/renew", $"{{\"leaseId\":{FuzzInputs.JsonText(leaseId)}}}");
        Assert.True(status == 200, $"the real holder could not renew after the forgeries: {status} {body}");
        (status, _) = await PostJsonAsync(service.Client, $"locks/{other}/renew", $"{{\"leaseId\":{FuzzInputs.JsonText(otherLease.RootElement.GetProperty("leaseId").GetString()!)}}}");
        Assert.Equal(200, status);
        await AssertInvariantsAsync();
    }

    [Fact]
    public async Task Acquire_WaiterWithoutRequestIdDisconnects_NoOrphanedLeaseOrQueuePlace()
    {
        // A long-poll without a requestId can never be asked about again: when its client disconnects, neither its
        // place in the queue nor a lease granted in the meantime may survive it (SPEC §2: a waiter whose client is
        // gone must not hold the queue up). The disconnect races the holder's release at generated offsets.
        var gen =
            from disconnectAfter in Gen.Choose(50, 600)
            from releaseOffset in Gen.Choose(-100, 100)
            select (DisconnectAfter: disconnectAfter, ReleaseOffset: releaseOffset);
        var cases = FuzzInputs.Sample(gen, Seed + 5, 12);
        var failures = new List<string>();
        for (var i = 0; i < cases.Count; i++)
        {
            var (disconnectAfter, releaseOffset) = cases[i];
            var name = $"fz-gone-{i}";
            service.Touched.TryAdd(name, true);
            var (status, body) = await PostJsonAsync(service.Client, $"locks/{name}/acquire", "{\"owner\":\"holder\",\"ttl\":30000}");
            Assert.True(status == 200, $"acquire {name}: {status} {body}");
            using var holder = JsonDocument.Parse(body);
            var leaseId = holder.RootElement.GetProperty("leaseId").GetString()!;

            using var gone = new CancellationTokenSource();
            // The in-process client has no socket to close: cancelling the pending request aborts it on the server.
            var waiter = PostJsonAsync(service.Client, $"locks/{name}/acquire", "{\"owner\":\"gone\",\"ttl\":30000,\"wait\":20000}", null, gone.Token)
                .ContinueWith(t => t.IsCanceled || t.Exception is not null ? (Status: 0, Body: "") : t.Result, TaskScheduler.Default);
            var releaseAt = Math.Max(0, disconnectAfter + releaseOffset);
            var release = Task.Run(async () =>
            {
                await Task.Delay(releaseAt);
                return await PostJsonAsync(service.Client, $"locks/{name}/release", $"{{\"leaseId\":{FuzzInputs.JsonText(leaseId)}}}");
            });
            await Task.Delay(disconnectAfter);
            await gone.CancelAsync();

            var released = await release;
            if (released.Status != 204)
            {
                failures.Add($"case {i}: the holder's release answered {released.Status} {Preview(released.Body)}");
            }

            var answer = await waiter;
            if (answer.Status >= 500)
            {
                failures.Add($"case {i}: the waiter got {answer.Status} {Preview(answer.Body)}");
            }

            if (answer.Status == 200)
            {
                // It was granted before it left: then it holds the lock legitimately, and releases it.
                using var lease = JsonDocument.Parse(answer.Body);
                await PostJsonAsync(service.Client, $"locks/{name}/release", $"{{\"leaseId\":{FuzzInputs.JsonText(lease.RootElement.GetProperty("leaseId").GetString()!)}}}");
            }

            var free = false;
            for (var attempt = 0; attempt < 50 && !free; attempt++)
            {
                var state = await service.ReadStateAsync(name);
                free = state.Holders.Count == 0 && state.Waiters.Count == 0;
                if (!free)
                {
                    await Task.Delay(100);
                }
            }

            if (!free)
            {
                var state = await service.ReadStateAsync(name);
                failures.Add($"case {i} (disconnect after {disconnectAfter} ms, release at {releaseAt} ms): 5 s later the lock still has " +
                    $"{state.Holders.Count} holder(s) [{string.Join(", ", state.Holders.Select(h => h.Owner))}] and {state.Waiters.Count} waiter(s) [{string.Join(", ", state.Waiters.Select(w => w.Owner))}]");
            }
        }

        AssertNoFailures(failures, cases.Count);
        await AssertInvariantsAsync();
    }

    [Fact]
    public async Task Acquire_ConcurrentDuplicateRequestIds_OneLeaseAndNeverServerError()
    {
        var gen =
            from parallel in Gen.Choose(2, 12)
            from headerMask in Gen.Choose(0, 4095)
            from wait in Gen.Elements(0, 0, 1500)
            from preHeld in Gen.Elements(false, false, true)
            select (Parallel: parallel, HeaderMask: headerMask, Wait: wait, PreHeld: preHeld);
        var cases = FuzzInputs.Sample(gen, Seed + 4, 25);
        var failures = new List<string>();
        for (var i = 0; i < cases.Count; i++)
        {
            var (parallel, headerMask, wait, preHeld) = cases[i];
            var name = $"fz-dup-{i}";
            service.Touched.TryAdd(name, true);
            if (preHeld)
            {
                // Held by someone else for 1 s: duplicates that wait are granted together after it expires.
                var (s, b) = await PostJsonAsync(service.Client, $"locks/{name}/acquire", "{\"owner\":\"pre\",\"ttl\":1000}");
                Assert.True(s == 200, $"pre-acquire {name}: {s} {b}");
            }

            var requestId = $"dup-{i}-{Guid.NewGuid():N}";
            var answers = await Task.WhenAll(Enumerable.Range(0, parallel).Select(k =>
            {
                var viaHeader = (headerMask >> k & 1) == 1;
                var json = viaHeader
                    ? $"{{\"owner\":\"dup\",\"ttl\":30000,\"wait\":{wait}}}"
                    : $"{{\"owner\":\"dup\",\"ttl\":30000,\"wait\":{wait},\"requestId\":\"{requestId}\"}}";
                return PostJsonAsync(service.Client, $"locks/{name}/acquire", json, viaHeader ? [("Idempotency-Key", requestId)] : null);
            }));
            var describe = $"case {i} ({parallel} parallel, wait {wait}, pre-held {preHeld}): [{string.Join(", ", answers.Select(a => a.Status))}]";
            if (answers.Any(a => a.Status >= 500 || (CodedStatuses.Contains(a.Status) && ProblemCode(a.Body) is null)))
            {
                failures.Add($"{describe}: {string.Join(" | ", answers.Where(a => a.Status >= 400).Select(a => Preview(a.Body)).Distinct())}");
                continue;
            }

            var leases = answers.Where(a => a.Status == 200).Select(a =>
            {
                using var json = JsonDocument.Parse(a.Body);
                return (LeaseId: json.RootElement.GetProperty("leaseId").GetString(), Token: json.RootElement.GetProperty("fencingToken").GetInt64());
            }).Distinct().ToList();
            if (leases.Count > 1)
            {
                failures.Add($"{describe}: one requestId yielded {leases.Count} different leases (tokens {string.Join(", ", leases.Select(l => l.Token))})");
            }

            var state = await service.ReadStateAsync(name);
            if (state.Holders.Count > 1)
            {
                failures.Add($"{describe}: {state.Holders.Count} exclusive holders (tokens {string.Join(", ", state.Holders.Select(h => h.FencingToken))})");
            }
            else if (leases.Count == 1 && state.Holders.SingleOrDefault()?.FencingToken != leases[0].Token)
            {
                failures.Add($"{describe}: the granted token {leases[0].Token} is not the holder in the state ({string.Join(", ", state.Holders.Select(h => h.FencingToken))})");
            }
        }

        // Header and body naming different request ids is a 400, never a grant.
        var (status, body) = await PostJsonAsync(service.Client, "locks/fz-dup-conflict/acquire", "{\"requestId\":\"one\"}", [("Idempotency-Key", "two")]);
        service.Touched.TryAdd("fz-dup-conflict", true);
        if (status != 400)
        {
            failures.Add($"header and body request ids differ: {status} {Preview(body)}");
        }

        // Distinct request ids racing for a free lock with wait 0: exactly one wins.
        service.Touched.TryAdd("fz-race", true);
        var race = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => PostJsonAsync(service.Client, "locks/fz-race/acquire", "{\"owner\":\"racer\",\"ttl\":30000}")));
        if (race.Count(r => r.Status == 200) != 1 || race.Any(r => r.Status is not (200 or 409)))
        {
            failures.Add($"10 racing try-locks on a free lock: [{string.Join(", ", race.Select(r => r.Status))}]; exactly one 200 and nine 409 expected");
        }

        AssertNoFailures(failures, cases.Count + 2);
        await AssertInvariantsAsync();
    }
}
