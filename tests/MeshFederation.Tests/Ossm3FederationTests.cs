using System.Text.Json.Nodes;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests;

/// <summary>
/// Issue 16, item 1: the OSSM 3 federation style renders every object of Red Hat's Federation-to-Multi-Cluster migration
/// guide, field for field, for the guide's topology (Fixtures/Topologies/ossm-migration-federation.yaml); every rendered
/// object is judged by the upstream schemas (Sail, Istio, Gateway API) with unknown fields rejected.
/// </summary>
public class Ossm3FederationTests
{
    internal const string Topology = "ossm-migration-federation";

    internal static JsonObject Guide(string file, string? ns = null) =>
        UpstreamFixtureTests.Upstream("ossm-migration-federation/" + file, UpstreamFixtureTests.Placeholders, ns);

    private static JsonObject Find(List<JsonObject> docs, string apiVersion, string kind, string name, string? ns) =>
        docs.Single(d => d["apiVersion"]!.GetValue<string>() == apiVersion && d["kind"]!.GetValue<string>() == kind && d["metadata"]!["name"]!.GetValue<string>() == name
                         && d["metadata"]!["namespace"]?.GetValue<string>() == ns);

    private static void Same(JsonObject guide, List<JsonObject> docs) =>
        UpstreamFixtureTests.AssertEqualToUpstream(guide, Find(docs, guide["apiVersion"]!.GetValue<string>(), guide["kind"]!.GetValue<string>(),
            guide["metadata"]!["name"]!.GetValue<string>(), guide["metadata"]!["namespace"]?.GetValue<string>()));

    [Fact]
    public void The_export_side_renders_the_guides_Gateways_and_ServiceEntry_field_for_field()
    {
        var west = UpstreamFixtureTests.Docs(UpstreamFixtureTests.Render(Topology), "west");
        Same(Guide("export-gateway-eastwestgateway.yaml", "istio-ingress"), west);
        Same(Guide("export-gateway-expose-services.yaml", "istio-ingress"), west);
        Same(Guide("export-serviceentry-httpbin-a.yaml"), west);
        // b is imported as local under its own name: the east-west gateway routes it without a ServiceEntry.
        Assert.Single(west, d => d["kind"]!.GetValue<string>() == "ServiceEntry");
        // west imports nothing: no remote Gateway, no WorkloadEntry.
        Assert.DoesNotContain(west, d => d["kind"]!.GetValue<string>() == "WorkloadEntry" || d["metadata"]!["name"]!.GetValue<string>().StartsWith(Ossm3Federation.RemoteGatewayPrefix, StringComparison.Ordinal));
    }

    [Fact]
    public void The_import_side_renders_the_remote_Gateway_ServiceEntries_and_WorkloadEntries_field_for_field()
    {
        var east = UpstreamFixtureTests.Docs(UpstreamFixtureTests.Render(Topology), "east");
        Same(Guide("import-remote-gateway-network-west-mesh.yaml"), east);
        Same(Guide("import-serviceentry-httpbin-b-svc-cluster-local.yaml"), east);
        Same(Guide("import-workloadentry-httpbin-cluster-local-west-mesh.yaml"), east);
        Same(Guide("import-serviceentry-httpbin-west-mesh-imports.yaml"), east);
        Same(Guide("import-workloadentry-httpbin-west-mesh-imports.yaml"), east);
        // east exports nothing: no east-west gateway.
        Assert.DoesNotContain(east, d => d["metadata"]!["name"]!.GetValue<string>() is Ossm3Federation.EastWestGateway or Ossm3Federation.ExposeServicesGateway);
    }

