using OrleansLocks.Runtime;
using OrleansLocks.Silo.Membership;

namespace OrleansLocks.Silo.Placement;

/*
 * Design note — placement by rendezvous (highest-random-weight) hashing
 *
 * The owner of a grain is the active silo with the highest score(grain, silo), a hash of both. Every silo and client
 * with the same membership view computes the same owner, with no directory to consult or keep consistent: the
 * membership view is the directory. When a silo joins, it takes over exactly the grains for which it now scores
 * highest (about 1/N of them), and every other grain keeps its owner; when a silo leaves, only its grains move, spread
 * evenly over the others. Hashes are stable across processes and versions (FNV-1a over the UTF-16 code units, then
 * MurmurHash3's 64-bit finalizer), never string.GetHashCode, which differs per process.
 *
 * Placement is a routing decision, not a safety mechanism: two silos with different views may both host a grain for
 * a moment. Safety rests on storage: every write of lock state is version-checked (SPEC §5).
 */

/// <summary>Picks a grain's owner among the active silos by rendezvous hashing.</summary>
internal static class RendezvousPlacement
{
    /// <summary>The silo with the highest score for <paramref name="grainId"/>; null when there is none.</summary>
    public static SiloAddress? PickOwner(GrainId grainId, IReadOnlyList<SiloAddress> silos, IReadOnlyList<ulong> siloHashes)
    {
        if (silos.Count == 0)
        {
            return null;
        }

        var grainHash = HashGrain(grainId);
        var best = 0;
        var bestScore = Score(grainHash, siloHashes[0]);
        for (var i = 1; i < silos.Count; i++)
        {
            var score = Score(grainHash, siloHashes[i]);
            if (score > bestScore || (score == bestScore && silos[i].CompareTo(silos[best]) < 0))
            {
                best = i;
                bestScore = score;
            }
        }

        return silos[best];
    }

    /// <summary>The stable hash of a silo, computed once per view.</summary>
    public static ulong HashSilo(SiloAddress silo) => Mix(Fnv(silo.ToString(), Fnv1aOffset));

    public static ulong HashGrain(GrainId grainId)
        => Mix(Fnv(grainId.Key, Fnv('/', Fnv(grainId.Type, Fnv1aOffset))));

    /// <summary>A stable hash of <paramref name="text"/> under <paramref name="seed"/> (for the probe rings).</summary>
    public static ulong Hash(string text, ulong seed) => Mix(Fnv(text, Fnv1aOffset ^ Mix(seed + 0x9E3779B97F4A7C15)));

    private const ulong Fnv1aOffset = 14695981039346656037;
    private const ulong Fnv1aPrime = 1099511628211;

    private static ulong Score(ulong grainHash, ulong siloHash) => Mix(grainHash ^ siloHash);

    private static ulong Fnv(string text, ulong hash)
    {
        foreach (var c in text)
        {
            hash = Fnv(c, hash);
        }

        return hash;
    }

    private static ulong Fnv(char c, ulong hash)
    {
        hash = (hash ^ (byte)c) * Fnv1aPrime;
        return (hash ^ (byte)(c >> 8)) * Fnv1aPrime;
    }

    /// <summary>MurmurHash3's fmix64: every input bit affects every output bit.</summary>
    private static ulong Mix(ulong k)
    {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccd;
        k ^= k >> 33;
        k *= 0xc4ceb9fe1a85ec53;
        k ^= k >> 33;
        return k;
    }
}
