using System.Globalization;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Checks;

/// <summary>Settings of the checks on observed (live or snapshot) state.</summary>
public sealed class CheckOptions
{
    /// <summary>The time discovery sync ages are measured against (the snapshot's time for snapshots).</summary>
    public DateTimeOffset Now { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>
    /// A lastFullSync older than this is a warning. Healthy meshes record full syncs minutes apart and statuses lag
    /// (seed 001's healthy pair shows an inbound lastFullSync 5 minutes behind the peer's own watch), so the default is 15 minutes.
    /// </summary>
    public TimeSpan MaxSyncAge { get; init; } = TimeSpan.FromMinutes(15);
}

/// <summary>One mesh as found in a cluster: its SMCP and the federation objects in its namespace.</summary>
public sealed class ObservedMesh
{
    public required string Cluster { get; init; }

    public required JsonObject ControlPlane { get; init; }

    public string Name => ControlPlane["metadata"]!["name"]!.GetValue<string>();

    public string Namespace => ControlPlane["metadata"]!["namespace"]!.GetValue<string>();

    public string TrustDomain => ControlPlane["spec"]?["security"]?["trust"]?["domain"]?.GetValue<string>() ?? "cluster.local";

    public List<JsonObject> Peers { get; } = new();

    public List<JsonObject> Exports { get; } = new();

    public List<JsonObject> Imports { get; } = new();

    public List<JsonObject> ConfigMaps { get; } = new();

    public List<JsonObject> Services { get; } = new();

    public List<JsonObject> IstiodPods { get; } = new();

    public List<JsonObject> Nodes { get; } = new();

    /// <summary>Were pods listed at all (a snapshot may lack them)?</summary>
    public bool PodsKnown { get; set; }

    public JsonObject? ConfigMap(string name) => ConfigMaps.FirstOrDefault(c => NameOf(c) == name);

    public JsonObject? Service(string name) => Services.FirstOrDefault(c => NameOf(c) == name);

    internal static string NameOf(JsonObject o) => o["metadata"]!["name"]!.GetValue<string>();

    public override string ToString() => $"{Name} ({Namespace} in {Cluster})";
}

/// <summary>
/// The OSSM 2 federation checks over what clusters (or snapshots of them) hold. Every check runs to completion and
/// reports Pass, Warn, Fail or Skip with why it matters, how to fix it and the evidence it looked at.
/// </summary>
public static class ObservedChecks
{
    /// <summary>Reads what the checks need: two rounds of parallel lists per cluster.</summary>
    public static async Task<IReadOnlyList<ObservedMesh>> ObserveAsync(IEnumerable<IClusterReader> readers, CancellationToken cancellationToken)
    {
        var perCluster = await Task.WhenAll(readers.Select(async r =>
        {
            var lists = await Task.WhenAll(
                r.ListAsync("maistra.io/v2", "ServiceMeshControlPlane", null, cancellationToken),
                r.ListAsync("federation.maistra.io/v1", "ServiceMeshPeer", null, cancellationToken),
                r.ListAsync("federation.maistra.io/v1", "ExportedServiceSet", null, cancellationToken),
                r.ListAsync("federation.maistra.io/v1", "ImportedServiceSet", null, cancellationToken),
                r.ListAsync("v1", "Node", null, cancellationToken)).ConfigureAwait(false);
            var meshes = lists[0].Select(smcp => new ObservedMesh { Cluster = r.Cluster, ControlPlane = smcp }).ToList();
            foreach (var m in meshes)
            {
                bool In(JsonObject o) => o["metadata"]?["namespace"]?.GetValue<string>() == m.Namespace;
                m.Peers.AddRange(lists[1].Where(In));
                m.Exports.AddRange(lists[2].Where(In));
                m.Imports.AddRange(lists[3].Where(In));
                m.Nodes.AddRange(lists[4]);
            }
            await Task.WhenAll(meshes.Select(async m =>
            {
                var ns = await Task.WhenAll(
                    r.ListAsync("v1", "ConfigMap", m.Namespace, cancellationToken),
                    r.ListAsync("v1", "Service", m.Namespace, cancellationToken),
                    r.ListAsync("v1", "Pod", m.Namespace, cancellationToken)).ConfigureAwait(false);
                m.ConfigMaps.AddRange(ns[0]);
                m.Services.AddRange(ns[1]);
                m.PodsKnown = ns[2].Count > 0;
                m.IstiodPods.AddRange(ns[2].Where(p => p["metadata"]?["labels"]?["app"]?.GetValue<string>() == "istiod"));
            })).ConfigureAwait(false);
            return meshes;
        })).ConfigureAwait(false);
        return perCluster.SelectMany(x => x).ToList();
    }

