using System.Text.Json.Nodes;
using MeshFederation.Engine.Rendering;

namespace MeshFederation.Tests;

/// <summary>
/// Field-by-field comparison with seed 001's own manifests: the SMCP gateways, ServiceMeshPeer, ExportedServiceSet,
/// ImportedServiceSet and VirtualService rendered from examples/seed-001-blue-green.yaml.
/// </summary>
public class Seed001ComparisonTests
{
    private static readonly List<JsonObject> Seed = SeedManifests.From(Paths.Seed("001"));

    private static List<JsonObject> Rendered(string? topologyText = null)
    {
        var result = topologyText is null
            ? TestSupport.RenderExample("seed-001-blue-green.yaml")
            : Ossm2Renderer.Render(TestSupport.LoadText(topologyText, "seed-001-variant.yaml"));
        return ManifestEmitter.WithYaml(result, TestSupport.Yaml).SelectMany(c => TestSupport.ReadBack(c.Yaml)).ToList();
    }

    private static JsonObject SeedDoc(string kind, string name) => TestSupport.Find(Seed, kind, name);

    [Fact]
    public void The_seed_yields_the_manifests_to_compare()
    {
        Assert.Equal(2, Seed.Count(d => d["kind"]!.GetValue<string>() == "ServiceMeshControlPlane"));
        Assert.Equal(2, Seed.Count(d => d["kind"]!.GetValue<string>() == "ServiceMeshPeer"));
        Assert.Single(Seed, d => d["kind"]!.GetValue<string>() == "ExportedServiceSet");
        Assert.Single(Seed, d => d["kind"]!.GetValue<string>() == "ImportedServiceSet");
        Assert.Single(Seed, d => d["kind"]!.GetValue<string>() == "VirtualService");
    }

    [Theory]
    [InlineData("blue-mesh", "green-mesh")]
    [InlineData("green-mesh", "blue-mesh")]
    public void SMCP_gateways_and_trust_match_the_seed_except_the_network_view(string mesh, string peer)
    {
        var seed = SeedDoc("ServiceMeshControlPlane", mesh);
        var ours = TestSupport.Find(Rendered(), "ServiceMeshControlPlane", mesh);
        Assert.Equal(seed["metadata"]!["namespace"]!.GetValue<string>(), ours["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal(TestSupport.Canonical(seed["spec"]!["security"]), TestSupport.Canonical(ours["spec"]!["security"]));
        Assert.Equal(TestSupport.Canonical(seed["spec"]!["runtime"]), TestSupport.Canonical(ours["spec"]!["runtime"]));
        Assert.Equal(seed["spec"]!["version"]!.GetValue<string>(), ours["spec"]!["version"]!.GetValue<string>());
        Assert.Equal(TestSupport.Canonical(seed["spec"]!["gateways"]!["additionalIngress"]), TestSupport.Canonical(ours["spec"]!["gateways"]!["additionalIngress"]));

        // The seed follows the OSSM docs table ('<peer>-network' style: green-network); istiod places imported
        // endpoints on network-<peer> (shared/reference/domain.md §1.6), which is what we render by default.
        var seedEgress = (JsonObject)seed["spec"]!["gateways"]!["additionalEgress"]!.DeepClone();
        var ourEgress = (JsonObject)ours["spec"]!["gateways"]!["additionalEgress"]!.DeepClone();
        var gw = $"egress-{peer}";
        Assert.Equal($"network-{peer}", ourEgress[gw]!["requestedNetworkView"]![0]!.GetValue<string>());
        Assert.Equal($"{peer.Replace("-mesh", "")}-network", seedEgress[gw]!["requestedNetworkView"]![0]!.GetValue<string>());
        seedEgress[gw]!.AsObject().Remove("requestedNetworkView");
        ourEgress[gw]!.AsObject().Remove("requestedNetworkView");
        Assert.Equal(TestSupport.Canonical(seedEgress), TestSupport.Canonical(ourEgress));
    }

    [Fact]
    public void With_the_seeds_network_views_the_SMCP_gateways_match_exactly()
    {
        var text = File.ReadAllText(Paths.Example("seed-001-blue-green.yaml")).Replace(
            "    servicePort: 15443\n", "    servicePort: 15443\n    networkViews: {green-mesh: green-network, blue-mesh: blue-network}\n", StringComparison.Ordinal);
        var rendered = Rendered(text);
        foreach (var mesh in new[] { "blue-mesh", "green-mesh" })
            Assert.Equal(TestSupport.Canonical(SeedDoc("ServiceMeshControlPlane", mesh)["spec"]!["gateways"]),
                TestSupport.Canonical(TestSupport.Find(rendered, "ServiceMeshControlPlane", mesh)["spec"]!["gateways"]));
    }

    [Theory]
    [InlineData("blue-mesh-system", "green-mesh", "10.19.3.30")]
    [InlineData("green-mesh-system", "blue-mesh", "10.19.3.29")]
    public void ServiceMeshPeer_matches_the_seed_field_by_field(string ns, string peer, string address)
    {
        var seed = Seed.Single(d => d["kind"]!.GetValue<string>() == "ServiceMeshPeer" && d["metadata"]!["name"]!.GetValue<string>() == peer);
        var ours = TestSupport.Find(Rendered(), "ServiceMeshPeer", peer);
        Assert.Equal(ns, ours["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal(seed["metadata"]!["namespace"]!.GetValue<string>(), ours["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal(TestSupport.Canonical(seed["spec"]!["gateways"]), TestSupport.Canonical(ours["spec"]!["gateways"]));
        Assert.Equal(TestSupport.Canonical(seed["spec"]!["security"]), TestSupport.Canonical(ours["spec"]!["security"]));
        Assert.Equal(seed["spec"]!["remote"]!["discoveryPort"]!.ToJsonString(), ours["spec"]!["remote"]!["discoveryPort"]!.ToJsonString());
        Assert.Equal(seed["spec"]!["remote"]!["servicePort"]!.ToJsonString(), ours["spec"]!["remote"]!["servicePort"]!.ToJsonString());
        // The seed's address is a placeholder ("<OUTPUT FROM STEP n>"); ours is the remote ingress IP the example gives for this mesh.
        Assert.StartsWith("<OUTPUT FROM STEP", seed["spec"]!["remote"]!["addresses"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(address, ours["spec"]!["remote"]!["addresses"]![0]!.GetValue<string>());
    }

    [Theory]
    [InlineData("ExportedServiceSet", "green-mesh")]
    [InlineData("ImportedServiceSet", "blue-mesh")]
    [InlineData("VirtualService", "dokuwiki")]
    public void Export_import_and_route_match_the_seed_exactly(string kind, string name)
    {
        var seed = SeedDoc(kind, name);
        var ours = TestSupport.Find(Rendered(), kind, name);
        Assert.Equal(seed["apiVersion"]!.GetValue<string>(), ours["apiVersion"]!.GetValue<string>());
        Assert.Equal(seed["metadata"]!["namespace"]!.GetValue<string>(), ours["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal(TestSupport.Canonical(seed["spec"]), TestSupport.Canonical(ours["spec"]));
    }

    [Fact]
    public void The_imported_host_is_the_one_the_seed_status_reports()
    {
        var set = TestSupport.LoadExample("seed-001-blue-green.yaml");
        Assert.Equal("blue-dokuwiki.nfs-app-istio.svc.blue-mesh-imports.local", set.Imports.Single().LocalHost);
        Assert.Equal("dokuwiki.nfs-app-istio.svc.green-mesh-exports.local", set.Exports.Single().ExportedHost);
    }
}
