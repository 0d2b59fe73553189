using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace OrleansLocks.Silo.Runtime;

/// <summary>Healthy only while the local silo is <see cref="SiloStatus.Active"/> (it serves grain calls).</summary>
public sealed class SiloHealthCheck(ILocalSiloDetails silo) : IHealthCheck
{
    /// <summary>The name the check is registered under.</summary>
    public const string Name = "silo";

    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = silo.Status;
        var data = new Dictionary<string, object>
        {
            ["status"] = status.ToString(),
            ["activations"] = silo.ActivationCount,
        };
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy($"Silo {silo.SiloName} is Active.", data)
            : HealthCheckResult.Unhealthy($"Silo {silo.SiloName} is {status}.", data: data));
    }
}
