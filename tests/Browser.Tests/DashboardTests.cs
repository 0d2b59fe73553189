using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace OrleansLocks.Browser.Tests;

/// <summary>The dashboard at /dashboard in a real browser: cluster, contended locks, one lock live from its event stream.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardTests : IDisposable
{
    private readonly BrowserFixture _browser;
    private readonly LiveServiceFactory _service = new();

    public DashboardTests(BrowserFixture browser)
    {
        _browser = browser;
        _service.Start();
        SetDefaultExpectTimeout(30_000);
    }

    [Fact]
    public async Task Dashboard_ClickLockThenAcquireOverHttp_ShowsQueueAndGrantLive()
    {
        const string name = "orders:42";
        var first = await _service.AcquireAsync(name, new { owner = "worker-3", ttl = 120_000 });
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(new Uri(_service.BaseAddress, "dashboard/").ToString());

        // The cluster card lists this silo as active; the contended-locks card lists the held lock.
        await Expect(page.Locator("#silos")).ToContainTextAsync("active");
        var row = page.Locator($"#locks tr[data-lock='{name}']");
        await Expect(row).ToContainTextAsync("exclusive");

        // Click it: the lock card opens with its holder and a live event stream.
        await row.ClickAsync();
        await Expect(page.Locator("[data-testid=lock-name]")).ToHaveTextAsync(name);
        await Expect(page.Locator("[data-testid=stream-state]")).ToHaveTextAsync("live");
        await Expect(page.Locator("#holders")).ToContainTextAsync("worker-3");

        // Acquire over HTTP while the lock is held: the request queues, and the queue shows it without a reload.
        var waiting = _service.AcquireAsync(name, new { owner = "alice", ttl = 120_000, wait = 60_000, requestId = "alice/job-1" });
        await Expect(page.Locator("#waiters")).ToContainTextAsync("alice");
        await Expect(page.Locator("#events li[data-type=queued]").First).ToContainTextAsync("alice");

        // The holder releases: the grant to alice appears live, with her fencing token.
        await _service.ReleaseAsync(name, first.LeaseId);
        var lease = await waiting;
        Assert.Equal(first.FencingToken + 1, lease.FencingToken);
        await Expect(page.Locator($"#holders tr[data-token='{lease.FencingToken}']")).ToContainTextAsync("alice");
        await Expect(page.Locator("#holders")).Not.ToContainTextAsync("worker-3");
        await Expect(page.Locator("#events li[data-type=granted]").First).ToContainTextAsync($"token {lease.FencingToken}");
        await Expect(page.Locator("#events li[data-type=released]").First).ToContainTextAsync("worker-3");
        await Expect(page.Locator("#waiters")).ToContainTextAsync("empty");

        await ScreenshotIfAskedAsync(page, name);
    }

    [Fact]
    public async Task Dashboard_WatchByName_ShowsGrantOfAFreeLock()
    {
        const string name = "reports:daily";
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(new Uri(_service.BaseAddress, "dashboard/").ToString());
        await page.Locator("#watch-name").FillAsync(name);
        await page.Locator("#watch-form button").ClickAsync();
        await Expect(page.Locator("[data-testid=stream-state]")).ToHaveTextAsync("live");
        await Expect(page.Locator("#holders")).ToContainTextAsync("free");

        var lease = await _service.AcquireAsync(name, new { owner = "nightly-job", ttl = 60_000 });

        await Expect(page.Locator($"#holders tr[data-token='{lease.FencingToken}']")).ToContainTextAsync("nightly-job");
        await Expect(page.Locator("#events li[data-type=granted]")).ToContainTextAsync("nightly-job");
    }

    public void Dispose() => _service.Dispose();

    /// <summary>
    /// With ORLEANSLOCKS_SCREENSHOT_DIR set (docs/images when refreshing the docs), fills the dashboard with a little
    /// contention and saves dashboard.png there.
    /// </summary>
    private async Task ScreenshotIfAskedAsync(IPage page, string watched)
    {
        if (Environment.GetEnvironmentVariable("ORLEANSLOCKS_SCREENSHOT_DIR") is not { Length: > 0 } directory)
        {
            return;
        }

        var waits = new List<Task>();
        foreach (var owner in new[] { "bob", "carol" })
        {
            waits.Add(_service.AcquireAsync(watched, new { owner, ttl = 60_000, wait = 20_000, requestId = owner + "/job-2" }));
        }

        await _service.AcquireAsync("inventory:7", new { owner = "reader-1", mode = "shared", ttl = 300_000 });
        await _service.AcquireAsync("inventory:7", new { owner = "reader-2", mode = "shared", ttl = 300_000 });
        await _service.AcquireAsync("reports:daily", new { owner = "nightly-job", ttl = 600_000 });
        waits.Add(_service.AcquireAsync("inventory:7", new { owner = "stock-writer", ttl = 60_000, wait = 20_000, requestId = "stock-writer/1" }));
        await Expect(page.Locator("#waiters")).ToContainTextAsync("carol");
        await Expect(page.Locator("#locks tr[data-lock='inventory:7']")).ToContainTextAsync("shared");
        Directory.CreateDirectory(directory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, "dashboard.png"), FullPage = true });

        // The waits end (409 or 503) when the service stops; nobody needs their outcome.
        foreach (var wait in waits)
        {
            _ = wait.ContinueWith(static t => t.Exception, TaskScheduler.Default);
        }
    }
}
