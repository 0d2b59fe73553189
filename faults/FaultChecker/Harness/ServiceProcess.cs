using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace OrleansLocks.FaultChecker.Harness;

/*
 * Design note — the service as a real process.
 *
 * The service runs exactly as in production: `dotnet OrleansLocks.Api.dll --urls http://127.0.0.1:<port>`, its
 * configuration only through environment variables, so a SIGKILL is a real crash (no finally blocks, no graceful
 * shutdown, in-flight storage writes cut) and a SIGSTOP a real stall (timers and sockets frozen, the kernel still
 * accepting connections). The port stays the same across restarts so clients simply reconnect.
 * Every start waits for /health/ready; a process that exits during start-up fails the start with its last output.
 * Dispose resumes a stopped process before killing it and waits for it to be gone: nothing is left running.
 * Two more guards: the service runs in a session of its own (setsid), so a Ctrl-C in the terminal reaches only
 * the harness, which then shuts everything down in order; and a detached watchdog SIGKILLs the service if the
 * harness itself dies without cleaning up (SIGKILL, crash).
 */

/// <summary>
/// Starts, kills, pauses, stops and resumes one process of the service: the Api (co-hosting a silo, or a gateway) or
/// a headless silo (<paramref name="assemblyPath"/>); <paramref name="name"/> names its log files and its history
/// entries.
/// </summary>
internal sealed class ServiceProcess(string assemblyPath, IReadOnlyDictionary<string, string> environment, string logDirectory, ILogger logger, string name = "service")
    : IAsyncDisposable
{
    private readonly Queue<string> _lastLines = new();
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private Process? _process;
    private StreamWriter? _log;
    private int _starts;
    private bool _killed;
    private volatile bool _declaredDead;

    public string Name => name;

    /// <summary>
    /// The process logged that it read itself dead in the membership table (and so stops its own host): a silo the
    /// cluster declared dead, exiting as designed. Reset at every start.
    /// </summary>
    public bool ReadItselfDead => _declaredDead;

    /// <summary>How many times the process stopped itself after reading itself dead (and was restarted).</summary>
    public int SelfStops => Volatile.Read(ref _selfStops);

    private int _selfStops;

    public int Port { get; } = FreePort();

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Starts the process and waits until /health/ready answers 200.</summary>
    public async Task StartAsync(TimeSpan readyTimeout, CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            await StartCoreAsync(readyTimeout, cancellationToken);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// If the service exited by itself (not killed by the harness), says how — exit code and its last output — and
    /// starts it again so the run goes on; null when it is running (or was stopped on purpose).
    /// </summary>
    public async Task<(string What, bool DeclaredDead)?> RestartIfCrashedAsync(TimeSpan readyTimeout, CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            if (_process is not { HasExited: true } process || _killed)
            {
                return null;
            }

            var declaredDead = _declaredDead;
            var what = declaredDead
                ? $"{name} (pid {process.Id}) read itself dead in the membership table and stopped its host (code {process.ExitCode}), as designed"
                : $"{name} (pid {process.Id}) exited without the harness stopping it, code {process.ExitCode}; last output:\n{LastOutput()}";
            logger.ServiceExited(name, process.Id, process.ExitCode, declaredDead);
            if (declaredDead)
            {
                Interlocked.Increment(ref _selfStops);
            }

            await StartCoreAsync(readyTimeout, cancellationToken);
            return (what, declaredDead);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task StartCoreAsync(TimeSpan readyTimeout, CancellationToken cancellationToken)
    {
        if (!File.Exists(assemblyPath))
        {
            throw new FileNotFoundException($"The service assembly {assemblyPath} does not exist; build the Api (dotnet build Api) or pass --api-dll.");
        }

        var started = Stopwatch.StartNew();
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

        // setsid execs in place (the child is not a process-group leader), so the pid is the service's own.
        var start = new ProcessStartInfo(File.Exists(SetsidPath) ? SetsidPath : dotnet)
        {
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(assemblyPath))!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (File.Exists(SetsidPath))
        {
            start.ArgumentList.Add(dotnet);
        }

        start.ArgumentList.Add(assemblyPath);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(BaseAddress.ToString().TrimEnd('/'));
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("ASPNETCORE_HTTP_PORTS");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        _starts++;
        _log?.Dispose();
        Directory.CreateDirectory(logDirectory);
        _log = new StreamWriter(Path.Combine(logDirectory, $"{name}-{_starts}.log")) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the service process.");
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process?.Dispose();
        _process = process;
        _killed = false;
        _declaredDead = false;
        StartWatchdog(process.Id);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = started.Elapsed + readyTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with code {process.ExitCode} during start-up. Last output:\n{LastOutput()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseAddress, "health/ready"), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Slow to answer while starting.
            }

            if (started.Elapsed > deadline)
            {
                throw new TimeoutException($"{name} was not ready within {readyTimeout.TotalSeconds:0} s. Last output:\n{LastOutput()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }

        logger.ServiceStarted(name, process.Id, BaseAddress, started.Elapsed.TotalMilliseconds);
    }

    /// <summary>SIGKILL: a crash, with no chance to clean up. Returns false when the service was not running.</summary>
    public async Task<bool> KillAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            _killed = true;
            if (_process is { HasExited: false } process)
            {
                process.Kill(entireProcessTree: false);
                await process.WaitForExitAsync();
                return true;
            }

            return false;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// SIGTERM and wait for the exit (a graceful stop: a silo hands its locks over), SIGKILL after
    /// <paramref name="timeout"/>. Returns false when it was not running.
    /// </summary>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        await _lifecycle.WaitAsync();
        try
        {
            _killed = true;
            if (_process is not { HasExited: false } process)
            {
                return false;
            }

            await SignalAsync("TERM");
            using var bound = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(bound.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: false);
                await process.WaitForExitAsync();
            }

            return true;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>SIGSTOP: the process freezes, its sockets stay open. Returns false when the service was not running.</summary>
    public async Task<bool> PauseAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            if (Pid is null)
            {
                return false;
            }

            await SignalAsync("STOP");
            return true;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>SIGCONT.</summary>
    public async Task ResumeAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            if (Pid is not null)
            {
                await SignalAsync("CONT");
            }

        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public bool HasExited => _process is null || _process.HasExited;

    public string LastOutput()
    {
        lock (_gate)
        {
            return string.Join('\n', _lastLines);
        }
    }

    private async Task SignalAsync(string signal)
    {
        var pid = Pid ?? throw new InvalidOperationException("The service is not running.");
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {pid}") { UseShellExecute = false })
            ?? throw new InvalidOperationException("Could not run kill.");
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {pid} exited with {kill.ExitCode}.");
        }
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.Contains("reads itself", StringComparison.Ordinal))
        {
            _declaredDead = true;
        }

        lock (_gate)
        {
            _log?.WriteLine(line);
            _lastLines.Enqueue(line);
            while (_lastLines.Count > 40)
            {
                _lastLines.Dequeue();
            }
        }
    }

    private const string SetsidPath = "/usr/bin/setsid";

    /// <summary>SIGKILLs the service once the harness is gone, however it ended.</summary>
    private static void StartWatchdog(int servicePid)
    {
        var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null && kill -0 {servicePid} 2>/dev/null; do sleep 1; done; kill -9 {servicePid} 2>/dev/null";
        var start = new ProcessStartInfo(File.Exists(SetsidPath) ? SetsidPath : "bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (File.Exists(SetsidPath))
        {
            start.ArgumentList.Add("bash");
        }

        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var watchdog = Process.Start(start);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            // SIGKILL ends a stopped process too; no need to resume it first.
            _killed = true;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _lifecycle.Dispose();
        lock (_gate)
        {
            _log?.Dispose();
            _log = null;
        }
    }
}
