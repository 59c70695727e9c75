using MeshFederation.Engine.Model;
using MeshFederation.Engine.Proxy;
using MeshFederation.Engine.Rendering;

namespace MeshFederation.Tests;

/// <summary>
/// The pipeline, built exactly as the cmdlets build it (through Factory), reproduces the seeds and equals the
/// topology files: Import-MeshTopology emits the same objects the cmdlets would.
/// </summary>
public class PipelineTests
{
    private static string Render(IEnumerable<object> objects, string name)
    {
        var set = FederationSet.From(objects);
        set.Name = name;
        return string.Join("\n", ManifestEmitter.Files(Ossm2Renderer.Render(set), TestSupport.Yaml).Select(kv => $"== {kv.Key}\n{kv.Value}"));
    }

    private static string RenderTopology(string file) =>
        string.Join("\n", ManifestEmitter.Files(TestSupport.RenderExample(file), TestSupport.Yaml).Select(kv => $"== {kv.Key}\n{kv.Value}"));

    /// <summary>New-MeshControlPlane ×2 | New-MeshPeer | Export-MeshService | Import-MeshService | New-MeshTrafficSplit.</summary>
    internal static List<object> Seed001Pipeline()
    {
        var overrides = System.Text.Json.Nodes.JsonNode.Parse("""{"runtime":{"defaults":{"container":{"imagePullPolicy":"Always"}}}}""")!.AsObject();
        var blue = Factory.ControlPlanes(new ControlPlaneRequest
        {
            Name = "blue-mesh", Namespace = "blue-mesh-system", Clusters = new[] { new ClusterBinding("blue") { Context = "blue" } },
            Version = "v2.1", TrustDomain = "blue-mesh.local", MemberNamespaces = new[] { "nfs-app-istio" },
            IngressGatewayTemplate = "ingress-{peer}", EgressGatewayTemplate = "egress-{peer}", GatewayForLabel = GatewayForLabel.Gateway,
            IngressAddresses = new Dictionary<string, IReadOnlyList<string>> { ["green-mesh"] = new[] { "10.19.3.29" } },
            SpecOverrides = overrides,
        }).Single();
        var green = Factory.ControlPlanes(new ControlPlaneRequest
        {
            Name = "green-mesh", Namespace = "green-mesh-system", Clusters = new[] { new ClusterBinding("green") { Context = "green" } },
            Version = "v2.1", TrustDomain = "green-mesh.local", MemberNamespaces = new[] { "nfs-app-istio" },
            IngressGatewayTemplate = "ingress-{peer}", EgressGatewayTemplate = "egress-{peer}", GatewayForLabel = GatewayForLabel.Gateway,
            IngressAddresses = new Dictionary<string, IReadOnlyList<string>> { ["blue-mesh"] = new[] { "10.19.3.30" } },
            SpecOverrides = overrides,
        }).Single();
        var peers = Factory.Peerings(new[] { blue, green });
        var export = Factory.Export(new MeshServiceExport
        {
            ControlPlane = peers[0].Local, Peer = peers[0].Remote.Name, Namespace = "nfs-app-istio", Name = "dokuwiki",
            AliasNamespace = "nfs-app-istio", AliasName = "dokuwiki",
        });
        var toGreen = peers.Single(p => p.LocalMesh == "green-mesh");
        var import = Factory.Import(new MeshServiceImport
        {
            ControlPlane = toGreen.Local, Peer = toGreen.RemoteMesh, Namespace = "nfs-app-istio", Name = "dokuwiki",
            AliasNamespace = "nfs-app-istio", AliasName = "blue-dokuwiki",
        });
        var split = Factory.TrafficSplit(new MeshTrafficSplit
        {
            ControlPlane = import.ControlPlane, Name = "dokuwiki", Namespace = import.LocalNamespace, Hosts = new[] { "*" },
            Gateways = new[] { "dokuwiki-gateway" },
            Matches = new[] { new UriMatch(UriMatchKind.Exact, "/dokuwiki"), new UriMatch(UriMatchKind.Prefix, "/lib") },
            Port = 8080, LocalHost = "dokuwiki", LocalWeight = 0, RemoteHost = import.LocalHost!, RemoteWeight = 100,
        });
        return new List<object> { blue, green }.Concat(peers).Append(export).Append(import).Append(split).ToList();
    }

    [Fact]
    public void Seed_001_pipeline_renders_exactly_what_the_topology_file_renders()
    {
        Assert.Equal(RenderTopology("seed-001-blue-green.yaml"), Render(Seed001Pipeline(), "seed-001-blue-green"));
    }

