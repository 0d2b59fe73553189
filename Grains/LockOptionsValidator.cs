using Microsoft.Extensions.Options;

namespace OrleansLocks.Grains;

/// <summary>Checks <see cref="LockOptions"/> at start-up; each failure names the setting (e.g. <c>Locks:MinTtl</c>).</summary>
internal sealed class LockOptionsValidator : IValidateOptions<LockOptions>
{
    /// <summary>Longest lease TTL that may be configured: leases are for liveness, not for days-long ownership.</summary>
    internal static readonly TimeSpan MaxTtlBound = TimeSpan.FromDays(1);

    /// <summary>Longest wait per request: a long poll longer than this outlives any sane HTTP timeout.</summary>
    internal static readonly TimeSpan MaxWaitBound = TimeSpan.FromMinutes(10);

    /// <summary>Upper bound of the grace periods: they bound how long a gone client can hold a lock or a queue up.</summary>
    internal static readonly TimeSpan MaxGraceBound = TimeSpan.FromHours(1);

    internal const int MaxTombstonesBound = 1024;

    internal const int MaxQueueLengthBound = 1_000_000;

    public ValidateOptionsResult Validate(string? name, LockOptions options)
    {
        var failures = new List<string>();
        const string S = LockOptions.SectionName;

        if (options.MinTtl <= TimeSpan.Zero)
        {
            failures.Add($"{S}:MinTtl must be positive (is {options.MinTtl}).");
        }

        if (options.DefaultTtl < options.MinTtl)
        {
            failures.Add($"{S}:DefaultTtl ({options.DefaultTtl}) must be at least {S}:MinTtl ({options.MinTtl}).");
        }

        if (options.MaxTtl < options.DefaultTtl)
        {
            failures.Add($"{S}:MaxTtl ({options.MaxTtl}) must be at least {S}:DefaultTtl ({options.DefaultTtl}).");
        }

        if (options.MaxTtl > MaxTtlBound)
        {
            failures.Add($"{S}:MaxTtl ({options.MaxTtl}) must be at most {MaxTtlBound}.");
        }

        if (options.MaxWait <= TimeSpan.Zero || options.MaxWait > MaxWaitBound)
        {
            failures.Add($"{S}:MaxWait ({options.MaxWait}) must be positive and at most {MaxWaitBound}.");
        }

        if (options.WaiterGrace <= TimeSpan.Zero || options.WaiterGrace > MaxGraceBound)
        {
            failures.Add($"{S}:WaiterGrace ({options.WaiterGrace}) must be positive and at most {MaxGraceBound}.");
        }

        if (options.RecoveryGrace < TimeSpan.Zero || options.RecoveryGrace > MaxGraceBound)
        {
            failures.Add($"{S}:RecoveryGrace ({options.RecoveryGrace}) must be between 0 and {MaxGraceBound}.");
        }

        if (options.TombstoneRetention < TimeSpan.Zero || options.TombstoneRetention > MaxTtlBound)
        {
            failures.Add($"{S}:TombstoneRetention ({options.TombstoneRetention}) must be between 0 and {MaxTtlBound}.");
        }

        if (options.MaxTombstones is < 0 or > MaxTombstonesBound)
        {
            failures.Add($"{S}:MaxTombstones ({options.MaxTombstones}) must be between 0 and {MaxTombstonesBound}.");
        }

        if (options.MaxQueueLength is < 1 or > MaxQueueLengthBound)
        {
            failures.Add($"{S}:MaxQueueLength ({options.MaxQueueLength}) must be between 1 and {MaxQueueLengthBound}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
