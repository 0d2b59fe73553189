namespace OrleansLocks.Cli;

/// <summary>The `locks` tool's entry point.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Buffered standard output: `simulate` prints thousands of lines a second and flushes them every 100 ms.
        await using var stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = false };
        return await LocksCli.InvokeAsync(args, stdout, Console.Error);
    }
}
