using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OrleansLocks.Api.Models;
using OrleansLocks.Api.Problems;
using OrleansLocks.Api.Security;
using OrleansLocks.Runtime;

namespace OrleansLocks.Api.Endpoints;

/*
 * Design note — GET /locks/{name}/events (Server-Sent Events).
 *
 * The endpoint long-polls the lock grain's ILockGrain.WatchAsync through the normal grain call path, so it works
 * wherever the lock lives (a forwarded call in a cluster) and after the lock moves: a new activation has a new epoch,
 * WatchAsync answers Reset, and the stream sends a `reset` event with the state read right after it, then continues.
 *
 * Event ids are "<epoch>.<sequence>". A client that reconnects with Last-Event-ID (EventSource does) gets exactly the
 * events it missed, in order, if the same activation still has them in its bounded history; otherwise a `reset`.
 * A reset's state may already include the effects of events that follow it (the state is read after the reset
 * point): consumers re-read state on reset and treat events as notifications, which every consumer of a stream
 * that can reset must do anyway.
 *
 * The first watch runs before the response starts, so an unavailable silo or storage is a normal 503. Later failures
 * end the stream (the client reconnects with its Last-Event-ID). A comment line every WatchTimeout keeps proxies
 * from timing the connection out and notices a client that went away.
 */

/// <summary><c>GET /locks/{name}/events</c>: a lock's events as Server-Sent Events.</summary>
internal static partial class LockEventEndpoints
{
    /// <summary>How long one WatchAsync long poll may last before the stream sends a keep-alive comment.</summary>
    internal static readonly TimeSpan WatchTimeout = TimeSpan.FromSeconds(15);

    private static readonly JsonSerializerOptions EventJson = CreateEventJson();

