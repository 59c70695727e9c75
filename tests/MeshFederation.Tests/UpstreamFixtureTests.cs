using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;

namespace MeshFederation.Tests;

/// <summary>
/// Issue 13: every object upstream publishes for the federation styles is expressible and renders equal to upstream,
/// field by field. Each test renders a topology under Fixtures/Topologies and compares the objects with the upstream
/// copies under Fixtures/Upstream (sources in Fixtures/Upstream/SOURCES.md). Only our ownership labels are removed
/// before comparing; every rendered object is also judged by the upstream schemas (KubeSchemas, unknown fields rejected).
/// </summary>
public class UpstreamFixtureTests
{
    internal static string FixtureDir => Path.Combine(Paths.RepoRoot, "tests", "MeshFederation.Tests", "Fixtures");

    internal static string TopologyFile(string name) => Path.Combine(FixtureDir, "Topologies", name + ".yaml");

    /// <summary>An upstream object, its placeholders substituted; <paramref name="ns"/> for objects applied with kubectl -n.</summary>
    internal static JsonObject Upstream(string file, IReadOnlyDictionary<string, string>? vars = null, string? ns = null)
    {
        var text = File.ReadAllText(Path.Combine(FixtureDir, "Upstream", file));
        foreach (var (k, v) in vars ?? new Dictionary<string, string>())
            text = text.Replace("{{" + k + "}}", v, StringComparison.Ordinal).Replace("${" + k + "}", v, StringComparison.Ordinal);
        // The migration guide's shell: the address type test first (it contains the variable), then the bare variables.
        foreach (var (k, v) in ShellSubstitutions) text = text.Replace(k, v, StringComparison.Ordinal);
        var doc = (JsonObject)TestSupport.Yaml.Parse(text, file).Single().ToJson()!;
        if (ns is not null) doc["metadata"]!["namespace"] = ns;
        return doc;
    }

    internal static RenderResult Render(string topology, Func<string, string>? edit = null)
    {
        var text = File.ReadAllText(TopologyFile(topology));
        return Ossm2Renderer.Render(TopologyLoader.Load(edit?.Invoke(text) ?? text, TopologyFile(topology), TestSupport.Yaml));
    }

    /// <summary>Every object of the render as kubectl would read it back, each judged by the upstream schemas.</summary>
    internal static List<JsonObject> Docs(RenderResult result, string? cluster = null)
    {
        var docs = ManifestEmitter.WithYaml(result, TestSupport.Yaml).Where(c => cluster is null || c.Cluster == cluster)
            .SelectMany(c => TestSupport.ReadBack(c.Yaml)).ToList();
        foreach (var d in docs.Where(d => KubeSchemas.Knows(d["apiVersion"]!.GetValue<string>(), d["kind"]!.GetValue<string>())))
        {
            var errors = KubeSchemas.Validate(d);
            Assert.True(errors.Count == 0, $"{d["kind"]}/{d["metadata"]!["name"]}:\n{string.Join("\n", errors)}");
        }
        return docs;
    }

    internal static JsonObject Find(IEnumerable<JsonObject> docs, string kind, string name, string? ns = null) =>
        docs.Single(d => d["kind"]!.GetValue<string>() == kind && d["metadata"]!["name"]!.GetValue<string>() == name
            && (ns is null || d["metadata"]!["namespace"]?.GetValue<string>() == ns));

    /// <summary>The object without our ownership labels (the only intended difference from upstream).</summary>
    internal static JsonObject WithoutOwnership(JsonObject o)
    {
        var copy = (JsonObject)o.DeepClone();
        if (copy["metadata"]?["labels"] is JsonObject labels)
        {
            labels.Remove(JsonBuilder.ManagedByLabel);
            labels.Remove(JsonBuilder.MeshLabel);
            labels.Remove(JsonBuilder.PeerLabel);
            if (labels.Count == 0) copy["metadata"]!.AsObject().Remove("labels");
        }
        return copy;
    }

    internal static void AssertEqualToUpstream(JsonObject upstream, JsonObject ours) =>
        Assert.Equal(TestSupport.Canonical(upstream), TestSupport.Canonical(WithoutOwnership(ours)));