    private static MeshCheckResult R(string mesh, string? peer, string id, CheckStatus status, string message, string why, string fix, params string[] evidence) =>
        new() { Mesh = mesh, Peer = peer, CheckId = id, Status = status, Message = message, Why = why, Fix = status is CheckStatus.Pass or CheckStatus.Skip ? "" : fix, Evidence = evidence };

    /// <summary>Runs every check over the observed meshes; <paramref name="intended"/> (optional) names what should be there.</summary>
    public static IReadOnlyList<MeshCheckResult> Run(IReadOnlyList<ObservedMesh> observed, FederationSet? intended, CheckOptions? options = null)
    {
        options ??= new CheckOptions();
        var results = new List<MeshCheckResult>();

        if (intended is not null)
        {
            // What is observed is OSSM 2 (ServiceMeshControlPlanes and federation resources); the Istio styles are checked
            // on the intended federation.
            IstioChecks.Run(intended, results);
            foreach (var cp in intended.ControlPlanes.Where(c => c.Style is MeshStyle.MultiPrimary or MeshStyle.MultiMesh))
                results.Add(R(cp.Name, null, "ISTIO.LiveNotObserved", CheckStatus.Skip, $"{cp.Style} control plane {cp.Name}: live observation covers OSSM 2 federation only",
                    "The Istio styles' checks (ISTIO.*) ran on the intended federation; their live state is not compared yet.",
                    "", $"cluster {cp.ClusterName}"));
            foreach (var cp in intended.ControlPlanes.Where(c => c.Style == MeshStyle.Ossm2 && !observed.Any(o => o.Name == c.Name && o.Cluster == c.ClusterName)))
                results.Add(R(cp.Name, null, "OSSM2.ControlPlaneReady", CheckStatus.Fail, $"no ServiceMeshControlPlane {cp.Namespace}/{cp.Name} in cluster {cp.ClusterName}",
                    "Federation is configured on the SMCP; without it there are no federation gateways and no istiod to discover peers.",
                    "apply the federation (Sync-MeshFederation) or create the control plane", $"cluster {cp.ClusterName}"));
        }

        foreach (var mesh in observed)
        {
            ControlPlaneReady(mesh, results);
            TrustDomainUnique(mesh, observed, results);
            foreach (var peer in mesh.Peers) PeerChecks(mesh, peer, observed, intended, options, results);
            foreach (var ess in mesh.Exports) ExportChecks(mesh, ess, intended, results);
            foreach (var iss in mesh.Imports) ImportChecks(mesh, iss, observed, intended, results);
        }
        return results;
    }

