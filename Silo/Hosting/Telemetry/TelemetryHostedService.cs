using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace OrleansLocks.Silo.Hosting.Telemetry;

/// <summary>
/// Starts the <c>/metrics</c> aggregation with the host (so counters count from start-up) and, when configured, the
/// OpenTelemetry SDK's meter and tracer providers with OTLP exporters; flushes and stops them at shutdown.
/// </summary>
internal sealed partial class TelemetryHostedService(
    PrometheusMetrics prometheus,
    IOptions<TelemetryOptions> options,
    IOptions<SiloOptions> silo,
    ILogger<TelemetryHostedService> logger) : IHostedService, IDisposable
{
    private MeterProvider? _meters;
    private TracerProvider? _traces;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(prometheus);
        var telemetry = options.Value;
        if (!telemetry.Otlp.IsEnabled)
        {
            return Task.CompletedTask;
        }

        var otlp = telemetry.Otlp;
        var resource = ResourceBuilder.CreateDefault().AddService(telemetry.ServiceName, serviceInstanceId: silo.Value.SiloName);
        var meters = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource);
        foreach (var meter in telemetry.Meters)
        {
            meters.AddMeter(meter);
        }

        _meters = meters
            .AddOtlpExporter((exporter, reader) =>
            {
                Configure(exporter, otlp, "v1/metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)otlp.MetricsInterval.TotalMilliseconds;
            })
            .Build();
        if (otlp.Traces)
        {
            _traces = Sdk.CreateTracerProviderBuilder()
                .SetResourceBuilder(resource)
                .AddSource(SiloTelemetry.ActivitySourceName, "Microsoft.AspNetCore")
                .AddOtlpExporter(exporter => Configure(exporter, otlp, "v1/traces"))
                .Build();
        }

        LogOtlpEnabled(otlp.Endpoint ?? Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") ?? "", otlp.Traces);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // Push what was measured since the last export before the process ends.
        _meters?.ForceFlush(5000);
        _traces?.ForceFlush(5000);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _meters?.Dispose();
        _traces?.Dispose();
    }

    private static void Configure(OtlpExporterOptions exporter, OtlpExportOptions options, string signalPath)
    {
        if (string.IsNullOrWhiteSpace(options.Endpoint))
        {
            return; // the OTEL_EXPORTER_OTLP_* environment variables apply
        }

        var endpoint = new Uri(options.Endpoint);
        if (options.Protocol == OtlpProtocol.HttpProtobuf)
        {
            exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
            exporter.Endpoint = new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/" + signalPath);
        }
        else
        {
            exporter.Protocol = OtlpExportProtocol.Grpc;
            exporter.Endpoint = endpoint;
        }
    }

    [LoggerMessage(9000, LogLevel.Information, "OTLP export on to {Endpoint} (metrics; traces: {Traces})")]
    private partial void LogOtlpEnabled(string endpoint, bool traces);
}
