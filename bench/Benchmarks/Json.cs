using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansLocks.Benchmarks;

// The service's HTTP contract (BRIEF "HTTP API v1"): camelCase, durations as integer milliseconds.
internal sealed record ServiceAcquireRequest(string Mode, string Owner, long Ttl, long Wait);

internal sealed record ServiceReleaseRequest(string LeaseId);

internal sealed record ServiceLease(string LeaseId, long FencingToken);

internal sealed record ServiceProblem(string? Code);

internal sealed record ClusterView(List<SiloView>? Silos);

internal sealed record SiloView(string? Name, string? Status, int ActivationCount);

// etcd's JSON gateway speaks proto3 JSON: int64 as strings, bytes as base64.
internal sealed record EtcdLeaseGrantRequest([property: JsonPropertyName("TTL")] long Ttl);

internal sealed record EtcdLeaseGrantResponse([property: JsonPropertyName("ID")] long Id, [property: JsonPropertyName("error")] string? Error);

internal sealed record EtcdLeaseRevokeRequest(
    [property: JsonPropertyName("ID"), JsonNumberHandling(JsonNumberHandling.WriteAsString)] long Id);

internal sealed record EtcdLockRequest(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("lease"), JsonNumberHandling(JsonNumberHandling.WriteAsString)] long Lease);

internal sealed record EtcdLockResponse([property: JsonPropertyName("key")] string? Key);

internal sealed record EtcdUnlockRequest([property: JsonPropertyName("key")] string Key);

internal sealed record EtcdVersion([property: JsonPropertyName("etcdserver")] string? Server);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(ServiceAcquireRequest))]
[JsonSerializable(typeof(ServiceReleaseRequest))]
[JsonSerializable(typeof(ServiceLease))]
[JsonSerializable(typeof(ServiceProblem))]
[JsonSerializable(typeof(ClusterView))]
[JsonSerializable(typeof(EtcdLeaseGrantRequest))]
[JsonSerializable(typeof(EtcdLeaseGrantResponse))]
[JsonSerializable(typeof(EtcdLeaseRevokeRequest))]
[JsonSerializable(typeof(EtcdLockRequest))]
[JsonSerializable(typeof(EtcdLockResponse))]
[JsonSerializable(typeof(EtcdUnlockRequest))]
[JsonSerializable(typeof(EtcdVersion))]
internal sealed partial class BenchJson : JsonSerializerContext;
