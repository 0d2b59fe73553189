namespace OrleansLocks.Silo.Hosting;

/// <summary>Names under which the silo publishes telemetry (for OpenTelemetry's <c>AddMeter</c>).</summary>
public static class SiloTelemetry
{
    /// <summary>
    /// The silo runtime's meter: <c>orleanslocks.silo.activations</c> (gauge),
    /// <c>orleanslocks.silo.activations.created</c> and <c>.collected</c> (counters),
    /// <c>orleanslocks.silo.grain_call.duration</c> (histogram, seconds, tag <c>method</c>).
    /// </summary>
    public const string MeterName = "OrleansLocks.Silo";

    /// <summary>
    /// The silo's ActivitySource: a span per grain call (named after the method), per silo-to-silo request sent
    /// (client) and received (server). W3C trace context travels between silos in the HTTP/2 request headers.
    /// </summary>
    public const string ActivitySourceName = "OrleansLocks.Silo";
}
