using System.Globalization;
using System.Text.Json.Nodes;

namespace OrleansLocks.Deploy.Tests;

/// <summary>
/// The Kubernetes manifests: every overlay renders with kustomize, every object matches the Kubernetes schemas
/// (kubernetes-models) and refers to objects that exist, the YAML is clean (yamllint), and the settings that the
/// cluster's behaviour depends on (graceful hand-over, advertised address, probes) are what docs/deployment.md says.
/// </summary>
public sealed class KubernetesManifestsTests
{
    // Locks:MaxWait (the longest long poll an in-flight request may be in) and GrainCollection:DeactivationTimeout
    // (the longest a silo's hand-over may take): the host's shutdown budget must cover both.
    private static readonly TimeSpan LongestLongPoll = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DeactivationTimeout = TimeSpan.FromSeconds(30);

    private static readonly string[] OverlayNames = ["dev", "prod"];

    public static TheoryData<string> Overlays => new(OverlayNames);

    [Fact]
    public void Overlays_OnDisk_AreAllTested()
    {
        var onDisk = Directory.GetDirectories(Path.Combine(KubernetesManifests.KubernetesDirectory, "overlays"))
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal);
        Assert.Equal(OverlayNames.Order(StringComparer.Ordinal), onDisk);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Overlay_Rendered_EveryObjectValidAgainstTheKubernetesSchemas(string overlay)
    {
        var manifests = await KubernetesManifests.RenderAsync(overlay);

        var result = await KubernetesManifests.ValidateAsync(manifests, overlay, KubernetesManifests.ExternalSecrets(overlay));

        Assert.True(result.ExitCode == 0, result.Describe($"validate.mjs {overlay}"));
        Assert.Contains("object(s) valid", result.StandardOutput, StringComparison.Ordinal);
        foreach (var kind in new[] { "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ConfigMap" })
        {
            Assert.Contains($" {kind} ", result.StandardOutput, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Validator_BrokenManifests_FailsNamingEachError()
    {
        const string Broken = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: broken
            spec:
              replicas: three
              selector:
                matchLabels: {app: broken}
              template:
                metadata:
                  labels: {app: other}
                spec:
                  containers:
                    - name: c
                      image: i
                      readinessprobe: {}
                      env:
                        - name: SECRET
                          valueFrom:
                            secretKeyRef: {name: missing-secret, key: k}
            ---
            apiVersion: v1
            kind: Servise
            metadata:
              name: typo
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: nobody
            spec:
              selector: {app: nobody}
              ports:
                - port: 80
            """;

        var result = await KubernetesManifests.ValidateAsync(Broken, "broken", []);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("/spec/replicas must be integer", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("unknown apiVersion/kind v1/Servise", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("does not match the pod template's labels", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("Secret missing-secret", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("spec.template.spec.containers[0].readinessprobe: unknown field", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("Service nobody: spec.selector matches no pod template", result.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Overlay_SiloPods_HandLocksOverWithinTheirGracePeriod(string overlay)
    {
        var objects = await KubernetesManifests.LoadAsync(overlay);
        var deployment = Single(objects, "Deployment", "orleanslocks");
        var pod = deployment["spec"]!["template"]!["spec"]!.AsObject();
        var container = pod["containers"]!.AsArray().Single()!.AsObject();
        var config = Single(objects, "ConfigMap", "orleanslocks-config")["data"]!.AsObject();

        var shutdown = TimeSpan.FromSeconds(int.Parse((string)config["DOTNET_shutdownTimeoutSeconds"]!, CultureInfo.InvariantCulture));
        var preStop = container["lifecycle"]!["preStop"]!["exec"]!["command"]!.AsArray().Select(n => (string)n!).ToArray();
        Assert.Equal("sleep", preStop[0]);
        var preStopSleep = TimeSpan.FromSeconds(int.Parse(preStop[1], CultureInfo.InvariantCulture));
        var grace = TimeSpan.FromSeconds((int)pod["terminationGracePeriodSeconds"]!);

        // The host may drain a long poll and then hand every activation over before its shutdown token fires, and
        // Kubernetes sends SIGKILL only after the preStop sleep and the whole host shutdown, with a margin.
        Assert.True(shutdown >= LongestLongPoll + DeactivationTimeout, $"host shutdown {shutdown} < long poll + deactivation");
        Assert.True(grace >= preStopSleep + shutdown + TimeSpan.FromSeconds(10), $"grace {grace} < preStop {preStopSleep} + shutdown {shutdown} + 10 s");

        // Rolling updates replace one pod at a time and never go below the wanted count.
        var rolling = deployment["spec"]!["strategy"]!["rollingUpdate"]!;
        Assert.Equal(0, (int)rolling["maxUnavailable"]!);
        Assert.Equal(1, (int)rolling["maxSurge"]!);
        Assert.Null(deployment["spec"]!["replicas"]);   // the HorizontalPodAutoscaler owns the count
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Overlay_SiloPods_AdvertiseTheirPodIpAndNameAndReadTheirSecrets(string overlay)
    {
        var objects = await KubernetesManifests.LoadAsync(overlay);
        var container = Single(objects, "Deployment", "orleanslocks")["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Single()!;
        var env = container["env"]!.AsArray().Select(n => n!.AsObject()).ToList();
        JsonObject Env(string name) => env.Single(e => (string)e["name"]! == name);
        int Index(string name) => env.FindIndex(e => (string)e["name"]! == name);

        Assert.Equal("status.podIP", (string)Env("POD_IP")["valueFrom"]!["fieldRef"]!["fieldPath"]!);
        Assert.Equal("metadata.name", (string)Env("POD_NAME")["valueFrom"]!["fieldRef"]!["fieldPath"]!);
        Assert.Equal("$(POD_IP)", (string)Env("Silo__AdvertisedAddress")["value"]!);
        Assert.Equal("$(POD_NAME)", (string)Env("Silo__SiloName")["value"]!);
        // $(VAR) expands only variables defined earlier in the list.
        Assert.True(Index("POD_IP") < Index("Silo__AdvertisedAddress") && Index("POD_NAME") < Index("Silo__SiloName"));
        Assert.Equal("cluster-secret", (string)Env("Silo__ClusterSecret")["valueFrom"]!["secretKeyRef"]!["key"]!);
        var connection = (string)Env("ConnectionStrings__Postgres")["value"]!;
        foreach (var part in new[] { "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD" })
        {
            Assert.Contains($"$({part})", connection, StringComparison.Ordinal);
            Assert.True(Index(part) < Index("ConnectionStrings__Postgres"), $"{part} is defined after the connection string");
        }

        Assert.Contains("Maximum Pool Size=", connection, StringComparison.Ordinal);
        Assert.Contains(container["envFrom"]!.AsArray(), e => e!["secretRef"] is { } s && ((string)s["name"]!).StartsWith("orleanslocks-api-keys", StringComparison.Ordinal));
        Assert.Equal("Postgres", (string)Single(objects, "ConfigMap", "orleanslocks-config")["data"]!["Storage__Provider"]!);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Overlay_SiloPods_ProbedRestrictedAndReachable(string overlay)
    {
        var objects = await KubernetesManifests.LoadAsync(overlay);
        var pod = Single(objects, "Deployment", "orleanslocks")["spec"]!["template"]!["spec"]!;
        var container = pod["containers"]!.AsArray().Single()!;

        Assert.Equal("/health/live", (string)container["livenessProbe"]!["httpGet"]!["path"]!);
        Assert.Equal("/health/ready", (string)container["readinessProbe"]!["httpGet"]!["path"]!);
        Assert.Equal("/health/live", (string)container["startupProbe"]!["httpGet"]!["path"]!);
        var startupBudget = (int)container["startupProbe"]!["periodSeconds"]! * (int)container["startupProbe"]!["failureThreshold"]!;
        Assert.True(startupBudget >= 120, $"the startup probe gives {startupBudget} s: less than the database wait (60 s) plus joining (60 s)");

        Assert.True((bool)pod["securityContext"]!["runAsNonRoot"]!);
        Assert.True((bool)container["securityContext"]!["readOnlyRootFilesystem"]!);
        Assert.False((bool)container["securityContext"]!["allowPrivilegeEscalation"]!);
        Assert.False((bool)pod["automountServiceAccountToken"]!);
        Assert.NotNull(container["resources"]!["requests"]!["cpu"]);
        Assert.NotNull(container["resources"]!["limits"]!["memory"]);

        var silo = Single(objects, "Service", "orleanslocks-silo")["spec"]!;
        Assert.Equal("None", (string)silo["clusterIP"]!);
        Assert.True((bool)silo["publishNotReadyAddresses"]!);
        Assert.Equal(11111, (int)silo["ports"]![0]!["port"]!);
        Assert.Equal("11111", (string)Single(objects, "ConfigMap", "orleanslocks-config")["data"]!["Silo__SiloPort"]!);
        Assert.Equal(1, (int)Single(objects, "PodDisruptionBudget", "orleanslocks")["spec"]!["maxUnavailable"]!);
        Assert.True((int)Single(objects, "HorizontalPodAutoscaler", "orleanslocks")["spec"]!["minReplicas"]! >= 2);
    }

    [Fact]
    public async Task Manifests_Yamllint_Clean()
    {
        var yamllint = Tool.Require("yamllint", "Install yamllint (apt-get install yamllint)");
        var directory = KubernetesManifests.KubernetesDirectory;

        var result = await Tool.RunAsync(yamllint, ["-s", "-f", "parsable", "-c", Path.Combine(directory, ".yamllint.yaml"), "."], TimeSpan.FromMinutes(2), workingDirectory: directory);

        Assert.True(result.ExitCode == 0, result.Describe("yamllint -s deploy/kubernetes"));
    }

    private static JsonObject Single(IReadOnlyList<JsonObject> objects, string kind, string name)
        => Assert.Single(objects, o => (string)o["kind"]! == kind && (string)o["metadata"]!["name"]! == name);
}
