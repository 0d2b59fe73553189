using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLocks.Api.Tests.Infrastructure;
using OrleansLocks.Testing;

namespace OrleansLocks.Api.Tests;

/// <summary>Api and Security settings are validated at start-up, naming the bad setting; anonymous access works and is warned about.</summary>
public sealed class ApiOptionsTests
{
    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "Api:MaxRequestBodyBytes", "10", "Api:MaxRequestBodyBytes" },
        { "Security:ApiKeys:0:KeyHash", "not-a-hash", "Security:ApiKeys:0:KeyHash" },
        { "Security:ApiKeys:0:KeyHash", new string('g', 64), "Security:ApiKeys:0:KeyHash" },
        { "Security:ApiKeys:0:Roles:0", "superuser", "Security:ApiKeys:0:Roles:0" },
        { "Security:ApiKeys:1:Prefixes:0", "orders/", "Security:ApiKeys:1:Prefixes:0" },
        { "Security:ApiKeys:1:Name", "test-client", "Security:ApiKeys:1:Name" },
        { "Security:Jwt:Audience", "locks", "Security:Jwt" },
        { "Security:Jwt:SigningKey", "c2hvcnQ=", "Security:Jwt:Audience" },
        { "Security:RateLimit:TokenLimit", "-1", "Security:RateLimit:TokenLimit" },
        { "Security:MaxLeasesPerPrincipalPerLock", "-1", "Security:MaxLeasesPerPrincipalPerLock" },
        { "Api:AdminKeyHashes:0", new string('a', 64), "Api:AdminKeyHashes" },
        { "Api:AllowAnonymousAdmin", "true", "Api:AllowAnonymousAdmin" },
        { "Silo:ClusterSecret", "too-short", "Silo:ClusterSecret" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task Start_InvalidSetting_FailsNamingIt(string key, string value, string named)
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
        await using var factory = new LockServiceFactory(database, new Dictionary<string, string?> { [key] = value });

        AssertStartFailsNaming(factory, named);
    }

    [Fact]
    public async Task Start_NoWayToAuthenticate_FailsNamingTheSettings()
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
        await using var factory = new LockServiceFactory(database, configureApiKeys: false);

        AssertStartFailsNaming(factory, "Security:AllowAnonymous");
    }

    [Fact]
    public async Task Start_ClusterWithoutSecretOutsideDevelopment_FailsNamingIt()
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
        await using var factory = new LockServiceFactory(database, new Dictionary<string, string?> { ["Silo:ClusterSecret"] = null });

        AssertStartFailsNaming(factory, "Silo:ClusterSecret");
    }

    [Fact]
    public async Task ForceRelease_AnonymousAllowed_SucceedsWithoutKeyAndWarnsAtStart()
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
        await using var factory = new LockServiceFactory(database, new Dictionary<string, string?> { ["Security:AllowAnonymous"] = "true" });
        using var client = new LockClient(factory.Server.CreateClient());
        var name = $"anon-{Guid.NewGuid():N}";
        (await client.AcquireAsync(name, new { })).Expect(HttpStatusCode.OK);

        (await client.ForceReleaseAsync(name, "dev box", adminKey: null)).Expect(HttpStatusCode.NoContent);

        Assert.Contains(factory.Logs.Entries, e => e.EventId.Id == 4500 && e.Level == LogLevel.Warning);
        Assert.Contains(factory.Logs.Entries, e => e.EventId.Id == 4010 && e.Message.Contains("anonymous", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Request_AnonymousAllowedButBadKey_Answers401()
    {
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api");
        await using var factory = new LockServiceFactory(database, new Dictionary<string, string?> { ["Security:AllowAnonymous"] = "true" });
        using var client = new LockClient(factory.Server.CreateClient());

        var response = await client.SendAsync(HttpMethod.Get, "/locks/anything", headers: new Dictionary<string, string> { ["X-Api-Key"] = "typo" });

        Assert.Equal(HttpStatusCode.Unauthorized, response.Expect(HttpStatusCode.Unauthorized).Status);
        Assert.Equal("unauthorized", response.Code);
    }

    private static void AssertStartFailsNaming(LockServiceFactory factory, string named)
    {
        var error = Assert.ThrowsAny<Exception>(() => factory.Server);

        var validation = error as OptionsValidationException ?? error.InnerException as OptionsValidationException
            ?? (error as AggregateException)?.InnerExceptions.OfType<OptionsValidationException>().FirstOrDefault()
            ?? throw new Xunit.Sdk.XunitException($"Expected an options validation failure; got {error}");
        Assert.True(error.ToString().Contains(named, StringComparison.Ordinal), $"The failure should name {named}: {error}");
        _ = validation;
    }
}
