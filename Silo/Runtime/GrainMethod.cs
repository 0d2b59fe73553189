using System.Linq.Expressions;
using System.Reflection;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Runtime;

/// <summary>
/// One method of a grain interface, prepared once so that a call costs no reflection: a compiled delegate invokes
/// it on the grain, another reads the typed result of its completed task, and a third turns the runtime's untyped
/// result back into the <see cref="Task{TResult}"/> the caller's interface promises.
/// </summary>
internal sealed class GrainMethod
{
    private static readonly MethodInfo GetResultDefinition =
        typeof(GrainMethod).GetMethod(nameof(GetTypedResult), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static readonly MethodInfo ConvertResultDefinition =
        typeof(GrainMethod).GetMethod(nameof(ConvertResult), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly Func<object, object?[], Task> _invoke;
    private readonly Func<Task, object?> _getResult;
    private readonly Func<Task<object?>, Task> _toReturnType;

    private GrainMethod(Type interfaceType, MethodInfo method)
    {
        Method = method;
        InterfaceType = interfaceType;
        var parameters = method.GetParameters();
        Name = $"{method.DeclaringType!.FullName}.{method.Name}({string.Join(",", parameters.Select(p => p.ParameterType.FullName))})";
        ShortName = $"{method.DeclaringType.Name}.{method.Name}";
        AlwaysInterleave = method.IsDefined(typeof(AlwaysInterleaveAttribute), inherit: true);
        ParameterCount = parameters.Length;

        // (object grain, object?[] args) => (Task)((TInterface)grain).Method((T0)args[0], ...)
        var grain = Expression.Parameter(typeof(object), "grain");
        var args = Expression.Parameter(typeof(object?[]), "args");
        var call = Expression.Call(
            Expression.Convert(grain, method.DeclaringType),
            method,
            parameters.Select((p, i) => Expression.Convert(Expression.ArrayIndex(args, Expression.Constant(i)), p.ParameterType)));
        _invoke = Expression.Lambda<Func<object, object?[], Task>>(Expression.Convert(call, typeof(Task)), grain, args).Compile();

        if (method.ReturnType == typeof(Task))
        {
            ResultType = null;
            _getResult = static _ => null;
            _toReturnType = static task => task;
        }
        else
        {
            ResultType = method.ReturnType.GetGenericArguments()[0];
            _getResult = GetResultDefinition.MakeGenericMethod(ResultType).CreateDelegate<Func<Task, object?>>();
            _toReturnType = ConvertResultDefinition.MakeGenericMethod(ResultType).CreateDelegate<Func<Task<object?>, Task>>();
        }
    }

    /// <summary>The interface method.</summary>
    public MethodInfo Method { get; }

    /// <summary>The grain interface the method was reached through.</summary>
    public Type InterfaceType { get; }

    /// <summary>A stable name (declaring interface, method, parameter types): how a call names its method across silos.</summary>
    public string Name { get; }

    /// <summary>"Interface.Method", for logs and metric tags.</summary>
    public string ShortName { get; }

    /// <summary>Whether the method runs interleaved instead of in a turn (<see cref="AlwaysInterleaveAttribute"/>).</summary>
    public bool AlwaysInterleave { get; }

    /// <summary>T of a <see cref="Task{T}"/> method; null for a <see cref="Task"/> method.</summary>
    public Type? ResultType { get; }

    public int ParameterCount { get; }

    /// <summary>Whether <paramref name="method"/> can be a grain method; <paramref name="reason"/> says why not.</summary>
    public static bool IsSupported(MethodInfo method, out string? reason)
    {
        reason = method switch
        {
            { IsGenericMethodDefinition: true } => "generic methods are not supported",
            _ when method.ReturnType != typeof(Task)
                && !(method.ReturnType.IsGenericType && method.ReturnType.GetGenericTypeDefinition() == typeof(Task<>))
                => "grain methods must return Task or Task<T>",
            _ when method.GetParameters().Any(p => p.ParameterType.IsByRef)
                => "ref, out and in parameters are not supported",
            _ => null,
        };
        return reason is null;
    }

    public static GrainMethod Create(Type interfaceType, MethodInfo method)
    {
        if (!IsSupported(method, out var reason))
        {
            throw new NotSupportedException($"Grain method {method.DeclaringType?.FullName}.{method.Name}: {reason}.");
        }

        return new GrainMethod(interfaceType, method);
    }

    /// <summary>Calls the method on <paramref name="grain"/>; returns the grain's task (which may complete later).</summary>
    public Task Invoke(object grain, object?[] arguments)
    {
        if (arguments.Length != ParameterCount)
        {
            throw new ArgumentException($"{ShortName} takes {ParameterCount} argument(s), got {arguments.Length}.", nameof(arguments));
        }

        return _invoke(grain, arguments);
    }

    /// <summary>The result of a completed, successful task returned by <see cref="Invoke"/> (null for a <see cref="Task"/> method).</summary>
    public object? GetResult(Task completed) => _getResult(completed);

    /// <summary>Turns the runtime's untyped result into the method's return type (<see cref="Task"/> or <see cref="Task{T}"/>).</summary>
    public Task ToReturnType(Task<object?> result) => _toReturnType(result);

    public override string ToString() => Name;

    private static object? GetTypedResult<T>(Task completed) => ((Task<T>)completed).Result;

    private static Task<T> ConvertResult<T>(Task<object?> result)
        => result.IsCompletedSuccessfully ? Task.FromResult((T)result.Result!) : AwaitResult<T>(result);

    private static async Task<T> AwaitResult<T>(Task<object?> result) => (T)(await result)!;
}
