namespace OrleansLocks.Runtime;

/// <summary>A grain's persistent state as the grain uses it (Orleans' <c>IPersistentState&lt;T&gt;</c>).</summary>
public interface IPersistentState<TState>
    where TState : new()
{
    /// <summary>The state; a new <typeparamref name="TState"/> when no record exists.</summary>
    TState State { get; set; }

    /// <summary>The version of the record the state was read from or last written as; null when none exists.</summary>
    string? Etag { get; }

    /// <summary>Whether storage holds a record for this grain.</summary>
    bool RecordExists { get; }

    /// <summary>Re-reads the state from storage, discarding in-memory changes.</summary>
    Task ReadStateAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the state if the stored version still equals <see cref="Etag"/>; throws
    /// <see cref="InconsistentStateException"/> if it does not. Returns once the write is durable.
    /// </summary>
    Task WriteStateAsync(CancellationToken cancellationToken = default);
}

/// <summary>State plus version as the storage provider sees it (Orleans' <c>IGrainState&lt;T&gt;</c>).</summary>
public interface IGrainState<TState>
{
    /// <summary>The state.</summary>
    TState State { get; set; }

    /// <summary>The stored version as a string; null when no record exists.</summary>
    string? ETag { get; set; }

    /// <summary>Whether storage holds a record.</summary>
    bool RecordExists { get; set; }
}

/// <summary>A plain <see cref="IGrainState{TState}"/>.</summary>
public sealed class GrainState<TState>(TState state) : IGrainState<TState>
{
    /// <inheritdoc/>
    public TState State { get; set; } = state;

    /// <inheritdoc/>
    public string? ETag { get; set; }

    /// <inheritdoc/>
    public bool RecordExists { get; set; }
}

/// <summary>
/// A grain storage provider: reads state with its version, and writes it only if the stored version is the one
/// the caller read (an optimistic, version-checked write). This is what makes lock state safe even if the runtime
/// ever has two activations of one grain.
/// </summary>
public interface IGrainStorage
{
    /// <summary>
    /// Reads the record of (<paramref name="stateName"/>, <paramref name="grainId"/>) into <paramref name="grainState"/>.
    /// When there is none, leaves <c>State</c> as it is and sets <c>ETag</c> to null and <c>RecordExists</c> to false.
    /// </summary>
    Task ReadStateAsync<TState>(string stateName, GrainId grainId, IGrainState<TState> grainState, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes <paramref name="grainState"/> if the stored version equals <c>grainState.ETag</c> (or, when that is null,
    /// if no record exists), then sets <c>ETag</c> to the new version and <c>RecordExists</c> to true. The write is
    /// committed durably before the returned task completes. Throws <see cref="InconsistentStateException"/> when the
    /// version check fails; nothing is written then.
    /// </summary>
    Task WriteStateAsync<TState>(string stateName, GrainId grainId, IGrainState<TState> grainState, CancellationToken cancellationToken = default);
}

/// <summary>
/// Implemented by a state type that wants its record listed by <see cref="IGrainStorageIndex"/>
/// (for locks: held or queued).
/// </summary>
public interface IListedState
{
    /// <summary>Whether the record should appear in listings.</summary>
    bool IsListed { get; }
}

/// <summary>A stored record returned by a listing.</summary>
public sealed record StoredGrainRecord<TState>(string Key, TState State, string ETag);

/// <summary>Lists records of one state name whose state was <see cref="IListedState.IsListed"/> when last written.</summary>
public interface IGrainStorageIndex
{
    /// <summary>
    /// Up to <paramref name="limit"/> listed records of <paramref name="stateName"/> and grain type
    /// <paramref name="grainType"/> whose key starts with <paramref name="prefix"/> (ordinal) and sorts after
    /// <paramref name="afterKey"/> (ordinal), in ordinal key order.
    /// </summary>
    Task<IReadOnlyList<StoredGrainRecord<TState>>> ListAsync<TState>(
        string stateName, string grainType, string? prefix, string? afterKey, int limit, CancellationToken cancellationToken = default);
}

/// <summary>
/// Thrown when a storage write fails its version check: another writer (e.g. a duplicate activation) changed the
/// record. The activation must drop its in-memory state and re-read; the write did not happen.
/// </summary>
public sealed class InconsistentStateException : Exception
{
    public InconsistentStateException()
    {
    }

    public InconsistentStateException(string message)
        : base(message)
    {
    }

    public InconsistentStateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InconsistentStateException(string message, string? storedEtag, string? currentEtag)
        : base(message)
    {
        StoredEtag = storedEtag;
        CurrentEtag = currentEtag;
    }

    /// <summary>The version found in storage, when known.</summary>
    public string? StoredEtag { get; }

    /// <summary>The version the writer expected.</summary>
    public string? CurrentEtag { get; }
}

/// <summary>
/// Thrown when storage could not be reached or a write's outcome is unknown (e.g. the connection dropped during
/// commit). The activation must drop its in-memory state; callers answer 503 and clients retry idempotently.
/// </summary>
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException()
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Thrown by the runtime when a call cannot be served right now (silo shutting down, activation failed to read its
/// state, retries after version conflicts exhausted). Callers answer 503 with Retry-After.
/// </summary>
public sealed class SiloUnavailableException : Exception
{
    public SiloUnavailableException()
    {
    }

    public SiloUnavailableException(string message)
        : base(message)
    {
    }

    public SiloUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
