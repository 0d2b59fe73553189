using System.Buffers.Text;
using System.Security.Cryptography;

namespace OrleansLocks.Grains;

/*
 * Design note — the rules of one lock (SPEC §2), as a pure function of (state, now, request).
 *
 * No I/O and no clock: the grain passes `now` and persists the state the machine mutated; tests drive it with
 * fixed instants. Lease-id generation is injectable (the default is 16 bytes from RandomNumberGenerator,
 * base64url, 22 characters).
 *
 * Every operation first sweeps: holders whose ExpiresAt <= now are removed (tombstone Expired), waiters with
 * now > PollDeadline + WaiterGrace are abandoned, the queue advances, tombstones older than the retention are
 * forgotten. Then it applies its own rule and advances the queue again when holders or waiters left.
 *
 * Invariants after every operation (checked by the property test):
 *  - holders are either exactly one exclusive lease or only shared leases;
 *  - the queue head is not grantable (it is incompatible with the holders): nothing that could be granted waits,
 *    and nothing is granted past a waiter (no barging — a new request is granted at once only on an empty queue);
 *  - every grant takes ++FencingCounter, so tokens strictly increase and the counter is >= every token;
 *    force-release bumps the counter as well; nothing ever lowers it;
 *  - a request id appears at most once among holders and waiters.
 *
 * Changed reports whether the durable state differs from what was loaded; the grain writes it before replying.
 * One deliberate exception: forgetting tombstones by age does not by itself count as a change. Expired tombstones
 * are ignored by every lookup anyway (the age test is a pure function of time), so skipping that write loses
 * nothing and keeps read-only calls free of writes.
 *
 * Inputs are validated by the Api; the machine still clamps TTL and wait into the configured bounds so that a
 * bug elsewhere can never make it overflow a DateTimeOffset or throw at a caller.
 */

/// <summary>What happened to a lock, for logs and (later) event streams.</summary>
internal enum LockEventKind
{
    /// <summary>An acquire arrived.</summary>
    Requested,

    /// <summary>A request joined the queue at <see cref="LockEvent.Position"/>.</summary>
    Queued,

    /// <summary>A lease was granted with <see cref="LockEvent.FencingToken"/>.</summary>
    Granted,

    /// <summary>A lease was extended to <see cref="LockEvent.ExpiresAt"/>.</summary>
    Renewed,

    /// <summary>A holder released its lease.</summary>
    Released,

    /// <summary>A lease's deadline passed.</summary>
    Expired,

    /// <summary>A waiter whose client stopped polling was removed.</summary>
    WaiterAbandoned,

    /// <summary>A waiter was removed on request.</summary>
    WaitCancelled,

    /// <summary>A holder was removed by an administrator (<see cref="LockEvent.By"/>, <see cref="LockEvent.Reason"/>).</summary>
    ForceReleased,

    /// <summary>A force-release bumped the counter to <see cref="LockEvent.FencingToken"/> after removing <see cref="LockEvent.Count"/> holders.</summary>
    FencingBumped,

    /// <summary>A lease whose deadline passed while the lock was not hosted got the recovery grace.</summary>
    LeaseRecovered,

    /// <summary>A waiter whose poll deadline passed while the lock was not hosted got the recovery grace.</summary>
    WaiterRecovered,
}

/// <summary>One fact about a lock. Fields that do not apply to <see cref="Kind"/> are left at their defaults.</summary>
internal sealed record LockEvent(LockEventKind Kind, string Owner, LockMode Mode, string RequestId)
{
    public long FencingToken { get; init; }

    public int Position { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public string? By { get; init; }

    public string? Reason { get; init; }

    public int Count { get; init; }

    /// <summary>When the lease began, on events that end one (released, expired, force-released): for hold times.</summary>
    public DateTimeOffset? AcquiredAt { get; init; }

    /// <summary>When a granted waiter joined the queue (null for a grant without waiting): for wait times.</summary>
    public DateTimeOffset? EnqueuedAt { get; init; }
}

/// <summary>What one operation did besides its result: whether the state must be written, events, queue departures.</summary>
internal sealed class LockChanges
{
    private List<LockEvent>? _events;
    private List<string>? _leftQueue;