    private static void ControlPlaneReady(ObservedMesh mesh, List<MeshCheckResult> results)
    {
        var conditions = (mesh.ControlPlane["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        var ready = conditions.FirstOrDefault(c => c["type"]?.GetValue<string>() == "Ready");
        var ok = ready?["status"]?.GetValue<string>() == "True";
        var count = mesh.ControlPlane["status"]?["annotations"]?["readyComponentCount"]?.GetValue<string>();
        results.Add(R(mesh.Name, null, "OSSM2.ControlPlaneReady", ok ? CheckStatus.Pass : CheckStatus.Fail,
            ok ? $"ServiceMeshControlPlane is Ready{(count is null ? "" : $" ({count} components)")}"
               : $"ServiceMeshControlPlane is not Ready: {ready?["reason"]?.GetValue<string>() ?? "no Ready condition"} {ready?["message"]?.GetValue<string>()}".TrimEnd(),
            "Federation gateways and istiod's discovery only run once the control plane is ready.",
            "look at the SMCP status (oc describe smcp) and the operator's log",
            $"ServiceMeshControlPlane {mesh.Namespace}/{mesh.Name} in {mesh.Cluster}"));
    }

    private static void TrustDomainUnique(ObservedMesh mesh, IReadOnlyList<ObservedMesh> observed, List<MeshCheckResult> results)
    {
        var others = observed.Where(o => o != mesh && string.Equals(o.TrustDomain, mesh.TrustDomain, StringComparison.OrdinalIgnoreCase)).Select(o => o.ToString()).ToList();
        results.Add(R(mesh.Name, null, "OSSM2.TrustDomainUnique", others.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
            others.Count == 0 ? $"trust domain {mesh.TrustDomain} is unique" : $"trust domain {mesh.TrustDomain} is shared with {string.Join(", ", others)}",
            "Federated meshes authenticate each other's gateways by SPIFFE identity; two meshes with one trust domain cannot be told apart.",
            $"set spec.security.trust.domain to {mesh.Name}.local", $"spec.security.trust.domain={mesh.TrustDomain}"));
    }

    private static ObservedMesh? Remote(ObservedMesh mesh, string peerName, IReadOnlyList<ObservedMesh> observed, FederationSet? intended)
    {
        var binding = intended?.Peerings.FirstOrDefault(p => p.Local.Name == mesh.Name && p.Remote.Name == peerName)?.Remote.ClusterName;
        return observed.FirstOrDefault(o => o.Name == peerName && (binding is null || o.Cluster == binding))
               ?? observed.FirstOrDefault(o => o.Name == peerName);
    }

    private static void PeerChecks(ObservedMesh mesh, JsonObject smp, IReadOnlyList<ObservedMesh> observed, FederationSet? intended, CheckOptions options, List<MeshCheckResult> results)
    {
        var peer = ObservedMesh.NameOf(smp);
        var spec = smp["spec"];
        var remote = Remote(mesh, peer, observed, intended);
        var ingressName = spec?["gateways"]?["ingress"]?["name"]?.GetValue<string>() ?? "";
        var egressName = spec?["gateways"]?["egress"]?["name"]?.GetValue<string>() ?? "";
        var evidence = $"ServiceMeshPeer {mesh.Namespace}/{peer} in {mesh.Cluster}";

        // Gateways on the SMCP: one ingress and one egress for this peer, with both federation ports and labels.
        var problems = new List<string>();
        void Gateway(string role, string name, string discoveryPortName)
        {
            var gw = mesh.ControlPlane["spec"]?["gateways"]?[role == "ingress" ? "additionalIngress" : "additionalEgress"]?[name];
            if (string.IsNullOrEmpty(name)) { problems.Add($"spec.gateways.{role}.name is empty"); return; }
            if (gw is null) { problems.Add($"no additional{(role == "ingress" ? "Ingress" : "Egress")} gateway '{name}' on the SMCP"); return; }
            if (gw["enabled"]?.GetValue<bool>() == false) problems.Add($"gateway '{name}' is disabled");
            var ports = (gw["service"]?["ports"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
            if (!ports.Any(p => p["port"]?.GetValue<int>() == 15443 && p["name"]?.GetValue<string>() == "tls")) problems.Add($"gateway '{name}' has no port 15443 named tls");
            if (!ports.Any(p => p["port"]?.GetValue<int>() == 8188 && p["name"]?.GetValue<string>() == discoveryPortName)) problems.Add($"gateway '{name}' has no port 8188 named {discoveryPortName}");
            var label = $"federation.maistra.io/{role}-for";
            if (gw["service"]?["metadata"]?["labels"]?[label] is null) problems.Add($"gateway '{name}' has no {label} label (its Service would select the default gateway's pods)");
        }
        Gateway("ingress", ingressName, "https-discovery");
        Gateway("egress", egressName, "http-discovery");
        results.Add(R(mesh.Name, peer, "OSSM2.FederationGateways", problems.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
            problems.Count == 0 ? $"ingress {ingressName} and egress {egressName} are configured for {peer}" : string.Join("; ", problems),
            "Each peer needs its own ingress and egress gateway on 15443 (service) and 8188 (discovery), labelled so their Services select only their pods.",
            "render the control plane with this peering (New-MeshPeer | Sync-MeshFederation) or fix spec.gateways.additionalIngress/additionalEgress", evidence));

        // The peer's root certificate.
        var cmName = spec?["security"]?["certificateChain"]?["name"]?.GetValue<string>() ?? Names.CaConfigMapName(peer);
        var cm = mesh.ConfigMap(cmName);
        var pem = cm?["data"]?[Names.RootCertKey]?.GetValue<string>();
        var actual = remote?.ConfigMap("istio-ca-root-cert")?["data"]?[Names.RootCertKey]?.GetValue<string>();
        var (rootStatus, rootMessage) = pem is null ? (CheckStatus.Fail, $"ConfigMap {mesh.Namespace}/{cmName} with {Names.RootCertKey} does not exist")
            : actual is null ? (CheckStatus.Skip, $"the root of {peer} could not be read to compare")
            : Normalize(pem) == Normalize(actual) ? (CheckStatus.Pass, $"{cmName} holds {peer}'s current root certificate")
            : (CheckStatus.Fail, $"{cmName} does not hold {peer}'s current root certificate (istio-ca-root-cert differs)");
        results.Add(R(mesh.Name, peer, "OSSM2.PeerRootCertificate", rootStatus, rootMessage,
            "The peer's gateways present certificates from its root; a missing or stale copy makes discovery fail TLS.",
            $"copy {peer}'s istio-ca-root-cert (root-cert.pem) into ConfigMap {cmName} (Sync-MeshFederation does this)",
            $"ConfigMap {mesh.Namespace}/{cmName}", remote is null ? "remote mesh not observed" : $"ConfigMap {remote.Namespace}/istio-ca-root-cert in {remote.Cluster}"));

        // Both sides.
        var back = remote?.Peers.Any(p => ObservedMesh.NameOf(p) == mesh.Name);
        results.Add(R(mesh.Name, peer, "OSSM2.PeerBothSides", back switch { true => CheckStatus.Pass, false => CheckStatus.Fail, null => CheckStatus.Skip },
            back switch { true => $"{peer} has a ServiceMeshPeer for {mesh.Name}", false => $"{peer} has no ServiceMeshPeer named {mesh.Name}", null => $"mesh {peer} was not observed" },
            "Peering is pairwise and symmetric: each mesh needs a ServiceMeshPeer for the other.",
            $"create ServiceMeshPeer {mesh.Name} in {peer}'s namespace (New-MeshPeer creates both)", evidence));

        // Identity: trust domain and clientID as the remote mesh really is.
        if (remote is not null)
        {
            var td = spec?["security"]?["trustDomain"]?.GetValue<string>();
            var client = spec?["security"]?["clientID"]?.GetValue<string>();
            var remoteEgress = remote.Peers.FirstOrDefault(p => ObservedMesh.NameOf(p) == mesh.Name)?["spec"]?["gateways"]?["egress"]?["name"]?.GetValue<string>();
            var expectedClient = remoteEgress is null ? null : Names.ClientId(remote.TrustDomain, remote.Namespace, remoteEgress);
            var identityProblems = new List<string>();
            if (td != remote.TrustDomain) identityProblems.Add($"trustDomain is {td ?? "(unset)"} but {peer}'s is {remote.TrustDomain}");
            if (expectedClient is not null && client != expectedClient) identityProblems.Add($"clientID is {client ?? "(unset)"}, expected {expectedClient}");
            results.Add(R(mesh.Name, peer, "OSSM2.PeerIdentity", identityProblems.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                identityProblems.Count == 0 ? $"trust domain and clientID match {peer}" : string.Join("; ", identityProblems),
                "istiod denies discovery requests whose SPIFFE identity is not the clientID, and validates the peer's certificates for its trust domain.",
                $"set spec.security.trustDomain to {remote.TrustDomain}{(expectedClient is null ? "" : $" and clientID to {expectedClient}")}", evidence));
        }

        // Discovery status: every istiod pod active with its watch and every inbound watch connected.
        var status = smp["status"]?["discoveryStatus"];
        var active = (status?["active"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        var inactive = (status?["inactive"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        var connection = new List<string>();
        if (active.Count == 0) connection.Add(inactive.Count > 0 ? $"istiod pods inactive: {string.Join(", ", inactive.Select(a => a["pod"]?.GetValue<string>()))}" : "no discovery status (not connected yet)");
        foreach (var a in active)
        {
            var pod = a["pod"]?.GetValue<string>();
            if (a["watch"]?["connected"]?.GetValue<bool>() != true) connection.Add($"{pod}: watch to {peer} not connected");
            var remotes = (a["remotes"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
            if (remotes.Count == 0) connection.Add($"{pod}: no inbound watch from {peer}");
            foreach (var rr in remotes.Where(r => r["connected"]?.GetValue<bool>() != true)) connection.Add($"{pod}: inbound watch from {rr["source"]} not connected");
        }
        foreach (var i in inactive.Where(_ => active.Count > 0)) connection.Add($"{i["pod"]} is inactive");
        if (mesh.PodsKnown)
            foreach (var pod in mesh.IstiodPods.Select(ObservedMesh.NameOf).Where(p => !active.Any(a => a["pod"]?.GetValue<string>() == p)))
                connection.Add($"istiod pod {pod} is not listed as active");
        results.Add(R(mesh.Name, peer, "OSSM2.PeerConnected", connection.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
            connection.Count == 0 ? $"{active.Count} istiod pod(s) connected both ways to {peer}" : string.Join("; ", connection),
            "A pod is active only while its watch to the peer is connected; remotes are the peer's watches into this mesh. A stale lastDisconnectStatus next to connected=true is healthy.",
            $"check istiod's log, the egress gateway for {peer} and {peer}'s ingress gateway for this mesh (addresses, ports, certificates)",
            active.Select(a => $"active {a["pod"]}: watch.connected={a["watch"]?["connected"]}, lastDisconnectStatus={a["watch"]?["lastDisconnectStatus"]?.GetValue<string>() ?? "-"}").Append(evidence).ToArray()));

        // Sync age.
        var syncs = active.SelectMany(a => new[] { a["watch"]?["lastFullSync"] }.Concat((a["remotes"] as JsonArray)?.OfType<JsonObject>().Select(r => r["lastFullSync"]) ?? Enumerable.Empty<JsonNode?>()))
            .Select(t => t?.GetValue<string>()).Where(t => t is not null)
            .Select(t => DateTimeOffset.Parse(t!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)).ToList();
        if (syncs.Count == 0)
            results.Add(R(mesh.Name, peer, "OSSM2.PeerSyncAge", CheckStatus.Skip, "no lastFullSync recorded", "", ""));
        else
        {
            var oldest = syncs.Min();
            var age = options.Now - oldest;
            results.Add(R(mesh.Name, peer, "OSSM2.PeerSyncAge", age <= options.MaxSyncAge ? CheckStatus.Pass : CheckStatus.Warn,
                $"oldest lastFullSync was {Describe(age)} ago ({oldest:u})",
                "Peers resync regularly; a full sync much older than a few minutes means discovery stalled even if it still says connected.",
                "restart the watch (istiod pod) or look for gateway/network problems", evidence));
        }

        // The local ingress gateway for this peer has an address peers can reach.
        var svc = mesh.Service(ingressName);
        var nodePortSvc = mesh.Service(ingressName + "-nodeport") ?? (svc?["spec"]?["type"]?.GetValue<string>() == "NodePort" ? svc : null);
        var lb = (svc?["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.OfType<JsonObject>().Select(i => i["ip"]?.GetValue<string>() ?? i["hostname"]?.GetValue<string>()).Where(a => a is not null).ToList() ?? new List<string?>();
        var nodeAddrs = mesh.Nodes.SelectMany(n => (n["status"]?["addresses"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
            .Where(a => a["type"]?.GetValue<string>() is "InternalIP" or "ExternalIP").Select(a => a["address"]?.GetValue<string>()).Distinct().ToList();
        var nodePorts = (nodePortSvc?["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>().Select(p => p["nodePort"]?.GetValue<int>()).Where(p => p is not null).ToList() ?? new List<int?>();
        var (addrStatus, addrMessage) = svc is null && nodePortSvc is null ? (CheckStatus.Fail, $"no Service {ingressName} in {mesh.Namespace}")
            : lb.Count > 0 ? (CheckStatus.Pass, $"{ingressName} has LoadBalancer address {string.Join(", ", lb)}")
            : nodePortSvc is not null && nodePorts.Count >= 2 && nodeAddrs.Count > 0 ? (CheckStatus.Pass, $"{ingressName} is exposed on node ports {string.Join(", ", nodePorts)} of {nodeAddrs.Count} node(s)")
            : nodePortSvc is not null && nodeAddrs.Count == 0 ? (CheckStatus.Skip, $"{ingressName} has node ports but the nodes were not observed")
            : svc?["spec"]?["type"]?.GetValue<string>() == "LoadBalancer" ? (CheckStatus.Fail, $"{ingressName}'s LoadBalancer is pending (no address)")
            : (CheckStatus.Fail, $"{ingressName} is neither a LoadBalancer with an address nor exposed on node ports");
        results.Add(R(mesh.Name, peer, "OSSM2.IngressAddress", addrStatus, addrMessage,
            $"{peer} connects to this gateway; without an address it cannot reach this mesh.",
            "check the cloud/MetalLB load balancer, or expose the gateway with NodePort and a proxy (New-FederationProxyConfig)",
            $"Service {mesh.Namespace}/{ingressName}"));
    }

    private static void ExportChecks(ObservedMesh mesh, JsonObject ess, FederationSet? intended, List<MeshCheckResult> results)
    {
        var name = ObservedMesh.NameOf(ess);
        var named = mesh.Peers.Any(p => ObservedMesh.NameOf(p) == name);
        results.Add(R(mesh.Name, name, "OSSM2.ExportSetNamedAfterPeer", named ? CheckStatus.Pass : CheckStatus.Fail,
            named ? $"ExportedServiceSet {name} matches ServiceMeshPeer {name}" : $"ExportedServiceSet {name} matches no ServiceMeshPeer in {mesh.Namespace}",
            "istiod looks exports up by peer name; a set named otherwise exports nothing.",
            $"rename the ExportedServiceSet after the peer it exports to (one of: {string.Join(", ", mesh.Peers.Select(ObservedMesh.NameOf))})",
            $"ExportedServiceSet {mesh.Namespace}/{name}"));

        var exported = (ess["status"]?["exportedServices"] as JsonArray)?.OfType<JsonObject>().Select(e => e["exportedName"]?.GetValue<string>()).ToHashSet() ?? new HashSet<string?>();
        foreach (var expected in ExpectedExports(mesh, ess, intended))
            results.Add(R(mesh.Name, name, "OSSM2.ExportActive", exported.Contains(expected) ? CheckStatus.Pass : CheckStatus.Fail,
                exported.Contains(expected) ? $"{expected} is exported" : $"{expected} is not in the ExportedServiceSet status",
                "Only services that exist, are visible to the control-plane namespace and live in member namespaces are exported.",
                "check that the service exists, that its namespace is in the ServiceMeshMemberRoll and not hidden by exportTo",
                $"ExportedServiceSet {mesh.Namespace}/{name} status.exportedServices: {string.Join(", ", exported)}"));
    }

    private static IEnumerable<string> ExpectedExports(ObservedMesh mesh, JsonObject ess, FederationSet? intended)
    {
        var peer = ObservedMesh.NameOf(ess);
        if (intended is not null)
            return intended.Exports.Where(e => e.Mesh == mesh.Name && e.Peer == peer && e.ExportedHost is not null).Select(e => e.ExportedHost!);
        return ((ess["spec"]?["exportRules"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
            .Where(r => r["type"]?.GetValue<string>() == "NameSelector")
            .Select(r => r["nameSelector"])
            .Select(s => (Ns: Pick(s?["alias"]?["namespace"], s?["namespace"]), Name: Pick(s?["alias"]?["name"], s?["name"])))
            .Where(x => !Names.IsWildcard(x.Ns) && !Names.IsWildcard(x.Name))
            .Select(x => Names.ExportedHost(x.Name!, x.Ns!, peer));
    }

    private static string? Pick(JsonNode? alias, JsonNode? original)
    {
        var a = alias?.GetValue<string>();
        return Names.IsWildcard(a) ? original?.GetValue<string>() : a;
    }

    private static void ImportChecks(ObservedMesh mesh, JsonObject iss, IReadOnlyList<ObservedMesh> observed, FederationSet? intended, List<MeshCheckResult> results)
    {
        var peer = ObservedMesh.NameOf(iss);
        var entries = (iss["status"]?["importedServices"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        var rules = (iss["spec"]?["importRules"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        foreach (var rule in rules.Where(r => r["importAsLocal"]?.GetValue<bool>() == true))
        {
            var sel = rule["nameSelector"];
            var aliasNs = sel?["alias"]?["namespace"]?.GetValue<string>();
            var ok = !Names.IsWildcard(aliasNs);
            results.Add(R(mesh.Name, peer, "OSSM2.ImportAsLocalAlias", ok ? CheckStatus.Pass : CheckStatus.Fail,
                ok ? $"importAsLocal rule for {sel?["namespace"]}/{sel?["name"]} has alias namespace {aliasNs}" : $"importAsLocal rule for {sel?["namespace"]}/{sel?["name"]} has no fixed alias namespace",
                "OSSM silently skips an importAsLocal rule whose nameSelector.alias.namespace is empty or '*' (only istiod's log says so).",
                "set nameSelector.alias.namespace to the local namespace the service should join", $"ImportedServiceSet {mesh.Namespace}/{peer}"));
        }

        var expected = intended?.Imports.Where(i => i.Mesh == mesh.Name && i.Peer == peer && i.LocalHost is not null).Select(i => (i.LocalNamespace, i.LocalName, Host: i.LocalHost!)).ToList()
            ?? rules.Select(r => r["nameSelector"]).Where(s => s is not null)
                .Select(s => (Ns: Pick(s!["alias"]?["namespace"], s["namespace"]), Name: Pick(s["alias"]?["name"], s["name"])))
                .Where(x => !Names.IsWildcard(x.Ns) && !Names.IsWildcard(x.Name)).Select(x => (x.Ns!, x.Name!, Host: $"{x.Name}.{x.Ns}")).ToList();
        foreach (var (ns, name, host) in expected)
        {
            var entry = entries.FirstOrDefault(e => e["localService"]?["name"]?.GetValue<string>() == name && e["localService"]?["namespace"]?.GetValue<string>() == ns);
            var hostname = entry?["localService"]?["hostname"]?.GetValue<string>();
            results.Add(R(mesh.Name, peer, "OSSM2.ImportResolved", !string.IsNullOrEmpty(hostname) ? CheckStatus.Pass : CheckStatus.Fail,
                !string.IsNullOrEmpty(hostname) ? $"{ns}/{name} resolves to {hostname}" : $"{ns}/{name} is not imported (no local host name in the status)",
                "An import only works once the peer exports the service and a rule matches its exported namespace and name.",
                $"check that {peer} exports it to {mesh.Name} and that the rule matches the exported (aliased) namespace and name",
                $"ImportedServiceSet {mesh.Namespace}/{peer}", $"expected {host}"));
        }

        var unused = entries.Where(e => string.IsNullOrEmpty(e["localService"]?["hostname"]?.GetValue<string>())).Select(e => e["exportedName"]?.GetValue<string>()).ToList();
        results.Add(R(mesh.Name, peer, "OSSM2.ImportedButUnused", unused.Count == 0 ? CheckStatus.Pass : CheckStatus.Warn,
            unused.Count == 0 ? $"every service {peer} exports to {mesh.Name} is imported" : $"{unused.Count} service(s) {peer} exports are not imported: {string.Join(", ", unused)}",
            "The status lists every service the peer exports; an entry with an empty localService matched no import rule.",
            "add an import rule if the service is wanted, or stop exporting it", $"ImportedServiceSet {mesh.Namespace}/{peer} status"));
    }

    private static string Normalize(string pem) => string.Join('\n', pem.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    private static string Describe(TimeSpan t) =>
        t.TotalDays >= 2 ? $"{t.TotalDays:0} days" : t.TotalHours >= 2 ? $"{t.TotalHours:0} hours" : t.TotalMinutes >= 2 ? $"{t.TotalMinutes:0} minutes" : $"{t.TotalSeconds:0} seconds";
}
