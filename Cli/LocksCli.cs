using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using Microsoft.Extensions.Logging;
using OrleansLocks.Cli.Commands;
using OrleansLocks.Client;

namespace OrleansLocks.Cli;

/// <summary>The `locks` command line: the commands, the options they share, and how failures become exit codes.</summary>
internal static class LocksCli
{
    public static readonly Option<string?> Url = new("--url")
    {
        Description = "The lock service's address [env: LOCKS_URL; default: http://localhost:5080]",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LOCKS_URL"),
    };

    public static readonly Option<string?> ApiKey = new("--api-key")
    {
        Description = "API key, sent as X-Api-Key [env: LOCKS_API_KEY]",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LOCKS_API_KEY"),
    };

    public static readonly Option<string?> Token = new("--token")
    {
        Description = "Bearer token, sent as Authorization: Bearer [env: LOCKS_TOKEN]",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LOCKS_TOKEN"),
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print JSON instead of text",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Log the client's requests and retries to standard error",
        Recursive = true,
    };

    public const string DefaultUrl = "http://localhost:5080";

    /// <summary>Parses and runs <paramref name="args"/>; the exit code is one of <see cref="ExitCodes"/> or the command's own.</summary>
    /// <param name="handleSignals">Whether SIGINT/SIGTERM cancel the command (the real tool); in-process tests say no.</param>
    public static async Task<int> InvokeAsync(string[] args, TextWriter? output = null, TextWriter? error = null, bool handleSignals = true, CancellationToken cancellationToken = default)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var root = Build();
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var parseError in parsed.Errors)
            {
                await error.WriteLineAsync($"locks: {parseError.Message}");
            }

            await error.WriteLineAsync("Try 'locks --help'.");
            return ExitCodes.Usage;
        }

        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,

            // Time for `run` to stop its command gracefully after SIGINT/SIGTERM; null: no signal handling.
            ProcessTerminationTimeout = handleSignals ? TimeSpan.FromSeconds(60) : null,
        };
        try
        {
            return await parsed.InvokeAsync(configuration, cancellationToken);
        }
        finally
        {
            await output.FlushAsync(CancellationToken.None);
        }
    }

    public static Command Build()
    {
        // A Command rather than RootCommand: RootCommand names itself after the entry assembly (OrleansLocks.Cli),
        // but the tool is invoked as `locks`.
        var root = new Command("locks", "The OrleansLocks command-line tool: run a command under a lock, script leases, inspect locks, simulate contention.")
        {
            new HelpOption { Recursive = true },
            new VersionOption(),
        };
        root.Options.Add(Url);
        root.Options.Add(ApiKey);
        root.Options.Add(Token);
        root.Options.Add(Json);
        root.Options.Add(Verbose);
        root.Subcommands.Add(RunCommand.Create());
        foreach (var command in ScriptCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(SimulateCommand.Create());
        return root;
    }

    /// <summary>An option holding a duration (500ms, 10s, 2m, PT30S, milliseconds; "forever" if allowed); null when not given.</summary>
    public static Option<TimeSpan?> DurationOption(string name, string description, bool allowInfinite = false)
        => new(name)
        {
            Description = description,
            HelpName = "duration",
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;
                if (Durations.TryParse(text, allowInfinite, out var value))
                {
                    return value;
                }

                result.AddError($"{name}: '{text}' is not a duration (examples: 500ms, 10s, 2m, 1h30m, PT30S{(allowInfinite ? ", forever" : "")}).");
                return null;
            },
        };

    public static Option<string?> OwnerOption() => new("--owner")
    {
        Description = "Owner label shown in the lock's state [default: user@host/pid]",
    };

    /// <summary>A client configured from the shared options; dispose it when done.</summary>
    public static LockClient CreateClient(ParseResult parse, Uri? baseAddress = null)
    {
        var url = baseAddress ?? new Uri(parse.GetValue(Url) ?? DefaultUrl, UriKind.Absolute);
        var options = new LockClientOptions
        {
            BaseAddress = url,
            ApiKey = parse.GetValue(ApiKey),
            BearerToken = parse.GetValue(Token),
            Owner = $"{Environment.UserName}@{Environment.MachineName}/{Environment.ProcessId}",
        };
        var logger = parse.GetValue(Verbose) ? CliLogging.Factory.CreateLogger<LockClient>() : null;
        return new LockClient(options, TimeProvider.System, logger);
    }

    /// <summary>Runs <paramref name="action"/>, turning the client's failures into a message and an exit code.</summary>
    public static async Task<int> GuardAsync(ParseResult parse, Func<Task<int>> action, CancellationToken cancellationToken)
    {
        var error = parse.InvocationConfiguration.Error;
        try
        {
            return await action();
        }
        catch (LockServiceUnavailableException ex)
        {
            await error.WriteLineAsync($"locks: service unavailable: {ex.Message}");
            return ExitCodes.ServiceUnavailable;
        }
        catch (LeaseLostException ex)
        {
            await error.WriteLineAsync($"locks: lease lost ({ex.Reason}): {ex.Message}");
            return ExitCodes.LeaseLost;
        }
        catch (LockServiceException ex)
        {
            await error.WriteLineAsync($"locks: refused: {ex.Message}");
            return ExitCodes.Refused;
        }
        catch (UriFormatException ex)
        {
            await error.WriteLineAsync($"locks: --url: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("locks: interrupted");
            return ExitCodes.Interrupted;
        }
    }
}
