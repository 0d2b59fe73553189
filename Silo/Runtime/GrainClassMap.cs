using System.Collections.Frozen;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Runtime;

/// <summary>One <c>AddGrain&lt;TInterface, TGrain&gt;(grainType)</c> registration.</summary>
internal sealed record GrainClassRegistration(Type InterfaceType, Type GrainClass, string GrainType);

/// <summary>A grain class and how to construct it (the constructor takes <see cref="IGrainContext"/> plus services).</summary>
internal sealed class GrainClassInfo(string grainType, Type grainClass)
{
    private readonly ObjectFactory _factory = ActivatorUtilities.CreateFactory(grainClass, [typeof(IGrainContext)]);

    public string GrainType { get; } = grainType;

    public Type GrainClass { get; } = grainClass;

    /// <summary>Same as <c>ActivatorUtilities.CreateInstance(services, GrainClass, context)</c>, with the constructor lookup done once.</summary>
    public IGrainBase CreateInstance(IServiceProvider services, IGrainContext context)
        => (IGrainBase)_factory(services, [context]);
}

/// <summary>A grain interface: its grain type name and its methods, prepared once.</summary>
internal sealed class GrainInterfaceInfo
{
    private readonly FrozenDictionary<MethodInfo, GrainMethod> _methods;
    private readonly FrozenDictionary<string, GrainMethod> _methodsByName;

    public GrainInterfaceInfo(Type interfaceType, string grainType)
    {
        InterfaceType = interfaceType;
        GrainType = grainType;

        // DispatchProxy hands us each method as reflected from the interface that declares it, so key by exactly those.
        var methods = new[] { interfaceType }.Concat(interfaceType.GetInterfaces())
            .SelectMany(i => i.GetMethods())
            .Distinct()
            .Select(m => GrainMethod.Create(interfaceType, m))
            .ToList();
        _methods = methods.ToFrozenDictionary(m => m.Method);
        _methodsByName = methods.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);
    }

    public Type InterfaceType { get; }

    public string GrainType { get; }

    public IEnumerable<GrainMethod> Methods => _methods.Values;

    public GrainMethod GetMethod(MethodInfo method)
        => _methods.TryGetValue(method, out var grainMethod)
            ? grainMethod
            : throw new ArgumentException($"{method.Name} is not a method of grain interface {InterfaceType.FullName}.", nameof(method));

    /// <summary>The method with this <see cref="GrainMethod.Name"/> (how a call from another silo names it).</summary>
    public bool TryGetMethod(string name, out GrainMethod method) => _methodsByName.TryGetValue(name, out method!);
}

/// <summary>
/// Every registered grain: interface → grain type name and methods, grain type name → class. Built once from the
/// <see cref="GrainClassRegistration"/>s; inconsistent registrations fail at start-up, not on the first call.
/// </summary>
internal sealed class GrainClassMap
{
    private readonly FrozenDictionary<Type, GrainInterfaceInfo> _interfaces;
    private readonly FrozenDictionary<string, GrainClassInfo> _classes;

    public GrainClassMap(IEnumerable<GrainClassRegistration> registrations)
    {
        var interfaces = new Dictionary<Type, GrainInterfaceInfo>();
        var classes = new Dictionary<string, GrainClassInfo>(StringComparer.Ordinal);
        foreach (var registration in registrations)
        {
            if (classes.TryGetValue(registration.GrainType, out var existing))
            {
                if (existing.GrainClass != registration.GrainClass)
                {
                    throw new InvalidOperationException(
                        $"Grain type '{registration.GrainType}' is registered for both {existing.GrainClass.FullName} and {registration.GrainClass.FullName}.");
                }
            }
            else
            {
                classes.Add(registration.GrainType, new GrainClassInfo(registration.GrainType, registration.GrainClass));
            }

            if (interfaces.TryGetValue(registration.InterfaceType, out var known))
            {
                if (known.GrainType != registration.GrainType)
                {
                    throw new InvalidOperationException(
                        $"Grain interface {registration.InterfaceType.FullName} is registered for grain types '{known.GrainType}' and '{registration.GrainType}'.");
                }
            }
            else
            {
                interfaces.Add(registration.InterfaceType, new GrainInterfaceInfo(registration.InterfaceType, registration.GrainType));
            }
        }

        _interfaces = interfaces.ToFrozenDictionary();
        _classes = classes.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public GrainInterfaceInfo GetInterface(Type interfaceType)
        => _interfaces.TryGetValue(interfaceType, out var info)
            ? info
            : throw new InvalidOperationException(
                $"No grain class is registered for {interfaceType.FullName}; register one with AddGrain<{interfaceType.Name}, TGrain>(grainType).");

    public bool TryGetGrainClass(string grainType, out GrainClassInfo grainClass) => _classes.TryGetValue(grainType, out grainClass!);

    public IEnumerable<GrainInterfaceInfo> Interfaces => _interfaces.Values;
}
