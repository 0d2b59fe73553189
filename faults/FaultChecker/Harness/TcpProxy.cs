using System.Net;
using System.Net.Sockets;

namespace OrleansLocks.FaultChecker.Harness;

/*
 * Design note — network partitions without root.
 *
 * The harness cannot touch iptables or network namespaces (no root, a shared machine), so it puts a small TCP proxy
 * it controls in front of whatever it wants to cut: a silo's connections to PostgreSQL (the silo's connection
 * string names the proxy) and a silo's silo port (the silo listens on another loopback address, 127.0.0.N, and
 * advertises the proxy's 127.0.0.1 endpoint, so every peer and gateway reaches it only through the proxy).
 *
 * States:
 *  - Open: bytes flow both ways.
 *  - Blackhole: a partition as the network makes it. Established connections stay open but no byte moves either
 *    way (reads continue into the pumps' buffers, nothing is written on); new connections are accepted by the
 *    kernel and held, never connected upstream. Nobody learns anything until timeouts fire — exactly what a
 *    silently dropping switch does.
 * Heal ends a blackhole in one of two ways: Resume lets the held bytes through (delayed delivery: a write sent
 * before the partition may reach PostgreSQL seconds late, after its sender gave up on it — the case version
 * checks exist for) and connects the held connections; Reset closes every connection (RST) instead, as when a
 * NAT or a middle box forgot them.
 * The proxy never reorders or duplicates bytes within a connection; TCP does not either.
 */

/// <summary>A loopback TCP proxy the nemesis can blackhole and heal.</summary>
internal sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly HashSet<Pair> _pairs = [];
    private readonly Task _acceptLoop;
    private TaskCompletionSource _open = NewOpenSignal(opened: true);

    /// <summary>Listens on <paramref name="listen"/> (port 0: a free one) and forwards to <paramref name="upstream"/> (port 0: the same port as the listener's).</summary>
    public TcpProxy(string name, IPEndPoint listen, IPEndPoint upstream)
    {
        Name = name;
        _listener = new TcpListener(listen);
        _listener.Start();
        Endpoint = (IPEndPoint)_listener.LocalEndpoint;
        _upstream = upstream.Port == 0 ? new IPEndPoint(upstream.Address, Endpoint.Port) : upstream;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public string Name { get; }

    public IPEndPoint Endpoint { get; }

    public bool Blackholed
    {
        get
        {
            lock (_gate)
            {
                return !_open.Task.IsCompleted;
            }
        }
    }

    /// <summary>How many connections are currently proxied (for the report).</summary>
    public int Connections
    {
        get
        {
            lock (_gate)
            {
                return _pairs.Count;
            }
        }
    }

    /// <summary>Stops every byte in both directions, on existing and new connections, until healed.</summary>
    public void Blackhole()
    {
        lock (_gate)
        {
            if (_open.Task.IsCompleted)
            {
                _open = NewOpenSignal(opened: false);
            }
        }
    }

    /// <summary>Ends a blackhole: held bytes and connections go through, late.</summary>
    public void Resume()
    {
        lock (_gate)
        {
            _open.TrySetResult();
        }
    }

    /// <summary>Ends a blackhole by resetting every connection (held bytes are lost); returns how many were reset.</summary>
    public int Reset()
    {
        List<Pair> pairs;
        lock (_gate)
        {
            pairs = [.. _pairs];
            _pairs.Clear();
        }

        foreach (var pair in pairs)
        {
            pair.Abort();
        }

        Resume();
        return pairs.Count;
    }

    private static TaskCompletionSource NewOpenSignal(bool opened)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (opened)
        {
            signal.SetResult();
        }

        return signal;
    }

    private Task WhenOpen()
    {
        lock (_gate)
        {
            return _open.Task;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        client.NoDelay = true;
        var pair = new Pair(client);
        lock (_gate)
        {
            _pairs.Add(pair);
        }

        try
        {
            // A connection made during a blackhole is held: the client's SYN was answered (by the kernel), nothing more.
            await WhenOpen().WaitAsync(_stop.Token);
            var upstream = new Socket(_upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (!pair.Attach(upstream))
            {
                // Reset while it was held.
                return;
            }

            await upstream.ConnectAsync(_upstream, _stop.Token);
            await Task.WhenAll(PumpAsync(client, upstream, pair), PumpAsync(upstream, client, pair));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // The connection ended (either side closed, reset, or the proxy stops).
        }
        finally
        {
            lock (_gate)
            {
                _pairs.Remove(pair);
            }

            pair.Abort();
        }
    }

    private async Task PumpAsync(Socket from, Socket to, Pair pair)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    // EOF from one side: pass it on once the way is open (a FIN is a byte on the wire too).
                    await WhenOpen().WaitAsync(_stop.Token);
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await WhenOpen().WaitAsync(_stop.Token);
                var sent = 0;
                while (sent < read)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // One direction failed: end both, as a broken connection does.
            pair.Abort();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        List<Pair> pairs;
        lock (_gate)
        {
            pairs = [.. _pairs];
            _pairs.Clear();
        }

        foreach (var pair in pairs)
        {
            pair.Abort();
        }

        _stop.Dispose();
    }

    /// <summary>One proxied connection: the accepted client socket and the upstream socket once connected.</summary>
    private sealed class Pair(Socket client)
    {
        private readonly Lock _gate = new();
        private bool _aborted;
        private Socket? _upstream;

        /// <summary>Takes the upstream socket; false (and the socket closed) when the pair was already aborted.</summary>
        public bool Attach(Socket upstream)
        {
            lock (_gate)
            {
                if (!_aborted)
                {
                    _upstream = upstream;
                    return true;
                }
            }

            upstream.Dispose();
            return false;
        }

        /// <summary>Closes both sockets with a reset (linger 0), once.</summary>
        public void Abort()
        {
            lock (_gate)
            {
                if (_aborted)
                {
                    return;
                }

                _aborted = true;
            }

            foreach (var socket in new[] { client, _upstream })
            {
                if (socket is null)
                {
                    continue;
                }

                try
                {
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    // Already gone.
                }
            }
        }
    }
}
