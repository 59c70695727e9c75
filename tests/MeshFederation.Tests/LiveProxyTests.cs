using System.Text.Json.Nodes;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Proxy;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>The bare-metal proxy from live clusters: node addresses and the node ports the clusters assigned.</summary>
public sealed class LiveProxyTests
{
    private static string TopologyWithoutNodes() =>
        string.Join('\n', File.ReadAllLines(Paths.Example("seed-000-nodeport-shared-host.yaml")).Where(l => !l.Contains("nodeAddresses", StringComparison.Ordinal)));

    private static void NodePortService(FakeApiServer s, string ns, string gateway, int discovery, int service) =>
        s.Store.Upsert(JsonNode.Parse($$$"""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"{{{gateway}}}-nodeport","namespace":"{{{ns}}}"},
             "spec":{"type":"NodePort","ports":[{"name":"tls","port":15443,"nodePort":{{{service}}}},{"name":"https-discovery","port":8188,"nodePort":{{{discovery}}}}]}}
            """)!.AsObject());

    [Fact]
    public async Task Node_addresses_and_assigned_node_ports_are_read_and_clashing_frontends_are_moved()
    {
        await using var clusters = await TestClusters.StartAsync("mesh1", "mesh2");
        _ = new FakeOssm2Operator(clusters["mesh1"], "x", new[] { "192.168.126.11", "192.168.126.12" });
        _ = new FakeOssm2Operator(clusters["mesh2"], "x", new[] { "192.168.127.11", "192.168.127.12", "192.168.127.13" });
        // Both clusters gave their gateway the same node ports: one proxy host cannot listen twice on them.
        NodePortService(clusters["mesh1"], "mesh1-system", "mesh2-ingress", 30555, 30556);
        NodePortService(clusters["mesh2"], "mesh2-system", "mesh1-ingress", 30555, 30556);

        var set = TestSupport.LoadText(TopologyWithoutNodes().Replace("proxy:", "x-proxy-removed:", StringComparison.Ordinal).Split("x-proxy-removed:")[0], "seed-000.yaml");
        using var conns = new ClusterConnections(TestSupport.Yaml, clusters.WriteKubeconfig(), TestClusters.Fast);
        var (peerings, ports) = await new LiveFederation(conns).ReadProxyInputsAsync(set.Peerings, CancellationToken.None);
        var proxy = ProxyBuilder.Build(peerings, new ProxyOptions { ProxyHost = "192.168.122.1", NodePortOverrides = ports });

        var toMesh1 = proxy.Find("mesh1", "mesh2", FederationPortKind.Service)!;
        var toMesh2 = proxy.Find("mesh2", "mesh1", FederationPortKind.Service)!;
        Assert.Equal(new[] { "192.168.126.11", "192.168.126.12" }, toMesh1.Backends);
        Assert.Equal(new[] { "192.168.127.11", "192.168.127.12", "192.168.127.13" }, toMesh2.Backends);
        Assert.Equal(30556, toMesh1.NodePort);
        Assert.Equal(30556, toMesh2.NodePort);
        Assert.Equal(30556, toMesh1.FrontendPort);
        Assert.True(toMesh2.FrontendPort >= 40000, $"frontend {toMesh2.FrontendPort}");
        Assert.Equal(proxy.PortMap.Count, proxy.PortMap.Select(p => p.FrontendPort).Distinct().Count());

        var file = Path.Combine(Paths.TempDir(), "federation.cfg");
        File.WriteAllText(file, proxy.HaproxyConfig);
        var (code, output) = ExternalTools.Run("haproxy", $"-c -f {file}");
        Assert.True(code == 0, output);

        // Rendered with the proxy, the peers point at the moved frontend and the NodePort Services keep the cluster's ports.
        var withProxy = MeshFederation.Engine.Model.FederationSet.From(set.ControlPlanes.Cast<object>().Concat(set.Peerings).Append(proxy));
        var rendered = MeshFederation.Engine.Rendering.Ossm2Renderer.Render(withProxy).AllManifests.ToList();
        var peerInMesh1 = rendered.Single(m => m.Kind == "ServiceMeshPeer" && m.Mesh == "mesh1");
        Assert.Equal(toMesh2.FrontendPort, peerInMesh1.Content["spec"]!["remote"]!["servicePort"]!.GetValue<int>());
        var svc = rendered.Single(m => m.Kind == "Service" && m.Mesh == "mesh2");
        Assert.Contains(svc.Content["spec"]!["ports"]!.AsArray(), p => p!["nodePort"]!.GetValue<int>() == 30556);
    }

    [Fact]
    public async Task The_CLI_reads_the_proxy_inputs_from_the_clusters()
    {
        await using var clusters = await TestClusters.StartAsync("mesh1", "mesh2");
        _ = new FakeOssm2Operator(clusters["mesh1"], "x", new[] { "10.1.0.11" });
        _ = new FakeOssm2Operator(clusters["mesh2"], "x", new[] { "10.2.0.11" });
        var topology = Path.Combine(clusters.Directory, "t.yaml");
        File.WriteAllText(topology, TopologyWithoutNodes());
        var (code, cfg, err) = BadInputTests.Cli("proxy", topology, "--from-cluster", "--kubeconfig", clusters.WriteKubeconfig());
        Assert.True(code == 0, err);
        Assert.Contains("server mesh1-node1 10.1.0.11:31000 check", cfg, StringComparison.Ordinal);
        Assert.Contains("server mesh2-node1 10.2.0.11:31100 check", cfg, StringComparison.Ordinal);
    }
}
