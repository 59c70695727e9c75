using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Model;
using static MeshFederation.Engine.Distribution.DistributionRenderer;

namespace MeshFederation.Engine.Distribution;

/// <summary>
/// The federation checks through an Open Cluster Management hub, without access to the managed clusters: reads the
/// ManifestWorks meshfed rendered (<c>--format ocm</c>) and judges what their status says — whether each work was
/// applied, and the status fed back by the feedback rules (control-plane Ready, ServiceMeshPeer discovery status,
/// export/import status). What the feedback does not carry is never passed: it is Skip with the reason.
/// </summary>
public static class OcmHubChecks
{
    private const string WorkApiVersion = "work.open-cluster-management.io/v1";

    /// <summary>The checks computed from fed-back status (the others need objects the hub does not see).</summary>
    private static readonly HashSet<string> FedBackChecks = new(StringComparer.Ordinal)
    {
        "OSSM2.ControlPlaneReady", "OSSM2.PeerConnected", "OSSM2.PeerSyncAge", "OSSM2.ExportActive", "OSSM2.ImportResolved", "OSSM2.ImportedButUnused",
    };

    /// <summary>Reads the hub and checks; <paramref name="intended"/> (optional) names the clusters that must have a work.</summary>
    public static async Task<IReadOnlyList<MeshCheckResult>> RunAsync(KubeClient hub, string hubName, FederationSet? intended, CheckOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hub);
        if (await hub.FindAsync(WorkApiVersion, "ManifestWork", cancellationToken).ConfigureAwait(false) is null)
            return new[]
            {
                new MeshCheckResult
                {
                    Mesh = hubName, CheckId = "OCM.Hub", Status = CheckStatus.Fail,
                    Message = $"{hubName} serves no ManifestWork API ({WorkApiVersion}): it is not an Open Cluster Management hub",
                    Why = "The federation status is read from the ManifestWorks' status feedback on the hub; nothing was observed.",
                    Fix = "give the hub's context (--ocm-hub / -OcmHub): the cluster running the OCM cluster manager",
                    Evidence = new[] { Ev($"context {hubName}") },
                },
            };
        // meshfed's works; with a topology, those in the namespaces of its clusters (the federation label depends on
        // the name the render had: a topology's, or the pipeline's).
        var selector = $"{Rendering.JsonBuilder.ManagedByLabel}={Rendering.JsonBuilder.ManagedByValue}";
        var works = await hub.ListAsync(WorkApiVersion, "ManifestWork", null, selector, cancellationToken).ConfigureAwait(false);
        if (intended is not null)
        {
            var clusters = intended.ControlPlanes.Select(c => c.ClusterName).ToHashSet(StringComparer.Ordinal);
            works = works.Where(w => clusters.Contains(w["metadata"]?["namespace"]?.GetValue<string>() ?? "")).ToList();
        }
        return Check(works, hubName, intended, options);
    }

    /// <summary>The checks over ManifestWorks already read (live or saved).</summary>
    public static IReadOnlyList<MeshCheckResult> Check(IReadOnlyList<JsonObject> works, string hubName, FederationSet? intended, CheckOptions? options = null)
    {
        options ??= new CheckOptions();
        var results = new List<MeshCheckResult>();
        var byCluster = works.GroupBy(w => w["metadata"]?["namespace"]?.GetValue<string>() ?? "", StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

        if (intended is not null)
            foreach (var cp in intended.ControlPlanes.Where(c => !byCluster.ContainsKey(c.ClusterName)).DistinctBy(c => c.ClusterName))
                results.Add(new MeshCheckResult
                {
                    Mesh = cp.Name, CheckId = "OCM.WorkApplied", Status = CheckStatus.Fail,
                    Message = $"no ManifestWork of meshfed in hub namespace {cp.ClusterName}",
                    Why = "The hub distributes the federation to a managed cluster through a ManifestWork in the cluster's namespace; without it nothing reaches the cluster.",
                    Fix = "render with meshfed render --format ocm and apply the ManifestWorks to the hub (kubectl --context HUB apply --server-side -k OUT)",
                    Evidence = new[] { Ev($"hub {hubName}, namespace {cp.ClusterName}") },
                });
        if (works.Count == 0 && intended is null)
            results.Add(new MeshCheckResult
            {
                Mesh = hubName, CheckId = "OCM.WorkApplied", Status = CheckStatus.Fail,
                Message = $"no ManifestWork labelled {Rendering.JsonBuilder.ManagedByLabel}={Rendering.JsonBuilder.ManagedByValue} on the hub",
                Why = "Nothing meshfed rendered was found, so nothing could be checked.",
                Fix = "apply the ManifestWorks of meshfed render --format ocm to the hub, or give the hub's context",
                Evidence = new[] { Ev($"hub {hubName}") },
            });

        var observed = new List<(string Cluster, JsonObject ControlPlane, List<JsonObject> Objects, bool FedBack)>();
        var skipped = new List<MeshCheckResult>();
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (cluster, clusterWorks) in byCluster.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var manifests = new List<(JsonObject Manifest, JsonObject? Status, string Work)>();
            foreach (var work in clusterWorks.OrderBy(w => w["metadata"]?["name"]?.GetValue<string>(), StringComparer.Ordinal))
            {
                var workName = work["metadata"]?["name"]?.GetValue<string>() ?? "";
                results.Add(WorkApplied(work, cluster, workName, hubName, intended));
                var statuses = (work["status"]?["resourceStatus"]?["manifests"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
                foreach (var m in (work["spec"]?["workload"]?["manifests"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                    manifests.Add((m, statuses.FirstOrDefault(s => Matches(s["resourceMeta"], m)), workName));
            }
            foreach (var (smcp, status, workName) in manifests.Where(m => Kind(m.Manifest) == "ServiceMeshControlPlane"))
            {
                var cp = (JsonObject)smcp.DeepClone();
                var ns = smcp["metadata"]?["namespace"]?.GetValue<string>();
                var name = smcp["metadata"]?["name"]?.GetValue<string>() ?? "";
                var evidence = $"ManifestWork {cluster}/{workName} status feedback on hub {hubName}";
                var values = Values(status);
                var fedBack = values.TryGetValue(Feedback.Ready, out var ready);
                if (fedBack)
                {
                    var condition = new JsonObject { ["type"] = "Ready", ["status"] = ready!.ToString() };
                    if (values.TryGetValue(Feedback.ReadyReason, out var reason)) condition["reason"] = reason!.ToString();
                    if (values.TryGetValue(Feedback.ReadyMessage, out var message)) condition["message"] = message!.ToString();
                    var st = new JsonObject { ["conditions"] = new JsonArray(condition) };
                    if (values.TryGetValue(Feedback.ReadyComponents, out var count)) st["annotations"] = new JsonObject { ["readyComponentCount"] = count!.ToString() };
                    cp["status"] = st;
                }
                else skipped.Add(Skip(name, null, "OSSM2.ControlPlaneReady", $"the hub has no Ready feedback for ServiceMeshControlPlane {ns}/{name} in {cluster}", status, evidence));
                var objects = new List<JsonObject> { cp };
                var peers = 0;
                sources[$"{cluster}/{name}"] = evidence;
                foreach (var (smp, smpStatus, _) in manifests.Where(m => Kind(m.Manifest) == "ServiceMeshPeer" && m.Manifest["metadata"]?["namespace"]?.GetValue<string>() == ns))
                {
                    var peer = (JsonObject)smp.DeepClone();
                    var peerName = smp["metadata"]?["name"]?.GetValue<string>() ?? "";
                    if (Discovery(Values(smpStatus), out var discovery, out var firstPodOnly))
                    {
                        peer["status"] = new JsonObject { ["discoveryStatus"] = discovery };
                        if (firstPodOnly) sources[$"{cluster}/{name}/{peerName}"] = "the first istiod pod only (the work agent reports the whole discovery status with its RawFeedbackJsonString feature gate)";
                    }
                    else
                    {
                        skipped.Add(Skip(name, peerName, "OSSM2.PeerConnected", $"the hub has no discovery status feedback for ServiceMeshPeer {ns}/{peerName} in {cluster}", smpStatus, evidence));
                        continue;
                    }
                    objects.Add(peer);
                    peers++;
                }
                foreach (var (set, setStatus, _) in manifests.Where(m => Kind(m.Manifest) is "ExportedServiceSet" or "ImportedServiceSet" && m.Manifest["metadata"]?["namespace"]?.GetValue<string>() == ns))
                {
                    var export = Kind(set) == "ExportedServiceSet";
                    var key = export ? Feedback.ExportedServices : Feedback.ImportedServices;
                    if (Values(setStatus).TryGetValue(key, out var raw) && Parse(raw) is JsonArray list)
                    {
                        var copy = (JsonObject)set.DeepClone();
                        copy["status"] = new JsonObject { [key] = list };
                        objects.Add(copy);
                    }
                    else
                        skipped.Add(Skip(name, set["metadata"]?["name"]?.GetValue<string>(), export ? "OSSM2.ExportActive" : "OSSM2.ImportResolved",
                            $"the hub has no {key} feedback for {Kind(set)} {ns}/{set["metadata"]?["name"]} in {cluster} (a JSON value: the work agent needs its RawFeedbackJsonString feature gate)", setStatus, evidence));
                }
                if (fedBack || peers > 0) observed.Add((cluster, cp, objects, fedBack));
            }
            foreach (var (istio, status, workName) in manifests.Where(m => Kind(m.Manifest) is "Istio" or "IstioCNI" && ApiGroup(m.Manifest) == "sailoperator.io"))
                results.Add(IstioReady(istio, status, cluster, workName, hubName));
        }

        var fedBackMeshes = observed.Where(m => m.FedBack).Select(m => m.Cluster + "/" + m.ControlPlane["metadata"]?["name"]?.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        var readers = observed.GroupBy(m => m.Cluster, StringComparer.Ordinal)
            .Select(g => (IClusterReader)new SnapshotClusterReader(g.Key, g.SelectMany(m => m.Objects), DateTimeOffset.UtcNow, $"status feedback on OCM hub {hubName}")).ToList();
        var observation = readers.Count == 0 ? null : Observation.ObserveAsync(readers, CancellationToken.None).GetAwaiter().GetResult();
        foreach (var r in observation is null ? Array.Empty<MeshCheckResult>() : ObservedChecks.Run(observation, null, options))
        {
            if (!FedBackChecks.Contains(r.CheckId)) continue;
            var m = observed.FirstOrDefault(o => o.ControlPlane["metadata"]?["name"]?.GetValue<string>() == r.Mesh && (r.Cluster is null || o.Cluster == r.Cluster));
            if (m.ControlPlane is null) continue;
            var key = $"{m.Cluster}/{r.Mesh}";
            if (r.CheckId == "OSSM2.ControlPlaneReady" && !fedBackMeshes.Contains(key)) continue;
            var evidence = r.Evidence.ToList();
            if (sources.TryGetValue(key, out var via)) evidence.Add(Ev(via, m.Cluster));
            if (r.Peer is not null && sources.TryGetValue($"{key}/{r.Peer}", out var note)) evidence.Add(Ev(note, m.Cluster));
            results.Add(new MeshCheckResult { Mesh = r.Mesh, Peer = r.Peer, Cluster = m.Cluster, CheckId = r.CheckId, Status = r.Status, Message = r.Message, Why = r.Why, Fix = r.Fix, Evidence = evidence });
        }
        results.AddRange(skipped);
        return results;
    }

    private static MeshEvidence Ev(string text, string? cluster = null) => new() { Cluster = cluster, Object = text, ObservedAt = DateTimeOffset.UtcNow };

    private static string? Kind(JsonObject o) => o["kind"]?.GetValue<string>();

    private static string ApiGroup(JsonObject o) => o["apiVersion"]?.GetValue<string>() is { } v && v.Contains('/', StringComparison.Ordinal) ? v[..v.IndexOf('/', StringComparison.Ordinal)] : "";

    private static bool Matches(JsonNode? meta, JsonObject manifest) =>
        meta is not null
        && meta["kind"]?.GetValue<string>() == Kind(manifest)
        && (meta["group"]?.GetValue<string>() ?? "") == ApiGroup(manifest)
        && meta["name"]?.GetValue<string>() == manifest["metadata"]?["name"]?.GetValue<string>()
        && (meta["namespace"]?.GetValue<string>() ?? "") == (manifest["metadata"]?["namespace"]?.GetValue<string>() ?? "");

    /// <summary>The fed-back values of one manifest, by rule name: string, bool, long or a JSON string (JsonRaw).</summary>
    private static Dictionary<string, object?> Values(JsonObject? status)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var v in (status?["statusFeedback"]?["values"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
        {
            var name = v["name"]?.GetValue<string>();
            var field = v["fieldValue"];
            if (name is null || field is null) continue;
            values[name] = field["type"]?.GetValue<string>() switch
            {
                "Boolean" => field["boolean"]?.GetValue<bool>() == true ? "True" : "False",
                "Integer" => field["integer"]?.GetValue<long>().ToString(CultureInfo.InvariantCulture),
                "JsonRaw" => new RawJson(field["jsonRaw"]?.GetValue<string>() ?? ""),
                _ => field["string"]?.GetValue<string>(),
            };
        }
        return values;
    }

    private sealed record RawJson(string Text)
    {
        public override string ToString() => Text;
    }

    private static JsonNode? Parse(object? value)
    {
        try
        {
            return value is RawJson or string ? JsonNode.Parse(value.ToString()!) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The discovery status: the whole of it (JsonRaw), else the first pod's scalars.</summary>
    private static bool Discovery(Dictionary<string, object?> values, out JsonObject discovery, out bool firstPodOnly)
    {
        firstPodOnly = false;
        if (values.TryGetValue(Feedback.DiscoveryStatus, out var raw) && Parse(raw) is JsonObject whole)
        {
            discovery = whole;
            return true;
        }
        discovery = new JsonObject();
        if (values.TryGetValue(Feedback.ActivePod, out var pod))
        {
            var watch = new JsonObject();
            if (values.TryGetValue(Feedback.WatchConnected, out var connected)) watch["connected"] = string.Equals(connected?.ToString(), "true", StringComparison.OrdinalIgnoreCase);
            if (values.TryGetValue(Feedback.LastFullSync, out var sync)) watch["lastFullSync"] = sync?.ToString();
            var active = new JsonObject { ["pod"] = pod?.ToString(), ["watch"] = watch };
            if (values.TryGetValue(Feedback.RemoteConnected, out var remote))
                active["remotes"] = new JsonArray(new JsonObject { ["connected"] = string.Equals(remote?.ToString(), "true", StringComparison.OrdinalIgnoreCase) });
            discovery["active"] = new JsonArray(active);
        }
        if (values.TryGetValue(Feedback.InactivePod, out var inactive))
            discovery["inactive"] = new JsonArray(new JsonObject { ["pod"] = inactive?.ToString() });
        firstPodOnly = discovery.Count > 0;
        return discovery.Count > 0;
    }

    private static MeshCheckResult Skip(string mesh, string? peer, string id, string message, JsonObject? status, string evidence) => new()
    {
        Mesh = mesh, Peer = peer, CheckId = id, Status = CheckStatus.Skip,
        Message = message + (status is null ? ": the work agent has reported no status for it" : ""),
        Why = "Through the hub only the status the feedback rules return is seen; without it the check has nothing to judge.",
        Evidence = new[] { Ev(evidence) },
    };

    private static MeshCheckResult WorkApplied(JsonObject work, string cluster, string workName, string hubName, FederationSet? intended)
    {
        var conditions = (work["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        JsonObject? C(string type) => conditions.FirstOrDefault(c => c["type"]?.GetValue<string>() == type);
        var applied = C("Applied");
        var available = C("Available");
        var failing = ((work["status"]?["resourceStatus"]?["manifests"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
            .Where(m => (m["conditions"] as JsonArray)?.OfType<JsonObject>().Any(c => c["type"]?.GetValue<string>() is "Applied" or "Available" && c["status"]?.GetValue<string>() != "True") == true)
            .Select(m => $"{m["resourceMeta"]?["kind"]} {m["resourceMeta"]?["namespace"]}/{m["resourceMeta"]?["name"]}: " +
                string.Join("; ", (m["conditions"] as JsonArray)!.OfType<JsonObject>().Where(c => c["status"]?.GetValue<string>() != "True").Select(c => $"{c["type"]} {c["reason"]} {c["message"]}".TrimEnd())))
            .ToList();
        var mesh = intended?.ControlPlanes.FirstOrDefault(c => c.ClusterName == cluster)?.Name ?? cluster;
        var (status, message) = conditions.Count == 0
            ? (CheckStatus.Fail, $"ManifestWork {cluster}/{workName} has no status: the work agent of {cluster} has not reported")
            : applied?["status"]?.GetValue<string>() != "True"
                ? (CheckStatus.Fail, $"ManifestWork {cluster}/{workName} is not applied: {applied?["reason"] ?? "no Applied condition"} {applied?["message"]}".TrimEnd() + (failing.Count > 0 ? $" ({string.Join(", ", failing)})" : ""))
                : available?["status"]?.GetValue<string>() != "True"
                    ? (CheckStatus.Fail, $"ManifestWork {cluster}/{workName} is applied but not available: {available?["reason"] ?? "no Available condition"} {available?["message"]}".TrimEnd() + (failing.Count > 0 ? $" ({string.Join(", ", failing)})" : ""))
                    : (CheckStatus.Pass, $"ManifestWork {cluster}/{workName} is applied and available ({(work["spec"]?["workload"]?["manifests"] as JsonArray)?.Count ?? 0} manifests)");
        return new MeshCheckResult
        {
            Mesh = mesh, CheckId = "OCM.WorkApplied", Status = status, Message = message,
            Why = "The work agent on the managed cluster applies the work and reports back; a work that is not applied (a conflict with another field manager, a missing CRD, an agent that is down) leaves the federation incomplete.",
            Fix = status == CheckStatus.Pass ? "" : $"look at the work's status (kubectl --context HUB -n {cluster} get manifestwork {workName} -o yaml) and the klusterlet work agent on {cluster}",
            Evidence = new[] { Ev($"ManifestWork {cluster}/{workName} on hub {hubName}", cluster) },
        };
    }

    private static MeshCheckResult IstioReady(JsonObject istio, JsonObject? status, string cluster, string workName, string hubName)
    {
        var name = istio["metadata"]?["name"]?.GetValue<string>() ?? "";
        var kind = Kind(istio);
        var values = Values(status);
        var evidence = $"ManifestWork {cluster}/{workName} status feedback on hub {hubName}";
        if (!values.TryGetValue(Feedback.Ready, out var ready))
            return Skip(name, null, "ISTIO.ControlPlaneReady", $"the hub has no Ready feedback for {kind} {name} in {cluster}", status, evidence);
        var ok = string.Equals(ready?.ToString(), "True", StringComparison.Ordinal);
        values.TryGetValue(Feedback.ReadyReason, out var reason);
        values.TryGetValue(Feedback.ReadyMessage, out var message);
        return new MeshCheckResult
        {
            Mesh = name, CheckId = "ISTIO.ControlPlaneReady", Status = ok ? CheckStatus.Pass : CheckStatus.Fail,
            Message = ok ? $"{kind} {name} in {cluster} is Ready" : $"{kind} {name} in {cluster} is not Ready: {reason ?? "no reason"} {message}".TrimEnd(),
            Why = "istiod, the CNI node agent and the east-west gateway only serve the mesh once the Sail operator reports them Ready.",
            Fix = ok ? "" : $"look at the {kind} status on {cluster} (kubectl get {kind?.ToLowerInvariant()} {name} -o yaml) and the Sail operator's log",
            Evidence = new[] { Ev(evidence) },
        };
    }
}
