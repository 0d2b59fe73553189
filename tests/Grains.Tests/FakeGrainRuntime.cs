using System.Text.Json;
using Microsoft.Extensions.Logging;
using OrleansLocks.Runtime;
using OrleansLocks.Testing;

namespace OrleansLocks.Grains.Tests;

/// <summary>
/// One stored record, shared by the activations of a grain the way a storage row is: the state is kept as JSON
/// (so every test also round-trips it through System.Text.Json) with an integer version checked on write.
/// </summary>
internal sealed class FakeStore
{
    private readonly Lock _gate = new();

    public string? Json { get; private set; }

    public int Version { get; private set; }

    /// <summary>Successful writes.</summary>
    public int Writes { get; private set; }

    /// <summary>Write attempts, counted when a write starts.</summary>
    public int WriteAttempts { get; private set; }

    /// <summary>Thrown by the next write (which then writes nothing).</summary>
    public Exception? FailNextWrite { get; set; }

    /// <summary>When set, writes wait for it before they commit: lets a test observe a call that is mid-write.</summary>
    public TaskCompletionSource? WriteGate { get; set; }

    public T Read<T>()
        where T : new()
    {
        lock (_gate)
        {
            return Json is null ? new T() : JsonSerializer.Deserialize<T>(Json)!;
        }
    }

    public (string? Json, int Version) Snapshot()
    {
        lock (_gate)
        {
            return (Json, Version);
        }
    }

    public async Task<int> WriteAsync<T>(T state, int? expectedVersion)
    {
        WriteAttempts++;
        if (WriteGate is { } gate)
        {
            await gate.Task;
        }

        if (FailNextWrite is { } failure)
        {
            FailNextWrite = null;
            throw failure;
        }

        lock (_gate)
        {
            if ((expectedVersion ?? 0) != Version)
            {
                throw new InconsistentStateException("Version conflict", Version.ToString(), expectedVersion?.ToString());
            }

            Json = JsonSerializer.Serialize(state);
            Version++;
            Writes++;
            return Version;
        }
    }
}

/// <summary>IPersistentState over a <see cref="FakeStore"/>; reads on creation as the runtime does before activation.</summary>
internal sealed class FakePersistentState<T>(FakeStore store) : IPersistentState<T>
    where T : new()
{
    private int? _version = ReadVersion(store);

    public T State { get; set; } = store.Read<T>();

    public string? Etag => _version?.ToString();

    public bool RecordExists => _version is not null;

    public Task ReadStateAsync(CancellationToken cancellationToken = default)
    {
        _version = ReadVersion(store);
        State = store.Read<T>();
        return Task.CompletedTask;
    }

    public async Task WriteStateAsync(CancellationToken cancellationToken = default)
        => _version = await store.WriteAsync(State, _version);

    private static int? ReadVersion(FakeStore store) => store.Snapshot() is { Json: not null } s ? s.Version : null;
}

/// <summary>
/// A grain context for one activation: persistent state from a <see cref="FakeStore"/>, timers from a
/// <see cref="ManualTimeProvider"/> (their callbacks run during Advance; the tasks are kept so tests can check them).
/// </summary>
internal sealed class FakeGrainContext(string key, FakeStore store, ManualTimeProvider time) : IGrainContext
{
    private readonly List<FakeTimer> _timers = [];

    public GrainId GrainId { get; } = new("lock", key);

    public bool DeactivationRequested { get; private set; }

    public List<Task> TimerTicks { get; } = [];

    /// <summary>Timers registered and not disposed.</summary>
    public IReadOnlyList<FakeTimer> LiveTimers => _timers.Where(t => !t.Disposed).ToList();

    /// <summary>Timers that keep the activation alive now (armed, keepAlive, not disposed).</summary>
    public int KeepAliveArmedCount => _timers.Count(t => !t.Disposed && t.KeepAlive && t.DueAt is not null);

    public IGrainTimer RegisterGrainTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, bool keepAlive = false)
    {
        var timer = new FakeTimer(this, time, callback, keepAlive);
        _timers.Add(timer);
        timer.Change(dueTime, period);
        return timer;
    }

    public void DeactivateOnIdle() => DeactivationRequested = true;

    public IPersistentState<TState> GetPersistentState<TState>(string stateName)
        where TState : new()
        => new FakePersistentState<TState>(store);

    /// <summary>The silo died: the activation's timers are gone, nothing else runs.</summary>
    public void Kill()
    {
        foreach (var timer in _timers)
        {
            timer.Dispose();
        }
    }

    internal sealed class FakeTimer : IGrainTimer
    {
        private readonly FakeGrainContext _owner;
        private readonly ManualTimeProvider _time;
        private readonly ITimer _inner;
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public FakeTimer(FakeGrainContext owner, ManualTimeProvider time, Func<CancellationToken, Task> callback, bool keepAlive)
        {
            _owner = owner;
            _time = time;
            KeepAlive = keepAlive;
            _inner = time.CreateTimer(
                _ =>
                {
                    if (_period == Timeout.InfiniteTimeSpan)
                    {
                        DueAt = null;
                    }

                    _owner.TimerTicks.Add(callback(CancellationToken.None));
                },
                null,
                Timeout.InfiniteTimeSpan,
                Timeout.InfiniteTimeSpan);
        }

        public bool KeepAlive { get; }

        public bool Disposed { get; private set; }

        public DateTimeOffset? DueAt { get; private set; }

        public void Change(TimeSpan dueTime, TimeSpan period)
        {
            ObjectDisposedException.ThrowIf(Disposed, this);
            _period = period;
            DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : _time.GetUtcNow() + dueTime;
            _inner.Change(dueTime, period);
        }

        public void Dispose()
        {
            Disposed = true;
            DueAt = null;
            _inner.Dispose();
        }
    }
}

/// <summary>Keeps every log entry (formatted), so tests exercise the source-generated messages too.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    private readonly Lock _gate = new();
    private readonly List<(LogLevel Level, EventId EventId, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, EventId EventId, string Message)> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
        => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_gate)
        {
            _entries.Add((logLevel, eventId, formatter(state, exception)));
        }
    }
}
