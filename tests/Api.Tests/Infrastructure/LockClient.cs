using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrleansLocks.Api.Tests.Infrastructure;

/// <summary>An HTTP response as the tests look at it: status, headers and the JSON body (if any).</summary>
public sealed record ApiResponse(HttpStatusCode Status, JsonNode? Body, string RawBody, string? ContentType, HttpResponseHeaders Headers)
{
    public JsonNode Json => Body ?? throw new InvalidOperationException($"Expected a JSON body; got {(int)Status}: '{RawBody}'.");

    /// <summary>The problem <c>code</c>, or null.</summary>
    public string? Code => Body?["code"]?.GetValue<string>();

    public string Describe() => $"{(int)Status} {ContentType}: {RawBody}";

    /// <summary>Fails with the whole response when the status is not <paramref name="expected"/>.</summary>
    public ApiResponse Expect(HttpStatusCode expected)
    {
        Assert.True(Status == expected, $"Expected {(int)expected}; got {Describe()}");
        return this;
    }
}

/// <summary>A thin client of the HTTP API that speaks JSON text, so tests check the wire format, not our DTOs.</summary>
public sealed class LockClient(HttpClient http) : IDisposable
{
    public HttpClient Http => http;

    public Task<ApiResponse> AcquireAsync(string name, object body, string? idempotencyKey = null, CancellationToken cancellationToken = default)
        => SendAsync(
            HttpMethod.Post,
            $"/locks/{name}/acquire",
            JsonSerializer.Serialize(body),
            headers: idempotencyKey is null ? null : new Dictionary<string, string> { ["Idempotency-Key"] = idempotencyKey },
            cancellationToken: cancellationToken);

    public Task<ApiResponse> RenewAsync(string name, object body) => SendAsync(HttpMethod.Post, $"/locks/{name}/renew", JsonSerializer.Serialize(body));

    public Task<ApiResponse> ReleaseAsync(string name, string leaseId)
        => SendAsync(HttpMethod.Post, $"/locks/{name}/release", JsonSerializer.Serialize(new { leaseId }));

    public Task<ApiResponse> ValidateAsync(string name, long fencingToken)
        => SendAsync(HttpMethod.Post, $"/locks/{name}/validate", JsonSerializer.Serialize(new { fencingToken }));

    public Task<ApiResponse> ForceReleaseAsync(string name, string reason, string? adminKey)
        => SendAsync(
            HttpMethod.Post,
            $"/locks/{name}/force-release",
            JsonSerializer.Serialize(new { reason }),
            headers: adminKey is null ? null : new Dictionary<string, string> { ["X-Api-Key"] = adminKey });

    public Task<ApiResponse> GetStateAsync(string name) => SendAsync(HttpMethod.Get, $"/locks/{name}");

    public Task<ApiResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public async Task<ApiResponse> SendAsync(
        HttpMethod method,
        string path,
        string? body = null,
        string? contentType = "application/json",
        IReadOnlyDictionary<string, string>? headers = null,
        HttpContent? content = null,
        CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path);
        if (content is not null)
        {
            request.Content = content;
        }
        else if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);
        }

        foreach (var (key, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(key, value);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        var raw = await response.Content.ReadAsStringAsync(cancellationToken);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        JsonNode? json = null;
        if (raw.Length > 0 && mediaType is not null && mediaType.Contains("json", StringComparison.Ordinal))
        {
            json = JsonNode.Parse(raw);
        }

        return new ApiResponse(response.StatusCode, json, raw, mediaType, response.Headers);
    }

    public void Dispose() => http.Dispose();
}
