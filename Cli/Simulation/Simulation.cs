using System.Globalization;
using OrleansLocks.Client;

namespace OrleansLocks.Cli.Simulation;

/*
 * Design note: the contention simulation.
 *
 * N simulated processes loop until the duration ends: pick a lock, request it (AcquireAsync through the real HTTP
 * API, each process with its own client), enter the critical section, hold it briefly, leave, release. The checker
 * sits between grant and release, on this machine's memory, so it sees the truth of what the service told the
 * clients:
 *   - mutual exclusion: entering increments the lock's occupancy; anything but 1 after the increment means two
 *     processes were told they hold the same exclusive lock at the same time;
 *   - fencing tokens: each entry's token must be greater than every token seen before on that lock (entries are
 *     serialized by the first check, so this is the order in which the service granted).
 * Leaving decrements occupancy BEFORE the release is sent, so a correct service can never produce an overlap.
 * A holder whose lease is lost while inside (TTL much longer than the hold, so only a stalled machine does this)
 * is counted separately: the service was right to hand the lock on, and the overlap it causes is reported as a
 * lease loss, not a violation.
 */

/// <summary>Settings of one simulation run.</summary>
internal sealed record SimulationSettings(int Processes, TimeSpan Duration, int Locks, TimeSpan Ttl, TimeSpan MaxHold, bool Quiet, string LockPrefix);

/// <summary>What a run observed.</summary>
internal sealed record SimulationResult(
    long CriticalSections,
    TimeSpan Elapsed,
    double Throughput,
    TimeSpan WaitP50,
    TimeSpan WaitP99,
    TimeSpan WaitMax,
    int MinGrants,
    int MaxGrants,
    long Violations,
    long LeasesLost,
    long Errors,
    IReadOnlyList<string> ViolationDetails);

internal sealed class Simulation(SimulationSettings settings, Func<int, LockClient> clientFor, TextWriter output, TimeProvider time)
{
    private readonly Lock _outputGate = new();
    private readonly LockSlot[] _slots = [.. Enumerable.Range(0, settings.Locks).Select(i => new LockSlot($"{settings.LockPrefix}{i}"))];
    private readonly List<string> _violationDetails = [];
    private readonly List<double> _waitsMs = [];
    private long _started;
    private long _criticalSections;
    private long _violations;
    private long _leasesLost;
    private long _errors;

    public async Task<SimulationResult> RunAsync(CancellationToken cancellationToken)
    {
        _started = time.GetTimestamp();
        var grants = new int[settings.Processes];
        using var flusher = new PeriodicTimer(TimeSpan.FromMilliseconds(100), time);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var flushing = FlushLoopAsync(flusher, stop.Token);
        var processes = Enumerable.Range(0, settings.Processes).Select(p => Task.Run(() => ProcessAsync(p, grants, cancellationToken), CancellationToken.None)).ToArray();
        await Task.WhenAll(processes);
        var elapsed = Elapsed;
        await stop.CancelAsync();
        await flushing;

        double[] waits;
        lock (_waitsMs)
        {
            waits = [.. _waitsMs.Order()];
        }

        var sections = Interlocked.Read(ref _criticalSections);
        lock (_violationDetails)
        {
            return new SimulationResult(
                sections,
                elapsed,
                sections / Math.Max(elapsed.TotalSeconds, 0.001),
                Percentile(waits, 0.50),
                Percentile(waits, 0.99),
                waits.Length == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(waits[^1]),
                grants.Min(),
                grants.Max(),
                Interlocked.Read(ref _violations),
                Interlocked.Read(ref _leasesLost),
                Interlocked.Read(ref _errors),
                [.. _violationDetails]);
        }
    }