    /// <summary>Whether the persisted state changed and must be written before the reply.</summary>
    public bool StateChanged { get; private set; }

    /// <summary>The events, in order.</summary>
    public IReadOnlyList<LockEvent> Events => _events ?? (IReadOnlyList<LockEvent>)[];

    /// <summary>Request ids of waiters that left the queue (granted, abandoned or cancelled).</summary>
    public IReadOnlyList<string> LeftQueue => _leftQueue ?? (IReadOnlyList<string>)[];

    /// <summary>The request id that joined the queue, if one did.</summary>
    public string? Enqueued { get; private set; }

    internal void MarkChanged() => StateChanged = true;

    internal void Add(LockEvent lockEvent) => (_events ??= []).Add(lockEvent);

    internal void AddLeftQueue(string requestId) => (_leftQueue ??= []).Add(requestId);

    internal void SetEnqueued(string requestId) => Enqueued = requestId;
}

/// <summary>The result of an operation together with its changes.</summary>
internal readonly record struct LockOutcome<TResult>(TResult Result, LockChanges Changes);

/// <summary>The rules of one lock over its <see cref="LockState"/>. Deterministic: no I/O, no clock.</summary>
/// <param name="name">The lock's name (goes into leases and views).</param>
/// <param name="options">The lease and queue rules.</param>
/// <param name="newLeaseId">Makes lease ids; the default is 128 random bits, base64url. Tests inject a sequence.</param>
internal sealed class LockStateMachine(string name, LockOptions options, Func<string>? newLeaseId = null)
{
    private static readonly TimeSpan OneTick = TimeSpan.FromTicks(1);
    private readonly Func<string> _newLeaseId = newLeaseId ?? NewLeaseId;

    /// <summary>The lock's name.</summary>
    public string Name { get; } = name;

    /// <summary>A fresh unguessable lease id: 16 bytes from the OS RNG, base64url without padding (22 characters).</summary>
    public static string NewLeaseId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>Grants, enqueues or refuses an acquire; repeats of a request id return the same outcome.</summary>
    public LockOutcome<AcquireResult> Acquire(LockState state, DateTimeOffset now, AcquireCommand command)
    {
        var changes = new LockChanges();
        Sweep(state, now, changes);

        var mode = command.Mode;
        var requestId = command.RequestId ?? "";
        var owner = command.Owner ?? "";
        changes.Add(new LockEvent(LockEventKind.Requested, owner, mode, requestId));

        // The caller believes it holds a lease: if it still does, that lease is the answer (no new grant).
        if (command.LeaseId is { } leaseId && FindHolderByLease(state, leaseId) is { } held)
        {
            return new(held.Mode == mode ? Granted(state, held) : Outcome(state, AcquireStatus.ModeConflict), changes);
        }

        // A repeat of an earlier request: the same outcome as then.
        if (FindHolderByRequest(state, requestId) is { } granted)
        {
            return new(granted.Mode == mode ? Granted(state, granted) : Outcome(state, AcquireStatus.ModeConflict), changes);
        }

        var index = IndexOfWaiter(state, requestId);
        if (index >= 0)
        {
            // Still waiting: keep the place, and note that a request of this waiter is polling again until now + wait.
            var waiter = state.Waiters[index];
            var pollDeadline = now + ClampWait(command.Wait);
            if (waiter.PollDeadline != pollDeadline)
            {
                waiter.PollDeadline = pollDeadline;
                changes.MarkChanged();
            }

            return new(Outcome(state, AcquireStatus.Queued, position: index + 1), changes);
        }

        if (FindTombstoneByRequest(state, requestId) is { } ended)
        {
            return new(Outcome(state, AcquireStatus.LeaseEnded, reason: ended.Reason), changes);
        }

        // A new request. A principal's leases and queue places on one lock are bounded (an abuse limit: shared leases
        // and waiters otherwise grow the lock's state without bound); repeats above were answered before this check.
        if (command is { Principal: { } principal, MaxLeasesPerPrincipal: > 0 }
            && CountOf(state, principal) >= command.MaxLeasesPerPrincipal)
        {
            return new(Outcome(state, AcquireStatus.LeaseLimit), changes);
        }

        // No barging: granted at once only when nobody is queued ahead.
        var ttl = ClampTtl(command.Ttl);
        if (state.Waiters.Count == 0 && IsCompatible(state, mode))
        {
            var holder = Grant(state, now, requestId, owner, mode, ttl, ttl, changes);
            holder.Principal = command.Principal;
            holder.GeneratedRequestId = command.RequestIdGenerated;
            return new(Granted(state, holder), changes);
        }

        var wait = ClampWait(command.Wait);
        if (wait <= TimeSpan.Zero)
        {
            return new(Outcome(state, AcquireStatus.NotGranted), changes);
        }

        if (state.Waiters.Count >= Math.Max(1, options.MaxQueueLength))
        {
            return new(Outcome(state, AcquireStatus.QueueFull), changes);
        }

        state.Waiters.Add(new LockWaiter
        {
            RequestId = requestId,
            Owner = owner,
            Mode = mode,
            Ttl = ttl,
            EnqueuedAt = now,
            PollDeadline = now + wait,
            Principal = command.Principal,
            GeneratedRequestId = command.RequestIdGenerated,
        });
        var position = state.Waiters.Count;
        changes.MarkChanged();
        changes.SetEnqueued(requestId);
        changes.Add(new LockEvent(LockEventKind.Queued, owner, mode, requestId) { Position = position });
        return new(Outcome(state, AcquireStatus.Queued, position: position), changes);
    }