    [Fact]
    public void Seed_002_MeshDeployment_gives_one_mesh_per_cluster_and_the_bookinfo_split_imports_as_local()
    {
        var cps = Factory.ControlPlanes(new ControlPlaneRequest
        {
            Name = "mesh", Namespace = "mesh-system", Version = "v2.1", MemberNamespaces = new[] { "mesh-bookinfo" },
            Clusters = new[] { new ClusterBinding("managedcluster1"), new ClusterBinding("managedcluster2") },
        });
        Assert.Equal(new[] { "managedcluster1-mesh", "managedcluster2-mesh" }, cps.Select(c => c.Name));
        Assert.Equal(new[] { "managedcluster1-mesh.local", "managedcluster2-mesh.local" }, cps.Select(c => c.TrustDomain));
        Assert.All(cps, c => Assert.Equal("mesh-system", c.Namespace));
        var peers = Factory.Peerings(cps);
        var two = peers.Single(p => p.LocalMesh == "managedcluster2-mesh");
        var one = peers.Single(p => p.LocalMesh == "managedcluster1-mesh");
        // The OCM addon's clientID formula: <peerTD>/ns/<peerNs>/sa/<thisMesh>-egress-service-account.
        Assert.Equal("managedcluster2-mesh.local/ns/mesh-system/sa/managedcluster1-mesh-egress-service-account", one.ClientId);
        var objects = new List<object>(cps);
        objects.AddRange(peers);
        foreach (var svc in new[] { "reviews", "ratings" })
        {
            objects.Add(Factory.Export(new MeshServiceExport { ControlPlane = two.Local, Peer = two.RemoteMesh, Namespace = "mesh-bookinfo", Name = svc }));
            var import = Factory.Import(new MeshServiceImport
            {
                ControlPlane = one.Local, Peer = one.RemoteMesh, Namespace = "mesh-bookinfo", Name = svc, AliasNamespace = "mesh-bookinfo", ImportAsLocal = true,
            });
            Assert.Equal($"{svc}.mesh-bookinfo.svc.cluster.local", import.LocalHost);
            objects.Add(import);
        }
        Assert.Equal(RenderTopology("seed-002-bookinfo-split.yaml"), Render(objects, "seed-002-bookinfo-split"));
    }

