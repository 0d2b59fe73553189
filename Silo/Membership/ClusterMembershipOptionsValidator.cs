using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;

namespace OrleansLocks.Silo.Membership;

/// <summary>Validates <see cref="ClusterMembershipOptions"/> at start-up; every failure names the setting.</summary>
internal sealed class ClusterMembershipOptionsValidator : IValidateOptions<ClusterMembershipOptions>
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    public ValidateOptionsResult Validate(string? name, ClusterMembershipOptions options)
    {
        var failures = new List<string>();
        Positive(options.ProbeTimeout, nameof(options.ProbeTimeout));
        Positive(options.DeathVoteExpirationTimeout, nameof(options.DeathVoteExpirationTimeout));
        Positive(options.IAmAliveTablePublishTimeout, nameof(options.IAmAliveTablePublishTimeout));
        Positive(options.TableRefreshTimeout, nameof(options.TableRefreshTimeout));
        Positive(options.MaxJoinAttemptTime, nameof(options.MaxJoinAttemptTime));
        Positive(options.DefunctSiloExpiration, nameof(options.DefunctSiloExpiration));
        Positive(options.DefunctSiloCleanupPeriod, nameof(options.DefunctSiloCleanupPeriod));
        Positive(options.ResponseTimeout, nameof(options.ResponseTimeout));
        AtLeastOne(options.NumMissedProbesLimit, nameof(options.NumMissedProbesLimit));
        AtLeastOne(options.NumProbedSilos, nameof(options.NumProbedSilos));
        AtLeastOne(options.NumVotesForDeathDeclaration, nameof(options.NumVotesForDeathDeclaration));
        AtLeastOne(options.NumMissedTableIAmAliveLimit, nameof(options.NumMissedTableIAmAliveLimit));

        // A vote must outlive the time a second voter needs to reach its own verdict, or no silo is ever declared dead.
        if (options.ProbeTimeout > TimeSpan.Zero && options.NumMissedProbesLimit > 0
            && options.DeathVoteExpirationTimeout <= options.ProbeTimeout * (options.NumMissedProbesLimit + 1))
        {
            failures.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"Cluster:DeathVoteExpirationTimeout ({options.DeathVoteExpirationTimeout}) must exceed Cluster:ProbeTimeout × (Cluster:NumMissedProbesLimit + 1) ({options.ProbeTimeout * (options.NumMissedProbesLimit + 1)}), or votes expire before a second silo can vote."));
        }

        if (!string.IsNullOrWhiteSpace(options.PostgresConnectionString))
        {
            try
            {
                if (string.IsNullOrWhiteSpace(new NpgsqlConnectionStringBuilder(options.PostgresConnectionString).Host))
                {
                    failures.Add("Cluster:PostgresConnectionString must name a Host.");
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                failures.Add($"Cluster:PostgresConnectionString is not a valid Npgsql connection string: {e.Message}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Positive(TimeSpan value, string setting)
        {
            if (value <= TimeSpan.Zero || value > MaxDelay)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"Cluster:{setting} must be positive and at most {MaxDelay.TotalDays:0} days (it is {value})."));
            }
        }

        void AtLeastOne(int value, string setting)
        {
            if (value < 1)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"Cluster:{setting} must be at least 1 (it is {value})."));
            }
        }
    }
}