    private async Task ProcessAsync(int p, int[] grants, CancellationToken cancellationToken)
    {
        var client = clientFor(p);
        var random = new Random(HashCode.Combine(p, Environment.TickCount));
        var who = $"p{p:00}";
        while (!cancellationToken.IsCancellationRequested)
        {
            var remaining = settings.Duration - Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }

            var slot = _slots[random.Next(_slots.Length)];
            Print($"{who} request {slot.Name}");
            var requested = Elapsed;
            LockHandle? handle;
            try
            {
                handle = await client.TryAcquireAsync(slot.Name, remaining, new AcquireOptions { Ttl = settings.Ttl, Owner = $"simulate-{who}" }, cancellationToken);
            }
            catch (LockServiceException ex)
            {
                Interlocked.Increment(ref _errors);
                Print($"{who} ERROR   {slot.Name}: {ex.Message}");
                continue;
            }

            if (handle is null)
            {
                Print($"{who} gave up {slot.Name}: the run ended while waiting");
                return;
            }

            await using (handle)
            {
                var waited = Elapsed - requested;
                lock (_waitsMs)
                {
                    _waitsMs.Add(waited.TotalMilliseconds);
                }

                Print($"{who} granted {slot.Name} token {handle.FencingToken} after {waited.TotalMilliseconds:0} ms");
                Enter(slot, who, handle.FencingToken);
                Print($"{who} enter   {slot.Name} token {handle.FencingToken}");
                var hold = settings.MaxHold > TimeSpan.Zero ? TimeSpan.FromMilliseconds(random.NextDouble() * settings.MaxHold.TotalMilliseconds) : TimeSpan.Zero;
                try
                {
                    await Task.Delay(hold, time, cancellationToken);
                }
                finally
                {
                    var lost = handle.IsLost;
                    Leave(slot, who, lost);
                    Interlocked.Increment(ref _criticalSections);
                    Interlocked.Increment(ref grants[p]);
                    Print($"{who} release {slot.Name} token {handle.FencingToken}{(lost ? " (LEASE LOST while inside)" : "")}");
                }
            }
        }
    }

    private void Enter(LockSlot slot, string who, long token)
    {
        lock (slot)
        {
            slot.Occupants.Add(who);
            if (slot.Occupants.Count > 1)
            {
                Violation($"MUTUAL EXCLUSION: {who} entered {slot.Name} (token {token}) while {string.Join(", ", slot.Occupants.Where(o => o != who))} inside");
            }

            if (token <= slot.HighestToken)
            {
                Violation($"FENCING: {who} entered {slot.Name} with token {token}, not above the highest seen {slot.HighestToken}");
            }

            slot.HighestToken = Math.Max(slot.HighestToken, token);
        }
    }

    private void Leave(LockSlot slot, string who, bool lost)
    {
        lock (slot)
        {
            slot.Occupants.Remove(who);
        }

        if (lost)
        {
            Interlocked.Increment(ref _leasesLost);
        }
    }

    private void Violation(string detail)
    {
        Interlocked.Increment(ref _violations);
        lock (_violationDetails)
        {
            _violationDetails.Add(detail);
        }

        // Violations are printed even with --quiet.
        PrintAlways($"VIOLATION {detail}");
    }

    private void Print(string line)
    {
        if (!settings.Quiet)
        {
            PrintAlways(line);
        }
    }

    private void PrintAlways(string line)
    {
        var stamp = Elapsed.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
        lock (_outputGate)
        {
            output.Write(stamp.PadLeft(8));
            output.Write("s ");
            output.WriteLine(line);
        }
    }

    private async Task FlushLoopAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                lock (_outputGate)
                {
                    output.Flush();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        lock (_outputGate)
        {
            output.Flush();
        }
    }

    private TimeSpan Elapsed => time.GetElapsedTime(_started);

    private static TimeSpan Percentile(double[] sorted, double q)
        => sorted.Length == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)]);

    private sealed class LockSlot(string name)
    {
        public string Name { get; } = name;

        public List<string> Occupants { get; } = [];

        public long HighestToken { get; set; }
    }
}
