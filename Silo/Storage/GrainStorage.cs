using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Storage;

/// <summary>
/// The grain storage the runtime uses, whatever the provider: serializes state, validates keys, turns ETags into
/// versions, group-commits writes through a <see cref="GrainWriteBatcher"/> and reads through the backend.
/// </summary>
internal sealed class GrainStorage : IGrainStorage, IGrainStorageIndex, IAsyncDisposable, IDisposable
{
    /// <summary>Most records one listing call may ask for.</summary>
    public const int MaxListLimit = 10_000;

    private readonly IGrainStorageBackend _backend;
    private readonly IGrainStorageSerializer _serializer;
    private readonly ILogger _logger;

    public GrainStorage(
        IGrainStorageBackend backend,
        IGrainStorageSerializer serializer,
        GrainStorageMetrics metrics,
        TimeProvider timeProvider,
        int maxBatchSize,
        ILogger<GrainStorage> logger)
    {
        _backend = backend;
        _serializer = serializer;
        _logger = logger;
        Batcher = new GrainWriteBatcher(backend, maxBatchSize, metrics, timeProvider, logger);
    }

    /// <summary>The group-commit queue (exposed for its statistics).</summary>
    public GrainWriteBatcher Batcher { get; }

    /// <summary>The database-specific half.</summary>
    public IGrainStorageBackend Backend => _backend;

    public async Task ReadStateAsync<TState>(
        string stateName, GrainId grainId, IGrainState<TState> grainState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = StorageKey.Create(grainId.Type, stateName, grainId.Key);
        StoredRow? row;
        try
        {
            row = await _backend.ReadAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException e)
        {
            _logger.StorageFailure(e, _backend.Name, "read " + key);
            throw;
        }

        if (row is not { } found)
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        grainState.State = Deserialize<TState>(key, found.Payload);
        grainState.ETag = ToETag(found.Version);
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<TState>(
        string stateName, GrainId grainId, IGrainState<TState> grainState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = StorageKey.Create(grainId.Type, stateName, grainId.Key);
        var expected = ParseETag(key, grainState.ETag);
        var payload = _serializer.Serialize(grainState.State);
        var listed = grainState.State is IListedState { IsListed: true };
        var version = await Batcher.WriteAsync(new StorageWrite(key, expected, payload, listed), cancellationToken).ConfigureAwait(false);
        grainState.ETag = ToETag(version);
        grainState.RecordExists = true;
    }

    public async Task<IReadOnlyList<StoredGrainRecord<TState>>> ListAsync<TState>(
        string stateName, string grainType, string? prefix, string? afterKey, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxListLimit);
        KeyOrder.EnsureStorable(grainType, StorageKey.MaxNameBytes, nameof(grainType));
        KeyOrder.EnsureStorable(stateName, StorageKey.MaxNameBytes, nameof(stateName));
        prefix = string.IsNullOrEmpty(prefix) ? null : prefix;
        if (prefix is not null)
        {
            KeyOrder.EnsureStorable(prefix, StorageKey.MaxKeyBytes, nameof(prefix));
        }

        if (afterKey is not null)
        {
            KeyOrder.EnsureStorable(afterKey, StorageKey.MaxKeyBytes, nameof(afterKey));
        }

        IReadOnlyList<ListedRow> rows;
        try
        {
            rows = await _backend.ListAsync(grainType, stateName, prefix, afterKey, limit, cancellationToken);
        }
        catch (StorageUnavailableException e)
        {
            _logger.StorageFailure(e, _backend.Name, $"list {grainType} ({stateName})");
            throw;
        }

        var records = new StoredGrainRecord<TState>[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var state = Deserialize<TState>(new StorageKey(grainType, stateName, row.GrainKey), row.Payload);
            records[i] = new StoredGrainRecord<TState>(row.GrainKey, state, ToETag(row.Version));
        }

        return records;
    }

    /// <summary>Stops accepting writes and waits for the running batches; the backend is disposed by its owner.</summary>
    public ValueTask DisposeAsync() => Batcher.DisposeAsync();

    /// <summary>As <see cref="DisposeAsync"/>, for containers disposed synchronously (blocks until running batches end).</summary>
    public void Dispose() => Batcher.DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static string ToETag(int version) => version.ToString(CultureInfo.InvariantCulture);

    private static int? ParseETag(StorageKey key, string? etag)
    {
        if (etag is null)
        {
            return null;
        }

        // Any ETag we did not produce cannot match a stored version: treat it as a failed version check.
        return int.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0
            ? version
            : throw new InconsistentStateException($"ETag '{etag}' of {key} is not a version this storage wrote.", storedEtag: null, currentEtag: etag);
    }

    private TState Deserialize<TState>(StorageKey key, byte[] payload)
    {
        try
        {
            return _serializer.Deserialize<TState>(payload);
        }
        catch (JsonException e)
        {
            // Not a storage outage and not retryable: the stored bytes do not fit the state type (a bug or a bad edit).
            throw new InvalidDataException($"The stored state of {key} cannot be read as {typeof(TState).Name}: {e.Message}", e);
        }
    }
}
