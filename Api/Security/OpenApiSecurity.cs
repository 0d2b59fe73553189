using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace OrleansLocks.Api.Security;

/// <summary>
/// Declares the two ways to authenticate in the OpenAPI document (an API key in <c>X-Api-Key</c>, a JWT bearer
/// token), required by every operation in it, so Swagger UI's "Authorize" button offers both and sends them.
/// </summary>
internal static class OpenApiSecurity
{
    public const string ApiKeyScheme = "ApiKey";
    public const string BearerScheme = "Bearer";

    public static Task DescribeAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[ApiKeyScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            Name = LockAuthenticationHandler.ApiKeyHeader,
            In = ParameterLocation.Header,
            Description = "An API key configured in Security:ApiKeys (by its SHA-256). Its roles and lock-name prefixes decide what it may do.",
        };
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A JWT from the issuer configured in Security:Jwt, for its audience; roles and prefixes come from its claims.",
        };

        // Either scheme satisfies an operation (two requirements are alternatives).
        document.Security =
        [
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, document)] = [] },
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] },
        ];
        return Task.CompletedTask;
    }
}
