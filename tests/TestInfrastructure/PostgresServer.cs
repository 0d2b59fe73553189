using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace OrleansLocks.Testing;

/// <summary>
/// The real PostgreSQL server tests run against. When <c>ORLEANSLOCKS_TEST_POSTGRES</c> holds a connection string
/// (of a role that may create databases) that server is used; otherwise a throwaway server is started from the OS
/// binaries (/usr/lib/postgresql/*/bin) in a temporary directory on a free loopback port, and removed when the test
/// process exits. There is no fallback: if neither works, the tests that need it fail.
/// </summary>
public sealed class PostgresServer
{
    public const string ConnectionStringVariable = "ORLEANSLOCKS_TEST_POSTGRES";

    private static readonly SemaphoreSlim StartGate = new(1, 1);
    private static PostgresServer? _shared;

    private readonly string? _directory;
    private readonly string? _binDirectory;

    private PostgresServer(string adminConnectionString, string? directory, string? binDirectory)
    {
        AdminConnectionString = adminConnectionString;
        _directory = directory;
        _binDirectory = binDirectory;
    }

    /// <summary>A connection string to the server's <c>postgres</c> database with a role that may create databases.</summary>
    public string AdminConnectionString { get; }

    /// <summary>The server shared by every test in this process, started on first use.</summary>
    public static async Task<PostgresServer> GetAsync()
    {
        if (_shared is not null)
        {
            return _shared;
        }

        await StartGate.WaitAsync();
        try
        {
            if (_shared is null)
            {
                var given = Environment.GetEnvironmentVariable(ConnectionStringVariable);
                _shared = string.IsNullOrWhiteSpace(given) ? await StartThrowawayAsync() : new PostgresServer(given, null, null);
            }

            return _shared;
        }
        finally
        {
            StartGate.Release();
        }
    }

    /// <summary>
    /// A throwaway server of its own, started from the OS binaries even when <c>ORLEANSLOCKS_TEST_POSTGRES</c> is
    /// set, for tests that stop or restart the server (<see cref="RestartAsync"/>): the shared server is used by other
    /// test processes at the same time (scripts/test.sh starts one for the whole run), and a restart would break
    /// their connections. Removed when the test process exits.
    /// </summary>
    public static Task<PostgresServer> StartDedicatedAsync() => StartThrowawayAsync();

    /// <summary>Creates a new, empty database and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "test")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 63)].ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    /// <summary>Stops the server for a moment (immediate shutdown, like a crash) and starts it again on the same data.</summary>
    public async Task RestartAsync()
    {
        if (_directory is null || _binDirectory is null)
        {
            throw new InvalidOperationException(
                $"Only a server started by the tests can be restarted; this one was given by {ConnectionStringVariable}. " +
                "Use PostgresServer.StartDedicatedAsync() in tests that restart the server.");
        }

        await RunPgCtlAsync(_binDirectory, _directory, "-m immediate stop");
        NpgsqlConnection.ClearAllPools();
        await RunPgCtlAsync(_binDirectory, _directory, "start -w -t 60 -l " + Path.Combine(_directory, "server.log"));
    }

    private static async Task<PostgresServer> StartThrowawayAsync()
    {
        var binDirectory = FindBinDirectory()
            ?? throw new InvalidOperationException(
                $"No PostgreSQL server binaries under /usr/lib/postgresql/*/bin and no {ConnectionStringVariable} given. " +
                "Install them (apt-get install -y postgresql) or point the variable at a server.");

        var directory = Path.Combine(Path.GetTempPath(), $"orleanslocks-pg-{Environment.ProcessId}-{Guid.NewGuid():N}"[..48]);
        Directory.CreateDirectory(directory);
        var runAsPostgres = Environment.UserName == "root";
        if (runAsPostgres)
        {
            await RunAsync("chown", $"postgres: {directory}", null);
        }

        var port = FreePort();
        await RunAsync(Path.Combine(binDirectory, "initdb"), $"-D {directory}/data -U postgres --auth=trust -E UTF8 --no-sync", runAsPostgres);
        File.AppendAllText(
            Path.Combine(directory, "data", "postgresql.conf"),
            $"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{directory}'\nmax_connections = 300\nfsync = on\n");
        var server = new PostgresServer(
            $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Timeout=30;Command Timeout=60",
            directory,
            binDirectory);
        await RunPgCtlAsync(binDirectory, directory, "start -w -t 60 -l " + Path.Combine(directory, "server.log"));
        StartWatchdog(binDirectory, directory);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.StopAndDelete();
        return server;
    }

    /// <summary>
    /// A test host can die without running ProcessExit handlers (killed by a hang timeout, or cut short at exit).
    /// A detached watchdog therefore stops the server and deletes its directory once this process is gone.
    /// </summary>
    private static void StartWatchdog(string binDirectory, string directory)
    {
        var pgCtl = Path.Combine(binDirectory, "pg_ctl");
        var stop = Environment.UserName == "root"
            ? $"runuser -u postgres -- {pgCtl} -D {directory}/data -m immediate stop"
            : $"{pgCtl} -D {directory}/data -m immediate stop";
        var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {directory}";
        var start = new ProcessStartInfo("setsid", ["bash", "-c", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        using var watchdog = Process.Start(start);
    }

    private void StopAndDelete()
    {
        try
        {
            RunPgCtlAsync(_binDirectory!, _directory!, "-m immediate stop").GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        try
        {
            Directory.Delete(_directory!, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Task RunPgCtlAsync(string binDirectory, string directory, string arguments)
        => RunAsync(Path.Combine(binDirectory, "pg_ctl"), $"-D {directory}/data {arguments}", Environment.UserName == "root");

    private static string? FindBinDirectory()
        => Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, string arguments, bool? asPostgres)
    {
        var start = asPostgres == true
            ? new ProcessStartInfo("runuser", $"-u postgres -- {file} {arguments}")
            : new ProcessStartInfo(file, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = Path.GetTempPath();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} exited with {process.ExitCode}: {await stderr}{await stdout}");
        }
    }
}
