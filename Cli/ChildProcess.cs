using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace OrleansLocks.Cli;

/*
 * The command `locks run` guards. It inherits the tool's standard streams and gets the lease in its environment.
 * Stopping it (lease lost, or the tool interrupted) is graceful first: SIGTERM to the command and every process it
 * started, then SIGKILL to whatever is left after the grace period. The descendants are collected before the
 * SIGTERM: once a parent dies its children are re-parented and no longer findable as part of the tree.
 */
internal sealed partial class ChildProcess : IDisposable
{
    private const int SigTerm = 15;
    private const int SigKill = 9;

    private readonly Process _process;

    private ChildProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <paramref name="command"/>; throws <see cref="Win32Exception"/> when it cannot be started.</summary>
    public static ChildProcess Start(IReadOnlyList<string> command, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(command[0]) { UseShellExecute = false };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new Win32Exception($"'{command[0]}' did not start.");
        return new ChildProcess(process);
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>SIGTERM to the process tree, then SIGKILL to what is left after <paramref name="grace"/>.</summary>
    public async Task TerminateAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            return;
        }

        var tree = Descendants(_process.Id);
        tree.Insert(0, _process.Id);
        foreach (var pid in tree)
        {
            _ = Kill(pid, SigTerm);
        }

        using var timeout = new CancellationTokenSource(grace, TimeProvider.System);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Did not stop within the grace period.
        }

        // Descendants that ignored SIGTERM (or the command itself) get SIGKILL.
        foreach (var pid in tree)
        {
            if (pid == _process.Id ? !_process.HasExited : IsAlive(pid))
            {
                _ = Kill(pid, SigKill);
            }
        }

        await _process.WaitForExitAsync();
    }

    public void Dispose() => _process.Dispose();

    /// <summary>Every process below <paramref name="root"/>, parents before children, from /proc (Linux) .</summary>
    internal static List<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        if (!Directory.Exists("/proc"))
        {
            return [];
        }

        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so read after the last ')'.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(pid);
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        var result = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var pid))
        {
            foreach (var child in children.GetValueOrDefault(pid) ?? [])
            {
                result.Add(child);
                queue.Enqueue(child);
            }
        }

        return result;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            // A zombie has exited: it only waits for its parent to reap it.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return Kill(pid, 0) == 0;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
