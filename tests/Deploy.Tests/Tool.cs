using System.Diagnostics;
using System.Text;

namespace OrleansLocks.Deploy.Tests;

/// <summary>The outcome of a finished process.</summary>
internal sealed record ToolResult(int ExitCode, string StandardOutput, string StandardError)
{
    public string Describe(string what) =>
        $"{what} exited with {ExitCode}.{Environment.NewLine}stdout:{Environment.NewLine}{StandardOutput}{Environment.NewLine}stderr:{Environment.NewLine}{StandardError}";
}

/// <summary>
/// Runs the command-line tools the deployment checks need (kubectl, node, npm, yamllint, bash). A tool that is not
/// installed fails the test with a message saying how to get it: scripts/test.sh installs every one of them, so a
/// missing tool is a broken environment, never a reason to skip.
/// </summary>
internal static class Tool
{
    /// <summary>The full path of <paramref name="name"/> on PATH; fails the test when it is not there.</summary>
    public static string Require(string name, string howToInstall)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail($"'{name}' is not on PATH, and this check needs it. {howToInstall} (scripts/test.sh installs it when missing).");
        return name;
    }

    /// <summary>Runs <paramref name="fileName"/> to completion (killing it after <paramref name="timeout"/>).</summary>
    public static async Task<ToolResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? workingDirectory = null,
        string? standardInput = null,
        IDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (error) { error.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        process.StandardInput.Close();

        using var bounded = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(bounded.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{fileName} {string.Join(' ', start.ArgumentList)} did not finish within {timeout.TotalSeconds:0} s.{Environment.NewLine}{output}{error}");
        }

        // WaitForExitAsync also waits for the end of the redirected streams.
        return new ToolResult(process.ExitCode, output.ToString(), error.ToString());
    }
}
