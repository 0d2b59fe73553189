namespace OrleansLocks.Silo.Membership;

/// <summary>A suspicion vote: <see cref="Voter"/> failed to reach the silo at <see cref="Time"/> (Orleans' SuspectTimes item).</summary>
internal readonly record struct SuspectTime(SiloAddress Voter, DateTimeOffset Time);

/// <summary>
/// One row of the membership table: one incarnation of a silo (Orleans' MembershipEntry). Immutable: a change is a new
/// entry written with a compare-and-swap on the table version.
/// </summary>
internal sealed record MembershipEntry
{
    public required SiloAddress SiloAddress { get; init; }

    public required string SiloName { get; init; }

    public required string HostName { get; init; }

    public required SiloStatus Status { get; init; }

    /// <summary>When the silo started (UTC, millisecond precision).</summary>
    public required DateTimeOffset StartTime { get; init; }

    /// <summary>The silo's last heartbeat in the table (UTC, millisecond precision). Diagnostic, and for stale-row checks.</summary>
    public required DateTimeOffset IAmAliveTime { get; init; }

    /// <summary>Suspicion votes against the silo, oldest first.</summary>
    public IReadOnlyList<SuspectTime> SuspectTimes { get; init; } = [];

    /// <summary>
    /// Whether the silo has missed its heartbeats: no IAmAlive for longer than <paramref name="allowedSilence"/>
    /// (NumMissedTableIAmAliveLimit × IAmAliveTablePublishTimeout). A stale silo does not count towards the votes a
    /// death declaration needs, and a joining silo does not wait to reach it.
    /// </summary>
    public bool HasMissedIAmAlives(DateTimeOffset now, TimeSpan allowedSilence)
        => now - (IAmAliveTime > StartTime ? IAmAliveTime : StartTime) > allowedSilence;

    public override string ToString() => $"{SiloName} {SiloAddress} {Status}";
}

/// <summary>
/// The version of the whole membership table (Orleans' TableVersion). Every row change also moves the version from
/// v to v+1 by compare-and-swap, so it is the one concurrency token: a write based on a stale read fails.
/// </summary>
internal readonly record struct TableVersion(int Version) : IComparable<TableVersion>
{
    /// <summary>The version a write based on this read must produce.</summary>
    public TableVersion Next() => new(Version + 1);

    public int CompareTo(TableVersion other) => Version.CompareTo(other.Version);

    public static bool operator <(TableVersion left, TableVersion right) => left.Version < right.Version;

    public static bool operator >(TableVersion left, TableVersion right) => left.Version > right.Version;

    public static bool operator <=(TableVersion left, TableVersion right) => left.Version <= right.Version;

    public static bool operator >=(TableVersion left, TableVersion right) => left.Version >= right.Version;

    public override string ToString() => Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A consistent snapshot of the membership table: every row and the table version they belong to.</summary>
internal sealed class MembershipTableData(IReadOnlyList<MembershipEntry> members, TableVersion version)
{
    public static MembershipTableData Empty { get; } = new([], new TableVersion(0));

    public IReadOnlyList<MembershipEntry> Members { get; } = members;

    public TableVersion Version { get; } = version;

    public MembershipEntry? TryGet(SiloAddress silo)
    {
        foreach (var member in Members)
        {
            if (member.SiloAddress == silo)
            {
                return member;
            }
        }

        return null;
    }

    /// <summary>This snapshot with <paramref name="entry"/> inserted or replaced, at <paramref name="version"/>: what the table holds after a successful write of it.</summary>
    public MembershipTableData With(MembershipEntry entry, TableVersion version)
    {
        var members = new List<MembershipEntry>(Members.Count + 1);
        members.AddRange(Members.Where(m => m.SiloAddress != entry.SiloAddress));
        members.Add(entry);
        return new MembershipTableData(members, version);
    }

    public override string ToString() => $"v{Version}: {string.Join(", ", Members)}";
}
