using System.Globalization;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Model;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// The OSSM 2 checks over observed state, on the snapshot fixtures of seeds 001 and 000 (real upstream statuses, see
/// tests/fixtures/snapshots/SOURCE.md): each check has a passing and a failing case.
/// </summary>
public class ObservedChecksTests
{
    /// <summary>Seed 001's statuses were read at or after their newest time, 13:31:48.</summary>
    internal static readonly DateTimeOffset SeedTime = DateTimeOffset.Parse("2022-08-02T13:32:00Z", CultureInfo.InvariantCulture);

    private static readonly DateTimeOffset Seed000Time = DateTimeOffset.Parse("2021-10-07T04:17:00Z", CultureInfo.InvariantCulture);

    /// <summary>A fixture's objects per cluster, as kubectl saved them.</summary>
    internal static Dictionary<string, List<JsonObject>> Fixture(string name)
    {
        var clusters = new Dictionary<string, List<JsonObject>>();
        foreach (var dir in Directory.GetDirectories(CheckHonestyTests.Fixture(name)).Order(StringComparer.Ordinal))
        {
            var list = (JsonObject)TestSupport.Yaml.Parse(File.ReadAllText(Path.Combine(dir, "objects.yaml")), "objects.yaml")[0].ToJson()!;
            clusters[Path.GetFileName(dir)] = list["items"]!.AsArray().Select(i => (JsonObject)i!.DeepClone()).ToList();
        }
        return clusters;
    }

    internal static Dictionary<string, List<JsonObject>> Seed001Clusters() => Fixture("seed-001");

    internal static IReadOnlyList<MeshCheckResult> Check(Dictionary<string, List<JsonObject>> clusters, FederationSet? intended = null, DateTimeOffset? now = null, CheckOptions? options = null)
    {
        var readers = clusters.Select(kv => new SnapshotClusterReader(kv.Key, kv.Value, now ?? SeedTime)).ToList();
        var observed = ObservedChecks.ObserveAsync(readers, CancellationToken.None).GetAwaiter().GetResult();
        return ObservedChecks.Run(observed, intended, options ?? new CheckOptions { Now = now ?? SeedTime });
    }

    private static MeshCheckResult One(IEnumerable<MeshCheckResult> results, string id, string mesh, string? peer = null) =>
        results.Single(r => r.CheckId == id && r.Mesh == mesh && (peer is null || r.Peer == peer));

    private static JsonObject Find(Dictionary<string, List<JsonObject>> c, string cluster, string kind, string name) =>
        c[cluster].Single(o => o["kind"]!.GetValue<string>() == kind && o["metadata"]!["name"]!.GetValue<string>() == name);

    private static string Evidence(MeshCheckResult r) => string.Join(" | ", r.Evidence);

    [Fact]
    public void Seed_001_as_federated_passes_every_check_with_evidence_of_when_each_value_was_read()
    {
        var results = Check(Seed001Clusters());
        Assert.All(results, r => Assert.True(r.Status == CheckStatus.Pass, r.ToString()));
        foreach (var id in new[] { "OSSM2.ControlPlaneReady", "OSSM2.FederationGateways", "OSSM2.TrustDomainUnique", "OSSM2.PeerRootCertificate", "OSSM2.PeerBothSides",
                     "OSSM2.PeerIdentity", "OSSM2.PeerAddress", "OSSM2.PeerConnected", "OSSM2.PeerSyncAge", "OSSM2.IngressAddress", "OSSM2.ExportSetNamedAfterPeer",
                     "OSSM2.ExportActive", "OSSM2.ImportResolved", "OSSM2.ImportedButUnused" })
            Assert.Contains(results, r => r.CheckId == id);
        Assert.All(results, r => Assert.Contains(r.Evidence, e => e.ObservedAt == SeedTime && e.Cluster is "blue" or "green"));
        // The seed's blue side shows lastDisconnectStatus 503 next to connected=true: healthy, and in the evidence.
        Assert.Contains("503 Service Unavailable", Evidence(One(results, "OSSM2.PeerConnected", "blue-mesh")), StringComparison.Ordinal);
    }

