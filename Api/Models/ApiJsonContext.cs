using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansLocks.Api.Models;

/// <summary>
/// Source-generated JSON metadata for the hot request and response types of API v1, so that reading an acquire or
/// release body and writing a lease use code generated at build time instead of metadata built by reflection at run
/// time. It is placed first in the Api's resolver chain (<see cref="Hosting.ServiceDefaultsExtensions"/>); every
/// other type (problem details, state views) still resolves by reflection behind it. Only metadata is generated: the
/// Api's own options (camelCase enum names without integers, strict numbers) apply to these types as to all others.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(AcquireRequest))]
[JsonSerializable(typeof(RenewRequest))]
[JsonSerializable(typeof(ReleaseRequest))]
[JsonSerializable(typeof(ValidateRequest))]
[JsonSerializable(typeof(LeaseResponse))]
[JsonSerializable(typeof(ValidateResponse))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
