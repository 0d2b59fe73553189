using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansLocks.Api.Observability;

/// <summary>The Api's instruments on the meter <see cref="MeterName"/>.</summary>
internal sealed class ApiMetrics
{
    /// <summary>The Api's meter.</summary>
    public const string MeterName = "OrleansLocks.Api";

    private readonly Histogram<double> _acquireDuration;

    public ApiMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _acquireDuration = meter.CreateHistogram(
            "orleanslocks.api.acquire.duration",
            unit: "s",
            description: "Duration of acquire requests as the client sees them (waiting included), by outcome (granted, busy, lease_lost, queue_full, invalid, unavailable, error).",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
    }

    public void Acquired(string outcome, TimeSpan duration)
        => _acquireDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
}

/// <summary>Records the duration and outcome of every acquire request (orleanslocks.api.acquire.duration).</summary>
internal sealed class AcquireMetricsFilter(TimeProvider time, ApiMetrics? metrics = null) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (metrics is null)
        {
            return await next(context); // the host did not add observability (AddObservability)
        }

        var started = time.GetTimestamp();
        try
        {
            var result = await next(context);
            metrics.Acquired(Outcome(result), time.GetElapsedTime(started));
            return result;
        }
        catch (Exception e)
        {
            metrics.Acquired(e is Runtime.SiloUnavailableException or Runtime.StorageUnavailableException or Runtime.InconsistentStateException ? "unavailable" : "error", time.GetElapsedTime(started));
            throw;
        }
    }

    private static string Outcome(object? result)
    {
        var inner = result is INestedHttpResult nested ? nested.Result : result as IResult;
        return (inner as IStatusCodeHttpResult)?.StatusCode switch
        {
            StatusCodes.Status200OK => "granted",
            StatusCodes.Status409Conflict => "busy",
            StatusCodes.Status410Gone => "lease_lost",
            StatusCodes.Status429TooManyRequests => "queue_full",
            StatusCodes.Status400BadRequest => "invalid",
            _ => "other",
        };
    }
}
