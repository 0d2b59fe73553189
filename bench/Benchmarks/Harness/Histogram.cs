namespace OrleansLocks.Benchmarks.Harness;

/*
 * A log-linear latency histogram in the spirit of HdrHistogram, small enough to own.
 *
 * Values are nanoseconds. Below 2^SubBits a value has its own bucket; above, each power-of-two range
 * [2^k, 2^(k+1)) is split into 2^SubBits equal sub-buckets, so the relative error of any reported value is
 * below 2^-SubBits (0.8 % with 7 bits). The range tops out at 2^MaxExponent ns (about 18 minutes); larger values
 * are clamped into the last bucket. One histogram per client (no locking on the hot path), merged at the end.
 */
internal sealed class Histogram
{
    private const int SubBits = 7;
    private const int SubCount = 1 << SubBits;
    private const int MaxExponent = 40;
    private const int BucketCount = SubCount + ((MaxExponent - SubBits) * SubCount);

    private readonly long[] _counts = new long[BucketCount];

    public long Count { get; private set; }

    public long Max { get; private set; }

    public long Min { get; private set; } = long.MaxValue;

    public double Sum { get; private set; }

    public double Mean => Count == 0 ? 0 : Sum / Count;

    public void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }

        _counts[IndexOf(nanoseconds)]++;
        Count++;
        Sum += nanoseconds;
        if (nanoseconds > Max)
        {
            Max = nanoseconds;
        }

        if (nanoseconds < Min)
        {
            Min = nanoseconds;
        }
    }

    public void Add(Histogram other)
    {
        for (var i = 0; i < BucketCount; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        Sum += other.Sum;
        Max = Math.Max(Max, other.Max);
        Min = Math.Min(Min, other.Min);
    }

    /// <summary>The value at quantile <paramref name="q"/> (0..1), in nanoseconds; 0 when empty.</summary>
    public long Percentile(double q)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(q * Count);
        rank = Math.Clamp(rank, 1, Count);
        long seen = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                // The bucket's midpoint, but never outside what was actually recorded.
                return Math.Clamp(Midpoint(i), Min, Max);
            }
        }

        return Max;
    }

    internal static int IndexOf(long value)
    {
        if (value < SubCount)
        {
            return (int)value;
        }

        var exponent = 63 - (int)long.LeadingZeroCount(value);
        if (exponent >= MaxExponent)
        {
            return BucketCount - 1;
        }

        var sub = (int)(value >> (exponent - SubBits)) & (SubCount - 1);
        return SubCount + ((exponent - SubBits) * SubCount) + sub;
    }

    internal static long Midpoint(int index)
    {
        if (index < SubCount)
        {
            return index;
        }

        var exponent = ((index - SubCount) / SubCount) + SubBits;
        var sub = (index - SubCount) % SubCount;
        var width = 1L << (exponent - SubBits);
        var low = (1L << exponent) + (sub * width);
        return low + (width / 2);
    }
}
