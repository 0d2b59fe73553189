using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace OrleansLocks.Benchmarks.Harness;

/// <summary>Resident memory of a process, from /proc/&lt;pid&gt;/status (kB).</summary>
internal readonly record struct Memory(long RssKb, long PeakRssKb)
{
    public static Memory Of(int pid)
    {
        long rss = 0, hwm = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = KbOf(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = KbOf(line);
            }
        }

        return new Memory(rss, hwm);
    }

    private static long KbOf(string line)
        => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}

/*
 * A server process the benchmark starts itself (the Api under test, the trivial endpoint) on a free loopback port.
 * It is started as `dotnet <dll>` so that the process id is the server's own (for /proc memory readings), its
 * output goes to a log file in the work directory, and it is killed (whole tree) on dispose and on exit of this
 * program, so nothing outlives the run.
 */
internal sealed class ProcessHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly LogSink _log;
    private bool _disposed;

    private ProcessHost(Process process, LogSink log, Uri baseAddress, string logPath)
    {
        _process = process;
        _log = log;
        BaseAddress = baseAddress;
        LogPath = logPath;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Kill();
    }

    public Uri BaseAddress { get; }

    public string LogPath { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public Memory Memory => Memory.Of(_process.Id);

    /// <summary>
    /// The live managed heap in bytes: asks the benchmark probe loaded into the process (bench/Probe, a startup hook;
    /// <paramref name="probeDirectory"/> is its BENCH_PROBE_DIR) for a full compacting collection and reads the heap
    /// size right after it. Null when the process has no probe or it did not answer within 30 s.
    /// </summary>
    public async Task<long?> LiveHeapBytesAsync(string? probeDirectory)
    {
        if (probeDirectory is null || !File.Exists(Path.Combine(probeDirectory, $"probe-{Pid}.tsv")))
        {
            return null;
        }

        var trigger = Path.Combine(probeDirectory, $"gc-{Pid}");
        await File.WriteAllTextAsync(trigger, "");
        var started = Stopwatch.GetTimestamp();
        while (File.Exists(trigger) && Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }

        // The probe deletes the trigger after the collection and writes its line about 10 ms later.
        for (var attempt = 0; attempt < 40; attempt++)
        {
            await Task.Delay(50);
            using var stream = new FileStream(Path.Combine(probeDirectory, $"probe-{Pid}.tsv"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            string? line, lastForced = null;
            while ((line = await reader.ReadLineAsync()) is not null)
            {
                if (line.EndsWith("\t1", StringComparison.Ordinal))
                {
                    lastForced = line;
                }
            }

            if (lastForced is not null && !File.Exists(trigger))
            {
                // Columns: unix_ms, alloc_bytes, work_items, contentions, gen0, gen1, gen2, heap_bytes, ...
                return long.Parse(lastForced.Split('\t')[7], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    public static async Task<ProcessHost> StartAsync(
        string name, string dll, IEnumerable<string> arguments, string workDirectory, Uri readinessPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The content root is the working directory: the app's own appsettings.json lies beside its dll.
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(dll))!,
        };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(baseAddress.ToString().TrimEnd('/'));

        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("ASPNETCORE_HTTP_PORTS");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        // A console line per grant would measure the log pipe, not the server (no peer logs per request either):
        // warnings only, for the categories the Api's appsettings.json turns up as well.
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__OrleansLocks"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[variable] = value;
        }

        // BENCH_SERVICE_ENV="NAME=value;NAME=value": extra environment for the service's processes only (not the
        // trivial endpoint, which runs from this assembly), to compare a runtime setting of the service alone.
        if (!string.Equals(Path.GetFullPath(dll), Path.GetFullPath(typeof(ProcessHost).Assembly.Location), StringComparison.Ordinal)
            && Environment.GetEnvironmentVariable("BENCH_SERVICE_ENV") is { Length: > 0 } extra)
        {
            foreach (var pair in extra.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var equals = pair.IndexOf('=');
                if (equals <= 0)
                {
                    throw new ArgumentException($"BENCH_SERVICE_ENV: '{pair}' is not NAME=value.");
                }

                start.Environment[pair[..equals]] = pair[(equals + 1)..];
            }
        }

        var logPath = Path.Combine(workDirectory, $"{name}.log");
        var log = new LogSink(logPath);
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => log.Write(e.Data);
        process.ErrorDataReceived += (_, e) => log.Write(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {dll}.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var host = new ProcessHost(process, log, baseAddress, logPath);
        try
        {
            await host.WaitReadyAsync(readinessPath, TimeSpan.FromSeconds(120));
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Kill();
        using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            try
            {
                await _process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                // Killed; the OS reaps it.
            }
        }

        _process.Dispose();
        _log.Close();
    }

    public string LogTail(int lines)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }
    }

    private async Task WaitReadyAsync(Uri path, TimeSpan limit)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.GetTimestamp() + ClosedLoop.Ticks(limit);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{_process.StartInfo.ArgumentList[0]} exited with {_process.ExitCode} while starting:\n{LogTail(30)}");
            }

            try
            {
                using var response = await http.GetAsync(path);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{_process.StartInfo.ArgumentList[0]} did not answer {path} within {limit.TotalSeconds} s:\n{LogTail(30)}");
    }
}

/// <summary>The child's output lines, written to a file until closed (lines after that are dropped).</summary>
internal sealed class LogSink(string path)
{
    private readonly StreamWriter _writer = new(path) { AutoFlush = true };
    private readonly Lock _gate = new();
    private bool _closed;

    public void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            if (!_closed)
            {
                _writer.WriteLine(line);
            }
        }
    }

    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            _writer.Dispose();
        }
    }
}