    /// <summary>The current outcome of an earlier acquire. Does not refresh the waiter's poll deadline.</summary>
    public LockOutcome<AcquireResult> Poll(LockState state, DateTimeOffset now, string requestId)
    {
        var changes = new LockChanges();
        Sweep(state, now, changes);

        if (FindHolderByRequest(state, requestId) is { } holder)
        {
            return new(Granted(state, holder), changes);
        }

        var index = IndexOfWaiter(state, requestId);
        if (index >= 0)
        {
            return new(Outcome(state, AcquireStatus.Queued, position: index + 1), changes);
        }

        return FindTombstoneByRequest(state, requestId) is { } ended
            ? new(Outcome(state, AcquireStatus.LeaseEnded, reason: ended.Reason), changes)
            : new(Outcome(state, AcquireStatus.NotGranted), changes);
    }

    /// <summary>The grant of the lease the request holds now, or null when it holds none (no sweep, nothing changes).</summary>
    public AcquireResult? GrantOf(LockState state, string requestId)
        => FindHolderByRequest(state, requestId) is { } holder ? Granted(state, holder) : null;

    /// <summary>Removes a waiter; the result says whether there was one.</summary>
    public LockOutcome<bool> CancelWait(LockState state, DateTimeOffset now, string requestId)
    {
        var changes = new LockChanges();
        Sweep(state, now, changes);

        var index = IndexOfWaiter(state, requestId);
        if (index < 0)
        {
            return new(false, changes);
        }

        var waiter = state.Waiters[index];
        state.Waiters.RemoveAt(index);
        changes.MarkChanged();
        changes.AddLeftQueue(waiter.RequestId);
        changes.Add(new LockEvent(LockEventKind.WaitCancelled, waiter.Owner, waiter.Mode, waiter.RequestId) { Position = index + 1 });

        // The cancelled waiter may have been the one blocking the waiters behind it.
        AdvanceQueue(state, now, changes);
        return new(true, changes);
    }

    /// <summary>Extends a held lease to now + ttl (default: the lease's TTL); otherwise says why it is lost.</summary>
    public LockOutcome<RenewResult> Renew(LockState state, DateTimeOffset now, string leaseId, TimeSpan? ttl)
    {
        var changes = new LockChanges();
        Sweep(state, now, changes);

        if (FindHolderByLease(state, leaseId) is not { } holder)
        {
            return new(new RenewResult(null, LostReason(state, leaseId)), changes);
        }

        // A TTL given here becomes the lease's TTL for later renews without one.
        var newTtl = ClampTtl(ttl ?? holder.Ttl);
        var expiresAt = now + newTtl;
        if (holder.ExpiresAt != expiresAt || holder.Ttl != newTtl)
        {
            holder.Ttl = newTtl;
            holder.ExpiresAt = expiresAt;
            changes.MarkChanged();
            changes.Add(new LockEvent(LockEventKind.Renewed, holder.Owner, holder.Mode, holder.RequestId)
            {
                FencingToken = holder.FencingToken,
                ExpiresAt = expiresAt,
            });
        }

        return new(new RenewResult(ToLease(holder), null), changes);
    }

