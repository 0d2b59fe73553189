using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansLocks.Grains;

/*
 * Design note — why tombstones have their own storage form.
 *
 * A lock that is used over and over carries up to Locks:MaxTombstones ended leases, and the whole state is rewritten
 * on every grant, renew and release. As objects with property names and ISO-8601 times a tombstone took about 160
 * bytes, so such a lock's row was ~5 KB: serialized on every write (half of a write's allocations) and, on
 * PostgreSQL, above the ~2 KB TOAST threshold, so every write also compressed the row and rewrote TOAST chunks.
 *
 * So a tombstone is written as one JSON array, positional, times in Unix milliseconds:
 *   [leaseId, requestId, reason, fencingToken, endedAtUnixMs]                       (released, expired)
 *   [leaseId, requestId, reason, fencingToken, endedAtUnixMs, forcedBy, forceReason] (force-released)
 * requestId is "" when the Api generated it. A tombstone of a lease with a generated request id is ~55 bytes.
 *
 * Compatibility: rows written before this form hold objects ({"LeaseId": …, "EndedAt": "2026-…"}); both forms are
 * read, so an upgraded silo reads old rows and rewrites them in the new form on their next write. Fields after the
 * fifth are optional, and unknown trailing elements are skipped, so a later version may append fields.
 * Millisecond precision is enough: EndedAt only ages tombstones out (Locks:TombstoneRetention, minutes).
 */

/// <summary>Reads and writes <see cref="LockTombstone"/> as a compact JSON array (and reads the older object form).</summary>
public sealed class LockTombstoneJsonConverter : JsonConverter<LockTombstone>
{
    /// <inheritdoc />
    public override LockTombstone Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => reader.TokenType switch
        {
            JsonTokenType.StartArray => ReadArray(ref reader),
            JsonTokenType.StartObject => ReadObject(ref reader),
            _ => throw new JsonException($"A lock tombstone must be a JSON array or object, not {reader.TokenType}."),
        };

    /// <inheritdoc />
    /// <remarks>
    /// With the default writer options (the storage serializer's) the tombstone's JSON is made once and copied on
    /// every later write of the state; any other writer (indented, another encoder) writes it out as usual.
    /// </remarks>
    public override void Write(Utf8JsonWriter writer, LockTombstone value, JsonSerializerOptions options)
    {
        if (writer.Options.Indented || writer.Options.Encoder is not null)
        {
            WriteArray(writer, value);
            return;
        }

        var json = value.CachedJson ??= Render(value);
        writer.WriteRawValue(json, skipInputValidation: true);
    }

    private static byte[] Render(LockTombstone value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(96);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteArray(writer, value);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteArray(Utf8JsonWriter writer, LockTombstone value)
    {
        writer.WriteStartArray();
        writer.WriteStringValue(value.LeaseId);
        writer.WriteStringValue(value.RequestId);
        writer.WriteNumberValue((int)value.Reason);
        writer.WriteNumberValue(value.FencingToken);
        writer.WriteNumberValue(value.EndedAt.ToUnixTimeMilliseconds());
        if (value.ForcedBy is not null || value.ForceReason is not null)
        {
            WriteNullableString(writer, value.ForcedBy);
            WriteNullableString(writer, value.ForceReason);
        }

        writer.WriteEndArray();
    }

    private static LockTombstone ReadArray(ref Utf8JsonReader reader)
    {
        var tombstone = new LockTombstone();
        var index = 0;
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            switch (index++)
            {
                case 0: tombstone.LeaseId = ReadString(ref reader, "leaseId"); break;
                case 1: tombstone.RequestId = ReadString(ref reader, "requestId"); break;
                case 2: tombstone.Reason = (LeaseLostReason)reader.GetInt32(); break;
                case 3: tombstone.FencingToken = reader.GetInt64(); break;
                case 4: tombstone.EndedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64()); break;
                case 5: tombstone.ForcedBy = reader.TokenType == JsonTokenType.Null ? null : reader.GetString(); break;
                case 6: tombstone.ForceReason = reader.TokenType == JsonTokenType.Null ? null : reader.GetString(); break;
                default: reader.Skip(); break;
            }
        }

        if (index < 5)
        {
            throw new JsonException($"A lock tombstone array has {index} elements; at least 5 are needed.");
        }

        return tombstone;
    }

    /// <summary>The form written before the compact one: an object with PascalCase properties and ISO-8601 times.</summary>
    private static LockTombstone ReadObject(ref Utf8JsonReader reader)
    {
        var tombstone = new LockTombstone();
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var property = reader.GetString();
            Next(ref reader);
            switch (property)
            {
                case nameof(LockTombstone.LeaseId): tombstone.LeaseId = ReadString(ref reader, property); break;
                case nameof(LockTombstone.RequestId): tombstone.RequestId = ReadString(ref reader, property); break;
                case nameof(LockTombstone.Reason): tombstone.Reason = (LeaseLostReason)reader.GetInt32(); break;
                case nameof(LockTombstone.FencingToken): tombstone.FencingToken = reader.GetInt64(); break;
                case nameof(LockTombstone.EndedAt): tombstone.EndedAt = reader.GetDateTimeOffset(); break;
                case nameof(LockTombstone.ForcedBy): tombstone.ForcedBy = reader.GetString(); break;
                case nameof(LockTombstone.ForceReason): tombstone.ForceReason = reader.GetString(); break;
                default: reader.Skip(); break;
            }
        }

        return tombstone;
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader)
        => reader.Read() ? reader.TokenType : throw new JsonException("A lock tombstone ends early.");

    private static string ReadString(ref Utf8JsonReader reader, string field)
        => reader.GetString() ?? throw new JsonException($"A lock tombstone's {field} is null.");

    private static void WriteNullableString(Utf8JsonWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}
