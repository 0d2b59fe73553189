using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace OrleansLocks.FaultChecker.Soak;

/// <summary>One sample of the service process.</summary>
internal sealed record ProcessSample(double Seconds, double RssMb, int FileDescriptors, int Threads, int? Activations);

/// <summary>Reads the service process's resident memory, descriptors and threads from /proc and its activations from GET /cluster.</summary>
internal static class ProcessSampler
{
    public static async Task<ProcessSample?> SampleAsync(int pid, double seconds, HttpClient http, CancellationToken cancellationToken)
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
        int? activations = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            var cluster = await http.GetFromJsonAsync<JsonElement>("cluster", timeout.Token);
            activations = cluster.GetProperty("silos").EnumerateArray().Sum(s => s.GetProperty("activationCount").GetInt32());
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            // Recorded as missing; the trend is computed over the samples that have it.
        }

        return new ProcessSample(seconds, rssKb / 1024.0, fds, threads, activations);
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
