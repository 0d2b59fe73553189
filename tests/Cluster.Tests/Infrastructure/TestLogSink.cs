using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace OrleansLocks.Cluster.Tests.Infrastructure;

/// <summary>Keeps every silo's log lines (Information and above), so a failing test can show what the cluster did.</summary>
internal sealed class TestLogSink
{
    private readonly ConcurrentQueue<LogLine> _lines = new();
    private readonly long _start = TimeProvider.System.GetTimestamp();

    public IReadOnlyCollection<LogLine> Lines => _lines;

    public ILoggerProvider CreateProvider(string siloName) => new Provider(this, siloName);

    public string Dump() => string.Join(Environment.NewLine, _lines.Select(l => l.ToString()));

    internal void Add(LogLine line) => _lines.Enqueue(line);

    internal TimeSpan Elapsed => TimeProvider.System.GetElapsedTime(_start);

    private sealed class Provider(TestLogSink sink, string siloName) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(sink, siloName, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(TestLogSink sink, string siloName, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel)
            => !category.StartsWith("Microsoft", StringComparison.Ordinal)
                && (logLevel >= LogLevel.Information || (logLevel == LogLevel.Debug && category.Contains(".Membership.", StringComparison.Ordinal)));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                sink.Add(new LogLine(sink.Elapsed, siloName, logLevel, eventId.Id, formatter(state, exception), exception?.GetType().Name));
            }
        }
    }
}

internal sealed record LogLine(TimeSpan At, string Silo, LogLevel Level, int EventId, string Message, string? Exception)
{
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{At.TotalSeconds,8:0.000} {Silo,-8} {Level,-11} {EventId,5} {Message}{(Exception is null ? "" : " [" + Exception + "]")}");
}
