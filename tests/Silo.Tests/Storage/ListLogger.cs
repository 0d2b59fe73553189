using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OrleansLocks.Silo.Tests.Storage;

/// <summary>A logger that keeps what was logged, for tests that check a message was (or was not) logged.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => _entries.Enqueue(new LogEntry(logLevel, eventId.Id, formatter(state, exception), exception));
}

internal sealed record LogEntry(LogLevel Level, int EventId, string Message, Exception? Exception);