    [Theory]
    [InlineData("east")]
    [InlineData("west")]
    public void The_OSSM_3_control_plane_renders_the_guides_Istio_and_IstioCNI_field_for_field(string cluster)
    {
        var docs = UpstreamFixtureTests.Docs(UpstreamFixtureTests.Render(Topology), cluster);
        Same(Guide($"ossm3-istio-{cluster}.yaml"), docs);
        Same(Guide($"ossm3-istiocni-{cluster}.yaml"), docs);
        // The peer's root is the guide's root-cert.pem, byte for byte.
        var peer = cluster == "east" ? "west" : "east";
        var pem = Find(docs, "sailoperator.io/v1", "Istio", "default", null)["spec"]!["values"]!["meshConfig"]!["caCertificates"]![0]!["pem"]!.GetValue<string>();
        Assert.Equal(File.ReadAllText(Path.Combine(UpstreamFixtureTests.FixtureDir, "Upstream", "ossm-migration-federation", $"{peer}-root-cert.pem")), pem);
    }

    [Fact]
    public void Every_object_is_tagged_with_the_guides_phase_and_a_complete_render_leaves_nothing_pending()
    {
        var result = UpstreamFixtureTests.Render(Topology);
        Assert.Empty(result.Pending);
        foreach (var m in result.AllManifests) Assert.Contains(m.Phase, Ossm3Federation.Phases);
        Assert.Equal(new[] { "Namespace", "Namespace", "IstioCNI", "Istio" }, result.AllManifests.Where(m => m.Cluster == "east" && m.Phase == Ossm3Federation.PhaseControlPlane).Select(m => m.Kind));
        Assert.All(result.AllManifests.Where(m => m.Kind is "WorkloadEntry" || (m.Kind == "ServiceEntry" && m.Cluster == "east")), m => Assert.Equal(Ossm3Federation.PhaseImport, m.Phase));
        Assert.All(result.AllManifests.Where(m => m.Cluster == "west" && m.Kind is "Gateway" or "ServiceEntry"), m => Assert.Equal(Ossm3Federation.PhaseExport, m.Phase));
    }

    // Defaults: names, labels, exportTo, networks and versions when the topology names nothing by hand.
    private const string Minimal = """
        apiVersion: meshfederation.io/v1alpha1
        kind: FederationTopology
        defaults: {style: ossm3-federation}
        meshes:
          - {name: east-mesh, cluster: east, members: [client, web]}
          - {name: west-mesh, cluster: west, ingressAddresses: [gw.west.example.com]}
        peerings: all
        exports:
          - {from: west-mesh, to: east-mesh, services: [{namespace: a, name: httpbin, ports: [{name: http, number: 8000, targetPort: 8080}, {name: grpc-api, number: 9000}], serviceAccounts: [httpbin, httpbin-v2], selector: {app: httpbin}}]}
        imports:
          - {into: east-mesh, from: west-mesh, services: [{namespace: a, name: httpbin}]}
        """;

