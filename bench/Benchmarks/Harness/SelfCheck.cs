namespace OrleansLocks.Benchmarks.Harness;

/// <summary>
/// Mode <c>self-check</c>: checks the histogram against exact percentiles of the same samples (relative error under
/// 1 %, as its design promises), so a wrong bucket formula cannot silently skew every table. Exit code 1 on failure.
/// </summary>
internal static class SelfCheck
{
    public static int Run()
    {
        var random = new Random(42);
        var failures = 0;
        foreach (var (label, next) in new (string, Func<long>)[]
        {
            ("uniform 0–10 ms", () => random.NextInt64(0, 10_000_000)),
            ("log-uniform 1 µs–10 s", () => (long)Math.Exp(random.NextDouble() * Math.Log(1e7)) * 1000),
            ("small values 0–200 ns", () => random.NextInt64(0, 200)),
        })
        {
            var samples = Enumerable.Range(0, 100_000).Select(_ => next()).ToArray();
            var histogram = new Histogram();
            foreach (var sample in samples)
            {
                histogram.Record(sample);
            }

            Array.Sort(samples);
            foreach (var q in new[] { 0.5, 0.9, 0.99, 0.999, 1.0 })
            {
                var exact = samples[(int)Math.Ceiling(q * samples.Length) - 1];
                var measured = histogram.Percentile(q);
                var error = exact == 0 ? measured : Math.Abs(measured - exact) / (double)exact;
                if (error > 0.01)
                {
                    failures++;
                    Console.Error.WriteLine($"FAIL {label} p{q * 100}: exact {exact}, histogram {measured} ({error:P2})");
                }
            }

            if (histogram.Count != samples.Length || histogram.Max != samples[^1] || histogram.Min != samples[0])
            {
                failures++;
                Console.Error.WriteLine($"FAIL {label}: count/min/max {histogram.Count}/{histogram.Min}/{histogram.Max}");
            }
        }

        Console.WriteLine(failures == 0 ? "histogram self-check: 15 passed, 0 failed" : $"histogram self-check: {failures} failed");
        return failures == 0 ? 0 : 1;
    }
}
