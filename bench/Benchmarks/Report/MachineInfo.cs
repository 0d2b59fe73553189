using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using OrleansLocks.Benchmarks.Harness;

namespace OrleansLocks.Benchmarks.Report;

/// <summary>The machine and the versions a run measured, so that figures are never quoted without them.</summary>
internal static partial class MachineInfo
{
    public static List<(string What, string Value)> Read(string workDirectory)
    {
        var info = new List<(string, string)>
        {
            ("cores (nproc)", Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("CPU", FirstValue("/proc/cpuinfo", "model name") ?? "?"),
            ("memory", FirstValue("/proc/meminfo", "MemTotal") is { } kb ? $"{Kb(kb) / 1024 / 1024.0:N1} GiB" : "?"),
            ("OS", OsName()),
            ("kernel", ReadOr("/proc/sys/kernel/osrelease", "?").Trim()),
            (".NET", RuntimeInformation.FrameworkDescription),
        };
        try
        {
            var fsync = FsyncLatency(workDirectory);
            info.Add(("fdatasync of one 8 kB block rewritten in place (work dir; p50 / p99 of 200)", $"{fsync.Percentile(0.5) / 1000.0:N0} µs / {fsync.Percentile(0.99) / 1000.0:N0} µs"));
        }
        catch (IOException e)
        {
            info.Add(("fdatasync of one 8 kB block", $"not measured: {e.Message}"));
        }

        return info;
    }

    /// <summary>
    /// What a WAL commit costs the disk: an 8 kB block of an already allocated file rewritten and flushed with
    /// fdatasync (no size change, so no journal commit), as PostgreSQL's default wal_sync_method does.
    /// </summary>
    /// <summary>
    /// The 1/5/15-minute load averages: this run's own processes count too, but a value well above the client
    /// count of the busiest cell says that something else was using the two cores during the run.
    /// </summary>
    public static string LoadAverage()
        => File.Exists("/proc/loadavg") ? string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static Histogram FsyncLatency(string directory)
    {
        var path = Path.Combine(directory, "fsync-probe.bin");
        var block = new byte[8192];
        var histogram = new Histogram();
        try
        {
            using var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
            RandomAccess.Write(file, block, 0);
            RandomAccess.FlushToDisk(file);
            for (var i = 0; i < 200; i++)
            {
                var began = Stopwatch.GetTimestamp();
                RandomAccess.Write(file, block, 0);
                DataSync(file);
                histogram.Record(ClosedLoop.Nanoseconds(Stopwatch.GetTimestamp() - began));
            }
        }
        finally
        {
            File.Delete(path);
        }

        return histogram;
    }

    private static string OsName()
    {
        var line = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))
            : null;
        return line?["PRETTY_NAME=".Length..].Trim('"') ?? RuntimeInformation.OSDescription;
    }

    private static string? FirstValue(string path, string key)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        return line?[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    private static long Kb(string value) => long.Parse(value.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static string ReadOr(string path, string fallback) => File.Exists(path) ? File.ReadAllText(path) : fallback;

    private static void DataSync(SafeFileHandle file)
    {
        if (Fdatasync(file) != 0)
        {
            throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int Fdatasync(SafeFileHandle fd);
}
