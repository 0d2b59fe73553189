using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests;

/// <summary>Api settings are validated at start-up, naming the bad setting; anonymous admin works and is warned about.</summary>
public sealed class ApiOptionsTests
{
    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "Api:AdminKeyHashes:0", "not-a-hash", "Api:AdminKeyHashes:0" },
        { "Api:AdminKeyHashes:0", new string('g', 64), "Api:AdminKeyHashes:0" },
        { "Api:MaxRequestBodyBytes", "10", "Api:MaxRequestBodyBytes" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task Start_InvalidSetting_FailsNamingIt(string key, string value, string named)
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
        await using var factory = new LockServiceFactory(database, new Dictionary<string, string?> { [key] = value });

        var error = Assert.ThrowsAny<Exception>(() => factory.Server);

        var validation = error as OptionsValidationException ?? error.InnerException as OptionsValidationException
            ?? throw new Xunit.Sdk.XunitException($"Expected an options validation failure; got {error}");
        Assert.True(validation.Message.Contains(named, StringComparison.Ordinal), $"The failure should name {named}: {error}");
    }

    [Fact]
    public async Task ForceRelease_AnonymousAdminAllowed_SucceedsWithoutKeyAndWarnsAtStart()
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
        await using var factory = new LockServiceFactory(database, new Dictionary<string, string?> { ["Api:AllowAnonymousAdmin"] = "true" });
        using var client = new LockClient(factory.CreateClient());
        var name = $"anon-{Guid.NewGuid():N}";
        (await client.AcquireAsync(name, new { })).Expect(HttpStatusCode.OK);

        (await client.ForceReleaseAsync(name, "dev box", adminKey: null)).Expect(HttpStatusCode.NoContent);

        Assert.Contains(factory.Logs.Entries, e => e.EventId.Id == 4012 && e.Level == LogLevel.Warning);
        Assert.Contains(factory.Logs.Entries, e => e.EventId.Id == 4010 && e.Message.Contains("anonymous", StringComparison.Ordinal));
    }
}
