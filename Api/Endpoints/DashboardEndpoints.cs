using System.Reflection;

namespace OrleansLocks.Api.Endpoints;

/// <summary>
/// The dashboard at <c>/dashboard</c>: a few static files embedded in the Api assembly (no CDN, no separate server),
/// served through ordinary endpoints so they share the app's conventions. The page reads the public API
/// (<c>GET /cluster</c>, <c>GET /locks</c>, <c>GET /locks/{name}</c>, <c>GET /locks/{name}/events</c>).
/// </summary>
internal static class DashboardEndpoints
{
    private static readonly Dictionary<string, (string Resource, string ContentType)> Files = new(StringComparer.Ordinal)
    {
        ["index.html"] = ("dashboard/index.html", "text/html; charset=utf-8"),
        ["app.js"] = ("dashboard/app.js", "text/javascript; charset=utf-8"),
        ["style.css"] = ("dashboard/style.css", "text/css; charset=utf-8"),
    };

    private static readonly Dictionary<string, byte[]> Contents = Load();

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/dashboard/{file?}", (string? file, HttpContext http) =>
            {
                if (string.IsNullOrEmpty(file) && http.Request.Path.Value?.EndsWith('/') != true)
                {
                    // Relative asset URLs need the trailing slash (and then work behind any path base).
                    return Results.Redirect(http.Request.PathBase + "/dashboard/");
                }

                file = string.IsNullOrEmpty(file) ? "index.html" : file;
                if (!Files.TryGetValue(file, out var entry))
                {
                    return Results.NotFound();
                }

                http.Response.Headers.CacheControl = "no-cache";
                http.Response.Headers["X-Content-Type-Options"] = "nosniff";
                return Results.Bytes(Contents[file], entry.ContentType);
            })
            .ExcludeFromDescription();
        return app;
    }

    private static Dictionary<string, byte[]> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var contents = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (file, (resource, _)) in Files)
        {
            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"The dashboard file {resource} is not embedded in {assembly.GetName().Name}.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            contents[file] = copy.ToArray();
        }

        return contents;
    }
}
