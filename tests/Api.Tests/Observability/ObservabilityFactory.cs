using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace OrleansLocks.Api.Tests.Observability;

/// <summary>
/// The real service in process with in-memory storage (these tests are about what the service reports, storage is
/// tested on PostgreSQL elsewhere), logging at Debug into a <see cref="StructuredLogCapture"/>.
/// </summary>
public sealed class ObservabilityFactory(IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    public StructuredLogCapture Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Storage:Provider", "Memory");
        builder.UseSetting("Silo:SiloName", "obs-silo");
        builder.UseSetting("Security:AllowAnonymous", "true");
        builder.UseSetting("Logging:LogLevel:OrleansLocks", "Debug");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging =>
        {
            logging.ClearProviders();
            logging.SetMinimumLevel(LogLevel.Debug);
            logging.AddProvider(Logs);
        });
    }
}

/// <summary>
/// Keeps every log entry with its structured values, its scopes' values and the trace id of the Activity current
/// when it was written: what a JSON console formatter or an OpenTelemetry log exporter would see.
/// </summary>
public sealed class StructuredLogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<Entry> _entries = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<Entry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    public sealed record Entry(string Category, LogLevel Level, int EventId, string Message, IReadOnlyDictionary<string, object?> Values, IReadOnlyDictionary<string, object?> Scope, string? TraceId)
    {
        public string? Get(string key) => Values.TryGetValue(key, out var value) ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;

        public override string ToString() => $"{EventId} {Message} [{string.Join(", ", Scope.Select(p => $"{p.Key}={p.Value}"))}]";
    }

    private sealed class Logger(StructuredLogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => capture._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    values[key] = value;
                }
            }

            var scope = new Dictionary<string, object?>(StringComparer.Ordinal);
            capture._scopes.ForEachScope(
                static (item, target) =>
                {
                    if (item is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                    {
                        foreach (var (key, value) in scopePairs)
                        {
                            target[key] = value;
                        }
                    }
                },
                scope);
            capture._entries.Enqueue(new Entry(category, logLevel, eventId.Id, formatter(state, exception), values, scope, Activity.Current?.TraceId.ToString()));
        }
    }
}
