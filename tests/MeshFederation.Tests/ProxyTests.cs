using MeshFederation.Engine.Model;
using MeshFederation.Engine.Proxy;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests;

public class ProxyTests
{
    private static MeshControlPlane Mesh(string name, int? npBase = null, GatewayExposure exposure = GatewayExposure.NodePort, params string[] nodes) =>
        Factory.ControlPlanes(new ControlPlaneRequest
        {
            Name = name, GatewayExposure = exposure, NodePortBase = npBase,
            NodeAddresses = nodes.Length > 0 ? nodes : new[] { "127.0.0.1" },
        }).Single();

    [Theory]
    [InlineData("seed-000-nodeport-shared-host.yaml")]
    [InlineData("seed-000-nodeport-per-cluster.yaml")]
    public void Every_generated_configuration_passes_haproxy_check(string example)
    {
        var proxy = TestSupport.LoadExample(example).ProxyConfigs.Single();
        var file = Path.Combine(Paths.TempDir(), "federation.cfg");
        File.WriteAllText(file, proxy.HaproxyConfig);
        var (code, output) = ExternalTools.Run("haproxy", $"-c -f {file}");
        Assert.True(code == 0, output);
        Assert.Equal(4, proxy.PortMap.Count);
        Assert.Equal(8, proxy.HaproxyConfig.Split('\n').Count(l => l.TrimStart().StartsWith("frontend ", StringComparison.Ordinal) || l.TrimStart().StartsWith("backend ", StringComparison.Ordinal)));
        Assert.Contains("mode tcp", proxy.HaproxyConfig, StringComparison.Ordinal);
        Assert.DoesNotContain("ssl", proxy.HaproxyConfig, StringComparison.Ordinal);
    }

    [Fact]
    public void Three_clusters_many_to_many_get_unique_ports_on_one_host_and_haproxy_accepts_them()
    {
        var cps = new[] { Mesh("east"), Mesh("north"), Mesh("west") };
        var proxy = ProxyBuilder.Build(Factory.Peerings(cps), new ProxyOptions { ProxyHost = "10.0.0.1" });
        Assert.Equal(12, proxy.PortMap.Count); // 6 peerings x (discovery, service)
        Assert.Equal(12, proxy.PortMap.Select(p => p.FrontendPort).Distinct().Count());
        Assert.All(proxy.PortMap, p => Assert.InRange(p.NodePort, 30000, 32767));
        var file = Path.Combine(Paths.TempDir(), "federation.cfg");
        File.WriteAllText(file, proxy.HaproxyConfig);
        var (code, output) = ExternalTools.Run("haproxy", $"-c -f {file}");
        Assert.True(code == 0, output);
    }

    [Fact]
    public void A_LoadBalancer_gateway_where_NodePort_is_needed_is_rejected()
    {
        var peers = Factory.Peerings(new[] { Mesh("a"), Mesh("b", exposure: GatewayExposure.LoadBalancer) });
        var ex = TestSupport.Problems(() => ProxyBuilder.Build(peers, new ProxyOptions { ProxyHost = "10.0.0.1" }));
        Assert.Contains("NodePort", TestSupport.AssertProblem(ex, "mesh 'b'.gateways.exposure", "LoadBalancer").Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_node_addresses_and_a_missing_proxy_host_are_rejected()
    {
        var a = Factory.ControlPlanes(new ControlPlaneRequest { Name = "a", GatewayExposure = GatewayExposure.NodePort }).Single();
        var peers = Factory.Peerings(new[] { a, Mesh("b") });
        var ex = TestSupport.Problems(() => ProxyBuilder.Build(peers, new ProxyOptions()));
        TestSupport.AssertProblem(ex, "mesh 'a'.nodeAddresses");
        TestSupport.AssertProblem(ex, "proxy.host");
        var ex2 = TestSupport.Problems(() => ProxyBuilder.Build(peers, new ProxyOptions { Mode = ProxyMode.PerCluster }));
        TestSupport.AssertProblem(ex2, "proxy.addresses[b]");
    }

    [Fact]
    public void Clashing_node_ports_are_rejected()
    {
        var peers = Factory.Peerings(new[] { Mesh("a", 31000), Mesh("b", 31001) });
        var ex = TestSupport.Problems(() => ProxyBuilder.Build(peers, new ProxyOptions { ProxyHost = "10.0.0.1" }));
        Assert.Equal(MeshErrorKind.Conflict, TestSupport.AssertProblem(ex, "nodePortBase", "31001").Kind);
    }

    [Fact]
    public void A_node_port_base_without_room_for_its_peers_is_rejected()
    {
        var peers = Factory.Peerings(new[] { Mesh("a", 32766), Mesh("b"), Mesh("c") });
        var ex = TestSupport.Problems(() => ProxyBuilder.Build(peers, new ProxyOptions { ProxyHost = "10.0.0.1" }));
        Assert.Contains("32767", TestSupport.AssertProblem(ex, "mesh 'a'.gateways.nodePortBase", "32766").Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_proxy_over_a_LoadBalancer_mesh_makes_the_CLI_exit_2_and_write_nothing()
    {
        var dir = Paths.TempDir();
        var topology = Path.Combine(dir, "t.yaml");
        File.WriteAllText(topology, File.ReadAllText(Paths.Example("seed-000-nodeport-shared-host.yaml"))
            .Replace("  exposure: NodePort\n", "  exposure: NodePort\n", StringComparison.Ordinal)
            .Replace("    cluster: mesh2\n", "    cluster: mesh2\n    exposure: LoadBalancer\n", StringComparison.Ordinal));
        var outDir = Path.Combine(dir, "out");
        var (code, _, stderr) = BadInputTests.Cli("render", topology, "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains("mesh 'mesh2'.gateways.exposure = 'LoadBalancer'", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void Firewall_commands_are_text_for_the_libvirt_zone()
    {
        var proxy = TestSupport.LoadExample("seed-000-nodeport-shared-host.yaml").ProxyConfigs.Single();
        Assert.Equal(new[]
        {
            "firewall-cmd --zone=libvirt --add-port=31000/tcp --permanent",
            "firewall-cmd --zone=libvirt --add-port=31001/tcp --permanent",
            "firewall-cmd --zone=libvirt --add-port=31100/tcp --permanent",
            "firewall-cmd --zone=libvirt --add-port=31101/tcp --permanent",
            "firewall-cmd --reload",
        }, proxy.FirewallCommands);
    }
}
