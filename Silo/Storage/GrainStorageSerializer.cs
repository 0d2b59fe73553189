using System.Text.Json;

namespace OrleansLocks.Silo.Storage;

/// <summary>Turns grain state into the bytes a provider stores, and back.</summary>
internal interface IGrainStorageSerializer
{
    /// <summary>Serializes <paramref name="state"/>.</summary>
    byte[] Serialize<TState>(TState state);

    /// <summary>Deserializes what <see cref="Serialize{TState}"/> produced.</summary>
    TState Deserialize<TState>(ReadOnlySpan<byte> payload);
}

/// <summary>
/// UTF-8 JSON through System.Text.Json with reflection-based default options (property names as declared), the same
/// convention as Orleans' <c>JsonGrainStorageSerializer</c>. Readable by DBAs: <c>convert_from(payload, 'UTF8')</c>.
/// </summary>
internal sealed class JsonGrainStorageSerializer : IGrainStorageSerializer
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General);

    public byte[] Serialize<TState>(TState state) => JsonSerializer.SerializeToUtf8Bytes(state, Options);

    public TState Deserialize<TState>(ReadOnlySpan<byte> payload)
        => JsonSerializer.Deserialize<TState>(payload, Options)
            ?? throw new JsonException($"Stored state deserialized to null for {typeof(TState).Name}.");
}
