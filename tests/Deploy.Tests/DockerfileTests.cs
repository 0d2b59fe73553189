using System.Text.RegularExpressions;

namespace OrleansLocks.Deploy.Tests;

/// <summary>
/// deploy/docker/Dockerfile cannot be built here (no Docker engine); these checks keep it in step with the repository:
/// what it copies and publishes exists, it starts the right assemblies, on the official images, as a non-root user.
/// </summary>
public sealed partial class DockerfileTests
{
    private static readonly string DockerfilePath = Repository.PathOf("deploy", "docker", "Dockerfile");

    private static string[] Instructions()
    {
        // Joins continuation lines and drops comments: one Dockerfile instruction per element.
        var text = File.ReadAllText(DockerfilePath).Replace("\\\n", " ", StringComparison.Ordinal);
        return [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
    }

    [Fact]
    public void Copy_EverySourceFromTheContext_Exists()
    {
        var copies = Instructions().Where(i => i.StartsWith("COPY ", StringComparison.Ordinal) && !i.Contains("--from=", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(copies);
        foreach (var copy in copies)
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
            foreach (var source in parts[..^1])
            {
                var path = Repository.PathOf(source.TrimEnd('/').Split('/'));
                Assert.True(File.Exists(path) || Directory.Exists(path), $"{copy}: {source} is not in the repository");
            }
        }
    }

    [Fact]
    public void Publish_EveryProject_ExistsAndItsAssemblyIsAnEntryPoint()
    {
        var instructions = Instructions();
        var projects = instructions.SelectMany(i => ProjectPattern().Matches(i).Select(m => m.Groups[1].Value)).Distinct().ToList();
        Assert.Contains("Api/Api.csproj", projects);
        Assert.Contains("Silo/Silo.csproj", projects);
        foreach (var project in projects)
        {
            Assert.True(File.Exists(Repository.PathOf(project.Split('/'))), $"{project} does not exist");
        }

        // Assembly names are OrleansLocks.<Project> (Directory.Build.props).
        var entryPoints = instructions.Where(i => i.StartsWith("ENTRYPOINT ", StringComparison.Ordinal)).ToList();
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"OrleansLocks.Api.dll\"]", entryPoints);
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"OrleansLocks.Silo.dll\"]", entryPoints);
        Assert.Contains("<AssemblyName>OrleansLocks.$(MSBuildProjectName)</AssemblyName>", File.ReadAllText(Repository.PathOf("Directory.Build.props")), StringComparison.Ordinal);
    }

    [Fact]
    public void Images_OfficialDotnet10_NonRootWithHealthCheck()
    {
        var instructions = Instructions();
        var bases = instructions.Where(i => i.StartsWith("FROM ", StringComparison.Ordinal)).Select(i => i.Split(' ')[1]).ToList();
        Assert.Contains("mcr.microsoft.com/dotnet/sdk:10.0", bases);
        Assert.Contains("mcr.microsoft.com/dotnet/aspnet:10.0", bases);
        Assert.All(bases, b => Assert.True(b.StartsWith("mcr.microsoft.com/dotnet/", StringComparison.Ordinal) || b is "runtime", $"unexpected base image {b}"));

        // USER and HEALTHCHECK are set in the runtime stage both final stages build on, which must come after them.
        var runtime = Array.FindIndex(instructions, i => i.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime", StringComparison.Ordinal));
        var user = Array.FindIndex(instructions, i => i.StartsWith("USER ", StringComparison.Ordinal));
        var health = Array.FindIndex(instructions, i => i.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
        Assert.True(runtime >= 0 && user > runtime && health > runtime, "USER and HEALTHCHECK belong to the runtime stage");
        Assert.Equal("USER $APP_UID", instructions[user]);
        Assert.Contains("/health/ready", instructions[health], StringComparison.Ordinal);
        Assert.All(
            instructions.Where(i => i.StartsWith("FROM runtime AS ", StringComparison.Ordinal)),
            i => Assert.True(Array.IndexOf(instructions, i) > user));
        Assert.DoesNotContain(instructions, i => i.StartsWith("USER root", StringComparison.Ordinal) || i == "USER 0");

        Assert.True(File.Exists(Repository.PathOf("deploy", "docker", "Dockerfile.dockerignore")), "the Dockerfile's ignore file is missing");
    }

    [GeneratedRegex(@"(?:restore|publish) ([A-Za-z.]+/[A-Za-z.]+\.csproj)")]
    private static partial Regex ProjectPattern();
}
