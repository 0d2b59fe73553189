using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OrleansLocks.Cluster.Tests.Infrastructure;

/// <summary>
/// A headless silo (OrleansLocks.Silo.dll), or the Api (OrleansLocks.Api.dll), in a process of its own, configured
/// through environment variables.
/// <see cref="Kill"/> is SIGKILL; disposing kills it too, so no test leaves one running.
/// </summary>
internal sealed class SiloProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private SiloProcess(Process process, Uri healthUri)
    {
        _process = process;
        HealthUri = healthUri;
        _process.OutputDataReceived += (_, e) => Collect(e.Data);
        _process.ErrorDataReceived += (_, e) => Collect(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The process's web host, where /health/live and /health/ready (and, for the Api, /locks) are.</summary>
    public Uri HealthUri { get; }

    public bool HasExited => _process.HasExited;

    public string Output => string.Join(Environment.NewLine, _output);

    public static SiloProcess Start(IDictionary<string, string?> settings, string assembly = "OrleansLocks.Silo.dll")
    {
        var httpPort = FreePort();
        var start = new ProcessStartInfo("dotnet", $"\"{Path.Combine(AppContext.BaseDirectory, assembly)}\"")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{httpPort}";
        start.Environment["DOTNET_ENVIRONMENT"] = "Testing";
        start.Environment["Logging__LogLevel__Default"] = "Information";
        start.Environment["Logging__LogLevel__Microsoft"] = "Warning";

        // Outside Development a cluster needs its secret and the Api a way to authenticate; tests may override both.
        start.Environment["Silo__ClusterSecret"] = OrleansLocks.Testing.TestSecrets.ClusterSecret;
        start.Environment["Security__AllowAnonymous"] = "true";
        start.Environment["Security__RateLimit__TokenLimit"] = "0";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {assembly}.");
        return new SiloProcess(process, new Uri($"http://127.0.0.1:{httpPort}/"));
    }

    /// <summary>SIGTERM: the host stops gracefully (as when Kubernetes stops a pod); waits for the process to exit.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var signal = Process.Start("kill", $"-TERM {_process.Id}"))
        {
            await signal.WaitForExitAsync();
        }

        using var bounded = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(bounded.Token);
    }

    /// <summary>SIGKILL: no shutdown code runs, as when a pod is killed.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(30_000);
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
