using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Hosting;
using Xunit.Abstractions;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>Runs alone: it measures the managed heap, which other tests would disturb.</summary>
[CollectionDefinition(nameof(ActivationMemoryTests), DisableParallelization = true)]
public sealed class ActivationMemoryCollection;

/// <summary>
/// What one activation costs in memory. Millions of lock names may be active, and a held lock (runtime overhead plus
/// the lock's own state) should stay under 2 KB, so the runtime's share must stay well below that.
/// </summary>
[Collection(nameof(ActivationMemoryTests))]
public sealed class ActivationMemoryTests(ITestOutputHelper output)
{
    private const int Activations = 5_000;

    [Fact]
    public async Task Activation_LeanGrainWithStateAndArmedKeepAliveTimer_RetainsUnderOneKilobyte()
    {
        await using var silo = await TestSilo.StartAsync(manualClock: false, configureServices: services =>
        {
            services.AddSingleton<IGrainStorage, RetainNothingGrainStorage>();
            services.AddGrain<ILeanGrain, LeanGrain>("lean");
        });
        await ActivateAsync(silo, "warm-up", 200);

        var before = GC.GetTotalMemory(forceFullCollection: true);
        await ActivateAsync(silo, "measured", Activations);
        var after = GC.GetTotalMemory(forceFullCollection: true);

        var perActivation = (after - before) / Activations;
        output.WriteLine($"Retained per activation (catalog entry, activation, grain, persistent state, System timer): {perActivation} bytes");
        Assert.Equal(Activations + 200, silo.Catalog.ActivationCount);
        Assert.InRange(perActivation, 1, 1024);
    }

    private static async Task ActivateAsync(TestSilo silo, string prefix, int count)
    {
        for (var batch = 0; batch < count; batch += 500)
        {
            await Task.WhenAll(Enumerable.Range(batch, Math.Min(500, count - batch))
                .Select(i => silo.Grains.GetGrain<ILeanGrain>($"{prefix}-{i}").TouchAsync()));
        }
    }
}

/// <summary>Shaped like a held lock: one small persisted state written on each call and one armed keep-alive timer.</summary>
public interface ILeanGrain : IGrainWithStringKey
{
    Task TouchAsync();
}

public sealed class LeanState
{
    public long Touched { get; set; }
}

public sealed class LeanGrain : Grain, ILeanGrain
{
    private readonly IPersistentState<LeanState> _state;
    private IGrainTimer? _timer;

    public LeanGrain(IGrainContext context)
        : base(context)
        => _state = context.GetPersistentState<LeanState>("lean");

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _timer = GrainContext.RegisterGrainTimer(OnTimerAsync, TimeSpan.FromHours(1), TimeSpan.FromHours(1), keepAlive: true);
        return Task.CompletedTask;
    }

    public async Task TouchAsync()
    {
        _state.State.Touched++;
        await _state.WriteStateAsync();
    }

    private Task OnTimerAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Storage that keeps nothing, so that the measurement shows what the silo itself retains.</summary>
public sealed class RetainNothingGrainStorage : IGrainStorage
{
    public Task ReadStateAsync<TState>(string stateName, GrainId grainId, IGrainState<TState> grainState, CancellationToken cancellationToken = default)
    {
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<TState>(string stateName, GrainId grainId, IGrainState<TState> grainState, CancellationToken cancellationToken = default)
    {
        grainState.ETag = "1";
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }
}
