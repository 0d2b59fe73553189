using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace OrleansLocks.Deploy.Tests;

/// <summary>
/// Renders the kustomize overlays under deploy/kubernetes with kubectl and validates them with
/// deploy/kubernetes/validate/validate.mjs (the npm package kubernetes-models), whose dependencies are installed with
/// `npm ci` into a cache directory on first use.
/// </summary>
internal static class KubernetesManifests
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(5);
    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private static string? _validatorDirectory;

    public static string KubernetesDirectory => Repository.PathOf("deploy", "kubernetes");

    public static string OverlayDirectory(string overlay) => Path.Combine(KubernetesDirectory, "overlays", overlay);

    public static string Kubectl => Tool.Require("kubectl", "Install kubectl 1.21 or later (kustomize v4+ inside)");

    public static string Node => Tool.Require("node", "Install Node.js 18 or later (apt-get install nodejs npm)");

    /// <summary>`kubectl kustomize` of the overlay: multi-document YAML.</summary>
    public static async Task<string> RenderAsync(string overlay)
    {
        var result = await Tool.RunAsync(Kubectl, ["kustomize", OverlayDirectory(overlay)], ToolTimeout);
        Assert.True(result.ExitCode == 0, result.Describe($"kubectl kustomize {overlay}"));
        return result.StandardOutput;
    }

    /// <summary>The Secrets an overlay expects to exist already (overlays/NAME/external-secrets.txt).</summary>
    public static IReadOnlyList<string> ExternalSecrets(string overlay)
    {
        var file = Path.Combine(OverlayDirectory(overlay), "external-secrets.txt");
        return File.Exists(file)
            ? [.. File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))]
            : [];
    }

    /// <summary>Runs validate.mjs on <paramref name="manifests"/>.</summary>
    public static async Task<ToolResult> ValidateAsync(string manifests, string label, IEnumerable<string> externalSecrets, string? dumpFile = null)
    {
        var directory = await ValidatorDirectoryAsync();
        List<string> arguments = [Path.Combine(directory, "validate.mjs"), "--name", label];
        foreach (var secret in externalSecrets)
        {
            arguments.AddRange(["--external-secret", secret]);
        }

        if (dumpFile is not null)
        {
            arguments.AddRange(["--dump", dumpFile]);
        }

        return await Tool.RunAsync(Node, arguments, ToolTimeout, workingDirectory: directory, standardInput: manifests);
    }

    /// <summary>The overlay rendered, validated, and parsed (every object as JSON).</summary>
    public static async Task<IReadOnlyList<JsonObject>> LoadAsync(string overlay)
    {
        var manifests = await RenderAsync(overlay);
        var dump = Path.Combine(Path.GetTempPath(), $"orleanslocks-{overlay}-{Guid.NewGuid():N}.json");
        try
        {
            var result = await ValidateAsync(manifests, overlay, ExternalSecrets(overlay), dump);
            Assert.True(result.ExitCode == 0, result.Describe($"validate.mjs {overlay}"));
            return [.. JsonNode.Parse(await File.ReadAllTextAsync(dump))!.AsArray().Select(n => n!.AsObject())];
        }
        finally
        {
            File.Delete(dump);
        }
    }

    /// <summary>
    /// A directory holding validate.mjs with its node_modules installed by `npm ci` from the pinned package-lock.json:
    /// under $ORLEANSLOCKS_DEPLOY_CACHE, or ~/.cache/orleanslocks/deploy-validate, keyed by the hash of the three files,
    /// so a changed lock file or script gets a fresh install and an unchanged one is installed once per machine.
    /// </summary>
    private static async Task<string> ValidatorDirectoryAsync()
    {
        await InstallGate.WaitAsync();
        try
        {
            if (_validatorDirectory is not null)
            {
                return _validatorDirectory;
            }

            string[] files = ["package.json", "package-lock.json", "validate.mjs"];
            var source = Path.Combine(KubernetesDirectory, "validate");
            var contents = new StringBuilder();
            foreach (var file in files)
            {
                contents.Append(file).Append('\0').Append(await File.ReadAllTextAsync(Path.Combine(source, file))).Append('\0');
            }

            var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(contents.ToString())))[..16];
            var cacheRoot = Environment.GetEnvironmentVariable("ORLEANSLOCKS_DEPLOY_CACHE") is { Length: > 0 } given
                ? given
                : Path.Combine(
                    Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
                        ? xdg
                        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
                    "orleanslocks",
                    "deploy-validate");
            var target = Path.Combine(cacheRoot, key);
            if (!File.Exists(Path.Combine(target, ".installed")))
            {
                var npm = Tool.Require("npm", "Install npm (apt-get install npm, or Node.js with its npm)");
                var staging = $"{target}.{Guid.NewGuid():N}";
                Directory.CreateDirectory(staging);
                foreach (var file in files)
                {
                    File.Copy(Path.Combine(source, file), Path.Combine(staging, file));
                }

                var install = await Tool.RunAsync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], ToolTimeout, workingDirectory: staging);
                if (install.ExitCode != 0)
                {
                    Directory.Delete(staging, recursive: true);
                    Assert.Fail(install.Describe($"npm ci in {staging}"));
                }

                await File.WriteAllTextAsync(Path.Combine(staging, ".installed"), DateTime.UtcNow.ToString("O"));
                if (Directory.Exists(target))
                {
                    Directory.Delete(target, recursive: true);   // a half-installed one from an interrupted run
                }

                Directory.Move(staging, target);
                PruneOldInstalls(cacheRoot, keep: target);
            }

            _validatorDirectory = target;
            return target;
        }
        finally
        {
            InstallGate.Release();
        }
    }

    // Installs of earlier versions of the validator (other keys) unused for a week: another checkout may still use a
    // recent one.
    private static void PruneOldInstalls(string cacheRoot, string keep)
    {
        foreach (var directory in Directory.GetDirectories(cacheRoot))
        {
            var marker = Path.Combine(directory, ".installed");
            if (directory != keep && File.Exists(marker) && File.GetLastWriteTimeUtc(marker) < DateTime.UtcNow.AddDays(-7))
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // In use or already gone: the next install tries again.
                }
            }
        }
    }
}
