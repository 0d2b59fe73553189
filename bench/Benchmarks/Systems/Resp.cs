using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansLocks.Benchmarks.Systems;

/// <summary>A Redis reply, as far as the benchmark needs one: its kind and its text or integer.</summary>
internal readonly record struct RespReply(char Kind, string? Text, long Integer, IReadOnlyList<RespReply>? Items = null)
{
    public bool IsNull => Kind is '$' or '*' && Text is null;

    public override string ToString() => Kind switch
    {
        ':' => $":{Integer}",
        '*' => Items is null ? "(nil)" : string.Join(' ', Items),
        _ => $"{Kind}{Text ?? "(nil)"}",
    };
}

/*
 * A minimal RESP2 client on one TCP connection (StackExchange.Redis does not restore here). One command at a time,
 * no pipelining: the closed-loop client sends a command and waits for its reply, as every peer's client does.
 * Replies are read whole (arrays as lists), which is all SET, EVALSHA, SCRIPT LOAD, INFO and CONFIG GET need.
 */
internal sealed class RespConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ArrayBufferWriter<byte> _out = new(256);
    private readonly byte[] _in = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RespConnection(Socket socket) => _socket = socket;

    public static async Task<RespConnection> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken);
            return new RespConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task<RespReply> CommandAsync(string[] arguments, CancellationToken cancellationToken)
    {
        _out.ResetWrittenCount();
        WriteHeader('*', arguments.Length);
        foreach (var argument in arguments)
        {
            var length = Encoding.UTF8.GetByteCount(argument);
            WriteHeader('$', length);
            Encoding.UTF8.GetBytes(argument, _out.GetSpan(length));
            _out.Advance(length);
            WriteCrLf();
        }

        var written = _out.WrittenMemory;
        while (!written.IsEmpty)
        {
            var sent = await _socket.SendAsync(written, SocketFlags.None, cancellationToken);
            written = written[sent..];
        }

        return await ReadReplyAsync(cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private void WriteHeader(char kind, int value)
    {
        var span = _out.GetSpan(16);
        span[0] = (byte)kind;
        Utf8Formatter.TryFormat(value, span[1..], out var digits);
        _out.Advance(1 + digits);
        WriteCrLf();
    }

    private void WriteCrLf()
    {
        var span = _out.GetSpan(2);
        span[0] = (byte)'\r';
        span[1] = (byte)'\n';
        _out.Advance(2);
    }

    private async Task<RespReply> ReadReplyAsync(CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(cancellationToken);
        var kind = (char)line[0];
        var rest = Encoding.UTF8.GetString(line.AsSpan(1));
        switch (kind)
        {
            case '+':
            case '-':
                return new RespReply(kind, rest, 0);
            case ':':
                return new RespReply(kind, null, long.Parse(rest, System.Globalization.CultureInfo.InvariantCulture));
            case '$':
                var length = int.Parse(rest, System.Globalization.CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return new RespReply(kind, null, 0);
                }

                var bytes = await ReadExactAsync(length + 2, cancellationToken);
                return new RespReply(kind, Encoding.UTF8.GetString(bytes, 0, length), 0);
            case '*':
                var count = int.Parse(rest, System.Globalization.CultureInfo.InvariantCulture);
                var items = new List<RespReply>(Math.Max(0, count));
                for (var i = 0; i < count; i++)
                {
                    items.Add(await ReadReplyAsync(cancellationToken));
                }

                return new RespReply(kind, count < 0 ? null : "", count, count < 0 ? null : items);
            default:
                throw new BenchProtocolException($"redis: unexpected reply '{kind}{rest}'");
        }
    }

    private async Task<byte[]> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var newline = _in.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (newline >= 0)
            {
                var line = _in.AsSpan(_start, newline).ToArray();
                _start += newline + 2;
                return line;
            }

            await FillAsync(cancellationToken);
        }
    }

    private async Task<byte[]> ReadExactAsync(int count, CancellationToken cancellationToken)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken);
            }

            var take = Math.Min(count - copied, _end - _start);
            _in.AsSpan(_start, take).CopyTo(result.AsSpan(copied));
            _start += take;
            copied += take;
        }

        return result;
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            _in.AsSpan(_start, _end - _start).CopyTo(_in);
            _end -= _start;
            _start = 0;
        }

        if (_end == _in.Length)
        {
            throw new BenchProtocolException("redis: reply line longer than the read buffer");
        }

        var read = await _socket.ReceiveAsync(_in.AsMemory(_end), SocketFlags.None, cancellationToken);
        if (read == 0)
        {
            throw new BenchProtocolException("redis: connection closed");
        }

        _end += read;
    }
}