    /// <summary>Releases a lease and grants the waiters that become compatible. Idempotent per lease id.</summary>
    public LockOutcome<ReleaseResult> Release(LockState state, DateTimeOffset now, string leaseId)
    {
        var changes = new LockChanges();
        Sweep(state, now, changes);

        var index = IndexOfHolder(state, leaseId);
        if (index < 0)
        {
            var reason = LostReason(state, leaseId);
            return new(reason == LeaseLostReason.Released ? new ReleaseResult(true, null) : new ReleaseResult(false, reason), changes);
        }

        var holder = state.Holders[index];
        state.Holders.RemoveAt(index);
        EndLease(state, holder, LeaseLostReason.Released, now, changes);
        changes.Add(new LockEvent(LockEventKind.Released, holder.Owner, holder.Mode, holder.RequestId) { FencingToken = holder.FencingToken, AcquiredAt = holder.AcquiredAt });
        AdvanceQueue(state, now, changes);
        return new(new ReleaseResult(true, null), changes);
    }

    /// <summary>Whether the token belongs to a current holder; the current token is the counter.</summary>
    public LockOutcome<ValidateResult> Validate(LockState state, DateTimeOffset now, long fencingToken)
    {
        var changes = new LockChanges();
        Sweep(state, now, changes);

        var valid = false;
        foreach (var holder in state.Holders)
        {
            valid |= holder.FencingToken == fencingToken;
        }

        return new(new ValidateResult(valid, state.FencingCounter), changes);
    }

    /// <summary>Removes every holder (tombstone ForceReleased), bumps the counter, grants the queue head.</summary>
    public LockOutcome<ForceReleaseResult> ForceRelease(LockState state, DateTimeOffset now, string requestedBy, string reason)
    {
        var changes = new LockChanges();
        Sweep(state, now, changes);

        var removed = state.Holders.Count;
        foreach (var holder in state.Holders)
        {
            EndLease(state, holder, LeaseLostReason.ForceReleased, now, changes, requestedBy, reason);
            changes.Add(new LockEvent(LockEventKind.ForceReleased, holder.Owner, holder.Mode, holder.RequestId)
            {
                FencingToken = holder.FencingToken,
                By = requestedBy,
                Reason = reason,
                AcquiredAt = holder.AcquiredAt,
            });
        }

        state.Holders.Clear();

        // The bump invalidates any token issued so far, even one whose lease already expired while its holder was
        // paused: a protected resource that remembers the highest token it has seen rejects them all.
        state.FencingCounter++;
        changes.MarkChanged();
        changes.Add(new LockEvent(LockEventKind.FencingBumped, requestedBy ?? "", LockMode.Exclusive, "")
        {
            FencingToken = state.FencingCounter,
            By = requestedBy,
            Reason = reason,
            Count = removed,
        });

        AdvanceQueue(state, now, changes);
        return new(new ForceReleaseResult(removed, state.FencingCounter), changes);
    }

    /// <summary>The public view of the lock as of now (after the sweep).</summary>
    public LockOutcome<LockStateView> GetState(LockState state, DateTimeOffset now)
    {
        var changes = new LockChanges();
        Sweep(state, now, changes);
        return new(CreateView(Name, state, now, options.WaiterGrace), changes);
    }

    /// <summary>Expires holders and abandons waiters whose deadlines passed, advances the queue (the timer's work).</summary>
    public LockChanges Sweep(LockState state, DateTimeOffset now)
    {
        var changes = new LockChanges();
        Sweep(state, now, changes);
        return changes;
    }

