namespace OrleansLocks.Runtime;

/// <summary>
/// Registers a grain class with the runtime: calls to <paramref name="InterfaceType"/> go to activations of
/// <paramref name="GrainClass"/>, and its grains are named by <paramref name="GrainType"/> (their <see cref="GrainId.Type"/>
/// and their storage rows' grain type). Added to the service collection as a singleton (the silo's <c>AddGrain</c>
/// does it); the runtime reads every registration at start-up. Here, not in the silo, so that grain libraries can
/// register themselves without depending on the runtime.
/// </summary>
/// <param name="InterfaceType">The grain interface (an <see cref="IGrainWithStringKey"/>).</param>
/// <param name="GrainClass">The grain class implementing it (an <see cref="IGrainBase"/>).</param>
/// <param name="GrainType">The grain type name, e.g. "lock".</param>
public sealed record GrainClassRegistration(Type InterfaceType, Type GrainClass, string GrainType);
