using System.CommandLine;
using OrleansLocks.Client;

namespace OrleansLocks.Cli.Commands;

/// <summary>One call per command, for scripts: acquire, renew, release, status, list, validate, force-release.</summary>
internal static class ScriptCommands
{
    public static IEnumerable<Command> Create()
    {
        yield return Acquire();
        yield return Renew();
        yield return Release();
        yield return Status();
        yield return List();
        yield return Validate();
        yield return ForceRelease();
    }

    private static Argument<string> NameArgument() => new("name") { Description = "The lock's name" };

    private static Argument<string> LeaseIdArgument() => new("lease-id") { Description = "The lease id printed by acquire" };

    private static Command Acquire()
    {
        var name = NameArgument();
        var shared = new Option<bool>("--shared") { Description = "Shared (reader) mode" };
        var ttl = LocksCli.DurationOption("--ttl", "Lease time to live [default: 30s]");
        var wait = LocksCli.DurationOption("--wait", "How long to wait: 0 tries once, 'forever' waits [default: 0]", allowInfinite: true);
        var owner = LocksCli.OwnerOption();
        var requestId = new Option<string?>("--request-id") { Description = "Idempotency key: repeating it returns the same lease or queue place" };
        var command = new Command("acquire", "Acquire a lock and print the lease (not renewed: renew it, release it, or let it expire)")
        {
            name, shared, ttl, wait, owner, requestId,
        };
        command.SetAction((parse, ct) => LocksCli.GuardAsync(parse, async () =>
        {
            var client = LocksCli.CreateClient(parse);
            var options = new AcquireOptions
            {
                Mode = parse.GetValue(shared) ? Client.LockMode.Shared : Client.LockMode.Exclusive,
                Ttl = parse.GetValue(ttl) ?? TimeSpan.FromSeconds(30),
                Owner = parse.GetValue(owner),
                RequestId = parse.GetValue(requestId),
                AutoRenew = false,
            };
            var waitFor = parse.GetValue(wait) ?? TimeSpan.Zero;
            var handle = await client.TryAcquireAsync(parse.GetRequiredValue(name), waitFor, options, ct);
            if (handle is null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"locks: '{parse.GetRequiredValue(name)}' was not acquired within {Durations.Format(waitFor)}");
                return ExitCodes.NotAcquired;
            }

            // The lease outlives this process: the handle is dropped, not disposed (disposing would release it).
            await WriteAsync(parse, handle.Lease, Output.LeaseJson, Output.LeaseText);
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Renew()
    {
        var name = NameArgument();
        var leaseId = LeaseIdArgument();
        var ttl = LocksCli.DurationOption("--ttl", "New time to live from now [default: the lease's own]");
        var command = new Command("renew", "Renew a lease by id and print it") { name, leaseId, ttl };
        command.SetAction((parse, ct) => LocksCli.GuardAsync(parse, async () =>
        {
            var client = LocksCli.CreateClient(parse);
            var lease = await client.RenewAsync(parse.GetRequiredValue(name), parse.GetRequiredValue(leaseId), parse.GetValue(ttl), ct);
            await WriteAsync(parse, lease, Output.LeaseJson, Output.LeaseText);
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Release()
    {
        var name = NameArgument();
        var leaseId = LeaseIdArgument();
        var command = new Command("release", "Release a lease by id (succeeds if it was already released)") { name, leaseId };
        command.SetAction((parse, ct) => LocksCli.GuardAsync(parse, async () =>
        {
            var client = LocksCli.CreateClient(parse);
            await client.ReleaseAsync(parse.GetRequiredValue(name), parse.GetRequiredValue(leaseId), ct);
            if (parse.GetValue(LocksCli.Json))
            {
                await parse.InvocationConfiguration.Output.WriteLineAsync(Output.Json(new { released = true }));
            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Status()
    {
        var name = NameArgument();
        var command = new Command("status", "Show a lock's holders, queue and fencing counter") { name };
        command.SetAction((parse, ct) => LocksCli.GuardAsync(parse, async () =>
        {
            var client = LocksCli.CreateClient(parse);
            var state = await client.GetStateAsync(parse.GetRequiredValue(name), ct);
            await WriteAsync(parse, state, Output.StateJson, Output.StateText);
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command List()
    {
        var prefix = new Option<string?>("--prefix") { Description = "Only locks whose names start with this" };
        var limit = new Option<int?>("--limit") { Description = "At most this many locks [default: all]" };
        var command = new Command("list", "List held or queued locks, in name order") { prefix, limit };
        command.SetAction((parse, ct) => LocksCli.GuardAsync(parse, async () =>
        {
            var client = LocksCli.CreateClient(parse);
            var items = new List<LockState>();
            var max = parse.GetValue(limit) ?? int.MaxValue;
            await foreach (var state in client.ListAllAsync(parse.GetValue(prefix), ct))
            {
                if (items.Count >= max)
                {
                    break;
                }

                items.Add(state);
            }

            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(LocksCli.Json))
            {
                await output.WriteLineAsync(Output.Json(new { items = items.Select(Output.StateJson) }));
            }
            else
            {
                foreach (var item in items)
                {
                    await output.WriteLineAsync(Output.ListLine(item));
                }
            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Validate()
    {
        var name = NameArgument();
        var token = new Argument<long>("fencing-token") { Description = "The token to check" };
        var command = new Command("validate", "Check whether a fencing token belongs to a lease that holds the lock now (exit 0 if valid, 1 if not)")
        {
            name, token,
        };
        command.SetAction((parse, ct) => LocksCli.GuardAsync(parse, async () =>
        {
            var client = LocksCli.CreateClient(parse);
            var result = await client.ValidateAsync(parse.GetRequiredValue(name), parse.GetValue(token), ct);
            var output = parse.InvocationConfiguration.Output;
            await output.WriteLineAsync(parse.GetValue(LocksCli.Json)
                ? Output.Json(result)
                : $"valid: {(result.Valid ? "true" : "false")}{Environment.NewLine}current-token: {result.CurrentToken}");
            return result.Valid ? ExitCodes.Ok : 1;
        }, ct));
        return command;
    }

    private static Command ForceRelease()
    {
        var name = NameArgument();
        var reason = new Option<string>("--reason") { Description = "Why (logged by the service)", Required = true };
        var command = new Command("force-release", "Admin: end every lease of a lock and bump its fencing counter") { name, reason };
        command.SetAction((parse, ct) => LocksCli.GuardAsync(parse, async () =>
        {
            var client = LocksCli.CreateClient(parse);
            await client.ForceReleaseAsync(parse.GetRequiredValue(name), parse.GetRequiredValue(reason), ct);
            if (parse.GetValue(LocksCli.Json))
            {
                await parse.InvocationConfiguration.Output.WriteLineAsync(Output.Json(new { forceReleased = true }));
            }

            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static async Task WriteAsync<T>(ParseResult parse, T value, Func<T, object> json, Func<T, string> text)
    {
        var output = parse.InvocationConfiguration.Output;
        await output.WriteLineAsync(parse.GetValue(LocksCli.Json) ? Output.Json(json(value)) : text(value));
    }
}
