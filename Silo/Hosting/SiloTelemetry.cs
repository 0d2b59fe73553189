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
}
