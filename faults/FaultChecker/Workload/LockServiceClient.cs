using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansLocks.FaultChecker.History;

namespace OrleansLocks.FaultChecker.Workload;

/*
 * Design note — turning HTTP exchanges into history operations.
 *
 * Every call records one operation with invocation and completion read from the history's clock, and an outcome
 * chosen conservatively:
 *  ok    a 2xx, or (for the operation's purpose) a definite answer: acquire 200, release 204, renew 200.
 *  fail  a definite refusal (409, 410, 429, 4xx) or a request that provably never reached the service
 *        (connection refused: HttpRequestError.ConnectionError).
 *  info  everything else: timeouts, drops, connections reset after sending, and every 5xx. A 503 is an expected
 *        answer of the service, but the write it refused to confirm may still have committed, so it is unknown.
 * A 500 is recorded as info too, and the checker reports it (a 500 is always a bug).
 */

/// <summary>The HTTP API v1 calls the workload makes, each recorded in the history.</summary>
internal sealed class LockServiceClient(HttpClient http, HistoryRecorder history, DropPolicy drop, EntryPoints entryPoints)
{
    /// <summary>Where this client's requests go.</summary>
    public EntryPoints EntryPoints => entryPoints;

    private static readonly TimeSpan RequestSlack = TimeSpan.FromSeconds(15);

    public async Task<Operation> AcquireAsync(string process, long cycle, string lockName, string requestId, TimeSpan ttl, TimeSpan wait, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object>
        {
            ["mode"] = "exclusive",
            ["owner"] = process,
            ["ttl"] = (long)ttl.TotalMilliseconds,
            ["wait"] = (long)wait.TotalMilliseconds,
            ["requestId"] = requestId,
        };
        var template = new Operation
        {
            Process = process,
            Kind = OpKind.Acquire,
            Outcome = OpOutcome.Info,
            InvokedMs = 0,
            CompletedMs = 0,
            Lock = lockName,
            Cycle = cycle,
            RequestId = requestId,
        };
        return await SendAsync(template, HttpMethod.Post, $"locks/{lockName}/acquire", body, wait + RequestSlack, HttpStatusCode.OK, ReadLease, cancellationToken);
    }

    public async Task<Operation> RenewAsync(string process, long cycle, string lockName, string leaseId, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object> { ["leaseId"] = leaseId, ["ttl"] = (long)ttl.TotalMilliseconds };
        var template = new Operation
        {
            Process = process,
            Kind = OpKind.Renew,
            Outcome = OpOutcome.Info,
            InvokedMs = 0,
            CompletedMs = 0,
            Lock = lockName,
            Cycle = cycle,
            LeaseId = leaseId,
        };
        return await SendAsync(template, HttpMethod.Post, $"locks/{lockName}/renew", body, RequestSlack, HttpStatusCode.OK, ReadLease, cancellationToken);
    }

    public async Task<Operation> ReleaseAsync(string process, long cycle, string lockName, string leaseId, long token, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object> { ["leaseId"] = leaseId };
        var template = new Operation
        {
            Process = process,
            Kind = OpKind.Release,
            Outcome = OpOutcome.Info,
            InvokedMs = 0,
            CompletedMs = 0,
            Lock = lockName,
            Cycle = cycle,
            LeaseId = leaseId,
            Token = token,
        };
        return await SendAsync(template, HttpMethod.Post, $"locks/{lockName}/release", body, RequestSlack, HttpStatusCode.NoContent, null, cancellationToken);
    }

    /// <summary>
    /// GET /locks/{name}; never dropped (reads observe, they are not the system under test's input). The monitor
    /// <paramref name="rotate"/>s over the entry points so its reads see every gateway's routing.
    /// </summary>
    public async Task<Operation> ReadAsync(string process, string lockName, CancellationToken cancellationToken, bool rotate = false)
    {
        if (rotate)
        {
            entryPoints.Advance();
        }

        var template = new Operation
        {
            Process = process,
            Kind = OpKind.Read,
            Outcome = OpOutcome.Info,
            InvokedMs = 0,
            CompletedMs = 0,
            Lock = lockName,
        };
        return await SendAsync(template, HttpMethod.Get, $"locks/{lockName}", null, RequestSlack, HttpStatusCode.OK, ReadState, cancellationToken, droppable: false);
    }