    // Item 1: OSSM 2 locality failover.
    [Fact]
    public void Ossm2_locality_failover_renders_the_DestinationRule_and_the_ImportedServiceSet_of_the_OpenShift_docs()
    {
        var docs = Docs(Render("ossm2-locality-failover"), "green");
        AssertEqualToUpstream(Upstream("openshift-docs/ossm-federation-config-destinationrule-failover.yaml"), Find(docs, "DestinationRule", "default-failover"));
        AssertEqualToUpstream(Upstream("openshift-docs/ossm-federation-config-importedserviceset-failover.yaml"), Find(docs, "ImportedServiceSet", "red-mesh"));
    }

    // Item 2: SMCPs named otherwise than their mesh, without spec.version, gateway labels with the peer name.
    [Theory]
    [InlineData("mesh1", "export", "fed-export", "mesh2")]
    [InlineData("mesh2", "import", "fed-import", "mesh1")]
    public void The_maistra_federation_sample_renders_field_for_field(string cluster, string side, string smcp, string peer)
    {
        var docs = Docs(Render("maistra-federation-sample"), cluster);
        var vars = Placeholders;
        var ns = cluster + "-system";
        var controlPlane = Find(docs, "ServiceMeshControlPlane", smcp, ns);
        Assert.Null(controlPlane["spec"]!["version"]);
        AssertEqualToUpstream(Upstream($"maistra-istio/{side}-smcp.yaml"), controlPlane);
        AssertEqualToUpstream(Upstream($"maistra-istio/{side}-servicemeshpeer.yaml.template", vars), Find(docs, "ServiceMeshPeer", peer, ns));
        AssertEqualToUpstream(Upstream($"maistra-istio/{side}-smmr.yaml"), Find(docs, "ServiceMeshMemberRoll", "default", ns));
        if (side == "export")
        {
            AssertEqualToUpstream(Upstream("maistra-istio/export-exportedserviceset.yaml"), Find(docs, "ExportedServiceSet", peer, ns));
            AssertEqualToUpstream(Upstream("maistra-istio/export-configmap.yaml.template", vars), Find(docs, "ConfigMap", "mesh2-ca-root-cert", ns));
        }
        else AssertEqualToUpstream(Upstream("maistra-istio/import-importedserviceset.yaml"), Find(docs, "ImportedServiceSet", peer, ns));
    }

    // Items 3 and 4: multi-mesh over NodePort gateways, OCM's .svc.<cluster>.global hosts, STATIC, endpoint labels, pinned VIP.
    [Fact]
    public void The_OCM_demo_import_ServiceEntry_renders_with_the_east_west_node_port()
    {
        var result = Render("ocm-multicluster-mesh-nodeport");
        var vars = Placeholders;
        var upstream = Upstream("ocm-multicluster-mesh/serviceentry-import-cluster1.yaml", vars);
        // envsubst leaves the number a string in the text; YAML reads it back as a number, as kubectl would.
        Assert.Equal(31443, upstream["spec"]!["endpoints"]![0]!["ports"]!["http"]!.GetValue<int>());
        AssertEqualToUpstream(upstream, Find(Docs(result, "cluster1"), "ServiceEntry", "reviews.bookinfo.svc.cluster2.global", "istio-system"));

        // The node port the endpoint names is the one cluster2's east-west gateway Service is given.
        var service = Find(Docs(result, "cluster2"), "Service", MeshControlPlane.EastWestGatewayName, "istio-system");
        Assert.Equal("NodePort", service["spec"]!["type"]!.GetValue<string>());
        var tls = service["spec"]!["ports"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "tls")!;
        Assert.Equal(15443, tls["port"]!.GetValue<int>());
        Assert.Equal(31443, tls["nodePort"]!.GetValue<int>());
    }

    [Fact]
    public void Without_node_addresses_the_NodePort_endpoint_is_pending_with_the_command_that_reads_nodes_and_the_node_port()
    {
        var result = Render("ocm-multicluster-mesh-nodeport", t => t.Replace("    nodeAddresses: [172.18.0.3]\n", "", StringComparison.Ordinal));
        var pending = Assert.Single(result.Pending, p => p.What.Contains("ServiceEntry", StringComparison.Ordinal));
        Assert.DoesNotContain("loadBalancer", pending.HowToGet, StringComparison.Ordinal);
        Assert.Contains("get nodes", pending.HowToGet, StringComparison.Ordinal);
        Assert.Contains("31443", pending.What + pending.HowToGet, StringComparison.Ordinal);
        Assert.DoesNotContain(Docs(result, "cluster1"), d => d["kind"]!.GetValue<string>() == "ServiceEntry" && d["spec"]!["endpoints"] is not null);
    }

