namespace OrleansLocks.Deploy.Tests;

/// <summary>Paths in the repository this test assembly was built from.</summary>
internal static class Repository
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The repository root: the directory above the test output that holds OrleansLocks.sln.</summary>
    public static string Root => LazyRoot.Value;

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "OrleansLocks.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No OrleansLocks.sln above {AppContext.BaseDirectory}.");
    }
}
