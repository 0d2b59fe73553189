namespace OrleansLocks.Cli;

/// <summary>
/// The tool's exit codes (docs/cli.md). `locks run` otherwise exits with the command's own code, so these sit in the
/// sysexits range where commands rarely exit on their own.
/// </summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The simulation found a violation of mutual exclusion or fencing-token order.</summary>
    public const int Violation = 1;

    /// <summary>Bad command line (EX_USAGE).</summary>
    public const int Usage = 64;

    /// <summary>The service refused the request: invalid input, forbidden, mode conflict, queue full (EX_DATAERR).</summary>
    public const int Refused = 65;

    /// <summary>The service could not be reached, or kept answering 503 (EX_UNAVAILABLE).</summary>
    public const int ServiceUnavailable = 69;

    /// <summary>The lock was not granted within --wait (EX_TEMPFAIL).</summary>
    public const int NotAcquired = 75;

    /// <summary>The lease was lost (renew refused, or no renew before the deadline); `run` stopped the command.</summary>
    public const int LeaseLost = 76;

    /// <summary>The command could not be started (not found or not executable), as shells report it.</summary>
    public const int CommandNotFound = 127;

    /// <summary>Interrupted (SIGINT/SIGTERM) before the command ran or finished: 128 + SIGINT.</summary>
    public const int Interrupted = 130;
}
