namespace OrleansLocks;

/// <summary>How a lease holds its lock.</summary>
public enum LockMode
{
    /// <summary>One holder and no readers.</summary>
    Exclusive = 0,

    /// <summary>Any number of readers and no exclusive holder.</summary>
    Shared = 1,
}

/// <summary>What a lock looks like from outside.</summary>
public enum LockStateMode
{
    /// <summary>No holder.</summary>
    Free = 0,

    /// <summary>Held by one exclusive holder.</summary>
    Exclusive = 1,

    /// <summary>Held by one or more readers.</summary>
    Shared = 2,
}

/// <summary>Why a lease is no longer held.</summary>
public enum LeaseLostReason
{
    /// <summary>The lease's deadline passed before it was renewed.</summary>
    Expired = 0,

    /// <summary>The holder released it.</summary>
    Released = 1,

    /// <summary>An administrator force-released the lock.</summary>
    ForceReleased = 2,

    /// <summary>The lock has no record of this lease id (never issued, or forgotten after the tombstone retention).</summary>
    Unknown = 3,
}
