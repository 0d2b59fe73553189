using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Hosting;

namespace OrleansLocks.Silo.Runtime;

/*
 * Design note — trace context through the grain runtime.
 *
 * A grain call runs on its activation's scheduler, often inside a turn loop that another caller started, so the
 * ExecutionContext it runs under is not its caller's. GrainCall therefore captures the caller's Activity when it is
 * made, and the activation makes it current while the call runs: logs written by the grain (and storage under it)
 * carry the caller's trace id, and a forwarded call continues the trace of the HTTP request that caused it. When
 * someone listens to the ActivitySource (OpenTelemetry), each call is also a span of its own.
 *
 * Across silos the context travels in the W3C traceparent/tracestate headers of the HTTP/2 request
 * (DistributedContextPropagator), and the receiving silo starts an Activity from them (a span when listened to,
 * otherwise a bare Activity that still carries the trace id into the logs), as ASP.NET Core does for requests.
 *
 * Every call also runs in a logging scope naming the silo and the grain, so every log line of the lock protocol says
 * where it happened (JSON console logs show scopes with IncludeScopes).
 */

/// <summary>The silo's ActivitySource and the helpers that carry trace context through calls and silos.</summary>
internal static class SiloTracing
{
    public static readonly ActivitySource Source = new(SiloTelemetry.ActivitySourceName);

    /// <summary>Makes the call's captured caller Activity current and starts a span for the call when listened to.</summary>
    public static Activity? StartCall(GrainCall call, GrainId grainId)
    {
        // Also when the caller had none: the turn loop may run under the ExecutionContext of another caller.
        if (Activity.Current != call.CallerActivity)
        {
            Activity.Current = call.CallerActivity;
        }

        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(call.Method.ShortName, ActivityKind.Internal);
        activity?.SetTag("orleanslocks.grain.id", grainId.ToString());
        return activity;
    }

    /// <summary>
    /// Starts the Activity of a request received from another silo, with the parent in its traceparent header. Without
    /// listeners the Activity is still created (not sampled) so the trace id reaches the logs.
    /// </summary>
    public static Activity? StartServer(string name, Func<string, (string? Value, IEnumerable<string>? Values)> headers)
    {
        if (Activity.Current is not null)
        {
            // The web host already continued the remote trace for this request (ASP.NET Core hosting does when it
            // logs or is listened to): a span of our own below it is enough.
            return Source.StartActivity(name, ActivityKind.Server);
        }

        string? traceParent = null, traceState = null;
        DistributedContextPropagator.Current.ExtractTraceIdAndState(
            headers,
            static (carrier, field, out value, out values) => (value, values) = ((Func<string, (string?, IEnumerable<string>?)>)carrier!)(field),
            out traceParent,
            out traceState);

        if (Source.HasListeners())
        {
            ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var parent);
            return Source.StartActivity(name, ActivityKind.Server, parent);
        }

        if (traceParent is null)
        {
            return null;
        }

        var activity = new Activity(name);
        activity.SetParentId(traceParent);
        activity.TraceStateString = traceState;
        return activity.Start();
    }

    /// <summary>Starts the client Activity of a request to another silo and writes its context into the headers.</summary>
    public static Activity? StartClient(string name, HttpRequestMessage request)
    {
        Activity? activity = null;
        if (Source.HasListeners())
        {
            activity = Source.StartActivity(name, ActivityKind.Client);
        }

        if (Activity.Current is { } current)
        {
            DistributedContextPropagator.Current.Inject(current, request, static (carrier, field, value) =>
            {
                var headers = ((HttpRequestMessage)carrier!).Headers;
                headers.Remove(field);
                headers.TryAddWithoutValidation(field, value);
            });
        }

        return activity;
    }

    /// <summary>The logging scope of every grain call and timer tick: which silo, which grain.</summary>
    public static IDisposable? BeginScope(ILogger logger, string silo, GrainId grainId)
        => logger.BeginScope(new SiloScope(silo, grainId));

    /// <summary>A structured scope (shown by JSON console logs as fields) that formats as "silo grain".</summary>
    private sealed class SiloScope(string silo, GrainId grainId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 2;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("Silo", silo),
            1 => new("GrainId", grainId.ToString()),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
            yield return this[1];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"silo {silo} {grainId}";
    }
}
