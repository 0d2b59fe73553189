using Microsoft.Extensions.Options;

namespace OrleansLocks.Silo.Hosting;

/// <summary>Validates <see cref="GrainCollectionOptions"/> at start-up; each failure names the setting.</summary>
internal sealed class GrainCollectionOptionsValidator : IValidateOptions<GrainCollectionOptions>
{
    // The longest due time a TimeProvider timer accepts (uint.MaxValue - 1 milliseconds, about 49 days).
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    public ValidateOptionsResult Validate(string? name, GrainCollectionOptions options)
    {
        var failures = new List<string>();
        Check(options.CollectionAge, nameof(GrainCollectionOptions.CollectionAge));
        Check(options.CollectionQuantum, nameof(GrainCollectionOptions.CollectionQuantum));
        Check(options.ActivationTimeout, nameof(GrainCollectionOptions.ActivationTimeout));
        Check(options.DeactivationTimeout, nameof(GrainCollectionOptions.DeactivationTimeout));
        if (options.ReleaseMemoryAfterCollecting < 0)
        {
            failures.Add(
                $"{GrainCollectionOptions.SectionName}:{nameof(GrainCollectionOptions.ReleaseMemoryAfterCollecting)} must be 0 (off) or positive (was {options.ReleaseMemoryAfterCollecting}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Check(TimeSpan value, string setting)
        {
            if (value <= TimeSpan.Zero || value > MaxTimerDelay)
            {
                failures.Add(
                    $"{GrainCollectionOptions.SectionName}:{setting} must be positive and at most {MaxTimerDelay.TotalDays:0} days (was {value}).");
            }
        }
    }
}
