using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Runtime;

/// <summary>A persistent state the runtime reads when the activation starts.</summary>
internal interface IActivationState
{
    string StateName { get; }

    Task ReadStateAsync(CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IPersistentState{TState}"/> over the silo's <see cref="IGrainStorage"/>. It is its own
/// <see cref="IGrainState{TState}"/>, so a state costs one object. A storage failure (version conflict or unknown
/// outcome) makes the activation drop itself after the current turn even if the grain catches the exception: its
/// in-memory state can no longer be trusted. An activation that is deactivating or gone cannot write at all
/// (OnDeactivateAsync is skipped on a crash, so persisting there would be a bug that only shows on graceful stops).
/// The storage layers below the grain (this class, <see cref="IGrainStorage"/>, the write batcher) await with
/// ConfigureAwait(false): when a write or read completes they finish on the completing thread (setting the ETag,
/// deserializing the state) while the grain's turn is still suspended on them, and only the grain's own await comes
/// back to the activation's scheduler — one scheduled task per write instead of one per layer.
/// </summary>
internal sealed class PersistentState<TState>(string stateName, ActivationData activation, IGrainStorage storage)
    : IPersistentState<TState>, IGrainState<TState>, IActivationState
    where TState : new()
{
    private bool _wasRead;

    public string StateName { get; } = stateName;

    public TState State { get; set; } = new();

    public string? Etag { get; private set; }

    public bool RecordExists { get; private set; }

    string? IGrainState<TState>.ETag
    {
        get => Etag;
        set => Etag = value;
    }

    bool IGrainState<TState>.RecordExists
    {
        get => RecordExists;
        set => RecordExists = value;
    }

    public async Task ReadStateAsync(CancellationToken cancellationToken = default)
    {
        if (_wasRead)
        {
            // The provider leaves State alone when no record exists; a re-read must still discard in-memory changes.
            State = new TState();
        }

        try
        {
            await storage.ReadStateAsync(StateName, activation.GrainId, this, cancellationToken).ConfigureAwait(false);
            _wasRead = true;
        }
        catch (Exception exception) when (exception is InconsistentStateException or StorageUnavailableException)
        {
            activation.OnStorageFailure(exception);
            throw;
        }
    }

    public async Task WriteStateAsync(CancellationToken cancellationToken = default)
    {
        activation.EnsureStateWritable();
        try
        {
            await storage.WriteStateAsync(StateName, activation.GrainId, this, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is InconsistentStateException or StorageUnavailableException)
        {
            activation.OnStorageFailure(exception);
            throw;
        }
    }
}
