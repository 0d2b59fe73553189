using System.Collections.Concurrent;
using System.Diagnostics;
using OrleansLocks.Runtime;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>A base grain interface, to check that inherited methods are callable through a reference.</summary>
public interface ITestGrainBase : IGrainWithStringKey
{
    Task<string> EchoAsync(string value);
}

/// <summary>The grain the runtime tests drive; <see cref="TestGrainProbe"/> observes it from outside.</summary>
public interface ITestGrain : ITestGrainBase
{
    /// <summary>Read-modify-write of the persisted counter; returns the new value.</summary>
    Task<int> IncrementAsync();

    /// <summary>The counter as this activation holds it in memory.</summary>
    Task<int> GetCountAsync();

    /// <summary>A number unique to this activation instance.</summary>
    Task<int> GetActivationNumberAsync();

    /// <summary>Enters, yields a few times, leaves; records how many calls were inside at once.</summary>
    Task TrackConcurrencyAsync();

    Task AppendAsync(int value);

    Task<int[]> GetAppendedAsync();

    /// <summary>Holds its turn until the probe opens <paramref name="gate"/>.</summary>
    Task BlockAsync(string gate);

    [AlwaysInterleave]
    Task<int> PingAsync();

    /// <summary>Waits, interleaved, until a turn calls <see cref="SignalAsync"/> — the shape of the lock's WaitAsync/ReleaseAsync.</summary>
    [AlwaysInterleave]
    Task WaitForSignalAsync();

    Task SignalAsync();

    /// <summary>Burns CPU in slices between awaits and flags any other grain code running at the same time.</summary>
    Task SpinAsync();

    [AlwaysInterleave]
    Task SpinInterleavedAsync();

    Task StartTimerAsync(TimeSpan dueTime, TimeSpan period, bool keepAlive, bool writeOnTick);

    Task StopTimerAsync();

    Task<int> GetTimerTicksAsync();

    Task DeactivateAsync();

    Task ThrowAsync(string message);

    /// <summary>The trace id of the Activity current while the call runs (null when none).</summary>
    Task<string?> GetTraceIdAsync();

    /// <summary>
    /// The shape of a lock grain's commit: increments and writes the counter, then arms a timer (as the lock re-arms
    /// its deadline timer after every commit); holds its turn on <paramref name="gate"/> before the write, or after
    /// it when <paramref name="gateAfterWrite"/>.
    /// </summary>
    Task<int> CommitAndArmTimerAsync(string gate, bool gateAfterWrite);

    /// <summary>Writes the state <paramref name="writes"/> times; for each, whether the turn resumed on its own activation's scheduler.</summary>
    Task<bool[]> WriteReportingSchedulerAsync(int writes);
}

/// <summary>The persisted state of <see cref="TestGrain"/>.</summary>
public sealed class CounterState
{
    public int Count { get; set; }
}

/// <summary>Observes test grains from outside and steers their activation.</summary>
public sealed class TestGrainProbe
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private int _activationNumbers;
    private int _maxConcurrency;
    private int _parallelGrainCode;

    public ConcurrentQueue<(string Key, int Activation)> Activations { get; } = new();

    public ConcurrentQueue<(string Key, int Activation, DeactivationReason Reason)> Deactivations { get; } = new();

    /// <summary>Events in the order grains recorded them (e.g. "k:tick", "k:block-end").</summary>
    public ConcurrentQueue<string> Events { get; } = new();

    /// <summary>When set, timer ticks wait for this gate (see <see cref="Gate"/>).</summary>
    public string? TickGate { get; set; }

    /// <summary>Makes OnDeactivateAsync try to persist, which the runtime must refuse.</summary>
    public bool WriteOnDeactivate { get; set; }

    /// <summary>Runs in OnActivateAsync; may throw or block to test activation failures.</summary>
    public Func<string, CancellationToken, Task>? OnActivate { get; set; }

    public int MaxConcurrency => Volatile.Read(ref _maxConcurrency);

    public int ParallelGrainCode => Volatile.Read(ref _parallelGrainCode);

    public int NextActivationNumber() => Interlocked.Increment(ref _activationNumbers);

    public Task Gate(string name) => _gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Open(string name) => _gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public void RecordConcurrency(int inside)
    {
        int max;
        while (inside > (max = Volatile.Read(ref _maxConcurrency)) && Interlocked.CompareExchange(ref _maxConcurrency, inside, max) != max)
        {
        }
    }

    public void RecordParallelGrainCode() => Interlocked.Increment(ref _parallelGrainCode);

    public int ActivationsOf(string key) => Activations.Count(a => a.Key == key);

    public IEnumerable<DeactivationReasonCode> DeactivationsOf(string key)
        => Deactivations.Where(d => d.Key == key).Select(d => d.Reason.ReasonCode);
}

/// <summary>The test grain. Its constructor takes a service from DI besides the context, as real grains do.</summary>
public sealed class TestGrain : Grain, ITestGrain
{
    public const string StateName = "counter";

    private readonly IPersistentState<CounterState> _state;
    private readonly TestGrainProbe _probe;
    private readonly List<int> _appended = [];
    private readonly int _activationNumber;
    private TaskCompletionSource _signal = new();
    private IGrainTimer? _timer;
    private int _ticks;
    private int _inside;
    private int _executing;