    /// <summary>
    /// Applied once when the lock is activated at <paramref name="activationTime"/>. Deadlines that passed while no
    /// silo hosted the lock were not the holders' fault: such leases get ExpiresAt = activation + RecoveryGrace, and
    /// such waiters PollDeadline = activation time, so holders can renew and retrying clients keep their place for
    /// WaiterGrace as after any dropped request. Then the usual sweep runs.
    /// </summary>
    public LockChanges Recover(LockState state, DateTimeOffset activationTime)
    {
        var changes = new LockChanges();
        var grace = options.RecoveryGrace;
        if (grace > TimeSpan.Zero)
        {
            var extendedTo = activationTime + grace;
            foreach (var holder in state.Holders)
            {
                if (holder.ExpiresAt <= activationTime)
                {
                    holder.ExpiresAt = extendedTo;
                    changes.MarkChanged();
                    changes.Add(new LockEvent(LockEventKind.LeaseRecovered, holder.Owner, holder.Mode, holder.RequestId)
                    {
                        FencingToken = holder.FencingToken,
                        ExpiresAt = extendedTo,
                    });
                }
            }

            foreach (var waiter in state.Waiters)
            {
                if (waiter.PollDeadline < activationTime)
                {
                    // Not extendedTo: no request of this waiter is in flight, so the usual rules for an unpolled
                    // waiter apply from now on (its place is kept for WaiterGrace; a grant gets the short first lease).
                    waiter.PollDeadline = activationTime;
                    changes.MarkChanged();
                    changes.Add(new LockEvent(LockEventKind.WaiterRecovered, waiter.Owner, waiter.Mode, waiter.RequestId));
                }
            }
        }

        Sweep(state, activationTime, changes);
        return changes;
    }

    /// <summary>
    /// The earliest instant at which a sweep would change something (a lease expires or a waiter is abandoned), or
    /// null when the lock has neither holders nor waiters. Tombstones do not need a timer: they are forgotten lazily.
    /// </summary>
    public DateTimeOffset? NextDeadline(LockState state)
    {
        DateTimeOffset? next = null;
        foreach (var holder in state.Holders)
        {
            next = Min(next, holder.ExpiresAt);
        }

        foreach (var waiter in state.Waiters)
        {
            // Abandonment needs now strictly after PollDeadline + WaiterGrace: one tick later.
            next = Min(next, waiter.PollDeadline + options.WaiterGrace + OneTick);
        }

        return next;
    }

    /// <summary>
    /// The public view of <paramref name="state"/> as of <paramref name="now"/> without changing it: holders whose
    /// deadline passed and abandoned waiters are left out, positions are 1-based. Never contains lease ids.
    /// </summary>
    public static LockStateView CreateView(string name, LockState state, DateTimeOffset now, TimeSpan waiterGrace)
    {
        var holders = new List<HolderView>(state.Holders.Count);
        var mode = LockStateMode.Free;
        foreach (var holder in state.Holders)
        {
            if (holder.ExpiresAt > now)
            {
                holders.Add(ToView(holder));
                mode = holder.Mode == LockMode.Exclusive ? LockStateMode.Exclusive : LockStateMode.Shared;
            }
        }

        var waiters = new List<WaiterView>(state.Waiters.Count);
        foreach (var waiter in state.Waiters)
        {
            if (!IsAbandoned(waiter, now, waiterGrace))
            {
                waiters.Add(new WaiterView(waiter.Owner, waiter.Mode, waiters.Count + 1, waiter.EnqueuedAt));
            }
        }

        return new LockStateView(name, mode, holders, waiters, state.FencingCounter);
    }

    private void Sweep(LockState state, DateTimeOffset now, LockChanges changes)
    {
        if (state.Holders.Count > 0)
        {
            var expired = 0;
            foreach (var holder in state.Holders)
            {
                if (holder.ExpiresAt <= now)
                {
                    expired++;
                    EndLease(state, holder, LeaseLostReason.Expired, now, changes);
                    changes.Add(new LockEvent(LockEventKind.Expired, holder.Owner, holder.Mode, holder.RequestId)
                    {
                        FencingToken = holder.FencingToken,
                        ExpiresAt = holder.ExpiresAt,
                        AcquiredAt = holder.AcquiredAt,
                    });
                }
            }

            if (expired > 0)
            {
                state.Holders.RemoveAll(h => h.ExpiresAt <= now);
            }
        }

        if (state.Waiters.Count > 0)
        {
            var abandoned = 0;
            for (var i = 0; i < state.Waiters.Count; i++)
            {
                var waiter = state.Waiters[i];
                if (IsAbandoned(waiter, now, options.WaiterGrace))
                {
                    abandoned++;
                    changes.MarkChanged();
                    changes.AddLeftQueue(waiter.RequestId);
                    changes.Add(new LockEvent(LockEventKind.WaiterAbandoned, waiter.Owner, waiter.Mode, waiter.RequestId) { Position = i + 1 });
                }
            }

            if (abandoned > 0)
            {
                var grace = options.WaiterGrace;
                state.Waiters.RemoveAll(w => IsAbandoned(w, now, grace));
            }
        }

        AdvanceQueue(state, now, changes);
        ForgetOldTombstones(state, now);
    }