    [Fact]
    public void Defaults_keep_the_OSSM_2_host_name_the_members_as_exportTo_and_name_everything_after_the_host()
    {
        var result = Ossm2Renderer.Render(TestSupport.LoadText(Minimal));
        var east = UpstreamFixtureTests.Docs(result, "east");
        var se = Find(east, "networking.istio.io/v1beta1", "ServiceEntry", "httpbin-a-svc-west-mesh-imports-local", "istio-system");
        Assert.Equal("""["client","web"]""", se["spec"]!["exportTo"]!.ToJsonString());
        Assert.Equal("""["httpbin.a.svc.west-mesh-imports.local"]""", se["spec"]!["hosts"]!.ToJsonString());
        Assert.Equal("""["spiffe://west-mesh.local/ns/a/sa/httpbin","spiffe://west-mesh.local/ns/a/sa/httpbin-v2"]""", se["spec"]!["subjectAltNames"]!.ToJsonString());
        Assert.Equal("""[{"number":8000,"name":"http","protocol":"HTTP"},{"number":9000,"name":"grpc-api","protocol":"GRPC"}]""", se["spec"]!["ports"]!.ToJsonString());
        Assert.Equal("httpbin-a-svc-west-mesh-imports-local", se["spec"]!["workloadSelector"]!["labels"]!["app"]!.GetValue<string>());
        var we = Find(east, "networking.istio.io/v1beta1", "WorkloadEntry", "httpbin-a-svc-west-mesh-imports-local", "istio-system");
        Assert.Equal("west-network", we["spec"]!["network"]!.GetValue<string>());
        Assert.Equal("istio", we["metadata"]!["labels"]![Ossm3Federation.TlsModeLabel]!.GetValue<string>());
        var gw = Find(east, "gateway.networking.k8s.io/v1beta1", "Gateway", "remote-gateway-network-west-mesh", "istio-system");
        Assert.Equal("""[{"value":"gw.west.example.com","type":"Hostname"}]""", gw["spec"]!["addresses"]!.ToJsonString());
        var istio = Find(east, "sailoperator.io/v1", "Istio", "default", null);
        Assert.Equal(MeshControlPlane.DefaultIstioVersion, istio["spec"]!["version"]!.GetValue<string>());
        Assert.Equal("east-mesh.local", istio["spec"]!["values"]!["meshConfig"]!["trustDomain"]!.GetValue<string>());
        Assert.Equal("network-east-mesh", istio["spec"]!["values"]!["global"]!["network"]!.GetValue<string>());
        // The exporting side: target ports only where they differ.
        var export = Find(UpstreamFixtureTests.Docs(result, "west"), "networking.istio.io/v1beta1", "ServiceEntry", "httpbin-a-svc-east-mesh-exports-local", "a");
        Assert.Equal("""[{"number":8000,"name":"http","protocol":"HTTP","targetPort":8080},{"number":9000,"name":"grpc-api","protocol":"GRPC"}]""", export["spec"]!["ports"]!.ToJsonString());
        // Without the roots, the Istio resources go without caCertificates and say so.
        Assert.Contains(result.Pending, p => p.What.Contains("caCertificates", StringComparison.Ordinal) && p.Cluster == "east" && !p.Defers);
        Assert.Contains(result.Warnings, w => w.Contains("does not trust west-mesh's root", StringComparison.Ordinal));
    }

