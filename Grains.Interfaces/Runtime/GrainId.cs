namespace OrleansLocks.Runtime;

/// <summary>Identifies a grain: its type name (e.g. "lock") and its string key (e.g. the lock name).</summary>
public readonly record struct GrainId(string Type, string Key)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Type}/{Key}";
}

/// <summary>Marker for grain interfaces.</summary>
public interface IGrain;

/// <summary>Marker for grain interfaces whose key is a string.</summary>
public interface IGrainWithStringKey : IGrain;

/// <summary>Creates references to grains; a reference is cheap and activates the grain on first call.</summary>
public interface IGrainFactory
{
    /// <summary>A reference to the grain of interface <typeparamref name="TGrainInterface"/> with this key.</summary>
    TGrainInterface GetGrain<TGrainInterface>(string key)
        where TGrainInterface : IGrainWithStringKey;
}

/// <summary>
/// Marks a grain interface method that runs interleaved with other calls instead of in its own turn.
/// Such a method must not change grain state.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = true)]
public sealed class AlwaysInterleaveAttribute : Attribute;
