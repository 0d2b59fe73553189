using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace OrleansLocks.FaultChecker.Soak;

/// <summary>One sample of one service process.</summary>
internal sealed record ProcessSample(string Process, double Seconds, double RssMb, int FileDescriptors, int Threads);

/// <summary>One sampling instant: every process of the service, the cluster's activations and the service's database connections.</summary>
internal sealed record SoakTick(double Seconds, IReadOnlyList<ProcessSample> Processes, int? Activations, int? PostgresConnections)
{
    public double RssMb => Processes.Sum(p => p.RssMb);

    public int FileDescriptors => Processes.Sum(p => p.FileDescriptors);

    public int Threads => Processes.Sum(p => p.Threads);
}

/// <summary>Reads a process's resident memory, descriptors and threads from /proc, and the cluster's activations from GET /cluster.</summary>
internal static class ProcessSampler
{
    public static async Task<ProcessSample?> SampleAsync(string process, int pid, double seconds, CancellationToken cancellationToken)
    {
        string status;
        int fds;
        try
        {
            status = await File.ReadAllTextAsync($"/proc/{pid}/status", cancellationToken);
            fds = Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var rssKb = Field(status, "VmRSS:");
        var threads = (int)Field(status, "Threads:");
        return new ProcessSample(process, seconds, rssKb / 1024.0, fds, threads);
    }

    /// <summary>Activations over every silo GET /cluster lists as active; null when it could not be read.</summary>
    public static async Task<int?> ActivationsAsync(HttpClient http, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            var cluster = await http.GetFromJsonAsync<JsonElement>("cluster", timeout.Token);
            return cluster.GetProperty("silos").EnumerateArray()
                .Where(s => s.TryGetProperty("activationCount", out var count) && count.ValueKind == JsonValueKind.Number)
                .Sum(s => s.GetProperty("activationCount").GetInt32());
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            // Recorded as missing; the trend is computed over the samples that have it.
            return null;
        }
    }

    private static long Field(string status, string name)
    {
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                var digits = new string([.. line[name.Length..].Trim().TakeWhile(char.IsDigit)]);
                return long.Parse(digits, CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