    [Fact]
    public void The_istio_io_global_ServiceEntry_lives_in_the_client_namespace_with_the_pinned_VIP_and_the_protocol_as_written()
    {
        var vars = Placeholders;
        var se = Find(Docs(Render("istio-multicluster-gateways"), "cluster1"), "ServiceEntry", "httpbin-bar", "foo");
        AssertEqualToUpstream(Upstream("istio.io/multicluster-gateways-serviceentry.yaml", vars, ns: "foo"), se);

        var labelled = Render("istio-multicluster-gateways", t => t.Replace("          apiVersion: networking.istio.io/v1alpha3\n",
            "          apiVersion: networking.istio.io/v1alpha3\n          endpointLabels: {cluster: cluster2}\n", StringComparison.Ordinal));
        AssertEqualToUpstream(Upstream("istio.io/multicluster-gateways-serviceentry-version-labels.yaml", vars, ns: "foo"),
            Find(Docs(labelled, "cluster1"), "ServiceEntry", "httpbin-bar", "foo"));
    }

    [Fact]
    public void Seed_004_ServiceEntry_renders_as_the_seed_writes_it()
    {
        var seed = SeedManifests.From(Paths.Seed("004")).Single(d => d["kind"]!.GetValue<string>() == "ServiceEntry");
        seed["metadata"]!["namespace"] = "default"; // kubectl apply -n default
        seed["spec"]!["endpoints"]![0]!["address"] = "34.76.20.11"; // $(kubectl ... istio-ingressgateway ...ip) of gke, as the example gives it
        var docs = Docs(TestSupport.RenderExample("seed-004-multi-mesh.yaml"), "istio-multimesh-pke");
        AssertEqualToUpstream(seed, Find(docs, "ServiceEntry", "echo-svc", "default"));
        AssertEqualToUpstream(SeedManifests.From(Paths.Seed("004")).Single(d => d["kind"]!.GetValue<string>() == "VirtualService"), Find(docs, "VirtualService", "echo", "default"));
    }

    // Item 5: label selectors with several and per-name aliases, and matchExpressions.
    [Fact]
    public void ExportedServiceSet_label_selectors_with_aliases_and_matchExpressions_render_as_upstream()
    {
        AssertEqualToUpstream(Upstream("maistra-docs/ossm-federation-config-export.yaml"),
            Find(Docs(Render("maistra-docs-export-labelselector"), "red"), "ExportedServiceSet", "green-mesh", "red-mesh-system"));
        AssertEqualToUpstream(Upstream("composed/exportedserviceset-aliases-matchexpressions.yaml"),
            Find(Docs(Render("composed-export-aliases-matchexpressions"), "c1"), "ExportedServiceSet", "mesh2", "mesh1-system"));
    }

    // Item 6: passthrough with rewrite.authority; connectionPool and loadBalancer.simple.
    [Fact]
    public void Seed_000_passthrough_VirtualService_renders_as_the_seed_writes_it()
    {
        var fixture = File.ReadAllText(Path.Combine(FixtureDir, "Upstream", "seeds", "000-ratings-passthrough-virtualservice.yaml"));
        Assert.Contains(fixture.TrimEnd(), File.ReadAllText(Paths.Seed("000")), StringComparison.Ordinal);
        AssertEqualToUpstream(Upstream("seeds/000-ratings-passthrough-virtualservice.yaml"),
            Find(Docs(Render("seed-000-passthrough"), "mesh2"), "VirtualService", "ratings-passthrough", "mesh2-imports"));
    }

    [Fact]
    public void The_istio_io_locality_failover_DestinationRule_renders_with_connection_pool_and_simple_load_balancer()
    {
        AssertEqualToUpstream(Upstream("istio.io/locality-failover-destinationrule.yaml", ns: "sample"),
            Find(Docs(Render("istio-locality-failover"), "cluster1"), "DestinationRule", "helloworld", "sample"));
    }

