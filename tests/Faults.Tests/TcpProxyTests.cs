using System.Net;
using System.Net.Sockets;
using System.Text;
using OrleansLocks.FaultChecker.Harness;

namespace OrleansLocks.Faults.Tests;

/// <summary>The nemesis's partitions: bytes flow through the proxy, stop in a blackhole, and come through late or are reset on heal.</summary>
public sealed class TcpProxyTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Open_BytesFlowBothWays()
    {
        await using var echo = new EchoServer();
        await using var proxy = new TcpProxy("test", new IPEndPoint(IPAddress.Loopback, 0), echo.Endpoint);
        using var client = await ConnectAsync(proxy);

        Assert.Equal("hello", await RoundTripAsync(client, "hello"));
    }

    [Fact]
    public async Task Blackhole_HoldsBytesUntilResumed_ThenDeliversThemLate()
    {
        await using var echo = new EchoServer();
        await using var proxy = new TcpProxy("test", new IPEndPoint(IPAddress.Loopback, 0), echo.Endpoint);
        using var client = await ConnectAsync(proxy);
        Assert.Equal("before", await RoundTripAsync(client, "before"));

        proxy.Blackhole();
        await client.SendAsync(Encoding.ASCII.GetBytes("held"));
        var buffer = new byte[64];
        var receive = client.ReceiveAsync(buffer, SocketFlags.None);

        // Nothing may come back while the proxy is a blackhole (a wrong proxy could only pass this by luck of timing).
        Assert.NotSame(receive, await Task.WhenAny(receive, Task.Delay(TimeSpan.FromMilliseconds(500))));
        Assert.Equal(0, echo.Received("held"));
        proxy.Resume();

        var n = await receive.WaitAsync(Patience);
        Assert.Equal("held", Encoding.ASCII.GetString(buffer, 0, n));
    }

    [Fact]
    public async Task Blackhole_NewConnectionIsHeldThenConnectedOnResume()
    {
        await using var echo = new EchoServer();
        await using var proxy = new TcpProxy("test", new IPEndPoint(IPAddress.Loopback, 0), echo.Endpoint);
        proxy.Blackhole();
        using var client = await ConnectAsync(proxy);
        await client.SendAsync(Encoding.ASCII.GetBytes("late"));
        var buffer = new byte[64];
        var receive = client.ReceiveAsync(buffer, SocketFlags.None);
        Assert.NotSame(receive, await Task.WhenAny(receive, Task.Delay(TimeSpan.FromMilliseconds(500))));
        Assert.Equal(0, echo.Connections);

        proxy.Resume();

        var n = await receive.WaitAsync(Patience);
        Assert.Equal("late", Encoding.ASCII.GetString(buffer, 0, n));
    }

    [Fact]
    public async Task Reset_ClosesHeldConnectionsAndDropsTheirBytes()
    {
        await using var echo = new EchoServer();
        await using var proxy = new TcpProxy("test", new IPEndPoint(IPAddress.Loopback, 0), echo.Endpoint);
        using var client = await ConnectAsync(proxy);
        Assert.Equal("before", await RoundTripAsync(client, "before"));
        proxy.Blackhole();
        await client.SendAsync(Encoding.ASCII.GetBytes("lost"));

        Assert.Equal(1, proxy.Reset());

        // The client sees its connection end (reset or EOF), and the held bytes never reached the server.
        var buffer = new byte[64];
        try
        {
            Assert.Equal(0, await client.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Patience));
        }
        catch (SocketException)
        {
            // Connection reset: as intended.
        }

        Assert.Equal(0, echo.Received("lost"));
        using var again = await ConnectAsync(proxy);
        Assert.Equal("after", await RoundTripAsync(again, "after"));
    }

    private static async Task<Socket> ConnectAsync(TcpProxy proxy)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(proxy.Endpoint);
        return socket;
    }

    private static async Task<string> RoundTripAsync(Socket socket, string text)
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes(text));
        var buffer = new byte[64];
        var received = new StringBuilder();
        while (received.Length < text.Length)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Patience);
            Assert.NotEqual(0, n);
            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return received.ToString();
    }

    /// <summary>Echoes every byte back and remembers what it received.</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly StringBuilder _received = new();
        private readonly Task _loop;
        private int _connections;

        public EchoServer()
        {
            _listener.Start();
            Endpoint = (IPEndPoint)_listener.LocalEndpoint;
            _loop = Task.Run(AcceptAsync);
        }

        public IPEndPoint Endpoint { get; }

        public int Connections => Volatile.Read(ref _connections);

        public int Received(string text)
        {
            lock (_received)
            {
                return _received.ToString().Contains(text, StringComparison.Ordinal) ? 1 : 0;
            }
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    Interlocked.Increment(ref _connections);
                    _ = Task.Run(() => EchoAsync(socket));
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        private async Task EchoAsync(Socket socket)
        {
            using (socket)
            {
                var buffer = new byte[1024];
                try
                {
                    while (true)
                    {
                        var n = await socket.ReceiveAsync(buffer, _stop.Token);
                        if (n == 0)
                        {
                            return;
                        }

                        lock (_received)
                        {
                            _received.Append(Encoding.ASCII.GetString(buffer, 0, n));
                        }

                        await socket.SendAsync(buffer.AsMemory(0, n), _stop.Token);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop;
            _stop.Dispose();
        }
    }
}
