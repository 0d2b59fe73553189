using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace OrleansLocks.Browser.Tests;

/// <summary>Swagger UI explored as a new user would: open /swagger, try acquire, read the lease, release it.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SwaggerUiTests : IDisposable
{
    private readonly BrowserFixture _browser;
    private readonly LiveServiceFactory _service = new();

    public SwaggerUiTests(BrowserFixture browser)
    {
        _browser = browser;
        _service.Start();
        SetDefaultExpectTimeout(30_000);
    }

    [Fact]
    public async Task SwaggerUi_TryAcquireThenRelease_LeaseIsGrantedAndReleased()
    {
        const string name = "swagger-demo";
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(new Uri(_service.BaseAddress, "swagger").ToString());

        // Acquire: expand the operation, "Try it out", fill the lock name and body, "Execute".
        var acquire = page.Locator("#operations-Locks-AcquireLock");
        await acquire.Locator(".opblock-summary").ClickAsync();
        await acquire.GetByRole(AriaRole.Button, new() { Name = "Try it out" }).ClickAsync();
        await acquire.Locator("tr[data-param-name='name'] input").FillAsync(name);
        await acquire.Locator("textarea.body-param__text").FillAsync("""{ "owner": "new-user", "ttl": 30000 }""");
        await acquire.GetByRole(AriaRole.Button, new() { Name = "Execute" }).ClickAsync();

        // The live response: 200 and a lease whose id the user reads off the page.
        var acquireResponse = acquire.Locator(".live-responses-table tbody .response").First;
        await Expect(acquireResponse.Locator(".response-col_status")).ToHaveTextAsync("200");
        var body = await acquireResponse.Locator(".response-col_description pre.microlight").First.InnerTextAsync();
        using var lease = JsonDocument.Parse(body);
        var leaseId = lease.RootElement.GetProperty("leaseId").GetString()!;
        Assert.Equal(22, leaseId.Length);
        Assert.Equal("new-user", lease.RootElement.GetProperty("owner").GetString());
        Assert.Equal("new-user", (await StateAsync(name)).GetProperty("holders")[0].GetProperty("owner").GetString());

        // Release with the lease id read above.
        var release = page.Locator("#operations-Locks-ReleaseLease");
        await release.Locator(".opblock-summary").ClickAsync();
        await release.GetByRole(AriaRole.Button, new() { Name = "Try it out" }).ClickAsync();
        await release.Locator("tr[data-param-name='name'] input").FillAsync(name);
        await release.Locator("textarea.body-param__text").FillAsync($$"""{ "leaseId": "{{leaseId}}" }""");
        await release.GetByRole(AriaRole.Button, new() { Name = "Execute" }).ClickAsync();
        await Expect(release.Locator(".live-responses-table tbody .response").First.Locator(".response-col_status")).ToHaveTextAsync("204");

        var state = await StateAsync(name);
        Assert.Equal("free", state.GetProperty("mode").GetString());
        Assert.Equal(0, state.GetProperty("holders").GetArrayLength());
    }

    public void Dispose() => _service.Dispose();

    private async Task<JsonElement> StateAsync(string name)
        => await _service.Http.GetFromJsonAsync<JsonElement>($"locks/{name}");
}
