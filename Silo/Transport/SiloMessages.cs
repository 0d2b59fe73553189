using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansLocks.Silo.Transport;

/*
 * The silo-to-silo protocol, version 1: JSON over HTTP/2 cleartext (h2c), one POST per message.
 *   POST /silo/v1/invoke  InvokeRequest  -> 200 InvokeResponse (a result or a typed error)
 *   POST /silo/v1/probe   ProbeRequest   -> 200 ProbeResponse, 404 when the target is another incarnation
 *   POST /silo/v1/gossip  GossipRequest  -> 204 (the receiver refreshes its view if the sender's is newer)
 * Every message names its target incarnation (host:port@generation), so a restarted silo on the same endpoint
 * never answers for its predecessor, and carries the sender's membership version, so the side with the older view
 * refreshes before it decides anything.
 */

/// <summary>A grain call sent to the silo that owns the grain.</summary>
/// <param name="Target">The silo incarnation the sender believes owns the grain.</param>
/// <param name="Interface">The grain interface's full type name.</param>
/// <param name="Method">The method's stable name (<c>GrainMethod.Name</c>).</param>
/// <param name="Args">One JSON value per parameter, serialized as the parameter's declared type.</param>
/// <param name="MembershipVersion">The sender's membership table version.</param>
/// <param name="FromDirectory">
/// Whether the sender chose the target because the grain directory names it (not by placement): a receiver that does
/// not host the grain then checks for a leaked directory entry of its own and removes it.
/// </param>
internal sealed record InvokeRequest(
    string Target, string GrainType, string Key, string Interface, string Method, JsonElement[] Args, int MembershipVersion, bool FromDirectory = false);

/// <summary>The outcome of a forwarded call: <see cref="Result"/> (the method's result as its declared type) or <see cref="Error"/>.</summary>
/// <param name="MembershipVersion">The receiver's membership version when it answered.</param>
internal sealed record InvokeResponse(JsonElement? Result, SiloError? Error, int MembershipVersion);

/// <summary>Why a forwarded call failed.</summary>
/// <param name="Kind">One of <see cref="SiloErrorKind"/>'s constants.</param>
/// <param name="Message">The exception's message.</param>
/// <param name="ExceptionType">The full type name of the exception the grain threw, for <see cref="SiloErrorKind.Error"/>.</param>
/// <param name="ForwardTo">For <see cref="SiloErrorKind.NotOwner"/>: the silo the grain directory names as the grain's host, when the receiver knows it.</param>
internal sealed record SiloError(string Kind, string Message, string? ExceptionType = null, string? ForwardTo = null);

/// <summary>The kinds of <see cref="SiloError"/>.</summary>
internal static class SiloErrorKind
{
    /// <summary>The receiver is not the grain's owner in its view (or not active, or another incarnation); the call did not run.</summary>
    public const string NotOwner = "NotOwner";

    /// <summary>InconsistentStateException: a version conflict.</summary>
    public const string InconsistentState = "InconsistentState";

    /// <summary>StorageUnavailableException.</summary>
    public const string StorageUnavailable = "StorageUnavailable";

    /// <summary>SiloUnavailableException (e.g. version conflicts on every attempt, or the activation failed).</summary>
    public const string SiloUnavailable = "SiloUnavailable";

    /// <summary>ArgumentException (and subclasses): the call's arguments were refused.</summary>
    public const string Argument = "Argument";

    /// <summary>InvalidOperationException.</summary>
    public const string InvalidOperation = "InvalidOperation";

    /// <summary>Anything else the grain threw.</summary>
    public const string Error = "Error";
}

/// <summary>A liveness probe.</summary>
/// <param name="Target">The incarnation the prober means.</param>
/// <param name="From">The prober (a silo address, or "client").</param>
/// <param name="IndirectTarget">
/// For an indirect probe (Orleans' indirect probing): the silo the receiver should probe on the prober's behalf
/// before it answers; the answer's <see cref="ProbeResponse.IndirectOk"/> says whether that silo answered.
/// </param>
internal sealed record ProbeRequest(string Target, string From, int MembershipVersion, string? IndirectTarget = null);

/// <summary>A probe's answer: who answered, in what state, with what view and how many activations.</summary>
/// <param name="IndirectOk">For an indirect probe: whether the silo probed on the prober's behalf answered.</param>
/// <param name="IndirectFailure">For an indirect probe that failed: why.</param>
internal sealed record ProbeResponse(
    string Silo, SiloStatus Status, int MembershipVersion, int ActivationCount, bool? IndirectOk = null, string? IndirectFailure = null);

/// <summary>"The membership table changed; it is at this version now."</summary>
internal sealed record GossipRequest(string From, int MembershipVersion);

/// <summary>JSON settings of the silo protocol: web defaults (camelCase), enums as numbers, no indentation.</summary>
internal static class SiloJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
