using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OrleansLocks.Cluster.Tests.Infrastructure;
using OrleansLocks.Runtime;
using OrleansLocks.Silo;
using OrleansLocks.Silo.Membership;
using OrleansLocks.Silo.Transport;
using OrleansLocks.Testing;

namespace OrleansLocks.Cluster.Tests.Transport;

/// <summary>The silo-to-silo protocol as a receiver answers it.</summary>
public sealed class SiloTransportTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(ClusterBackend.InMemory, silos: 2);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Invoke_OnASiloThatDoesNotOwnTheGrain_AnswersNotOwnerWithItsViewAndRunsNothing()
    {
        var (owner, other) = (_cluster.Silos[0], _cluster.Silos[1]);
        var name = _cluster.LockOwnedBy(owner);

        var result = await Client(owner).InvokeAsync(other.Address, GetState(other.Address, name, other.Membership.Current.Version.Version), default);

        Assert.Equal(ForwardFailure.None, result.Failure);
        Assert.Equal(SiloErrorKind.NotOwner, result.Response!.Error!.Kind);
        Assert.Equal(other.Membership.Current.Version.Version, result.Response.MembershipVersion);
        Assert.False(other.Hosts(name));
    }

    [Fact]
    public async Task Invoke_OnTheOwner_ReturnsTheResultAsJson()
    {
        var (owner, other) = (_cluster.Silos[0], _cluster.Silos[1]);
        var name = _cluster.LockOwnedBy(owner);

        var result = await Client(other).InvokeAsync(owner.Address, GetState(owner.Address, name, 0), default);

        var state = result.Response!.Result!.Value.Deserialize<LockStateView>(SiloJson.Options)!;
        Assert.Equal(name, state.Name);
        Assert.True(owner.Hosts(name));
    }

    [Fact]
    public async Task Invoke_NamingAnotherIncarnation_IsNotOwner()
    {
        var owner = _cluster.Silos[0];
        var name = _cluster.LockOwnedBy(owner);
        var predecessor = owner.Address with { Generation = owner.Address.Generation - 1 };

        var result = await Client(owner).InvokeAsync(predecessor, GetState(predecessor, name, 0), default);

        Assert.Equal(SiloErrorKind.NotOwner, result.Response!.Error!.Kind);
        Assert.False(owner.Hosts(name));
    }

    [Fact]
    public async Task Invoke_ToAPortNobodyListensOn_IsNotSent()
    {
        var nobody = new SiloAddress("127.0.0.1", UnusedPort(), 1);

        var result = await Client(_cluster.Silos[0]).InvokeAsync(nobody, GetState(nobody, "x", 0), default);

        Assert.Equal(ForwardFailure.NotSent, result.Failure);
    }

    /*
     * An L4 middle box (a proxy, a load balancer, the fault checker's partition proxy) accepts the connection and
     * then resets it: SocketsHttpHandler can then throw a bare SocketException ("Transport endpoint is not
     * connected", while reading the new socket's remote end point) instead of an HttpRequestException. Found by the
     * fault checker in cluster mode, where it escaped the router and the gateway answered 500.
     */
    [Fact]
    public async Task InvokeAndProbe_PeerAcceptsThenResetsEveryConnection_FailInsteadOfThrowing()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var resetter = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using var socket = await listener.AcceptSocketAsync(stop.Token);
                    socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
                    socket.Close();
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var target = new SiloAddress("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port, 1);
        var client = Client(_cluster.Silos[0]);

        // Many at once: the reset must land between the connect and the handler's first look at the socket, a
        // window that concurrency (a busy thread pool) widens.
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                var result = await client.InvokeAsync(target, GetState(target, "x", 0), default);
                Assert.NotEqual(ForwardFailure.None, result.Failure);
                var (answer, failure) = await client.ProbeAsync(target, new ProbeRequest(target.ToString(), "test", 0), TimeSpan.FromSeconds(5), default);
                Assert.Null(answer);
                Assert.NotNull(failure);
            }
        })));

        await stop.CancelAsync();
        await resetter;
    }

    [Fact]
    public async Task Probe_ThisIncarnation_AnswersWithStatusAndActivations_AnotherIncarnation_Fails()
    {
        var (prober, target) = (_cluster.Silos[0], _cluster.Silos[1]);
        await target.Lock(_cluster.LockOwnedBy(target)).GetStateAsync();
        var client = Client(prober);

        var (answer, _) = await client.ProbeAsync(target.Address, new ProbeRequest(target.Address.ToString(), "test", 0), TimeSpan.FromSeconds(5), default);
        var older = target.Address with { Generation = 1 };
        var (none, failure) = await client.ProbeAsync(older, new ProbeRequest(older.ToString(), "test", 0), TimeSpan.FromSeconds(5), default);

        Assert.Equal(SiloStatus.Active, answer!.Status);
        Assert.Equal(1, answer.ActivationCount);
        Assert.Null(none);
        Assert.IsType<HttpRequestException>(failure);
    }

    [Fact]
    public async Task Transport_SpeaksHttp2Only()
    {
        using var http1 = new HttpClient { DefaultRequestVersion = HttpVersion.Version11, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        var succeeded = false;
        try
        {
            using var response = await http1.PostAsync(new Uri(_cluster.Silos[0].Address.BaseUri, "/silo/v1/probe"), null);
            succeeded = response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
        }

        Assert.False(succeeded);
    }

    [Fact]
    public async Task GetSilos_ListsEveryRowWithActivationCounts_AndADeadSiloWithoutOne()
    {
        var third = await _cluster.StartAdditionalSiloAsync();
        await _cluster.WaitForLivenessToStabilizeAsync();
        var (first, second) = (_cluster.Silos[0], _cluster.Silos[1]);
        await first.Lock(_cluster.LockOwnedBy(first, "a")).GetStateAsync();
        await first.Lock(_cluster.LockOwnedBy(second, "b")).GetStateAsync();
        var thirdAddress = third.Details.SiloAddress;
        await _cluster.KillSiloAsync(third);
        var management = first.Services.GetRequiredService<IClusterManagement>();

        await Eventually.TrueAsync(
            async () => (await management.GetSilosAsync()).Any(s => s.Address == thirdAddress && s.Status == SiloStatus.Dead),
            "the killed silo is declared dead");
        var silos = await management.GetSilosAsync();

        Assert.Equal(["silo1", "silo2", "silo3"], silos.Select(s => s.Name));
        Assert.Equal([first.Details.SiloAddress, second.Details.SiloAddress, thirdAddress], silos.Select(s => s.Address));
        Assert.Equal([1, 1, null], silos.Select(s => s.ActivationCount));
        Assert.Equal([SiloStatus.Active, SiloStatus.Active, SiloStatus.Dead], silos.Select(s => s.Status));
    }

    private static SiloTransportClient Client(TestSilo silo) => silo.Services.GetRequiredService<SiloTransportClient>();

    private static InvokeRequest GetState(SiloAddress target, string name, int version)
        => new(target.ToString(), "lock", name, typeof(ILockGrain).FullName!,
            Silo.Runtime.GrainMethod.Create(typeof(ILockGrain), typeof(ILockGrain).GetMethod(nameof(ILockGrain.GetStateAsync))!).Name, [], version);

    private static int UnusedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
