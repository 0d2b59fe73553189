using Microsoft.Extensions.Options;

namespace OrleansLocks.Silo.Hosting.Telemetry;

/// <summary>OTLP/HTTP or OTLP/gRPC.</summary>
public enum OtlpProtocol
{
    /// <summary>OTLP over gRPC (default port 4317).</summary>
    Grpc = 0,

    /// <summary>OTLP over HTTP with protobuf bodies (default port 4318; paths /v1/metrics and /v1/traces).</summary>
    HttpProtobuf = 1,
}

/// <summary>Telemetry export (configuration section <c>Telemetry</c>).</summary>
public sealed class TelemetryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Telemetry";

    /// <summary>The OpenTelemetry <c>service.name</c> resource attribute. Default <c>orleanslocks</c>.</summary>
    public string ServiceName { get; set; } = "orleanslocks";

    /// <summary>
    /// Meters exported to <c>/metrics</c> and OTLP; a trailing <c>*</c> matches a prefix. Default: this service's meters
    /// (<c>OrleansLocks.*</c>) and ASP.NET Core's request and server meters.
    /// </summary>
    public string[] Meters { get; set; } = ["OrleansLocks.*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>Prometheus text format at <c>GET /metrics</c>.</summary>
    public PrometheusExportOptions Prometheus { get; set; } = new();

    /// <summary>OTLP export of metrics and traces.</summary>
    public OtlpExportOptions Otlp { get; set; } = new();
}

/// <summary>Options of <c>GET /metrics</c>.</summary>
public sealed class PrometheusExportOptions
{
    /// <summary>Serve <c>GET /metrics</c>. Default true.</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>OTLP export; on when <see cref="Endpoint"/> or the environment variable <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
public sealed class OtlpExportOptions
{
    /// <summary>
    /// The collector's base URL, e.g. <c>http://otel-collector:4317</c> (gRPC) or <c>http://otel-collector:4318</c>
    /// (HTTP; the signal paths <c>/v1/metrics</c>, <c>/v1/traces</c> are appended). Unset: the OpenTelemetry
    /// environment variables (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, …) decide.
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary>The protocol when <see cref="Endpoint"/> is set. Default gRPC.</summary>
    public OtlpProtocol Protocol { get; set; } = OtlpProtocol.Grpc;

    /// <summary>How often metrics are pushed. Default 15 s; 100 ms to 1 h.</summary>
    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Export traces (spans of HTTP requests, grain calls and silo-to-silo calls) too. Default true.</summary>
    public bool Traces { get; set; } = true;

    /// <summary>Whether OTLP export is on: an endpoint is configured here or in the environment.</summary>
    public bool IsEnabled => !string.IsNullOrWhiteSpace(Endpoint)
        || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
}

/// <summary>Validates <see cref="TelemetryOptions"/> at start-up, naming the bad setting.</summary>
internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ServiceName))
        {
            failures.Add("Telemetry:ServiceName must not be empty.");
        }

        if (options.Meters.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add("Telemetry:Meters must not contain empty names.");
        }

        if (options.Otlp.Endpoint is { Length: > 0 } endpoint
            && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            failures.Add($"Telemetry:Otlp:Endpoint must be an absolute http:// or https:// URL; got '{endpoint}'.");
        }

        if (options.Otlp.MetricsInterval < TimeSpan.FromMilliseconds(100) || options.Otlp.MetricsInterval > TimeSpan.FromHours(1))
        {
            failures.Add($"Telemetry:Otlp:MetricsInterval must be between 100 ms and 1 hour; got {options.Otlp.MetricsInterval}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
