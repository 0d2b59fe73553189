using System.Net;
using System.Text.Json.Nodes;
using OrleansLocks.Api.Tests.Infrastructure;

namespace OrleansLocks.Api.Tests;

/// <summary>The OpenAPI document describes every endpoint, its errors and the Duration convention; Swagger UI serves it.</summary>
public sealed class OpenApiTests(PostgresServiceFixture fixture) : IClassFixture<PostgresServiceFixture>
{
    public static TheoryData<string, string, int[]> Operations => new()
    {
        { "/locks/{name}/acquire", "post", [200, 400, 401, 403, 409, 410, 413, 415, 429, 503] },
        { "/locks/{name}/renew", "post", [200, 400, 401, 403, 410, 413, 415, 429, 503] },
        { "/locks/{name}/release", "post", [204, 400, 401, 403, 410, 413, 415, 429, 503] },
        { "/locks/{name}/validate", "post", [200, 400, 401, 403, 413, 415, 429, 503] },
        { "/locks/{name}/force-release", "post", [204, 400, 401, 403, 413, 415, 429, 503] },
        { "/locks/{name}", "get", [200, 400, 401, 403, 429, 503] },
        { "/locks", "get", [200, 400, 401, 403, 429, 503] },
        { "/cluster", "get", [200, 401, 403, 429] },
    };

    private async Task<JsonNode> GetDocumentAsync()
    {
        using var client = fixture.CreateClient();
        return (await client.GetAsync("/openapi/v1.json")).Expect(HttpStatusCode.OK).Json;
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task Document_Operation_HasEveryResponseWithSchema(string path, string method, int[] statuses)
    {
        var document = await GetDocumentAsync();

        var operation = document["paths"]?[path]?[method];
        Assert.True(operation is not null, $"{method} {path} is missing from the document");
        Assert.False(string.IsNullOrEmpty(operation["operationId"]?.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(operation["summary"]?.GetValue<string>()));
        var responses = operation["responses"]!.AsObject();
        Assert.Equal(statuses.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(), responses.Select(r => r.Key).Order());
        foreach (var (status, response) in responses)
        {
            if (status == "204")
            {
                continue;
            }

            var content = response!["content"]!.AsObject();
            var mediaType = int.Parse(status, System.Globalization.CultureInfo.InvariantCulture) >= 400 ? "application/problem+json" : "application/json";
            Assert.True(content.ContainsKey(mediaType), $"{method} {path} {status} should be {mediaType}: {content.ToJsonString()}");
            Assert.NotNull(content[mediaType]!["schema"]);
        }

        if (method == "post")
        {
            Assert.True(operation["requestBody"]!["required"]!.GetValue<bool>());
            Assert.NotNull(operation["requestBody"]!["content"]!["application/json"]!["schema"]);
        }
    }

    [Fact]
    public async Task Document_Duration_IsIntegerMillisecondsOrIsoString()
    {
        var document = await GetDocumentAsync();

        var duration = document["components"]!["schemas"]!["Duration"];
        Assert.True(duration is not null, "components.schemas.Duration is missing");
        var oneOf = duration["oneOf"]!.AsArray();
        Assert.Contains(oneOf, s => s!["type"]?.GetValue<string>() == "integer");
        Assert.Contains(oneOf, s => s!["type"]?.GetValue<string>() == "string" && s["format"]?.GetValue<string>() == "duration");
        Assert.Contains("ISO-8601", duration["description"]!.GetValue<string>(), StringComparison.Ordinal);

        var acquire = document["components"]!["schemas"]!["AcquireRequest"]!["properties"]!;
        Assert.Contains("Duration", acquire["ttl"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("Duration", acquire["wait"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Document_EnumsAndProblems_DescribedAsOnTheWire()
    {
        var document = await GetDocumentAsync();
        var schemas = document["components"]!["schemas"]!;

        Assert.Equal(["exclusive", "shared"], schemas["LockMode"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(["free", "exclusive", "shared"], schemas["LockStateMode"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(
            ["expired", "released", "forceReleased", "unknown"],
            schemas["LeaseLostReason"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(["exclusive", "shared"], schemas["AcquireRequest"]!["properties"]!["mode"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.NotNull(schemas["LockConflictProblemDetails"]!["properties"]!["holders"]);
        Assert.NotNull(schemas["LockConflictProblemDetails"]!["properties"]!["code"]);
        Assert.NotNull(schemas["LeaseLostProblemDetails"]!["properties"]!["reason"]);
        Assert.Equal("OrleansLocks API", document["info"]!["title"]!.GetValue<string>());
        Assert.Equal("v1", document["info"]!["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task SwaggerUi_Served_PointsAtTheDocument()
    {
        using var client = fixture.CreateClient();

        var page = await client.GetAsync("/swagger/index.html");
        var config = await client.GetAsync("/swagger/index.js");

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("swagger-ui", page.RawBody, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("/openapi/v1.json", page.RawBody + config.RawBody, StringComparison.Ordinal);
    }
}