    [Fact]
    public void ControlPlaneReady_fails_when_not_ready_or_missing_and_warns_on_an_old_generation()
    {
        var c = Seed001Clusters();
        Find(c, "blue", "ServiceMeshControlPlane", "blue-mesh")["status"] = JsonNode.Parse("""{"conditions":[{"type":"Ready","status":"False","reason":"PausingInstall","message":"waiting for istiod"}]}""");
        var r = One(Check(c), "OSSM2.ControlPlaneReady", "blue-mesh");
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("PausingInstall", r.Message, StringComparison.Ordinal);

        c = Seed001Clusters();
        Find(c, "blue", "ServiceMeshControlPlane", "blue-mesh")["metadata"]!["generation"] = 2;
        Assert.Equal(CheckStatus.Warn, One(Check(c), "OSSM2.ControlPlaneReady", "blue-mesh").Status);

        var intended = TestSupport.LoadExample("seed-001-blue-green.yaml");
        c["green"].RemoveAll(o => o["kind"]!.GetValue<string>() == "ServiceMeshControlPlane");
        var missing = One(Check(c, intended), "OSSM2.ControlPlaneReady", "green-mesh");
        Assert.Equal(CheckStatus.Fail, missing.Status);
        Assert.Contains("ServiceMeshPeer blue-mesh", missing.Message, StringComparison.Ordinal);
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
        var stale = One(results, "OSSM2.PeerRootCertificate", "green-mesh");
        Assert.Equal(CheckStatus.Fail, stale.Status);
        Assert.Contains("does not hold blue-mesh's current root", stale.Message, StringComparison.Ordinal);
        Assert.Contains("O=blue-mesh.local", Evidence(stale), StringComparison.Ordinal);
        Assert.DoesNotContain("BEGIN CERTIFICATE", Evidence(stale), StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Fail, One(results, "OSSM2.PeerRootCertificate", "blue-mesh").Status);
    }

    [Fact]
    public void PeerBothSides_and_PeerIdentity_fail_for_a_one_sided_or_misconfigured_peer()
    {
        var c = Seed001Clusters();
        Find(c, "blue", "ServiceMeshPeer", "green-mesh")["spec"]!["security"]!["clientID"] = "green-mesh.local/ns/green-mesh-system/sa/wrong-service-account";
        var identity = One(Check(c), "OSSM2.PeerIdentity", "blue-mesh");
        Assert.Equal(CheckStatus.Fail, identity.Status);
        Assert.Contains("egress-blue-mesh-service-account", identity.Message, StringComparison.Ordinal);
        c["green"].RemoveAll(o => o["kind"]!.GetValue<string>() == "ServiceMeshPeer");
        Assert.Equal(CheckStatus.Fail, One(Check(c), "OSSM2.PeerBothSides", "blue-mesh").Status);
    }

