using System.Collections.Concurrent;

namespace OrleansLocks.Silo.Storage;

/// <summary>The SQL scripts shipped as embedded resources (the same files DBAs can run by hand).</summary>
internal static class SchemaScripts
{
    private static readonly ConcurrentDictionary<string, string> Cache = new(StringComparer.Ordinal);

    /// <summary>The text of the embedded script whose file name is <paramref name="fileName"/>.</summary>
    public static string Load(string fileName) => Cache.GetOrAdd(fileName, static name =>
    {
        var assembly = typeof(SchemaScripts).Assembly;
        var resource = assembly.GetManifestResourceNames().SingleOrDefault(n => n.EndsWith("." + name, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"The embedded script {name} is missing from {assembly.GetName().Name}.");
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });
}