    /// <summary>Grants the head of the queue while it is compatible: an exclusive head alone, or a run of shared ones.</summary>
    private void AdvanceQueue(LockState state, DateTimeOffset now, LockChanges changes)
    {
        var granted = 0;
        while (granted < state.Waiters.Count)
        {
            var waiter = state.Waiters[granted];
            if (!IsCompatible(state, waiter.Mode))
            {
                break;
            }

            // No request of this waiter is polling: its client may be gone, so the first lease is short. A client
            // that comes back (poll or repeat) sees the real deadline and renews.
            var ttl = ClampTtl(waiter.Ttl);
            var firstTtl = now > waiter.PollDeadline && options.WaiterGrace < ttl ? options.WaiterGrace : ttl;
            var holder = Grant(state, now, waiter.RequestId, waiter.Owner, waiter.Mode, ttl, firstTtl, changes, waiter.EnqueuedAt);
            holder.Principal = waiter.Principal;
            holder.GeneratedRequestId = waiter.GeneratedRequestId;
            changes.AddLeftQueue(waiter.RequestId);
            granted++;
        }

        if (granted > 0)
        {
            state.Waiters.RemoveRange(0, granted);
        }
    }

    private LockHolder Grant(
        LockState state, DateTimeOffset now, string requestId, string owner, LockMode mode, TimeSpan ttl, TimeSpan firstTtl, LockChanges changes,
        DateTimeOffset? enqueuedAt = null)
    {
        var holder = new LockHolder
        {
            LeaseId = _newLeaseId(),
            RequestId = requestId,
            Owner = owner,
            Mode = mode,
            FencingToken = ++state.FencingCounter,
            AcquiredAt = now,
            ExpiresAt = now + firstTtl,
            Ttl = ttl,
        };
        state.Holders.Add(holder);
        changes.MarkChanged();
        changes.Add(new LockEvent(LockEventKind.Granted, owner, mode, requestId)
        {
            FencingToken = holder.FencingToken,
            ExpiresAt = holder.ExpiresAt,
            AcquiredAt = now,
            EnqueuedAt = enqueuedAt,
        });
        return holder;
    }

    /// <summary>How many leases and queue places <paramref name="principal"/> has on this lock.</summary>
    private static int CountOf(LockState state, string principal)
    {
        var count = 0;
        foreach (var holder in state.Holders)
        {
            count += holder.Principal == principal ? 1 : 0;
        }

        foreach (var waiter in state.Waiters)
        {
            count += waiter.Principal == principal ? 1 : 0;
        }

        return count;
    }

    /// <summary>Remembers an ended lease (the caller removes it from the holders), keeping at most MaxTombstones.</summary>
    private void EndLease(LockState state, LockHolder holder, LeaseLostReason reason, DateTimeOffset now, LockChanges changes, string? by = null, string? why = null)
    {
        changes.MarkChanged();
        var max = Math.Max(0, options.MaxTombstones);
        if (max == 0)
        {
            state.Tombstones.Clear();
            return;
        }

        if (state.Tombstones.Count >= max)
        {
            state.Tombstones.RemoveRange(0, state.Tombstones.Count - max + 1);
        }

        state.Tombstones.Add(new LockTombstone
        {
            LeaseId = holder.LeaseId,

            // Nobody can repeat a request whose id the Api generated, so its id is not worth keeping (a third of a tombstone).
            RequestId = holder.GeneratedRequestId ? "" : holder.RequestId,
            Reason = reason,
            FencingToken = holder.FencingToken,
            EndedAt = now,
            ForcedBy = by,
            ForceReason = why,
        });
    }