    [Fact]
    public void PeerAddress_compares_with_node_addresses_and_node_ports_of_a_NodePort_gateway()
    {
        var asOf = Seed000Time;
        var c = Fixture("seed-000");
        Assert.Equal(CheckStatus.Pass, One(Check(c, now: asOf), "OSSM2.PeerAddress", "fed-export").Status);
        Find(c, "mesh1", "ServiceMeshPeer", "mesh2")["spec"]!["remote"]!["discoveryPort"] = 31000;
        var wrongPort = One(Check(c, now: asOf), "OSSM2.PeerAddress", "fed-export");
        Assert.Equal(CheckStatus.Fail, wrongPort.Status);
        Assert.Contains("ports differ", wrongPort.Message, StringComparison.Ordinal);
        Assert.Contains("192.168.127.11:31828/30645", wrongPort.Message, StringComparison.Ordinal);

        // An address that is not a node may be a proxy in front of the nodes: only the topology can tell.
        c = Fixture("seed-000");
        Find(c, "mesh1", "ServiceMeshPeer", "mesh2")["spec"]!["remote"]!["addresses"] = new JsonArray("10.16.0.20");
        Assert.Equal(CheckStatus.Warn, One(Check(c, now: asOf), "OSSM2.PeerAddress", "fed-export").Status);
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
        Assert.Contains("503 Service Unavailable", Evidence(r), StringComparison.Ordinal);

        c = Seed001Clusters();
        c["blue"].Add(JsonNode.Parse("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"istiod-blue-mesh-second","namespace":"blue-mesh-system","labels":{"app":"istiod"}}}""")!.AsObject());
        Assert.Contains("istiod-blue-mesh-second is not listed", One(Check(c), "OSSM2.PeerConnected", "blue-mesh").Message, StringComparison.Ordinal);

        c = Seed001Clusters();
        Find(c, "blue", "ServiceMeshPeer", "green-mesh").Remove("status");
        Assert.Contains("no discovery status", One(Check(c), "OSSM2.PeerConnected", "blue-mesh").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PeerSyncAge_warns_past_two_resync_periods_and_fails_past_ten_configurably()
    {
        DateTimeOffset At(string t) => DateTimeOffset.Parse(t, CultureInfo.InvariantCulture);
        // blue's watch synced green's services at 13:30:26.
        Assert.Equal(CheckStatus.Pass, One(Check(Seed001Clusters(), now: At("2022-08-02T13:32:00Z")), "OSSM2.PeerSyncAge", "blue-mesh").Status);
        Assert.Equal(CheckStatus.Warn, One(Check(Seed001Clusters(), now: At("2022-08-02T13:35:00Z")), "OSSM2.PeerSyncAge", "blue-mesh").Status);
        var hours = One(Check(Seed001Clusters(), now: At("2022-08-02T18:31:48Z")), "OSSM2.PeerSyncAge", "blue-mesh");
        Assert.Equal(CheckStatus.Fail, hours.Status);
        Assert.Contains("5 hours", hours.Message, StringComparison.Ordinal);
        Assert.Contains("2022-08-02T13:30:26Z", Evidence(hours), StringComparison.Ordinal);
        Assert.Contains("days", One(Check(Seed001Clusters(), now: At("2026-11-21T00:00:00Z")), "OSSM2.PeerSyncAge", "blue-mesh").Message, StringComparison.Ordinal);
        var relaxed = new CheckOptions { Now = At("2022-08-02T13:35:00Z"), SyncWarnAfter = TimeSpan.FromMinutes(10), SyncFailAfter = TimeSpan.FromHours(1) };
        Assert.Equal(CheckStatus.Pass, One(Check(Seed001Clusters(), options: relaxed), "OSSM2.PeerSyncAge", "blue-mesh").Status);
    }

    [Fact]
    public void IngressAddress_fails_for_a_pending_LoadBalancer_and_passes_for_NodePort_with_nodes()
    {
        var c = Seed001Clusters();
        Find(c, "blue", "Service", "ingress-green-mesh")["status"] = JsonNode.Parse("""{"loadBalancer":{}}""");
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

    /// <summary>Seed 000 as pipeline objects: meshes mesh1/mesh2 whose control planes are fed-export/fed-import.</summary>
    private static FederationSet Seed000Intended()
    {
        MeshControlPlane Cp(string name, string cpName) => new()
        {
            Name = name, ControlPlaneName = cpName, Namespace = name + "-system", TrustDomain = name + ".local", Cluster = new ClusterBinding(name),
            GatewayExposure = GatewayExposure.NodePort, Version = "v2.1",
        };
        var mesh1 = Cp("mesh1", "fed-export");
        var mesh2 = Cp("mesh2", "fed-import");
        var set = FederationSet.From(MeshPeering.Pair(mesh1, mesh2));
        set.Add(Factory.Import(new MeshServiceImport { ControlPlane = mesh2, Peer = "mesh1", Namespace = "bookinfo", Name = "ratings", AliasNamespace = "mesh2-bookinfo" }));
        return set;
    }

    [Fact]
    public void Import_checks_with_seed_000s_real_status_and_control_planes_named_otherwise_than_their_peers()
    {
        var clusters = Fixture("seed-000");
        var intended = Seed000Intended();
        var results = Check(clusters, intended, Seed000Time);
        Assert.DoesNotContain(results, r => r.Status is CheckStatus.Fail or CheckStatus.Skip);
        var resolved = One(results, "OSSM2.ImportResolved", "mesh2", "mesh1");
        Assert.Equal(CheckStatus.Pass, resolved.Status);
        Assert.Contains("ratings.mesh2-bookinfo.svc.mesh1-imports.local", resolved.Message, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Pass, One(results, "OSSM2.PeerIdentity", "mesh1").Status);
        Assert.Equal(CheckStatus.Pass, One(results, "OSSM2.PeerConnected", "mesh2").Status);
        Assert.Equal(CheckStatus.Pass, One(results, "OSSM2.PeerSyncAge", "mesh2").Status);

        // The failing side: an intended import the status does not resolve, an importAsLocal rule without alias,
        // and a status entry that no rule imported.
        var iss = clusters["mesh2"].Single(o => o["kind"]!.GetValue<string>() == "ImportedServiceSet");
        var ratings = iss["status"]!["importedServices"]!.AsArray().Single(e => e!["exportedName"]!.GetValue<string>().StartsWith("ratings", StringComparison.Ordinal))!;
        ratings["localService"] = JsonNode.Parse("""{"hostname":"","name":"","namespace":""}""");
        iss["spec"]!["importRules"]!.AsArray().Add(JsonNode.Parse("""{"type":"NameSelector","importAsLocal":true,"nameSelector":{"namespace":"bookinfo","name":"reviews"}}"""));
        var failed = Check(clusters, intended, Seed000Time);
        Assert.Equal(CheckStatus.Fail, failed.Single(r => r.CheckId == "OSSM2.ImportAsLocalAlias").Status);
        Assert.Equal(CheckStatus.Fail, One(failed, "OSSM2.ImportResolved", "mesh2").Status);
        var unused = One(failed, "OSSM2.ImportedButUnused", "mesh2");
        Assert.Equal(CheckStatus.Warn, unused.Status);
        Assert.Contains("ratings.bookinfo.svc.mesh2-exports.local", unused.Message, StringComparison.Ordinal);
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
            File.WriteAllText(Path.Combine(dir, cluster, "NOTES.md"), "# saved for case 1234\n");             // notes are ignored
        }
        var readers = SnapshotClusterReader.Load(dir, TestSupport.Yaml, SeedTime);
        Assert.Equal(new[] { "blue", "green" }, readers.Select(r => r.Cluster));
        var observed = await ObservedChecks.ObserveAsync(readers, CancellationToken.None);
        var results = ObservedChecks.Run(observed, null, new CheckOptions { Now = SeedTime });
        Assert.All(results, r => Assert.True(r.Status == CheckStatus.Pass, r.ToString()));
        Assert.Throws<MeshFederation.Engine.Validation.MeshFederationException>(() => SnapshotClusterReader.Load(Path.Combine(dir, "nope"), TestSupport.Yaml));

        // Output of jq or -o jsonpath, files nobody can read as objects, and empty cluster folders are errors naming them.
        File.WriteAllText(Path.Combine(dir, "green", "status.json"), """{"discoveryStatus":{"active":[]}}""");
        File.WriteAllText(Path.Combine(dir, "blue", "notes.txt"), "peers look fine\n");
        Directory.CreateDirectory(Path.Combine(dir, "yellow"));
        var ex = Assert.Throws<MeshFederation.Engine.Validation.MeshFederationException>(() => SnapshotClusterReader.Load(dir, TestSupport.Yaml));
        Assert.Contains(ex.Problems, p => p.Value == Path.Combine("green", "status.json") && p.Problem.Contains("jq", StringComparison.Ordinal));
        Assert.Contains(ex.Problems, p => p.Value == Path.Combine("blue", "notes.txt"));
        Assert.Contains(ex.Problems, p => p.Value!.EndsWith("yellow", StringComparison.Ordinal) && p.Problem.Contains("left out", StringComparison.Ordinal));
    }

    [Fact]
    public void Istioctl_remote_clusters_output_is_read_as_the_Istio_documentation_prints_it()
    {
        var rows = SnapshotClusterReader.RemoteClustersOutput(File.ReadAllText(Path.Combine(CheckHonestyTests.Fixture("seed-003"), "cluster1", "remote-clusters.txt")), "rc.txt")!;
        Assert.Equal(2, rows.Count);
        Assert.Equal(new RemoteClusterStatus("cluster1", null, "synced", "istiod-7b74b769db-kb4kj", "rc.txt"), rows[0]);
        Assert.Equal(new RemoteClusterStatus("cluster2", "istio-system/istio-remote-secret-cluster2", "synced", "istiod-7b74b769db-kb4kj", "rc.txt"), rows[1]);
        Assert.Null(SnapshotClusterReader.RemoteClustersOutput("NAME  READY  STATUS\nblue  10/10  ComponentsReady\n", "x"));
    }
}
