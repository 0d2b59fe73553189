using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace OrleansLocks.Api.Hosting;

/// <summary>
/// Caps request bodies at <see cref="ApiOptions.MaxRequestBodyBytes"/> (lock requests are a few hundred bytes).
/// A declared Content-Length over the cap is refused before anything is read; a body without one (chunked) is
/// cut off while it is read, which the JSON binder turns into a 413. Done here rather than only through Kestrel's
/// limit so that it holds on every server (including the test server) and the answer is a problem-details 413.
/// </summary>
internal sealed class RequestBodyLimitMiddleware(RequestDelegate next, IOptions<ApiOptions> options)
{
    private readonly long _limit = options.Value.MaxRequestBodyBytes;

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.ContentLength > _limit)
        {
            throw new BadHttpRequestException(
                $"The request body has {context.Request.ContentLength} bytes; at most {_limit} are accepted.",
                StatusCodes.Status413PayloadTooLarge);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = _limit;
        }

        context.Request.Body = new LimitedReadStream(context.Request.Body, _limit);
        return next(context);
    }

    /// <summary>A read-only view of the request body that fails with 413 once more than the limit was read.</summary>
    private sealed class LimitedReadStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            _read += read;
            return _read > limit
                ? throw new BadHttpRequestException($"The request body is larger than {limit} bytes.", StatusCodes.Status413PayloadTooLarge)
                : read;
        }
    }
}