    /// <summary>Maps the stream on the <c>/locks</c> group, so it shares the group's conventions (tags, authorization).</summary>
    public static RouteGroupBuilder MapLockEvents(this RouteGroupBuilder locks)
    {
        locks.MapGet("/{name}/events", StreamAsync)
            .WithName("StreamLockEvents")
            .WithSummary("Watch a lock's events (Server-Sent Events)")
            .WithDescription(
                "A text/event-stream of the lock's events: queued, granted, renewed, released, expired, forced, dequeued, each with " +
                "`id: <epoch>.<sequence>` and JSON data {sequence, type, at, owner, mode, fencingToken?, position?, expiresAt?, reason?}. " +
                "The stream starts with a `reset` event carrying the lock's state. Reconnect with the Last-Event-ID header (or " +
                "?lastEventId=) to resume after the last event seen; when the lock's history cannot cover the gap (the lock moved to " +
                "another silo, or too many events passed) a `reset` event with the current state is sent instead.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .RequireLockRole(LockRoles.Viewer);
        return locks;
    }

    internal static async Task<Results<EmptyHttpResult, BadRequestProblem>> StreamAsync(
        string name,
        [FromHeader(Name = "Last-Event-ID")] string? lastEventIdHeader,
        [FromQuery(Name = "lastEventId")] string? lastEventIdQuery,
        HttpContext http,
        IGrainFactory grains,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        TimeProvider time,
        ILogger<LockStreamLog> logger)
    {
        if (LockLimits.ValidateName(name) is { } nameError)
        {
            return RequestValidation.InvalidName(http, nameError);
        }

        var (epoch, sequence) = ParseEventId(lastEventIdHeader ?? lastEventIdQuery);
        var grain = grains.GetGrain<ILockGrain>(name);
        var aborted = http.RequestAborted;

        // Before the response starts: failures here are ordinary error responses (503).
        var batch = await grain.WatchAsync(epoch, sequence, TimeSpan.Zero);

        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.WriteAsync("retry: 1000\n\n", aborted);
        await response.Body.FlushAsync(aborted);
        LogStreamStarted(logger, name, epoch is null ? "start" : $"{epoch}.{sequence}");

        var stateJson = json.Value.SerializerOptions;
        var resetsInARow = 0;
        try
        {
            while (!aborted.IsCancellationRequested)
            {
                var text = new StringBuilder();
                if (batch.Reset)
                {
                    // Back off only if resets repeat without progress (an activation going away): never a hot loop.
                    if (++resetsInARow > 2)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(200 * Math.Min(resetsInARow, 10)), time, aborted);
                    }

                    var state = await grain.GetStateAsync().WaitAsync(aborted);
                    epoch = batch.Epoch;
                    sequence = batch.LastSequence;
                    var data = JsonSerializer.Serialize(new LockStreamReset(batch.Epoch, batch.LastSequence, LockStateResponse.From(state)), stateJson);
                    Append(text, "reset", $"{epoch}.{sequence}", data);
                }
                else
                {
                    resetsInARow = 0;
                    foreach (var e in batch.Events)
                    {
                        Append(text, TypeName(e.Type), $"{batch.Epoch}.{e.Sequence}", JsonSerializer.Serialize(LockEventResponse.From(e), EventJson));
                        sequence = e.Sequence;
                    }

                    if (batch.Events.Count == 0)
                    {
                        text.Append(": keep-alive\n\n");
                    }
                }

                await response.WriteAsync(text.ToString(), aborted);
                await response.Body.FlushAsync(aborted);
                batch = await grain.WatchAsync(epoch, sequence, WatchTimeout).WaitAsync(aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e) when (e is SiloUnavailableException or StorageUnavailableException or InconsistentStateException or IOException)
        {
            // The response has started: end the stream, the client reconnects with its Last-Event-ID.
            LogStreamEnded(logger, name, e);
        }

        return TypedResults.Empty;
    }

    /// <summary>"epoch.sequence" as the stream writes it; anything else means "from now, with a reset".</summary>
    internal static (string? Epoch, long Sequence) ParseEventId(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return (null, 0);
        }

        var dot = id.LastIndexOf('.');
        return dot > 0 && long.TryParse(id.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            ? (id[..dot], sequence)
            : (null, 0);
    }

    internal static string TypeName(LockEventType type) => type switch
    {
        LockEventType.Queued => "queued",
        LockEventType.Granted => "granted",
        LockEventType.Released => "released",
        LockEventType.Expired => "expired",
        LockEventType.Forced => "forced",
        LockEventType.Dequeued => "dequeued",
        LockEventType.Renewed => "renewed",
        _ => "unknown",
    };

    private static void Append(StringBuilder text, string type, string id, string data)
        => text.Append("event: ").Append(type).Append("\nid: ").Append(id).Append("\ndata: ").Append(data).Append("\n\n");

    private static JsonSerializerOptions CreateEventJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        return options;
    }

    [LoggerMessage(9100, LogLevel.Debug, "Event stream of {LockName} started (from {From})")]
    private static partial void LogStreamStarted(ILogger logger, string lockName, string from);

    [LoggerMessage(9101, LogLevel.Information, "Event stream of {LockName} ended by a failure; the client reconnects with its Last-Event-ID")]
    private static partial void LogStreamEnded(ILogger logger, string lockName, Exception exception);
}

/// <summary>The log category of lock event streams.</summary>
internal sealed class LockStreamLog;

/// <summary>The data of a <c>reset</c> event: where the stream continues and the lock's state read at that point.</summary>
public sealed record LockStreamReset(string Epoch, long LastSequence, LockStateResponse State);

/// <summary>The data of one lock event of <c>GET /locks/{name}/events</c>.</summary>
public sealed record LockEventResponse(
    long Sequence,
    string Type,
    DateTime At,
    string Owner,
    LockMode Mode,
    long? FencingToken,
    int? Position,
    DateTime? ExpiresAt,
    string? Reason)
{
    internal static LockEventResponse From(LockEventView e) => new(
        e.Sequence, LockEventEndpoints.TypeName(e.Type), e.At.UtcDateTime, e.Owner, e.Mode, e.FencingToken, e.Position, e.ExpiresAt?.UtcDateTime, e.Reason);
}
