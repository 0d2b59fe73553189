using System.Globalization;
using OrleansLocks.Api.Models;
using OrleansLocks.Api.Problems;

namespace OrleansLocks.Api.Endpoints;

/// <summary>Collects what is wrong with a request, per field, so one 400 reports every problem at once.</summary>
internal sealed class RequestValidation
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool HasErrors => _errors.Count > 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }

        list.Add(message);
    }

    /// <summary>The label (owner, request id, lease id, reason) if acceptable, otherwise null with an error recorded.</summary>
    public string? Label(string field, string? value, bool required)
    {
        if (LockLimits.ValidateLabel(field, value, required) is { } error)
        {
            Add(field, error);
            return null;
        }

        return string.IsNullOrEmpty(value) ? null : value;
    }

    /// <summary>The duration, or <paramref name="fallback"/> when absent; records an error when outside [min, max].</summary>
    public TimeSpan Duration(string field, Duration? value, TimeSpan fallback, TimeSpan min, TimeSpan max)
    {
        if (value is not { } given)
        {
            return fallback;
        }

        if (given.Value < min || given.Value > max)
        {
            Add(field, string.Create(
                CultureInfo.InvariantCulture,
                $"'{field}' must be between {Describe(min)} and {Describe(max)}; got {Describe(given.Value)}."));
            return fallback;
        }

        return given.Value;
    }

    public BadRequestProblem ToProblem(HttpContext http)
    {
        var errors = _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
        var detail = "The request is invalid: " + string.Join(" ", errors.Values.SelectMany(v => v));
        return new BadRequestProblem(ApiProblems.Validation(http, ProblemCodes.InvalidRequest, "Invalid request", detail, errors));
    }

    /// <summary>A 400 for a lock name that breaks the naming rules.</summary>
    public static BadRequestProblem InvalidName(HttpContext http, string error)
        => new(ApiProblems.Validation(
            http,
            ProblemCodes.InvalidLockName,
            "Invalid lock name",
            error,
            new Dictionary<string, string[]> { ["name"] = [error] }));

    /// <summary>Milliseconds with the ISO-8601 form: "1000 ms (PT1S)". Saturated values read as "more than …".</summary>
    private static string Describe(TimeSpan value)
        => value == TimeSpan.MaxValue ? "a duration too large to represent"
            : value == TimeSpan.MinValue ? "a duration too negative to represent"
            : string.Create(CultureInfo.InvariantCulture, $"{(long)value.TotalMilliseconds} ms ({new Duration(value)})");
}
