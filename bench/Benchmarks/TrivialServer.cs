namespace OrleansLocks.Benchmarks;

/// <summary>
/// The ceiling's web app (mode <c>serve-trivial</c>): built like the Api (WebApplication.CreateBuilder, Kestrel
/// defaults), with one endpoint that answers 200 and a small JSON body without looking at the request.
/// </summary>
internal static class TrivialServer
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var app = builder.Build();
        app.MapPost("/trivial", () => Results.Text("{\"ok\":true}", "application/json"));
        app.MapGet("/health/live", () => Results.Text("ok"));
        await app.RunAsync();
        return 0;
    }
}
