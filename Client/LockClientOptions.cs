using Microsoft.Extensions.Options;

namespace OrleansLocks.Client;

/// <summary>Settings of a <see cref="LockClient"/>.</summary>
public sealed class LockClientOptions
{
    /// <summary>The service's address, e.g. <c>http://locks:8080/</c>. Default: the HttpClient's BaseAddress.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>Sent as the <c>X-Api-Key</c> header when set. Set either this or a bearer token, not both (the service refuses both).</summary>
    public string? ApiKey { get; set; }

    /// <summary>Sent as <c>Authorization: Bearer …</c> when set (and <see cref="BearerTokenProvider"/> is not).</summary>
    public string? BearerToken { get; set; }

    /// <summary>Called before every attempt for a bearer token (e.g. from a token cache); null or empty sends none.</summary>
    public Func<CancellationToken, ValueTask<string?>>? BearerTokenProvider { get; set; }

    /// <summary>The lease TTL when an acquire gives none. Default 30 s (the service's default); the service bounds it (1 s..1 h by default).</summary>
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The owner label when an acquire gives none. Default: <c>{machine}/{process id}</c>.</summary>
    public string Owner { get; set; } = $"{Environment.MachineName}/{Environment.ProcessId}";

    /// <summary>
    /// The longest wait of one HTTP long poll; longer waits are several polls with the same request id. Must not
    /// exceed the service's <c>Locks:MaxWait</c>. Default 60 s (the service's default).
    /// </summary>
    public TimeSpan MaxWaitPerRequest { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long one attempt may take on top of its long-poll wait before it counts as a connection failure. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many times a request is retried after a 502/503/504 or a connection failure. Default 6.</summary>
    public int MaxRetries { get; set; } = 6;

    /// <summary>The first retry's delay; each next one doubles, with jitter, up to <see cref="RetryMaxDelay"/>. Default 100 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest delay between retries, also the cap on the service's <c>Retry-After</c>. Default 5 s.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Names the bad setting of <see cref="LockClientOptions"/> at start-up.</summary>
internal sealed class LockClientOptionsValidator : IValidateOptions<LockClientOptions>
{
    public ValidateOptionsResult Validate(string? name, LockClientOptions options)
    {
        var errors = Errors(options).ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static IEnumerable<string> Errors(LockClientOptions options)
    {
        if (options.BaseAddress is { IsAbsoluteUri: false })
        {
            yield return $"LockClientOptions.BaseAddress must be an absolute URI; got '{options.BaseAddress}'.";
        }

        if (options.DefaultTtl <= TimeSpan.Zero)
        {
            yield return $"LockClientOptions.DefaultTtl must be positive; got {options.DefaultTtl}.";
        }

        if (options.MaxWaitPerRequest <= TimeSpan.Zero)
        {
            yield return $"LockClientOptions.MaxWaitPerRequest must be positive; got {options.MaxWaitPerRequest}.";
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
        {
            yield return $"LockClientOptions.RequestTimeout must be positive; got {options.RequestTimeout}.";
        }

        if (options.MaxRetries < 0)
        {
            yield return $"LockClientOptions.MaxRetries must be 0 or more; got {options.MaxRetries}.";
        }

        if (options.RetryBaseDelay < TimeSpan.Zero || options.RetryMaxDelay < options.RetryBaseDelay)
        {
            yield return $"LockClientOptions.RetryBaseDelay ({options.RetryBaseDelay}) must be 0 or more and at most RetryMaxDelay ({options.RetryMaxDelay}).";
        }

        if (!string.IsNullOrEmpty(options.ApiKey) && (!string.IsNullOrEmpty(options.BearerToken) || options.BearerTokenProvider is not null))
        {
            yield return "LockClientOptions: set either ApiKey or BearerToken/BearerTokenProvider, not both (the service refuses a request that carries both).";
        }

        if (string.IsNullOrEmpty(options.Owner))
        {
            yield return "LockClientOptions.Owner must not be empty.";
        }
    }
}
