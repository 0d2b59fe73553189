using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Hosting;
using OrleansLocks.Silo.Runtime;
using OrleansLocks.Testing;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>A started single-silo host with the test grain, the in-memory storage double and (by default) a manual clock.</summary>
internal sealed class TestSilo : IAsyncDisposable
{
    public const string GrainType = "test";

    private bool _stopped;

    private TestSilo(IHost host, ManualTimeProvider? time)
    {
        Host = host;
        Time = time;
    }

    public IHost Host { get; }

    public ManualTimeProvider? Time { get; }

    public ManualTimeProvider Clock => Time ?? throw new InvalidOperationException("This silo runs on the system clock.");

    public IServiceProvider Services => Host.Services;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public Catalog Catalog => Services.GetRequiredService<Catalog>();

    public ILocalSiloDetails Silo => Services.GetRequiredService<ILocalSiloDetails>();

    public TestGrainProbe Probe => Services.GetRequiredService<TestGrainProbe>();

    public InMemoryGrainStorage Storage => Services.GetRequiredService<InMemoryGrainStorage>();

    public static GrainId Id(string key) => new(GrainType, key);

    public static async Task<TestSilo> StartAsync(
        IDictionary<string, string?>? configuration = null,
        bool manualClock = true,
        Action<IServiceCollection>? configureServices = null)
    {
        var host = Build(configuration, manualClock, configureServices, out var time);
        await host.StartAsync();
        return new TestSilo(host, time);
    }

    public static IHost Build(
        IDictionary<string, string?>? configuration,
        bool manualClock,
        Action<IServiceCollection>? configureServices,
        out ManualTimeProvider? time)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Silo:SiloName"] = "test-silo",
        });
        if (configuration is not null)
        {
            builder.Configuration.AddInMemoryCollection(configuration);
        }

        time = manualClock ? new ManualTimeProvider() : null;
        if (time is not null)
        {
            builder.Services.AddSingleton<TimeProvider>(time);
        }

        builder.Services.AddSingleton<TestGrainProbe>();
        builder.Services.AddSingleton<InMemoryGrainStorage>();
        builder.Services.AddSingleton<IGrainStorage>(sp => sp.GetRequiredService<InMemoryGrainStorage>());
        builder.Services.AddGrainRuntime(builder.Configuration);
        builder.Services.AddGrain<ITestGrain, TestGrain>(GrainType);
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    public ITestGrain Grain(string key) => Grains.GetGrain<ITestGrain>(key);

    public async Task StopAsync()
    {
        _stopped = true;
        await Host.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            await StopAsync();
        }

        Host.Dispose();
    }
}