    // Item 7: seed 003's own Sail v1alpha1 objects.
    [Theory]
    [InlineData("cluster1", "network1")]
    [InlineData("cluster2", "network2")]
    public void Seed_003_Sail_v1alpha1_Istio_and_IstioCNI_render_as_the_seed_writes_them(string cluster, string network)
    {
        var seedText = File.ReadAllText(Paths.Seed("003")).Replace("${ISTIO_VERSION}", "1.23.0", StringComparison.Ordinal);
        var file = Path.Combine(Paths.TempDir(), "seed-003.txt");
        File.WriteAllText(file, seedText);
        var seed = SeedManifests.From(file).Where(d => d["apiVersion"]!.GetValue<string>() == "sailoperator.io/v1alpha1").ToList();
        var istio = seed.Single(d => d["kind"]!.GetValue<string>() == "Istio" && d["spec"]!["values"]!["global"]!["network"]!.GetValue<string>() == network);
        var cni = seed.First(d => d["kind"]!.GetValue<string>() == "IstioCNI");
        var text = File.ReadAllText(Paths.Example("seed-003-multi-primary.yaml"))
            .Replace("    version: v1.27.3\n", "    version: v1.23.0\n    sailApiVersion: sailoperator.io/v1alpha1\n", StringComparison.Ordinal);
        var docs = Docs(Ossm2Renderer.Render(TestSupport.LoadText(text)), cluster);
        AssertEqualToUpstream(istio, Find(docs, "Istio", "default"));
        AssertEqualToUpstream(cni, Find(docs, "IstioCNI", "default"));
    }

    [Fact]
    public async Task Every_fixture_topology_loads_and_validates_against_the_published_topology_schema()
    {
        var schema = await NJsonSchema.JsonSchema.FromFileAsync(Path.Combine(Paths.RepoRoot, "docs", "topology.schema.json"));
        var files = Directory.GetFiles(Path.Combine(FixtureDir, "Topologies"), "*.yaml");
        Assert.True(files.Length >= 8);
        foreach (var f in files)
        {
            var errors = schema.Validate(TestSupport.Yaml.Parse(File.ReadAllText(f), f).Single().ToJson()!.ToJsonString());
            Assert.True(errors.Count == 0, $"{f}: {string.Join("; ", errors)}");
            Assert.NotEmpty(TopologyLoader.LoadFile(f, TestSupport.Yaml).ControlPlanes);
        }
    }

    /// <summary>The values the tests give the upstream scripts' placeholders.</summary>
    internal static readonly IReadOnlyDictionary<string, string> Placeholders = new Dictionary<string, string>
    {
        ["MESH1_ADDRESS"] = "mesh2-ingress.mesh1.example.com", ["MESH2_ADDRESS"] = "mesh1-ingress.mesh2.example.com",
        ["MESH1_DISCOVERY_PORT"] = "8188", ["MESH2_DISCOVERY_PORT"] = "8188", ["MESH1_SERVICE_PORT"] = "15443", ["MESH2_SERVICE_PORT"] = "15443",
        ["MESH2_CERT"] = "-----BEGIN CERTIFICATE-----\n    MIIBmesh2\n    -----END CERTIFICATE-----",
        ["CLUSTER2_GW_ADDR"] = "192.0.2.20", ["CLUSTER2_HOST_IP"] = "172.18.0.3", ["EASTWESTGW_NODEPORT"] = "31443",
    };

    /// <summary>The migration guide's shell expressions and variables as the tests give them (an IP address for $WEST_EW_GW_ADDR).</summary>
    internal static readonly (string Text, string Value)[] ShellSubstitutions =
    {
        ("$([[ $WEST_EW_GW_ADDR =~ ^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$ ]] && echo \"IPAddress\" || echo \"Hostname\")", "IPAddress"),
        ("$WEST_EW_GW_ADDR", "192.0.2.10"),
        ("$EAST_INGRESS_ADDR", "east-ingress.example.com"),
        ("$WEST_INGRESS_ADDR", "west-ingress.example.com"),
    };

    [Fact]
    public void Every_upstream_fixture_is_valid_against_the_upstream_schemas_too()
    {
        var files = Directory.GetFiles(Path.Combine(FixtureDir, "Upstream"), "*.yaml*", SearchOption.AllDirectories);
        Assert.True(files.Length >= 17, string.Join(", ", files));
        foreach (var file in files)
        {
            var doc = Upstream(Path.GetRelativePath(Path.Combine(FixtureDir, "Upstream"), file), Placeholders);
            Assert.True(KubeSchemas.Knows(doc["apiVersion"]!.GetValue<string>(), doc["kind"]!.GetValue<string>()), file);
            var errors = KubeSchemas.Validate(doc);
            Assert.True(errors.Count == 0, $"{file}: {string.Join("\n", errors)}");
        }
    }
}
