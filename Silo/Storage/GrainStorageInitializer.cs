using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Storage;

/// <summary>
/// Creates or verifies the storage schema when the host starts, in <see cref="IHostedLifecycleService.StartingAsync"/>,
/// i.e. before any hosted service's StartAsync: the silo cannot become active on a storage that is not ready.
/// A database that is not reachable yet (a pod starting before its database) is retried with exponential backoff for
/// <see cref="RetryLimit"/>; then, or at once for a permanent error (credentials, missing schema), start-up fails
/// with a message that says what is wrong.
/// </summary>
internal sealed class GrainStorageInitializer(
    IGrainStorageBackend backend,
    IOptions<GrainStorageOptions> options,
    TimeProvider timeProvider,
    ILogger<GrainStorageInitializer> logger) : IHostedLifecycleService
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LongestDelay = TimeSpan.FromSeconds(5);

    private volatile bool _ready;

    /// <summary>How long transient failures are retried before start-up fails. Default 60 s.</summary>
    public TimeSpan RetryLimit { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether the schema was initialized (or verified) successfully.</summary>
    public bool IsReady => _ready;

    public Task StartingAsync(CancellationToken cancellationToken) => InitializeAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Initializes the schema, retrying transient failures; throws <see cref="InvalidOperationException"/> when it cannot.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (!backend.IsDurable)
        {
            logger.MemoryStorageNotDurable();
        }

        var started = timeProvider.GetTimestamp();
        var delay = FirstDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var version = await backend.InitializeAsync(options.Value.InitializeSchema, cancellationToken);
                if (version > backend.SchemaVersion)
                {
                    logger.SchemaNewerThanCode(backend.Name, version, backend.SchemaVersion);
                }

                _ready = true;
                logger.SchemaInitialized(
                    backend.Name, backend.Location, version, (long)timeProvider.GetElapsedTime(started).TotalMilliseconds);
                return;
            }
            catch (StorageUnavailableException e) when (timeProvider.GetElapsedTime(started) + delay < RetryLimit)
            {
                logger.SchemaInitializationRetry(e, backend.Name, attempt, (long)delay.TotalMilliseconds);
                await Task.Delay(delay, timeProvider, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LongestDelay.Ticks));
            }
            catch (StorageUnavailableException e)
            {
                var reason = $"it was not reachable within {RetryLimit.TotalSeconds:0} s ({attempt} attempts)";
                logger.SchemaInitializationFailed(e, backend.Name, reason);
                throw new InvalidOperationException(
                    $"Grain storage {backend.Name} at {backend.Location} could not be initialized: {reason}. Last error: {e.Message}", e);
            }
            catch (InvalidOperationException e)
            {
                logger.SchemaInitializationFailed(e, backend.Name, e.Message);
                throw;
            }
        }
    }
}