    private async Task<Operation> SendAsync(
        Operation template,
        HttpMethod method,
        string path,
        object? body,
        TimeSpan timeout,
        HttpStatusCode success,
        Func<Operation, JsonElement, Operation>? readSuccess,
        CancellationToken cancellationToken,
        bool droppable = true)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        using var dropSource = CancellationTokenSource.CreateLinkedTokenSource(timeoutSource.Token);
        var dropAfter = droppable ? drop.Next() : null;
        if (dropAfter is { } after)
        {
            dropSource.CancelAfter(after);
        }

        var (via, baseAddress) = entryPoints.Current;
        template = template with { Via = entryPoints.Count > 1 ? via : null };
        var invoked = history.Now;
        Operation op;
        try
        {
            using var request = new HttpRequestMessage(method, new Uri(baseAddress, path));
            if (body is not null)
            {
                request.Content = JsonContent.Create(body);
            }

            using var response = await http.SendAsync(request, dropSource.Token);
            var text = await response.Content.ReadAsStringAsync(dropSource.Token);
            var status = (int)response.StatusCode;
            op = template with { Status = status };
            if (response.StatusCode == success)
            {
                op = op with { Outcome = OpOutcome.Ok };
                if (readSuccess is not null)
                {
                    using var json = JsonDocument.Parse(text);
                    op = readSuccess(op, json.RootElement);
                }
            }
            else
            {
                var (code, reason) = ReadProblem(text);
                op = op with
                {
                    Outcome = status >= 500 ? OpOutcome.Info : OpOutcome.Fail,
                    Code = code,
                    Detail = reason ?? (status >= 500 || code is null ? Truncate(text) : null),
                };
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            op = template with { Outcome = OpOutcome.Info, Detail = timeoutSource.IsCancellationRequested ? "timeout" : "dropped" };
        }
        catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.ConnectionError)
        {
            // The connection could not be established: the request never reached the service.
            op = template with { Outcome = OpOutcome.Fail, Detail = "connection refused" };
        }
        catch (HttpRequestException e)
        {
            op = template with { Outcome = OpOutcome.Info, Detail = $"{e.HttpRequestError}: {e.Message}" };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            op = template with { Outcome = OpOutcome.Info, Detail = $"unreadable response: {e.Message}" };
        }
        catch (IOException e)
        {
            op = template with { Outcome = OpOutcome.Info, Detail = e.Message };
        }

        var completed = history.Now;
        var utc = history.UtcNow;
        if (op.Outcome == OpOutcome.Info || op.Detail == "connection refused")
        {
            // An answer the client cannot use: the next attempt goes to another entry point.
            entryPoints.Advance();
        }

        return history.Add(op with
        {
            InvokedMs = invoked,
            CompletedMs = completed,
            ExpiresAtMs = op.ExpiresAt is { } expiresAt ? completed + (expiresAt - utc).TotalMilliseconds : null,
        });
    }

    private static Operation ReadLease(Operation op, JsonElement lease) => op with
    {
        LeaseId = lease.GetProperty("leaseId").GetString(),
        Token = lease.GetProperty("fencingToken").GetInt64(),
        TtlMs = lease.GetProperty("ttlMs").GetInt64(),
        ExpiresAt = lease.GetProperty("expiresAt").GetDateTimeOffset(),
    };

    internal static Operation ReadState(Operation op, JsonElement state) => op with
    {
        State = new LockSnapshot(
            state.GetProperty("mode").GetString() ?? "?",
            [.. state.GetProperty("holders").EnumerateArray().Select(h => new HolderSnapshot(
                h.GetProperty("owner").GetString() ?? "",
                h.GetProperty("mode").GetString() ?? "?",
                h.GetProperty("fencingToken").GetInt64(),
                h.GetProperty("expiresAt").GetDateTimeOffset()))],
            [.. state.GetProperty("waiters").EnumerateArray().Select(w => new WaiterSnapshot(
                w.GetProperty("owner").GetString() ?? "",
                w.GetProperty("mode").GetString() ?? "?",
                w.GetProperty("position").GetInt32()))],
            state.GetProperty("fencingCounter").GetInt64()),
    };

    private static (string? Code, string? Reason) ReadProblem(string text)
    {
        try
        {
            using var json = JsonDocument.Parse(text);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null);
            }

            var code = root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            var reason = root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            return (code, reason);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