    private void ForgetOldTombstones(LockState state, DateTimeOffset now)
    {
        if (state.Tombstones.Count > 0)
        {
            var retention = options.TombstoneRetention;
            state.Tombstones.RemoveAll(t => t.EndedAt + retention <= now);
        }
    }

    private static bool IsCompatible(LockState state, LockMode mode)
    {
        if (state.Holders.Count == 0)
        {
            return true;
        }

        // Holders are all shared or one exclusive, so the first tells the mode.
        return mode == LockMode.Shared && state.Holders[0].Mode == LockMode.Shared;
    }

    private static bool IsAbandoned(LockWaiter waiter, DateTimeOffset now, TimeSpan waiterGrace)
        => now > waiter.PollDeadline + waiterGrace;

    private static LeaseLostReason LostReason(LockState state, string leaseId)
    {
        for (var i = state.Tombstones.Count - 1; i >= 0; i--)
        {
            if (state.Tombstones[i].LeaseId == leaseId)
            {
                return state.Tombstones[i].Reason;
            }
        }

        return LeaseLostReason.Unknown;
    }

    private static LockHolder? FindHolderByLease(LockState state, string leaseId)
    {
        var index = IndexOfHolder(state, leaseId);
        return index < 0 ? null : state.Holders[index];
    }

    private static int IndexOfHolder(LockState state, string leaseId)
    {
        for (var i = 0; i < state.Holders.Count; i++)
        {
            if (state.Holders[i].LeaseId == leaseId)
            {
                return i;
            }
        }

        return -1;
    }

    private static LockHolder? FindHolderByRequest(LockState state, string requestId)
    {
        foreach (var holder in state.Holders)
        {
            if (holder.RequestId == requestId)
            {
                return holder;
            }
        }

        return null;
    }

    private static int IndexOfWaiter(LockState state, string requestId)
    {
        for (var i = 0; i < state.Waiters.Count; i++)
        {
            if (state.Waiters[i].RequestId == requestId)
            {
                return i;
            }
        }

        return -1;
    }

    private static LockTombstone? FindTombstoneByRequest(LockState state, string requestId)
    {
        if (requestId.Length == 0)
        {
            return null;
        }

        for (var i = state.Tombstones.Count - 1; i >= 0; i--)
        {
            if (state.Tombstones[i].RequestId == requestId)
            {
                return state.Tombstones[i];
            }
        }

        return null;
    }

    private TimeSpan ClampTtl(TimeSpan ttl)
    {
        var min = options.MinTtl > TimeSpan.Zero ? options.MinTtl : TimeSpan.FromMilliseconds(1);
        var max = options.MaxTtl >= min ? options.MaxTtl : min;
        return ttl < min ? min : ttl > max ? max : ttl;
    }

    private TimeSpan ClampWait(TimeSpan wait)
        => wait <= TimeSpan.Zero ? TimeSpan.Zero : wait > options.MaxWait ? options.MaxWait : wait;

    private AcquireResult Granted(LockState state, LockHolder holder)
        => Outcome(state, AcquireStatus.Granted) with { Lease = ToLease(holder) };

    private static AcquireResult Outcome(LockState state, AcquireStatus status, int position = 0, LeaseLostReason? reason = null)
    {
        var holders = new List<HolderView>(state.Holders.Count);
        foreach (var holder in state.Holders)
        {
            holders.Add(ToView(holder));
        }

        return new AcquireResult
        {
            Status = status,
            Position = position,
            LostReason = reason,
            Holders = holders,
            QueueLength = state.Waiters.Count,
        };
    }

    private Lease ToLease(LockHolder holder)
        => new(Name, holder.LeaseId, holder.Mode, holder.FencingToken, holder.Owner, holder.AcquiredAt, holder.ExpiresAt, holder.Ttl);

    private static HolderView ToView(LockHolder holder)
        => new(holder.Owner, holder.Mode, holder.FencingToken, holder.AcquiredAt, holder.ExpiresAt);

    private static DateTimeOffset Min(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x <= b ? x : b;
}