    [Fact]
    public void Values_only_the_clusters_know_are_pending_and_hold_back_the_objects_that_need_them()
    {
        var text = Minimal.Replace(", ingressAddresses: [gw.west.example.com]", "", StringComparison.Ordinal)
            .Replace(", ports: [{name: http, number: 8000, targetPort: 8080}, {name: grpc-api, number: 9000}], serviceAccounts: [httpbin, httpbin-v2], selector: {app: httpbin}", "", StringComparison.Ordinal);
        var result = Ossm2Renderer.Render(TestSupport.LoadText(text));
        var deferred = result.Pending.Where(p => p.Defers).Select(p => p.What.Split(' ')[0] + " " + p.What.Split(' ')[1]).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { "Gateway istio-system/remote-gateway-network-west-mesh", "ServiceEntry a/httpbin-a-svc-east-mesh-exports-local", "ServiceEntry istio-system/httpbin-a-svc-west-mesh-imports-local" }, deferred);
        Assert.Contains(result.Pending, p => p.HowToGet.Contains("get service eastwestgateway-istio", StringComparison.Ordinal) && p.HowToGet.Contains("--context west", StringComparison.Ordinal));
        var east = UpstreamFixtureTests.Docs(result, "east");
        Assert.Null(Find(east, "gateway.networking.k8s.io/v1beta1", "Gateway", "remote-gateway-network-west-mesh", "istio-system")["spec"]!["addresses"]);
        Assert.Null(Find(east, "networking.istio.io/v1beta1", "ServiceEntry", "httpbin-a-svc-west-mesh-imports-local", "istio-system")["spec"]!["subjectAltNames"]);
    }

    [Fact]
    public void An_export_no_peer_imports_is_exposed_under_its_OSSM_2_import_name_with_a_warning()
    {
        var text = Minimal.Replace("imports:\n  - {into: east-mesh, from: west-mesh, services: [{namespace: a, name: httpbin}]}", "", StringComparison.Ordinal);
        Assert.DoesNotContain("imports:", text, StringComparison.Ordinal);
        var result = Ossm2Renderer.Render(TestSupport.LoadText(text));
        var hosts = Find(UpstreamFixtureTests.Docs(result, "west"), "networking.istio.io/v1alpha3", "Gateway", "expose-services", "istio-ingress")["spec"]!["servers"]![0]!["hosts"]!;
        Assert.Equal("""["httpbin.a.svc.west-mesh-imports.local"]""", hosts.ToJsonString());
        Assert.Contains(result.Warnings, w => w.Contains("imports nothing that matches", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{namespace: a, labels: {export: \"true\"}}", "export", "one by one")]
    [InlineData("{namespace: a, name: \"*\"}", "export", "one by one")]
    [InlineData("{namespace: a, name: httpbin, ports: [{name: http, number: 0}]}", "ports[http].number", "out of range")]
    public void Exports_name_each_service_with_valid_ports(string service, string field, string problem)
    {
        var ex = TestSupport.Problems(() => TestSupport.LoadText(Minimal.Replace(
            "[{namespace: a, name: httpbin, ports: [{name: http, number: 8000, targetPort: 8080}, {name: grpc-api, number: 9000}], serviceAccounts: [httpbin, httpbin-v2], selector: {app: httpbin}}]",
            $"[{service}]", StringComparison.Ordinal), "bad.yaml"));
        var p = TestSupport.AssertProblem(ex, field);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Equal("bad.yaml", p.Location?.File);
    }

    [Fact]
    public void Imports_that_match_no_export_a_remote_network_equal_to_the_local_one_NodePort_and_shared_trust_domains_are_refused()
    {
        TestSupport.AssertProblem(TestSupport.Problems(() => TestSupport.LoadText(Minimal.Replace("services: [{namespace: a, name: httpbin}]}", "services: [{namespace: a, name: other}]}", StringComparison.Ordinal))), "import", "a/other");
        TestSupport.AssertProblem(TestSupport.Problems(() => TestSupport.LoadText(Minimal.Replace("peerings: all", "peerings: [{between: [east-mesh, west-mesh], networkViews: {west-mesh: network-east-mesh}}]", StringComparison.Ordinal))),
            "networkViews[west-mesh]", "network-east-mesh");
        TestSupport.AssertProblem(TestSupport.Problems(() => TestSupport.LoadText(Minimal.Replace("{name: east-mesh, cluster: east,", "{name: east-mesh, cluster: east, exposure: NodePort,", StringComparison.Ordinal))), "exposure", "NodePort");
        TestSupport.AssertProblem(TestSupport.Problems(() => TestSupport.LoadText(Minimal.Replace("{name: east-mesh, cluster: east,", "{name: east-mesh, cluster: east, trustDomain: west-mesh.local,", StringComparison.Ordinal))), "trustDomain", "west-mesh.local");
        // A Sail value mistyped through overrides is judged by the Sail schema, with a did-you-mean.
        var typo = TestSupport.Problems(() => TestSupport.LoadText(Minimal.Replace("{name: east-mesh, cluster: east,", "{name: east-mesh, cluster: east, overrides: {values: {meshConfig: {trustDomainAliass: [x]}}},", StringComparison.Ordinal)));
        Assert.Contains("trustDomainAliases", TestSupport.AssertProblem(typo, "spec.values.meshConfig.trustDomainAliass").Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void The_Gateway_API_schemas_ship_reject_unknown_fields_and_take_Hostname_addresses()
    {
        foreach (var k in new[] { "gateway.networking.k8s.io/v1/Gateway", "gateway.networking.k8s.io/v1beta1/Gateway", "networking.istio.io/v1beta1/WorkloadEntry" })
            Assert.True(UpstreamSchemas.Knows(k), k);
        var remote = Guide("import-remote-gateway-network-west-mesh.yaml");
        Assert.Empty(UpstreamSchemas.Validate(remote));
        Assert.Empty(KubeSchemas.Validate(remote));
        remote["spec"]!["addresses"] = JsonNode.Parse("""[{"value":"gw.west.example.com","type":"Hostname"}]""");
        Assert.Empty(UpstreamSchemas.Validate(remote));
        Assert.Empty(KubeSchemas.Validate(remote));
        var typo = Guide("export-gateway-eastwestgateway.yaml", "istio-ingress");
        typo["spec"]!["listeners"]![0]!["tls"]!["optoins"] = new JsonObject();
        var v = Assert.Single(UpstreamSchemas.Validate(typo));
        Assert.Equal("spec.listeners[0].tls.optoins", v.Path);
        Assert.Contains("options", v.Fix, StringComparison.Ordinal);
        Assert.NotEmpty(KubeSchemas.Validate(typo));
        var badMode = Guide("export-gateway-eastwestgateway.yaml", "istio-ingress");
        badMode["spec"]!["listeners"]![0]!["tls"]!["mode"] = "AUTO_PASSTHROUGH";
        Assert.Contains(UpstreamSchemas.Validate(badMode), x => x.Path == "spec.listeners[0].tls.mode");
    }

    [Fact]
    public void The_pipeline_objects_render_what_the_topology_renders()
    {
        var cps = new[] { ("east-mesh", "east", new[] { "client" }), ("west-mesh", "west", new[] { "a", "b" }) }
            .Select(x => Factory.ControlPlanes(new ControlPlaneRequest
            {
                Name = x.Item1, Clusters = new[] { new ClusterBinding(x.Item2) { Context = x.Item2 } }, Style = MeshStyle.Ossm3Federation, Namespace = "istio-system",
                Version = "v1.24-latest", TrustDomain = x.Item2 + ".local", MemberNamespaces = x.Item3,
                RootCertificate = File.ReadAllText(Path.Combine(UpstreamFixtureTests.FixtureDir, "Upstream", "ossm-migration-federation", $"{x.Item2}-root-cert.pem")),
                IngressAddresses = x.Item2 == "west" ? new Dictionary<string, IReadOnlyList<string>> { ["*"] = new[] { "192.0.2.10" } } : new Dictionary<string, IReadOnlyList<string>>(),
                SpecOverrides = JsonNode.Parse("""{"values":{"meshConfig":{"accessLogFile":"/dev/stdout"}}}""")!.AsObject(),
            }).Single()).ToList();
        var peerings = Factory.Peerings(cps);
        var ports = Factory.Ports(new[] { "http:8000:8080" }, istioProtocolSelection: true);
        var exports = new[] { "a", "b" }.Select(ns => Factory.Export(new MeshServiceExport
        {
            ControlPlane = cps[1], Peer = "east-mesh", Namespace = ns, Name = "httpbin", Ports = ports, ServiceAccounts = new[] { "httpbin" },
            WorkloadSelector = new Dictionary<string, string> { ["app"] = "httpbin" },
        })).ToList();
        var imports = new[]
        {
            Factory.Import(new MeshServiceImport { ControlPlane = cps[0], Peer = "west-mesh", Namespace = "a", Name = "",
                ServiceEntry = new ServiceEntryOptions { Name = "httpbin-west-mesh-imports", EndpointLabels = new Dictionary<string, string> { ["app"] = "httpbin-west-imports" } } }),
            Factory.Import(new MeshServiceImport { ControlPlane = cps[0], Peer = "west-mesh", Namespace = "b", Name = "", AliasNamespace = "b", ImportAsLocal = true,
                ServiceEntry = new ServiceEntryOptions { WorkloadEntryName = "httpbin-cluster-local-west-mesh", EndpointLabels = new Dictionary<string, string> { ["app"] = "httpbin-cluster-local" } } }),
        };
        var fromPipeline = Ossm2Renderer.Render(FederationSet.From(cps.Cast<object>().Concat(peerings).Concat(exports).Concat(imports)));
        var fromTopology = UpstreamFixtureTests.Render(Topology);
        string Canonical(RenderResult r) => string.Join("\n", r.AllManifests.Select(m => TestSupport.Canonical(UpstreamFixtureTests.WithoutOwnership(m.Content))).Order(StringComparer.Ordinal));
        Assert.Equal(Canonical(fromTopology), Canonical(fromPipeline));
        Assert.Equal("http:8000:8080/HTTP", ports.Single().ToString());
    }

    [Fact]
    public void Offline_checks_judge_the_rendered_Istio_and_warn_about_the_guides_caveats()
    {
        var results = FederationChecks.Run(Engine.Topology.TopologyLoader.LoadFile(UpstreamFixtureTests.TopologyFile(Topology), TestSupport.Yaml));
        Assert.All(results.Where(r => r.CheckId.StartsWith("OSSM3FED.", StringComparison.Ordinal)), r => Assert.NotEmpty(r.Evidence));
        Assert.Contains(results, r => r.CheckId == "OSSM3FED.PeerRootTrusted" && r.Mesh == "east-mesh" && r.Status == CheckStatus.Pass && r.Message.Contains("West Root CA", StringComparison.Ordinal));
        Assert.DoesNotContain(results, r => r.CheckId.StartsWith("OSSM3FED.", StringComparison.Ordinal) && r.Status == CheckStatus.Fail);
        Assert.DoesNotContain(results, r => r.CheckId.StartsWith("ISTIO.", StringComparison.Ordinal)); // separate roots are not a shared-root failure

        // An override that drops the peer's trust domain or the multi-root switch fails; an expired root fails.
        var text = File.ReadAllText(UpstreamFixtureTests.TopologyFile(Topology)).Replace("        meshConfig: {accessLogFile: /dev/stdout}\n  - name: west-mesh",
            "        meshConfig: {accessLogFile: /dev/stdout, trustDomainAliases: [other.local]}\n        pilot: {env: {ISTIO_MULTIROOT_MESH: \"false\"}}\n  - name: west-mesh", StringComparison.Ordinal);
        var broken = FederationChecks.Run(TestSupport.LoadText(text));
        Assert.Contains(broken, r => r.CheckId == "OSSM3FED.TrustDomainAliased" && r.Mesh == "east-mesh" && r.Status == CheckStatus.Fail);
        Assert.Contains(broken, r => r.CheckId == "OSSM3FED.ControlPlaneSwitches" && r.Mesh == "east-mesh" && r.Status == CheckStatus.Fail && r.Message.Contains("ISTIO_MULTIROOT_MESH", StringComparison.Ordinal));
        var later = new List<MeshCheckResult>();
        Ossm3FederationChecks.RunOffline(TestSupport.LoadText(File.ReadAllText(UpstreamFixtureTests.TopologyFile(Topology))), later, DateTimeOffset.Parse("2036-06-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains(later, r => r.CheckId == "OSSM3FED.PeerRootTrusted" && r.Status == CheckStatus.Fail && r.Message.Contains("expired", StringComparison.Ordinal));

        // The guide's caveat: a third mesh can reach what west exports to east.
        var three = File.ReadAllText(UpstreamFixtureTests.TopologyFile(Topology)).Replace("peerings: all",
            "  - {name: north-mesh, cluster: north, namespace: istio-system, trustDomain: north.local}\npeerings: all", StringComparison.Ordinal);
        Assert.Contains(FederationChecks.Run(TestSupport.LoadText(three)), r => r.CheckId == "OSSM3FED.ExportScope" && r.Mesh == "west-mesh" && r.Status == CheckStatus.Warn && r.Message.Contains("north-mesh", StringComparison.Ordinal));
    }
}
