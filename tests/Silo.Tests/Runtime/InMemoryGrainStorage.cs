using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>
/// A test double of <see cref="IGrainStorage"/> with real version checks (records are JSON copies, never shared
/// objects) that can simulate another writer and inject storage failures.
/// </summary>
public sealed class InMemoryGrainStorage : IGrainStorage
{
    private readonly ConcurrentDictionary<(string StateName, GrainId GrainId), (string Json, int Version)> _records = new();
    private readonly ConcurrentDictionary<GrainId, int> _reads = new();
    private readonly Lock _writeLock = new();
    private Exception? _nextReadFailure;
    private Exception? _nextWriteFailure;

    /// <summary>While set, every read fails with this exception.</summary>
    public Exception? ReadFailure { get; set; }

    /// <summary>While set, every write fails with this exception.</summary>
    public Exception? WriteFailure { get; set; }

    public int ReadsOf(GrainId grainId) => _reads.GetValueOrDefault(grainId);

    public void FailNextRead(Exception exception) => _nextReadFailure = exception;

    public void FailNextWrite(Exception exception) => _nextWriteFailure = exception;

    /// <summary>Writes a record as another writer would (e.g. a duplicate activation): bumps the version.</summary>
    public void WriteAsOtherWriter<TState>(string stateName, GrainId grainId, TState state)
        => _records.AddOrUpdate(
            (stateName, grainId),
            _ => (JsonSerializer.Serialize(state), 1),
            (_, current) => (JsonSerializer.Serialize(state), current.Version + 1));

    public TState? Get<TState>(string stateName, GrainId grainId)
        => _records.TryGetValue((stateName, grainId), out var record) ? JsonSerializer.Deserialize<TState>(record.Json) : default;

    public async Task ReadStateAsync<TState>(string stateName, GrainId grainId, IGrainState<TState> grainState, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        _reads.AddOrUpdate(grainId, 1, (_, n) => n + 1);
        if (ReadFailure is { } always)
        {
            throw always;
        }

        if (Interlocked.Exchange(ref _nextReadFailure, null) is { } once)
        {
            throw once;
        }

        if (_records.TryGetValue((stateName, grainId), out var record))
        {
            grainState.State = JsonSerializer.Deserialize<TState>(record.Json)!;
            grainState.ETag = record.Version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        else
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
    }

    public async Task WriteStateAsync<TState>(string stateName, GrainId grainId, IGrainState<TState> grainState, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        if (WriteFailure is { } always)
        {
            throw always;
        }

        if (Interlocked.Exchange(ref _nextWriteFailure, null) is { } once)
        {
            throw once;
        }

        lock (_writeLock)
        {
            var exists = _records.TryGetValue((stateName, grainId), out var current);
            var stored = exists ? current.Version.ToString(CultureInfo.InvariantCulture) : null;
            if (stored != grainState.ETag)
            {
                throw new InconsistentStateException($"Version conflict on {grainId}/{stateName}.", stored, grainState.ETag);
            }

            var version = exists ? current.Version + 1 : 1;
            _records[(stateName, grainId)] = (JsonSerializer.Serialize(grainState.State), version);
            grainState.ETag = version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
    }
}
