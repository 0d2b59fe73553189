using System.ComponentModel.DataAnnotations;

namespace OrleansLocks.Silo.Hosting;

/// <summary>Identity of the silo and of the service it belongs to (configuration section <c>Silo</c>).</summary>
public sealed class SiloOptions
{
    public const string SectionName = "Silo";

    /// <summary>Names the service; storage rows of different services never mix. Default "orleanslocks".</summary>
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,150}$")]
    public string ServiceId { get; set; } = "orleanslocks";

    /// <summary>Names the cluster (deployment) the silo joins. Default "default".</summary>
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,150}$")]
    public string ClusterId { get; set; } = "default";

    /// <summary>The silo's name. Default: the machine name.</summary>
    [Required, StringLength(150)]
    public string SiloName { get; set; } = Environment.MachineName;

    /// <summary>
    /// The port of the silo-to-silo transport (HTTP/2 cleartext) in a cluster. Default 11111 (Orleans' silo port).
    /// 0 picks a free port (in-process test clusters); the silo then advertises the port it got.
    /// </summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>
    /// The address other silos reach this one at: an IP address or a DNS name (in Kubernetes, the pod IP from the
    /// downward API). Default: the first non-loopback IPv4 address of an interface that is up, else 127.0.0.1.
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>The local IP address the silo transport listens on. Default: every interface.</summary>
    public string? ListenAddress { get; set; }

    /// <summary>
    /// The shared secret that authenticates calls between the silos and gateways of a cluster (HMAC signatures; the
    /// secret itself is never sent). At least 32 characters of random data, the same on every member. Required for a
    /// cluster outside the Development environment. Default none.
    /// </summary>
    public string? ClusterSecret { get; set; }

    /// <summary>
    /// A second secret also accepted on incoming requests (never used to sign), for rotating
    /// <see cref="ClusterSecret"/> without stopping the cluster: roll it out as the alternate, then swap the two,
    /// then remove the alternate. Default none.
    /// </summary>
    public string? AlternateClusterSecret { get; set; }
}

/// <summary>When idle activations are collected (configuration section <c>GrainCollection</c>); as Orleans' options.</summary>
public sealed class GrainCollectionOptions
{
    public const string SectionName = "GrainCollection";

    /// <summary>
    /// An activation with no call and no keep-alive timer tick for this long, nothing queued or running, and no armed
    /// keep-alive timer is deactivated (ticks of other timers do not count: timers do not keep a grain alive). Default 10 minutes.
    /// </summary>
    public TimeSpan CollectionAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the collector looks for idle activations. Default 1 minute.</summary>
    public TimeSpan CollectionQuantum { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long an activation may take to read its state and activate before the call fails. Default 30 s.</summary>
    public TimeSpan ActivationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a graceful deactivation may take. Default 30 s.</summary>
    public TimeSpan DeactivationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Once idle collection has deactivated this many activations (counted across passes since the last time), the next
    /// pass (one quantum later, when those deactivations have run) first compacts the heap and returns the freed memory
    /// to the operating system, so the process shrinks back after a burst of names. 0 turns it off. Default 10 000.
    /// </summary>
    public int ReleaseMemoryAfterCollecting { get; set; } = 10_000;
}
