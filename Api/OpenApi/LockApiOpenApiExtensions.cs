using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using OrleansLocks.Api.Models;
using OrleansLocks.Api.Problems;

namespace OrleansLocks.Api.OpenApi;

/// <summary>The OpenAPI document (<c>/openapi/v1.json</c>) and Swagger UI (<c>/swagger</c>).</summary>
public static class LockApiOpenApiExtensions
{
    public const string DocumentName = "v1";
    public const string DocumentPath = "/openapi/v1.json";

    /// <summary>
    /// Generates the OpenAPI document from the endpoints' typed results, completed by transformers: the document's
    /// title and description, the Duration schema (integer milliseconds or ISO-8601 string), the <c>code</c> and
    /// <c>traceId</c> members of problem details, and allowed values of string fields.
    /// </summary>
    public static IHostApplicationBuilder AddLockApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(DocumentName, options =>
        {
            options.CreateSchemaReferenceId = type => type.Type == typeof(Duration) || Nullable.GetUnderlyingType(type.Type) == typeof(Duration)
                ? nameof(Duration)
                : OpenApiOptions.CreateDefaultSchemaReferenceId(type);
            options.AddDocumentTransformer(DescribeDocumentAsync);
            options.AddDocumentTransformer(Security.OpenApiSecurity.DescribeAsync);
            options.AddSchemaTransformer(DescribeSchemaAsync);
            options.AddOperationTransformer(DescribeOperationAsync);
        });
        return builder;
    }

    /// <summary>Serves the document at <c>/openapi/v1.json</c> and Swagger UI at <c>/swagger</c>.</summary>
    public static WebApplication MapLockApiDocs(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        app.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint(DocumentPath, "OrleansLocks API v1");
            options.RoutePrefix = "swagger";
            options.DocumentTitle = "OrleansLocks API";
        });
        return app;
    }

    private static Task DescribeDocumentAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "OrleansLocks API",
            Version = "v1",
            Description =
                "A distributed lock service: named exclusive/shared locks with leases, strict FIFO queues, fencing tokens " +
                "and idempotent, long-polling acquire.\n\n" +
                "Durations in requests (`ttl`, `wait`) are either an integer number of milliseconds (`30000`) or an " +
                "ISO-8601 duration string (`\"PT30S\"`). Responses give instants as ISO-8601 UTC and remaining time as " +
                "`ttlMs`. Every error is an RFC 9457 problem details object with a stable `code`.\n\n" +
                "Authenticate with an API key (`X-Api-Key` header) or a bearer token (`Authorization: Bearer <jwt>`); use " +
                "\"Authorize\" above. Roles: `client` (acquire, renew, release, validate), `viewer` (state, list, cluster), " +
                "`admin` (force-release and everything). A principal only sees and uses locks within its name prefixes.",
        };
        return Task.CompletedTask;
    }

    private static Task DescribeSchemaAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        if (type == typeof(Duration) || Nullable.GetUnderlyingType(type) == typeof(Duration))
        {
            DescribeDuration(schema);
        }
        else if (context.JsonPropertyInfo is null && typeof(ProblemDetails).IsAssignableFrom(type))
        {
            DescribeProblem(schema);
        }
        else if (type.IsEnum && schema.Enum is { Count: > 0 })
        {
            // Enums are written as camelCase strings (JsonStringEnumConverter); say so, not just list the names.
            schema.Type = JsonSchemaType.String;
        }

        if (context.JsonPropertyInfo?.AttributeProvider?.GetCustomAttributes(typeof(AllowedValuesAttribute), inherit: true) is [AllowedValuesAttribute allowed, ..])
        {
            schema.Enum = [.. allowed.Values.Select(v => (JsonNode)JsonValue.Create(v?.ToString() ?? "")!)];
        }

        return Task.CompletedTask;
    }

    private static void DescribeDuration(OpenApiSchema schema)
    {
        schema.Type = null;
        schema.Format = null;
        schema.Description =
            "A duration: an integer number of milliseconds (e.g. 30000) or an ISO-8601 duration string (e.g. \"PT30S\", \"PT1M30S\").";
        schema.OneOf =
        [
            new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Description = "Milliseconds.", Examples = [JsonValue.Create(30000)] },
            new OpenApiSchema { Type = JsonSchemaType.String, Format = "duration", Description = "ISO-8601 duration.", Examples = [JsonValue.Create("PT30S")] },
        ];
        schema.Examples = [JsonValue.Create(30000), JsonValue.Create("PT30S")];
    }

    private static void DescribeProblem(OpenApiSchema schema)
    {
        schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
        schema.Properties[ApiProblems.CodeKey] = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Description = "Stable machine-readable error code (see docs/api.md), e.g. \"lock-busy\", \"invalid-request\".",
            Examples = [JsonValue.Create(ProblemCodes.LockBusy)],
        };
        schema.Properties[ApiProblems.TraceIdKey] = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Description = "The request's trace id, for logs and bug reports.",
        };
        schema.Required ??= new HashSet<string>();
        schema.Required.Add(ApiProblems.CodeKey);
    }

    /// <summary>
    /// Request bodies are declared nullable in the handlers so that a missing body is answered as a 400 naming it,
    /// not by the binder; the document still says the body is required.
    /// </summary>
    private static Task DescribeOperationAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (operation.RequestBody is OpenApiRequestBody body)
        {
            body.Required = true;
        }

        // GET /locks binds limit as text so that a non-number is answered as invalid-request naming it; on the wire
        // it is an integer.
        if (operation.Parameters?.FirstOrDefault(p => p.Name == "limit" && p.In == ParameterLocation.Query) is OpenApiParameter limit)
        {
            limit.Schema = new OpenApiSchema
            {
                Type = JsonSchemaType.Integer,
                Format = "int32",
                Minimum = "1",
                Maximum = "1000",
                Default = JsonValue.Create(100),
            };
        }

        return Task.CompletedTask;
    }
}
