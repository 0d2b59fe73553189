using Microsoft.Extensions.Diagnostics.HealthChecks;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Storage;

/// <summary>
/// Health check "storage" (tag "ready"): the schema is initialized and the database answers a trivial query. The
/// registration's timeout bounds the wait when the database does not answer.
/// </summary>
internal sealed class GrainStorageHealthCheck(IGrainStorageBackend backend, GrainStorageInitializer initializer) : IHealthCheck
{
    public const string Name = "storage";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["provider"] = backend.Name, ["location"] = backend.Location };
        if (!initializer.IsReady)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Grain storage is not initialized yet.", data: data);
        }

        try
        {
            await backend.CheckHealthAsync(cancellationToken);
            return HealthCheckResult.Healthy($"Grain storage {backend.Name} answers.", data);
        }
        catch (StorageUnavailableException e)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, e.Message, e, data);
        }
    }
}