    [Fact]
    public void Seed_000_NodePort_pipeline_with_a_proxy_points_peers_at_the_proxy_and_matches_the_topology()
    {
        MeshControlPlane Mesh(string n, string nodes, int npBase) => Factory.ControlPlanes(new ControlPlaneRequest
        {
            Name = n, Namespace = $"{n}-system", Clusters = new[] { new ClusterBinding(n) }, Version = "v2.1",
            MemberNamespaces = new[] { $"{n}-bookinfo" }, GatewayExposure = GatewayExposure.NodePort,
            NodeAddresses = new[] { $"{nodes}.11", $"{nodes}.12", $"{nodes}.13" }, NodePortBase = npBase,
        }).Single();
        var mesh1 = Mesh("mesh1", "192.168.126", 31000);
        var mesh2 = Mesh("mesh2", "192.168.127", 31100);
        var peers = Factory.Peerings(new[] { mesh1, mesh2 });
        var proxy = ProxyBuilder.Build(peers, new ProxyOptions { Mode = ProxyMode.SharedHost, ProxyHost = "192.168.122.1" });
        var objects = new List<object> { mesh1, mesh2 };
        objects.AddRange(peers);
        objects.Add(Factory.Export(new MeshServiceExport { ControlPlane = mesh1, Peer = "mesh2", Namespace = "mesh1-bookinfo", Name = "ratings", AliasNamespace = "bookinfo", AliasName = "ratings" }));
        objects.Add(Factory.Export(new MeshServiceExport { ControlPlane = mesh1, Peer = "mesh2", Namespace = "mesh1-bookinfo", Name = "mongodb", AliasNamespace = "bookinfo", AliasName = "mongodb" }));
        var import = Factory.Import(new MeshServiceImport { ControlPlane = mesh2, Peer = "mesh1", Namespace = "bookinfo", Name = "*", AliasNamespace = "mesh2-bookinfo" });
        objects.Add(import);
        objects.Add(proxy);
        Assert.Equal(RenderTopology("seed-000-nodeport-shared-host.yaml"), Render(objects, "seed-000-shared-host"));

        // The seed's status: mesh2 sees ratings/mongodb from mesh1 as <name>.mesh2-bookinfo.svc.mesh1-imports.local.
        Assert.Equal("ratings.bookinfo.svc.mesh2-exports.local", ((MeshServiceExport)objects[4]).ExportedHost);
        Assert.Equal("ratings.mesh2-bookinfo.svc.mesh1-imports.local",
            MeshFederation.Engine.Validation.Names.ImportedHost("ratings", import.LocalNamespace, "mesh1", false, null));

        // mesh2's ServiceMeshPeer for mesh1 reaches mesh1's ingress-for-mesh2 through the proxy host.
        var docs = ManifestEmitter.WithYaml(Ossm2Renderer.Render(FederationSet.From(objects)), TestSupport.Yaml).SelectMany(c => TestSupport.ReadBack(c.Yaml)).ToList();
        var peerInMesh2 = docs.Single(d => d["kind"]!.GetValue<string>() == "ServiceMeshPeer" && d["metadata"]!["namespace"]!.GetValue<string>() == "mesh2-system");
        var d = proxy.Find("mesh1", "mesh2", FederationPortKind.Discovery)!;
        var s = proxy.Find("mesh1", "mesh2", FederationPortKind.Service)!;
        Assert.Equal("192.168.122.1", peerInMesh2["spec"]!["remote"]!["addresses"]![0]!.GetValue<string>());
        Assert.Equal(d.FrontendPort, peerInMesh2["spec"]!["remote"]!["discoveryPort"]!.GetValue<int>());
        Assert.Equal(s.FrontendPort, peerInMesh2["spec"]!["remote"]!["servicePort"]!.GetValue<int>());
        // ... and mesh1's NodePort Service for that gateway has exactly those node ports; the SMCP gateway stays internal.
        var smcp1 = docs.Single(x => x["kind"]!.GetValue<string>() == "ServiceMeshControlPlane" && x["metadata"]!["name"]!.GetValue<string>() == "mesh1");
        Assert.Null(smcp1["spec"]!["gateways"]!["additionalIngress"]!["mesh2-ingress"]!["service"]!["type"]);
        var svc = docs.Single(x => x["kind"]!.GetValue<string>() == "Service" && x["metadata"]!["name"]!.GetValue<string>() == "mesh2-ingress-nodeport");
        Assert.Equal("mesh1-system", svc["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal("NodePort", svc["spec"]!["type"]!.GetValue<string>());
        Assert.Equal("mesh2-ingress", svc["spec"]!["selector"]!["service.istio.io/canonical-name"]!.GetValue<string>());
        var ports = svc["spec"]!["ports"]!.AsArray();
        Assert.Contains(ports, p => p!["name"]!.GetValue<string>() == "https-discovery" && p["nodePort"]!.GetValue<int>() == d.NodePort && p["port"]!.GetValue<int>() == 8188);
        Assert.Contains(ports, p => p!["name"]!.GetValue<string>() == "tls" && p["nodePort"]!.GetValue<int>() == s.NodePort && p["port"]!.GetValue<int>() == 15443);
        Assert.Equal(proxy.NodePortServices.Select(m => TestSupport.Canonical(m.Content)).Order(),
            docs.Where(x => x["kind"]!.GetValue<string>() == "Service").Select(TestSupport.Canonical).Order());
        Assert.Equal(new[] { "192.168.126.11", "192.168.126.12", "192.168.126.13" }, d.Backends);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void N_control_planes_give_the_full_mesh_of_N_times_N_minus_1_peerings(int n)
    {
        var cps = Enumerable.Range(1, n).SelectMany(i => Factory.ControlPlanes(new ControlPlaneRequest { Name = $"mesh{i}" })).ToList();
        var peers = Factory.Peerings(cps);
        Assert.Equal(n * (n - 1), peers.Count);
        Assert.Equal(n * (n - 1), peers.Select(p => (p.LocalMesh, p.RemoteMesh)).Distinct().Count());
        Assert.All(peers, p => Assert.Contains(peers, q => q.LocalMesh == p.RemoteMesh && q.RemoteMesh == p.LocalMesh));
        var result = Ossm2Renderer.Render(FederationSet.From(cps.Cast<object>().Concat(peers)));
        Assert.Equal(n * (n - 1), result.AllManifests.Count(m => m.Kind == "ServiceMeshPeer"));
        // Every SMCP carries one ingress and one egress gateway per peer.
        foreach (var smcp in result.AllManifests.Where(m => m.Kind == "ServiceMeshControlPlane"))
        {
            Assert.Equal(n - 1, smcp.Content["spec"]!["gateways"]!["additionalIngress"]!.AsObject().Count);
            Assert.Equal(n - 1, smcp.Content["spec"]!["gateways"]!["additionalEgress"]!.AsObject().Count);
        }
    }

    [Fact]
    public void Manifests_come_in_apply_order_one_file_per_cluster_with_a_summary()
    {
        var result = TestSupport.RenderExample("seed-001-blue-green.yaml");
        Assert.Equal(new[] { "blue", "green" }, result.Clusters.Select(c => c.Cluster));
        foreach (var c in result.Clusters)
        {
            var order = c.Documents.Select(d => d.Order).ToList();
            Assert.Equal(order.Order().ToList(), order);
            Assert.Equal("Namespace", c.Documents[0].Kind);
            Assert.True(c.Documents.ToList().FindIndex(d => d.Kind == "ServiceMeshControlPlane") < c.Documents.ToList().FindIndex(d => d.Kind == "ServiceMeshPeer"));
        }
        var files = ManifestEmitter.Files(result, TestSupport.Yaml);
        Assert.Equal(new[] { "SUMMARY.md", "blue.yaml", "green.yaml" }, files.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("ServiceMeshPeer green-mesh-system/blue-mesh", files["SUMMARY.md"], StringComparison.Ordinal);
        Assert.Contains("istio-ca-root-cert", files["SUMMARY.md"], StringComparison.Ordinal);
        // Every object is labelled as ours, for removal later.
        Assert.All(result.AllManifests, m => Assert.Equal("meshfederation", m.Content["metadata"]!["labels"]!["app.kubernetes.io/managed-by"]!.GetValue<string>()));
    }

    [Fact]
    public void A_known_root_certificate_becomes_the_peer_CA_ConfigMap()
    {
        const string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        var a = Factory.ControlPlanes(new ControlPlaneRequest { Name = "a", RootCertificate = pem }).Single();
        var b = Factory.ControlPlanes(new ControlPlaneRequest { Name = "b" }).Single();
        var result = Ossm2Renderer.Render(FederationSet.From(Factory.Peerings(new[] { a, b })));
        var cm = result.AllManifests.Single(m => m.Kind == "ConfigMap");
        Assert.Equal("b", cm.Cluster);
        Assert.Equal("a-ca-root-cert", cm.Name);
        Assert.Equal("b-system", cm.Namespace);
        Assert.Equal(pem, cm.Content["data"]!["root-cert.pem"]!.GetValue<string>());
        Assert.Single(result.Pending, p => p.What.Contains("b-ca-root-cert", StringComparison.Ordinal));
        var yaml = ManifestEmitter.WithYaml(result, TestSupport.Yaml).Single(c => c.Cluster == "b").Yaml;
        Assert.Equal(pem, TestSupport.Find(TestSupport.ReadBack(yaml), "ConfigMap", "a-ca-root-cert")["data"]!["root-cert.pem"]!.GetValue<string>());
    }
}

public class StandaloneRenderTests
{
    public static TheoryData<int> Objects()
    {
        var d = new TheoryData<int>();
        for (var i = 0; i < PipelineTests.Seed001Pipeline().Count; i++) d.Add(i);
        return d;
    }

    [Theory]
    [MemberData(nameof(Objects))]
    public void Every_object_renders_its_own_manifests_and_they_validate(int index)
    {
        var item = PipelineTests.Seed001Pipeline()[index];
        var result = Ossm2Renderer.RenderObject(item);
        var expectedKind = item switch
        {
            MeshControlPlane => "ServiceMeshControlPlane",
            MeshPeering => "ServiceMeshPeer",
            MeshServiceExport => "ExportedServiceSet",
            MeshServiceImport => "ImportedServiceSet",
            MeshTrafficSplit => "VirtualService",
            _ => throw new InvalidOperationException(item.GetType().Name),
        };
        Assert.Contains(result.AllManifests, m => m.Kind == expectedKind);
        foreach (var c in ManifestEmitter.WithYaml(result, TestSupport.Yaml))
            foreach (var doc in TestSupport.ReadBack(c.Yaml))
                Assert.Empty(KubeSchemas.Validate(doc));
        if (item is MeshServiceExport or MeshServiceImport)
            Assert.Contains(result.Warnings, w => w.Contains("without a peering", StringComparison.Ordinal));
    }
}
