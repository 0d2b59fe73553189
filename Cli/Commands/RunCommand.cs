using System.CommandLine;
using System.ComponentModel;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansLocks.Client;

namespace OrleansLocks.Cli.Commands;

/*
 * `locks run NAME -- COMMAND ARGS…`: flock(1) for a distributed lock.
 *
 * The lock is acquired first (waiting per --wait), then the command starts with the lease in its environment
 * (LOCKS_FENCING_TOKEN, LOCKS_LEASE_ID, LOCKS_LOCK_NAME). The lease renews in the background for as long as the
 * command runs. If the lease is lost (renew refused, or no renew before the deadline) the command is stopped at
 * once - SIGTERM to its process tree, SIGKILL after --kill-grace - because it no longer holds the lock and must not
 * go on writing; the tool then exits with ExitCodes.LeaseLost. Otherwise the tool releases the lock and exits with
 * the command's own exit code. The command's stdin/stdout/stderr are the tool's.
 */
internal static class RunCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The lock's name" };
        var command = new Argument<string[]>("command")
        {
            Description = "The command and its arguments (after --)",
            Arity = ArgumentArity.OneOrMore,
        };
        var shared = new Option<bool>("--shared") { Description = "Take the lock in shared (reader) mode" };
        var ttl = LocksCli.DurationOption("--ttl", "Lease time to live; renewed at a third of it [default: 30s]");
        var wait = LocksCli.DurationOption("--wait", "How long to wait for the lock: 0 tries once [default: forever]", allowInfinite: true);
        var owner = LocksCli.OwnerOption();
        var killGrace = LocksCli.DurationOption("--kill-grace", "After SIGTERM, how long the command has to exit before SIGKILL [default: 10s]");

        var run = new Command("run", "Run a command while holding a lock; stop it if the lease is lost; exit with its exit code")
        {
            name, command, shared, ttl, wait, owner, killGrace,
        };
        run.SetAction((parse, cancellationToken) => LocksCli.GuardAsync(
            parse,
            () => RunAsync(
                parse,
                parse.GetRequiredValue(name),
                parse.GetRequiredValue(command),
                new AcquireOptions
                {
                    Mode = parse.GetValue(shared) ? Client.LockMode.Shared : Client.LockMode.Exclusive,
                    Ttl = parse.GetValue(ttl) ?? TimeSpan.FromSeconds(30),
                    Owner = parse.GetValue(owner),
                },
                parse.GetValue(wait) ?? Timeout.InfiniteTimeSpan,
                parse.GetValue(killGrace) ?? TimeSpan.FromSeconds(10),
                cancellationToken),
            cancellationToken));
        return run;
    }

    private static async Task<int> RunAsync(
        ParseResult parse,
        string name,
        string[] command,
        AcquireOptions options,
        TimeSpan wait,
        TimeSpan killGrace,
        CancellationToken cancellationToken)
    {
        var error = parse.InvocationConfiguration.Error;
        ILogger logger = parse.GetValue(LocksCli.Verbose) ? CliLogging.Factory.CreateLogger("OrleansLocks.Cli.Run") : NullLogger.Instance;
        var client = LocksCli.CreateClient(parse);
        var handle = wait == Timeout.InfiniteTimeSpan
            ? await client.AcquireAsync(name, timeout: null, options, cancellationToken)
            : await client.TryAcquireAsync(name, wait, options, cancellationToken);
        if (handle is null)
        {
            await error.WriteLineAsync($"locks: '{name}' was not acquired within {Durations.Format(wait)}");
            return ExitCodes.NotAcquired;
        }

        await using (handle)
        {
            var environment = new Dictionary<string, string>
            {
                ["LOCKS_LOCK_NAME"] = handle.Name,
                ["LOCKS_LEASE_ID"] = handle.LeaseId,
                ["LOCKS_FENCING_TOKEN"] = handle.FencingToken.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["LOCKS_URL"] = client.BaseAddress.AbsoluteUri,
            };

            ChildProcess child;
            try
            {
                child = ChildProcess.Start(command, environment);
            }
            catch (Win32Exception ex)
            {
                await error.WriteLineAsync($"locks: cannot run '{command[0]}': {ex.Message}");
                return ExitCodes.CommandNotFound;
            }

            using (child)
            {
                logger.CommandStarted(command[0], child.Id, handle.Name, handle.FencingToken);
                var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var interrupted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using var onLost = handle.HandleLostToken.Register(() => lost.TrySetResult());
                using var onInterrupt = cancellationToken.Register(() => interrupted.TrySetResult());
                var exited = child.WaitForExitAsync(CancellationToken.None);

                var first = await Task.WhenAny(exited, lost.Task, interrupted.Task);
                if (first == lost.Task && !child.HasExited)
                {
                    var reason = handle.LostReason?.ToString() ?? "unknown";
                    logger.StoppingOnLeaseLost(handle.Name, reason, child.Id);
                    await error.WriteLineAsync($"locks: lease of '{handle.Name}' (token {handle.FencingToken}) lost ({reason}); stopping the command");
                    await child.TerminateAsync(killGrace);
                    return ExitCodes.LeaseLost;
                }

                if (first == interrupted.Task && !child.HasExited)
                {
                    await child.TerminateAsync(killGrace);
                    return ExitCodes.Interrupted;
                }

                await exited;
                logger.CommandExited(child.ExitCode, handle.Name);
                return child.ExitCode;
            }
        }
    }
}
