using System.Text.Json;
using Microsoft.Extensions.Options;
using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Placement;
using OrleansLocks.Silo.Runtime;

namespace OrleansLocks.Silo.Transport;

/// <summary>
/// Answers other silos: runs forwarded calls on grains this silo hosts or owns (re-checking ownership with its own
/// view, caught up to the sender's; a grain it already hosts is served even if placement moved on, since the grain
/// directory names this activation until it deactivates), answers probes for this incarnation only, and catches up
/// on gossip.
/// </summary>
internal sealed class SiloMessageHandler(
    MembershipTableManager membership,
    Catalog catalog,
    GrainClassMap grainClasses,
    LocalSiloStatus status,
    DirectoryCache directoryCache,
    GrainLocator locator,
    SiloTransportClient transport,
    IOptions<ClusterMembershipOptions> options) : ISiloMessageHandler
{
    /// <summary>How long a receiver waits to catch up with a sender's newer view before it decides with its own.</summary>
    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(5);

    public async Task<InvokeResponse> InvokeAsync(InvokeRequest request, CancellationToken cancellationToken)
    {
        if (!IsMe(request.Target))
        {
            return NotOwner($"this is {membership.MyAddress}, not {request.Target}");
        }

        await CatchUpAsync(request.MembershipVersion, cancellationToken);
        var grainId = new GrainId(request.GrainType, request.Key);
        var hosted = catalog.TryGetActivation(grainId, out var activation) && activation.State != ActivationState.Invalid;
        if (status.Status != SiloStatus.Active || (!hosted && membership.Current.GetOwner(grainId) != membership.MyAddress))
        {
            if (request.FromDirectory && status.Status == SiloStatus.Active)
            {
                // The directory sent the caller here, but no activation of ours exists: if the entry is ours, it leaked
                // (an unregister that failed). Remove it, or the grain could never activate on its owner.
                await locator.RemoveLeakedEntryAsync(
                    grainId, activationId => catalog.TryGetActivation(grainId, out var live) && live.ActivationId == activationId);
            }

            return NotOwner(
                $"silo {membership.MyAddress} is {status.Status}, does not host {grainId}, and the owner in its view is {membership.Current.GetOwner(grainId)?.ToString() ?? "nobody"}",
                directoryCache.TryGet(grainId, out var registered) && registered != membership.MyAddress ? registered : null);
        }

        if (!grainClasses.TryGetInterface(request.Interface, out var grainInterface)
            || grainInterface.GrainType != request.GrainType
            || !grainInterface.TryGetMethod(request.Method, out var method))
        {
            return Failed(new SiloError(SiloErrorKind.InvalidOperation, $"Silo {membership.MyAddress} has no grain method {request.Interface}.{request.Method} for grain type '{request.GrainType}'."));
        }

        object?[] arguments;
        try
        {
            arguments = DeserializeArguments(method, request.Args);
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return Failed(new SiloError(SiloErrorKind.Argument, $"The arguments of {method.ShortName} do not fit its parameters: {e.Message}"));
        }

        var call = catalog.InvokeCall(grainId, method, arguments);
        try
        {
            var result = await call.Task;
            var json = method.ResultType is null ? (JsonElement?)null : JsonSerializer.SerializeToElement(result, method.ResultType, SiloJson.Options);
            return new InvokeResponse(json, null, membership.Current.Version.Version);
        }
        catch (Exception e) when (call.Rejected)
        {
            return NotOwner(e.Message, call.ForwardTo);
        }
        catch (Exception e)
        {
            return Failed(ToError(e));
        }
    }

    public async Task<ProbeResponse?> ProbeAsync(ProbeRequest request, CancellationToken cancellationToken)
    {
        var answer = Probe(request);
        if (answer is null || request.IndirectTarget is null)
        {
            return answer;
        }

        // An indirect probe: the prober cannot reach the target itself. Probe it from here, as the prober would.
        if (!SiloAddress.TryParse(request.IndirectTarget, out var target))
        {
            return answer with { IndirectOk = false, IndirectFailure = $"'{request.IndirectTarget}' is not a silo address" };
        }

        var (response, failure) = await transport.ProbeAsync(
            target, new ProbeRequest(target.ToString(), membership.MyAddress!.ToString(), membership.Current.Version.Version), options.Value.ProbeTimeout, cancellationToken);
        return answer with { IndirectOk = response is not null, IndirectFailure = failure?.Message };
    }

    private ProbeResponse? Probe(ProbeRequest request)
    {
        if (!IsMe(request.Target))
        {
            return null;
        }

        if (request.MembershipVersion > membership.Current.Version.Version)
        {
            _ = CatchUpAsync(request.MembershipVersion, CancellationToken.None);
        }

        return new ProbeResponse(membership.MyAddress!.ToString(), status.Status, membership.Current.Version.Version, catalog.ActivationCount);
    }

    public Task GossipAsync(GossipRequest request, CancellationToken cancellationToken)
        => CatchUpAsync(request.MembershipVersion, cancellationToken);

    internal static SiloError ToError(Exception exception) => exception switch
    {
        InconsistentStateException => new SiloError(SiloErrorKind.InconsistentState, exception.Message),
        StorageUnavailableException => new SiloError(SiloErrorKind.StorageUnavailable, exception.Message),
        SiloUnavailableException => new SiloError(SiloErrorKind.SiloUnavailable, exception.Message),
        ArgumentException => new SiloError(SiloErrorKind.Argument, exception.Message),
        InvalidOperationException => new SiloError(SiloErrorKind.InvalidOperation, exception.Message),
        _ => new SiloError(SiloErrorKind.Error, exception.Message, exception.GetType().FullName),
    };

    private static object?[] DeserializeArguments(GrainMethod method, JsonElement[] args)
    {
        if (args.Length != method.ParameterCount)
        {
            throw new ArgumentException($"{method.ShortName} takes {method.ParameterCount} argument(s), got {args.Length}.");
        }

        var arguments = new object?[args.Length];
        for (var i = 0; i < args.Length; i++)
        {
            arguments[i] = args[i].Deserialize(method.ParameterTypes[i], SiloJson.Options);
        }

        return arguments;
    }

    private bool IsMe(string target) => SiloAddress.TryParse(target, out var address) && address == membership.MyAddress;

    private async Task CatchUpAsync(int senderVersion, CancellationToken cancellationToken)
    {
        if (senderVersion <= membership.Current.Version.Version)
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CatchUpTimeout);
        try
        {
            await membership.RefreshAsync(new TableVersion(senderVersion), timeout.Token);
        }
        catch (Exception e) when (e is StorageUnavailableException or OperationCanceledException)
        {
            // Decide with the view we have: at worst the caller hears NotOwner and retries.
        }
    }

    private InvokeResponse NotOwner(string message, SiloAddress? forwardTo = null)
        => new(null, new SiloError(SiloErrorKind.NotOwner, message, ForwardTo: forwardTo?.ToString()), membership.Current.Version.Version);

    private InvokeResponse Failed(SiloError error) => new(null, error, membership.Current.Version.Version);
}
