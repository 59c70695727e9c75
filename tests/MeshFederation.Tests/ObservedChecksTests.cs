using System.Text.Json.Nodes;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// The checks over observed state, with the seeds' real status outputs: each check has a passing and a failing case.
/// The clusters are snapshots built from the rendered seed-001 objects plus what the operator and istiod would add.
/// </summary>
public class ObservedChecksTests
{
    private static readonly DateTimeOffset SeedTime = DateTimeOffset.Parse("2022-08-02T13:35:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private static readonly Dictionary<string, string> Roots = new() { ["blue-mesh"] = TestPki.RootCertificatePem("blue-mesh"), ["green-mesh"] = TestPki.RootCertificatePem("green-mesh") };

    /// <summary>Seed 001 as the clusters would hold it after federating, with the seed's own statuses.</summary>
    internal static Dictionary<string, List<JsonObject>> Seed001Clusters()
    {
        var text = File.ReadAllText(Paths.Example("seed-001-blue-green.yaml"));
        foreach (var (mesh, pem) in Roots)
            text = text.Replace($"  - name: {mesh}\n", $"  - name: {mesh}\n    rootCertificate: |\n      {pem.Replace("\n", "\n      ", StringComparison.Ordinal).TrimEnd()}\n", StringComparison.Ordinal);
        var set = TestSupport.LoadText(text, "seed-001.yaml");
        var clusters = new Dictionary<string, List<JsonObject>>();
        foreach (var m in Ossm2Renderer.Render(set).AllManifests)
        {
            if (!clusters.TryGetValue(m.Cluster, out var list)) clusters[m.Cluster] = list = new List<JsonObject>();
            list.Add((JsonObject)m.Content.DeepClone());
        }
        var statuses = SeedStatuses.From(Paths.Seed("001"));
        Assert.Equal(4, statuses.Count);
        foreach (var (cluster, mesh, ip, pod) in new[] { ("blue", "blue-mesh", "10.19.3.29", "istiod-blue-mesh-ff6fdf966-qk8md"), ("green", "green-mesh", "10.19.3.30", "istiod-green-mesh-594f485c4c-7k57m") })
        {
            var objects = clusters[cluster];
            var ns = $"{mesh}-system";
            var smcp = objects.Single(o => o["kind"]!.GetValue<string>() == "ServiceMeshControlPlane");
            smcp["status"] = JsonNode.Parse("""{"annotations":{"readyComponentCount":"10/10"},"conditions":[{"type":"Ready","status":"True","reason":"ComponentsReady"}]}""");
            objects.Add(Cm(ns, "istio-ca-root-cert", Roots[mesh]));
            var peer = mesh == "blue-mesh" ? "green-mesh" : "blue-mesh";
            objects.Add(JsonNode.Parse($$$$"""{"apiVersion":"v1","kind":"Service","metadata":{"name":"ingress-{{{{peer}}}}","namespace":"{{{{ns}}}}"},"spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{"ingress":[{"ip":"{{{{ip}}}}"}]}}}""")!.AsObject());
            objects.Add(JsonNode.Parse($$$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{{pod}}}}","namespace":"{{{{ns}}}}","labels":{"app":"istiod"}}}""")!.AsObject());
            foreach (var (sns, kind, name, status) in statuses.Where(s => s.Namespace == ns))
                objects.Single(o => o["kind"]!.GetValue<string>() == kind && o["metadata"]!["name"]!.GetValue<string>() == name)["status"] = status.DeepClone();
        }
        return clusters;
    }

    private static JsonObject Cm(string ns, string name, string pem) =>
        new() { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns }, ["data"] = new JsonObject { ["root-cert.pem"] = pem } };

    internal static IReadOnlyList<MeshCheckResult> Check(Dictionary<string, List<JsonObject>> clusters, FederationSet? intended = null, DateTimeOffset? now = null)
    {
        var readers = clusters.Select(kv => new SnapshotClusterReader(kv.Key, kv.Value)).ToList();
        var observed = ObservedChecks.ObserveAsync(readers, CancellationToken.None).GetAwaiter().GetResult();
        return ObservedChecks.Run(observed, intended, new CheckOptions { Now = now ?? SeedTime });
    }

    private static MeshCheckResult One(IEnumerable<MeshCheckResult> results, string id, string mesh, string? peer = null) =>
        results.Single(r => r.CheckId == id && r.Mesh == mesh && (peer is null || r.Peer == peer));

    private static JsonObject Find(Dictionary<string, List<JsonObject>> c, string cluster, string kind, string name) =>
        c[cluster].Single(o => o["kind"]!.GetValue<string>() == kind && o["metadata"]!["name"]!.GetValue<string>() == name);

    [Fact]
    public void Seed_001_as_federated_passes_every_check()
    {
        var results = Check(Seed001Clusters());
        Assert.All(results, r => Assert.True(r.Status == CheckStatus.Pass, r.ToString()));
        foreach (var id in new[] { "OSSM2.ControlPlaneReady", "OSSM2.FederationGateways", "OSSM2.TrustDomainUnique", "OSSM2.PeerRootCertificate", "OSSM2.PeerBothSides",
                     "OSSM2.PeerIdentity", "OSSM2.PeerConnected", "OSSM2.PeerSyncAge", "OSSM2.IngressAddress", "OSSM2.ExportSetNamedAfterPeer", "OSSM2.ExportActive",
                     "OSSM2.ImportResolved", "OSSM2.ImportedButUnused" })
            Assert.Contains(results, r => r.CheckId == id);
        // The seed's blue side shows lastDisconnectStatus 503 next to connected=true: healthy.
        Assert.Contains("503 Service Unavailable", string.Join(" ", One(results, "OSSM2.PeerConnected", "blue-mesh").Evidence), StringComparison.Ordinal);
    }

    [Fact]
    public void ControlPlaneReady_fails_when_not_ready_or_missing()
    {
        var c = Seed001Clusters();
        Find(c, "blue", "ServiceMeshControlPlane", "blue-mesh")["status"] = JsonNode.Parse("""{"conditions":[{"type":"Ready","status":"False","reason":"PausingInstall","message":"waiting for istiod"}]}""");
        var r = One(Check(c), "OSSM2.ControlPlaneReady", "blue-mesh");
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("PausingInstall", r.Message, StringComparison.Ordinal);
        var intended = TestSupport.LoadExample("seed-001-blue-green.yaml");
        c["green"].RemoveAll(o => o["kind"]!.GetValue<string>() == "ServiceMeshControlPlane");
        Assert.Equal(CheckStatus.Fail, One(Check(c, intended), "OSSM2.ControlPlaneReady", "green-mesh").Status);
    }

    [Fact]
    public void FederationGateways_fails_without_the_discovery_port_or_the_label()
    {
        var c = Seed001Clusters();
        var ingress = Find(c, "blue", "ServiceMeshControlPlane", "blue-mesh")["spec"]!["gateways"]!["additionalIngress"]!["ingress-green-mesh"]!;
        ingress["service"]!["ports"]!.AsArray().RemoveAt(1);
        ingress["service"]!["metadata"]!["labels"]!.AsObject().Remove("federation.maistra.io/ingress-for");
        var r = One(Check(c), "OSSM2.FederationGateways", "blue-mesh", "green-mesh");
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("no port 8188 named https-discovery", r.Message, StringComparison.Ordinal);
        Assert.Contains("federation.maistra.io/ingress-for", r.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrustDomainUnique_fails_on_a_shared_trust_domain()
    {
        var c = Seed001Clusters();
        Find(c, "green", "ServiceMeshControlPlane", "green-mesh")["spec"]!["security"]!["trust"]!["domain"] = "blue-mesh.local";
        Assert.Equal(CheckStatus.Fail, One(Check(c), "OSSM2.TrustDomainUnique", "green-mesh").Status);
    }

    [Fact]
    public void PeerRootCertificate_fails_when_missing_or_stale()
    {
        var c = Seed001Clusters();
        Find(c, "green", "ConfigMap", "blue-mesh-ca-root-cert")["data"]!["root-cert.pem"] = TestPki.RootCertificatePem("old-blue");
        c["blue"].RemoveAll(o => o["kind"]!.GetValue<string>() == "ConfigMap" && o["metadata"]!["name"]!.GetValue<string>() == "green-mesh-ca-root-cert");
        var results = Check(c);
        Assert.Contains("does not hold blue-mesh's current root", One(results, "OSSM2.PeerRootCertificate", "green-mesh").Message, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Fail, One(results, "OSSM2.PeerRootCertificate", "green-mesh").Status);
        Assert.Equal(CheckStatus.Fail, One(results, "OSSM2.PeerRootCertificate", "blue-mesh").Status);
    }

    [Fact]
    public void PeerBothSides_and_PeerIdentity_fail_for_a_one_sided_or_misconfigured_peer()
    {
        var c = Seed001Clusters();
        Find(c, "blue", "ServiceMeshPeer", "green-mesh")["spec"]!["security"]!["clientID"] = "green-mesh.local/ns/green-mesh-system/sa/wrong-service-account";
        var results = Check(c);
        var identity = One(results, "OSSM2.PeerIdentity", "blue-mesh");
        Assert.Equal(CheckStatus.Fail, identity.Status);
        Assert.Contains("egress-blue-mesh-service-account", identity.Message, StringComparison.Ordinal);
        c["green"].RemoveAll(o => o["kind"]!.GetValue<string>() == "ServiceMeshPeer");
        Assert.Equal(CheckStatus.Fail, One(Check(c), "OSSM2.PeerBothSides", "blue-mesh").Status);
    }

    [Fact]
    public void PeerConnected_fails_on_inactive_pods_disconnected_watches_or_a_missing_pod()
    {
        var c = Seed001Clusters();
        var status = Find(c, "blue", "ServiceMeshPeer", "green-mesh")["status"]!["discoveryStatus"]!;
        status["active"]![0]!["remotes"]![0]!["connected"] = false;
        Assert.Contains("inbound watch", One(Check(c), "OSSM2.PeerConnected", "blue-mesh").Message, StringComparison.Ordinal);

        c = Seed001Clusters();
        Find(c, "green", "ServiceMeshPeer", "blue-mesh")["status"] = JsonNode.Parse("""{"discoveryStatus":{"inactive":[{"pod":"istiod-green-mesh-594f485c4c-7k57m","watch":{"connected":false,"lastDisconnectStatus":"503 Service Unavailable"}}]}}""");
        var r = One(Check(c), "OSSM2.PeerConnected", "green-mesh");
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("inactive", r.Message, StringComparison.Ordinal);

        c = Seed001Clusters();
        c["blue"].Add(JsonNode.Parse("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"istiod-blue-mesh-second","namespace":"blue-mesh-system","labels":{"app":"istiod"}}}""")!.AsObject());
        Assert.Contains("istiod-blue-mesh-second is not listed as active", One(Check(c), "OSSM2.PeerConnected", "blue-mesh").Message, StringComparison.Ordinal);

        c = Seed001Clusters();
        Find(c, "blue", "ServiceMeshPeer", "green-mesh").Remove("status");
        Assert.Contains("no discovery status", One(Check(c), "OSSM2.PeerConnected", "blue-mesh").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PeerSyncAge_warns_when_the_last_full_sync_is_old()
    {
        var r = One(Check(Seed001Clusters(), now: DateTimeOffset.Parse("2026-11-21T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture)), "OSSM2.PeerSyncAge", "blue-mesh");
        Assert.Equal(CheckStatus.Warn, r.Status);
        Assert.Contains("days ago", r.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IngressAddress_fails_for_a_pending_LoadBalancer_and_passes_for_NodePort_with_nodes()
    {
        var c = Seed001Clusters();
        Find(c, "blue", "Service", "ingress-green-mesh").Remove("status");
        Assert.Contains("pending", One(Check(c), "OSSM2.IngressAddress", "blue-mesh").Message, StringComparison.Ordinal);

        c["blue"].Add(JsonNode.Parse("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"ingress-green-mesh-nodeport","namespace":"blue-mesh-system"},"spec":{"type":"NodePort","ports":[{"name":"tls","port":15443,"nodePort":31001},{"name":"https-discovery","port":8188,"nodePort":31000}]}}""")!.AsObject());
        c["blue"].Add(JsonNode.Parse("""{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"status":{"addresses":[{"type":"InternalIP","address":"192.168.126.11"}]}}""")!.AsObject());
        Assert.Equal(CheckStatus.Pass, One(Check(c), "OSSM2.IngressAddress", "blue-mesh").Status);
    }

    [Fact]
    public void Export_checks_fail_for_a_misnamed_set_and_an_export_missing_from_the_status()
    {
        var c = Seed001Clusters();
        Find(c, "blue", "ExportedServiceSet", "green-mesh")["status"] = JsonNode.Parse("""{"exportedServices":[]}""");
        var r = One(Check(c), "OSSM2.ExportActive", "blue-mesh");
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("dokuwiki.nfs-app-istio.svc.green-mesh-exports.local", r.Message, StringComparison.Ordinal);
        Find(c, "blue", "ExportedServiceSet", "green-mesh")["metadata"]!["name"] = "green";
        Assert.Equal(CheckStatus.Fail, One(Check(c), "OSSM2.ExportSetNamedAfterPeer", "blue-mesh", "green").Status);
    }

    [Fact]
    public void Import_checks_with_seed_000s_real_status()
    {
        // Seed 000: mesh2 imports ratings and mongodb from mesh1 into mesh2-bookinfo.
        var set = TestSupport.LoadExample("seed-000-nodeport-shared-host.yaml");
        var clusters = new Dictionary<string, List<JsonObject>>();
        foreach (var m in Ossm2Renderer.Render(set).AllManifests)
        {
            if (!clusters.TryGetValue(m.Cluster, out var list)) clusters[m.Cluster] = list = new List<JsonObject>();
            list.Add((JsonObject)m.Content.DeepClone());
        }
        foreach (var (ns, kind, name, status) in SeedStatuses.From(Paths.Seed("000")))
            clusters[ns.Split('-')[0]].Single(o => o["kind"]!.GetValue<string>() == kind && o["metadata"]!["name"]!.GetValue<string>() == name)["status"] = status.DeepClone();
        var intended = new FederationSet();
        intended.Add(set);
        var wanted = Factory.Import(new MeshServiceImport { ControlPlane = set.FindControlPlane("mesh2")!, Peer = "mesh1", Namespace = "bookinfo", Name = "ratings", AliasNamespace = "mesh2-bookinfo" });
        intended.Add(wanted);
        var results = Check(clusters, intended, DateTimeOffset.Parse("2021-10-07T04:17:00Z", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(CheckStatus.Pass, One(results, "OSSM2.ImportResolved", "mesh2", "mesh1").Status);
        Assert.Contains("ratings.mesh2-bookinfo.svc.mesh1-imports.local", One(results, "OSSM2.ImportResolved", "mesh2", "mesh1").Message, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Pass, One(results, "OSSM2.PeerConnected", "mesh1").Status);
        Assert.Equal(CheckStatus.Pass, One(results, "OSSM2.PeerConnected", "mesh2").Status);
        Assert.Equal(CheckStatus.Pass, One(results, "OSSM2.PeerSyncAge", "mesh2").Status);

        // The failing side: an intended import the status does not resolve, an importAsLocal rule without alias,
        // and a status entry that no rule imported.
        var iss = clusters["mesh2"].Single(o => o["kind"]!.GetValue<string>() == "ImportedServiceSet");
        iss["status"]!["importedServices"]![0]!["localService"] = JsonNode.Parse("""{"hostname":"","name":"","namespace":""}""");
        iss["spec"]!["importRules"]!.AsArray().Add(JsonNode.Parse("""{"type":"NameSelector","importAsLocal":true,"nameSelector":{"namespace":"bookinfo","name":"reviews"}}"""));
        var failed = Check(clusters, intended, DateTimeOffset.Parse("2021-10-07T04:17:00Z", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(CheckStatus.Fail, failed.Single(r => r.CheckId == "OSSM2.ImportAsLocalAlias").Status);
        Assert.Equal(CheckStatus.Warn, One(failed, "OSSM2.ImportedButUnused", "mesh2").Status);
        Assert.Contains("mongodb.bookinfo.svc.mesh2-exports.local", One(failed, "OSSM2.ImportedButUnused", "mesh2").Message, StringComparison.Ordinal);
        var wantedMongo = Factory.Import(new MeshServiceImport { ControlPlane = set.FindControlPlane("mesh2")!, Peer = "mesh1", Namespace = "bookinfo", Name = "mongodb", AliasNamespace = "mesh2-bookinfo" });
        intended.Add(wantedMongo);
        Assert.Contains(Check(clusters, intended, SeedTime), r => r.CheckId == "OSSM2.ImportResolved" && r.Status == CheckStatus.Fail && r.Message.Contains("mongodb", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Snapshots_load_single_objects_multi_document_files_and_lists_per_cluster_folder()
    {
        var dir = Paths.TempDir();
        var clusters = Seed001Clusters();
        foreach (var (cluster, objects) in clusters)
        {
            Directory.CreateDirectory(Path.Combine(dir, cluster));
            var smcps = objects.Where(o => o["kind"]!.GetValue<string>() == "ServiceMeshControlPlane").ToList();
            var peers = objects.Where(o => o["kind"]!.GetValue<string>() == "ServiceMeshPeer").ToList();
            var rest = objects.Except(smcps).Except(peers).ToList();
            File.WriteAllText(Path.Combine(dir, cluster, "smcp.yaml"), TestSupport.Yaml.Emit(smcps));            // a single object
            File.WriteAllText(Path.Combine(dir, cluster, "rest.yaml"), TestSupport.Yaml.Emit(rest));             // several documents
            var list = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "List", ["items"] = new JsonArray(peers.Select(p => (JsonNode)p.DeepClone()).ToArray()) };
            File.WriteAllText(Path.Combine(dir, cluster, "peers.yaml"), TestSupport.Yaml.Emit(new[] { list })); // kind: List
        }
        var readers = SnapshotClusterReader.Load(dir, TestSupport.Yaml);
        Assert.Equal(new[] { "blue", "green" }, readers.Select(r => r.Cluster));
        var observed = await ObservedChecks.ObserveAsync(readers, CancellationToken.None);
        var results = ObservedChecks.Run(observed, null, new CheckOptions { Now = SeedTime });
        Assert.All(results, r => Assert.True(r.Status == CheckStatus.Pass, r.ToString()));
        Assert.Throws<MeshFederation.Engine.Validation.MeshFederationException>(() => SnapshotClusterReader.Load(Path.Combine(dir, "nope"), TestSupport.Yaml));
    }
}
