namespace OrleansLocks.FaultChecker.Soak;

/// <summary>A least-squares line through samples, with the slope's t statistic.</summary>
internal sealed record TrendFit(double Slope, double Intercept, double SlopeStdError, int Count)
{
    /// <summary>How many standard errors the slope is from zero (∞ for a perfect non-flat fit, 0 for a flat one).</summary>
    public double T => SlopeStdError > 0 ? Slope / SlopeStdError : Slope == 0 ? 0 : double.PositiveInfinity * Math.Sign(Slope);

    public static TrendFit Fit(IReadOnlyList<(double X, double Y)> points)
    {
        var n = points.Count;
        if (n < 2)
        {
            return new TrendFit(0, n == 1 ? points[0].Y : 0, 0, n);
        }

        var meanX = points.Average(p => p.X);
        var meanY = points.Average(p => p.Y);
        var sxx = points.Sum(p => (p.X - meanX) * (p.X - meanX));
        var sxy = points.Sum(p => (p.X - meanX) * (p.Y - meanY));
        if (sxx == 0)
        {
            return new TrendFit(0, meanY, 0, n);
        }

        var slope = sxy / sxx;
        var intercept = meanY - slope * meanX;
        var residual = points.Sum(p => Math.Pow(p.Y - (intercept + slope * p.X), 2));
        var stdError = n > 2 ? Math.Sqrt(residual / (n - 2) / sxx) : 0;
        return new TrendFit(slope, intercept, stdError, n);
    }
}

/// <summary>The growth test of one sampled metric over the second half of a soak.</summary>
/// <param name="RelativeGrowth">Fitted growth across the window divided by the window's mean.</param>
internal sealed record GrowthVerdict(string Metric, string Unit, double First, double Last, double Mean, double SlopePerMinute, double RelativeGrowth, double T, bool Growing);

internal static class GrowthTest
{
    /// <summary>
    /// Growth = the fitted line rises by more than <paramref name="relativeThreshold"/> of the mean AND by more than
    /// <paramref name="absoluteThreshold"/> across the second half, with the slope more than 3 standard errors from
    /// zero. The first half is warm-up (JIT, pools, caches); a leak keeps growing after it.
    /// </summary>
    public static GrowthVerdict Judge(string metric, string unit, IReadOnlyList<(double Seconds, double Value)> samples, double relativeThreshold, double absoluteThreshold)
    {
        var half = samples.Skip(samples.Count / 2).ToList();
        var fit = TrendFit.Fit(half);
        var window = half.Count > 1 ? half[^1].Seconds - half[0].Seconds : 0;
        var mean = half.Count > 0 ? half.Average(s => s.Value) : 0;
        var rise = fit.Slope * window;
        var relative = mean > 0 ? rise / mean : 0;
        var growing = half.Count >= 6 && relative > relativeThreshold && rise > absoluteThreshold && fit.T > 3;
        return new GrowthVerdict(
            metric,
            unit,
            samples.Count > 0 ? samples[0].Value : 0,
            samples.Count > 0 ? samples[^1].Value : 0,
            mean,
            fit.Slope * 60,
            relative,
            fit.T,
            growing);
    }
}