    public TestGrain(IGrainContext context, TestGrainProbe probe)
        : base(context)
    {
        _probe = probe;
        _state = context.GetPersistentState<CounterState>(StateName);
        _activationNumber = probe.NextActivationNumber();
    }

    private string Key => GrainId.Key;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (_probe.OnActivate is { } onActivate)
        {
            await onActivate(Key, cancellationToken);
        }

        _probe.Activations.Enqueue((Key, _activationNumber));
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _probe.Deactivations.Enqueue((Key, _activationNumber, reason));
        _signal.TrySetResult();
        if (_probe.WriteOnDeactivate)
        {
            try
            {
                _state.State.Count += 100;
                await _state.WriteStateAsync(cancellationToken);
            }
            catch (InvalidOperationException exception)
            {
                _probe.Events.Enqueue($"{Key}:deactivate-write-refused:{exception.GetType().Name}");
            }
        }
    }

    public Task<string> EchoAsync(string value) => Task.FromResult(value);

    public async Task<bool[]> WriteReportingSchedulerAsync(int writes)
    {
        var own = TaskScheduler.Current;
        var resumed = new bool[writes];
        for (var i = 0; i < writes; i++)
        {
            _state.State.Count++;
            await _state.WriteStateAsync();
            resumed[i] = own != TaskScheduler.Default && TaskScheduler.Current == own;
        }

        return resumed;
    }

    public Task<string?> GetTraceIdAsync() => Task.FromResult(Activity.Current?.TraceId.ToString());

    public async Task<int> IncrementAsync()
    {
        _state.State.Count++;
        await _state.WriteStateAsync();
        return _state.State.Count;
    }

    public Task<int> GetCountAsync() => Task.FromResult(_state.State.Count);

    public Task<int> GetActivationNumberAsync() => Task.FromResult(_activationNumber);

    public async Task TrackConcurrencyAsync()
    {
        _probe.RecordConcurrency(Interlocked.Increment(ref _inside));
        for (var i = 0; i < 3; i++)
        {
            await Task.Yield();
        }

        Interlocked.Decrement(ref _inside);
    }

    public Task AppendAsync(int value)
    {
        _appended.Add(value);
        return Task.CompletedTask;
    }

    public Task<int[]> GetAppendedAsync() => Task.FromResult(_appended.ToArray());

    public async Task BlockAsync(string gate)
    {
        _probe.Events.Enqueue($"{Key}:block-start");
        await _probe.Gate(gate);
        _probe.Events.Enqueue($"{Key}:block-end");
    }

    public Task<int> PingAsync() => Task.FromResult(_activationNumber);

    public Task WaitForSignalAsync() => _signal.Task;

    public Task SignalAsync()
    {
        _signal.TrySetResult();
        _signal = new TaskCompletionSource();
        return Task.CompletedTask;
    }

    public Task SpinAsync() => SpinSlicesAsync();

    public Task SpinInterleavedAsync() => SpinSlicesAsync();

    public Task StartTimerAsync(TimeSpan dueTime, TimeSpan period, bool keepAlive, bool writeOnTick)
    {
        _timer?.Dispose();
        _timer = GrainContext.RegisterGrainTimer(
            async cancellationToken =>
            {
                _probe.RecordConcurrency(Interlocked.Increment(ref _inside));
                _ticks++;
                _probe.Events.Enqueue($"{Key}:tick");
                if (_probe.TickGate is { } gate)
                {
                    await _probe.Gate(gate);
                }

                if (writeOnTick)
                {
                    _state.State.Count++;
                    await _state.WriteStateAsync(cancellationToken);
                }

                Interlocked.Decrement(ref _inside);
            },
            dueTime,
            period,
            keepAlive);
        return Task.CompletedTask;
    }

    public Task StopTimerAsync()
    {
        _timer?.Dispose();
        _timer = null;
        return Task.CompletedTask;
    }

    public Task<int> GetTimerTicksAsync() => Task.FromResult(_ticks);

    public async Task<int> CommitAndArmTimerAsync(string gate, bool gateAfterWrite)
    {
        _probe.Events.Enqueue($"{Key}:commit-start");
        if (!gateAfterWrite)
        {
            await _probe.Gate(gate);
        }

        _state.State.Count++;
        await _state.WriteStateAsync();
        if (gateAfterWrite)
        {
            _probe.Events.Enqueue($"{Key}:written");
            await _probe.Gate(gate);
        }

        _timer?.Dispose();
        _timer = GrainContext.RegisterGrainTimer(_ => Task.CompletedTask, TimeSpan.FromHours(1), TimeSpan.FromHours(1), keepAlive: false);
        return _state.State.Count;
    }

    public Task DeactivateAsync()
    {
        GrainContext.DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task ThrowAsync(string message) => throw new InvalidOperationException(message);

    private async Task SpinSlicesAsync()
    {
        for (var slice = 0; slice < 20; slice++)
        {
            if (Interlocked.Increment(ref _executing) != 1)
            {
                _probe.RecordParallelGrainCode();
            }

            // Stay inside for a while (busy, not blocked): code running in parallel would enter meanwhile.
            var inside = Stopwatch.StartNew();
            while (inside.Elapsed < TimeSpan.FromMilliseconds(0.2))
            {
                Thread.SpinWait(10);
            }

            Interlocked.Decrement(ref _executing);
            await Task.Yield();
        }
    }
}
