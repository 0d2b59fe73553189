using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// A reference to a grain: a <see cref="DispatchProxy"/> implementing the grain interface, whose every method becomes a
/// call through the <see cref="IGrainCallRouter"/>. Holds no activation, so it stays valid across deactivations and
/// can be kept and shared freely.
/// </summary>
[SuppressMessage("Performance", "CA1852:Seal internal types", Justification = "DispatchProxy derives a class from it at run time.")]
internal class GrainReference : DispatchProxy
{
    private GrainInterfaceInfo _interface = null!;
    private IGrainCallRouter _router = null!;

    public GrainId GrainId { get; private set; }

    public Type InterfaceType => _interface.InterfaceType;

    public override string ToString() => $"{_interface.InterfaceType.Name}:{GrainId}";

    public override bool Equals(object? obj)
        => obj is GrainReference other && other.GrainId == GrainId && other._interface == _interface;

    public override int GetHashCode() => GrainId.GetHashCode();

    internal void Initialize(GrainId grainId, GrainInterfaceInfo grainInterface, IGrainCallRouter router)
    {
        GrainId = grainId;
        _interface = grainInterface;
        _router = router;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        var method = _interface.GetMethod(targetMethod);
        return method.ToReturnType(_router.InvokeAsync(GrainId, method, args ?? []));
    }
}

/// <summary>Creates grain references; the grain type name comes from the interface's AddGrain registration.</summary>
/// <remarks>
/// The Api makes a reference per request. DispatchProxy.Create finds its generated proxy type and instantiates it by
/// reflection every time, so the factory asks it once per interface and then constructs that type with a compiled
/// constructor call (falling back to DispatchProxy.Create if the generated type has no parameterless constructor).
/// </remarks>
internal sealed class GrainFactory(GrainClassMap grainClassMap, IGrainCallRouter router) : IGrainFactory
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Type, Func<GrainReference>> _constructors = new();

    public TGrainInterface GetGrain<TGrainInterface>(string key)
        where TGrainInterface : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(key);
        var grainInterface = grainClassMap.GetInterface(typeof(TGrainInterface));
        var reference = _constructors.GetOrAdd(typeof(TGrainInterface), static _ => ConstructorOf<TGrainInterface>())();
        reference.Initialize(new GrainId(grainInterface.GrainType, key), grainInterface, router);
        return (TGrainInterface)(object)reference;
    }

    private static Func<GrainReference> ConstructorOf<TGrainInterface>()
    {
        var proxyType = DispatchProxy.Create<TGrainInterface, GrainReference>()!.GetType();
        if (proxyType.GetConstructor(Type.EmptyTypes) is not { } constructor)
        {
            return static () => (GrainReference)(object)DispatchProxy.Create<TGrainInterface, GrainReference>()!;
        }

        var create = System.Linq.Expressions.Expression.Lambda<Func<GrainReference>>(
            System.Linq.Expressions.Expression.Convert(System.Linq.Expressions.Expression.New(constructor), typeof(GrainReference)));
        return create.Compile();
    }
}
