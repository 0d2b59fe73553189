using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansLocks.Grains;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Runtime;

namespace OrleansLocks.Cluster.Tests;

/// <summary>Misconfiguration is a start-up error that names the setting; a single silo stays a single silo.</summary>
public sealed class ClusterConfigurationTests
{
    [Fact]
    public void ClusterMembershipOptions_Defaults_AreValid()
        => Assert.True(new ClusterMembershipOptionsValidator().Validate(null, new ClusterMembershipOptions()).Succeeded);

    [Theory]
    [InlineData("ProbeTimeout", "00:00:00", "Cluster:ProbeTimeout")]
    [InlineData("NumMissedProbesLimit", "0", "Cluster:NumMissedProbesLimit")]
    [InlineData("NumVotesForDeathDeclaration", "0", "Cluster:NumVotesForDeathDeclaration")]
    [InlineData("DeathVoteExpirationTimeout", "00:00:03", "Cluster:DeathVoteExpirationTimeout")]
    [InlineData("TableRefreshTimeout", "-00:00:01", "Cluster:TableRefreshTimeout")]
    [InlineData("PostgresConnectionString", "Port=5432", "Cluster:PostgresConnectionString must name a Host")]
    [InlineData("PostgresConnectionString", "Nonsense Keyword=1", "Cluster:PostgresConnectionString is not a valid")]
    public void ClusterMembershipOptions_BadSetting_IsNamed(string setting, string value, string expected)
    {
        var options = Bind<ClusterMembershipOptions>("Cluster", setting, value);

        var result = new ClusterMembershipOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SiloPort", "70000", "Silo:SiloPort")]
    [InlineData("SiloPort", "-1", "Silo:SiloPort")]
    [InlineData("AdvertisedAddress", "0.0.0.0", "Silo:AdvertisedAddress")]
    [InlineData("AdvertisedAddress", "not a host!", "Silo:AdvertisedAddress")]
    [InlineData("ListenAddress", "everywhere", "Silo:ListenAddress")]
    public void SiloOptions_BadClusterSetting_IsNamed(string setting, string value, string expected)
    {
        var result = new SiloOptionsValidator().Validate(null, Bind<SiloOptions>("Silo", setting, value));

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_BadClusterId_FailsNamingIt()
    {
        using var host = Build(new() { ["Silo:ClusterId"] = "my cluster", ["Storage:Provider"] = "Memory" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("ClusterId", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ClusterOnSqlite_FailsNamingTheSettings()
    {
        using var host = Build(new() { ["Cluster:Enabled"] = "true", ["Storage:Provider"] = "Sqlite", ["Storage:SqlitePath"] = Path.GetTempFileName() });

        var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("Cluster:Enabled", error.Message, StringComparison.Ordinal);
        Assert.Contains("Storage:Provider", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ClusterWithoutAMembershipDatabase_FailsNamingTheSettings()
    {
        using var host = Build(new() { ["Cluster:Enabled"] = "true", ["Storage:Provider"] = "Memory", ["Silo:SiloPort"] = "0" });

        var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("Cluster:PostgresConnectionString", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_SiloPortInUse_FailsNamingTheSetting()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        using var host = Build(new()
        {
            ["Cluster:Enabled"] = "true",
            ["Storage:Provider"] = "Memory",
            ["Silo:SiloPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Silo:ListenAddress"] = "127.0.0.1",
        }, services => services.AddSingleton<IMembershipTable>(new InMemoryMembershipTable()));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("Silo:SiloPort", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ClusterMode_PostgresStorage_IsClusteredUnlessDisabled()
    {
        Assert.True(Mode(new() { ["Storage:Provider"] = "Postgres", ["Storage:PostgresConnectionString"] = "Host=db" }));
        Assert.False(Mode(new() { ["Storage:Provider"] = "Postgres", ["Storage:PostgresConnectionString"] = "Host=db", ["Cluster:Enabled"] = "false" }));
        Assert.False(Mode(new() { ["Storage:Provider"] = "Memory" }));
        Assert.False(Mode([]));
    }

    [Fact]
    public async Task Start_SingleSilo_RoutesThroughTheCatalogAndJoinsNothing()
    {
        using var host = Build(new() { ["Storage:Provider"] = "Memory" });
        await host.StartAsync();
        try
        {
            Assert.IsType<Catalog>(host.Services.GetRequiredService<IGrainCallRouter>());
            var silos = await host.Services.GetRequiredService<IClusterManagement>().GetSilosAsync();
            var only = Assert.Single(silos);
            Assert.Equal("local", only.Address);
            Assert.Equal(OrleansLocks.Silo.SiloStatus.Active, only.Status);
            Assert.Equal(AcquireStatus.Granted, (await host.Services.GetRequiredService<Runtime.IGrainFactory>().GetGrain<ILockGrain>("solo")
                .AcquireAsync(new AcquireCommand { Mode = LockMode.Exclusive, Owner = "me", Ttl = TimeSpan.FromSeconds(5), RequestId = "r" })).Status);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static bool Mode(Dictionary<string, string?> settings)
    {
        using var host = Build(settings);
        return host.Services.GetRequiredService<ClusterMode>().Enabled;
    }

    private static T Bind<T>(string section, string setting, string value)
        where T : new()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [$"{section}:{setting}"] = value }).Build();
        var options = new T();
        configuration.GetSection(section).Bind(options);
        return options;
    }

    private static IHost Build(Dictionary<string, string?> settings, Action<IServiceCollection>? configureServices = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Silo:ClusterSecret"] = OrleansLocks.Testing.TestSecrets.ClusterSecret });
        builder.Configuration.AddInMemoryCollection(settings);
        configureServices?.Invoke(builder.Services);
        builder.Services.AddGrainRuntime(builder.Configuration).AddGrainStorage(builder.Configuration).AddLockGrains(builder.Configuration);
        return builder.Build();
    }
}
