using System.Text.Json.Nodes;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Pki;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;

namespace MeshFederation.Tests;

/// <summary>
/// Seeds 003 (multi-primary multi-network through the Sail operator) and 004 (multi-mesh through .global
/// ServiceEntries): rendered objects are judged by the upstream CRDs, the upstream east-west gateway sample, openssl
/// and kubectl.
/// </summary>
public class IstioStyleTests
{
    internal static readonly string[] SampleJudged = { "apps/v1/Deployment", "policy/v1/PodDisruptionBudget", "autoscaling/v2/HorizontalPodAutoscaler" };

    /// <summary>Seed 003's topology with cacerts issued under one root (ECDSA keeps the test fast) and written as meshfed ca writes them.</summary>
    internal static (FederationSet Set, string Dir) Seed003WithCa()
    {
        var dir = Paths.TempDir();
        TestSupport.WriteCa(Path.Combine(dir, "certs"), "cluster1", "cluster2");
        var text = File.ReadAllText(Paths.Example("seed-003-multi-primary.yaml")) + "certificateAuthority:\n  dir: certs\n";
        var topology = Path.Combine(dir, "topology.yaml");
        File.WriteAllText(topology, text);
        return (TopologyLoader.LoadFile(topology, TestSupport.Yaml), dir);
    }

    private static List<JsonObject> Docs(RenderResult result, string cluster) =>
        TestSupport.ReadBack(ManifestEmitter.WithYaml(result, TestSupport.Yaml).Single(c => c.Cluster == cluster).Yaml);

    [Fact]
    public void Seed_003_renders_the_Sail_control_planes_with_mesh_ID_cluster_name_network_and_ROOT_CA_DIR()
    {
        var result = Ossm2Renderer.Render(Seed003WithCa().Set);
        foreach (var (cluster, network) in new[] { ("cluster1", "network1"), ("cluster2", "network2") })
        {
            var docs = Docs(result, cluster);
            var ns = TestSupport.Find(docs, "Namespace", "istio-system");
            Assert.Equal(network, ns["metadata"]!["labels"]!["topology.istio.io/network"]!.GetValue<string>());
            TestSupport.Find(docs, "Namespace", "istio-cni");

            var cni = TestSupport.Find(docs, "IstioCNI", "default");
            Assert.Equal("sailoperator.io/v1", cni["apiVersion"]!.GetValue<string>());
            Assert.Equal("istio-cni", cni["spec"]!["namespace"]!.GetValue<string>());
            Assert.Null(cni["metadata"]!["namespace"]);

            var istio = TestSupport.Find(docs, "Istio", "default");
            var values = istio["spec"]!["values"]!;
            Assert.Equal("v1.27.3", istio["spec"]!["version"]!.GetValue<string>());
            Assert.Equal("istio-system", istio["spec"]!["namespace"]!.GetValue<string>());
            Assert.Equal("mesh1", values["global"]!["meshID"]!.GetValue<string>());
            Assert.Equal(cluster, values["global"]!["multiCluster"]!["clusterName"]!.GetValue<string>());
            Assert.Equal(network, values["global"]!["network"]!.GetValue<string>());
            Assert.Equal("/etc/cacerts", values["pilot"]!["env"]!["ROOT_CA_DIR"]!.GetValue<string>());
            Assert.Equal("/dev/stdout", values["meshConfig"]!["accessLogFile"]!.GetValue<string>());

            // Apply order: namespaces, cacerts, control plane, gateway, then what depends on them.
            var kinds = docs.Select(d => d["kind"]!.GetValue<string>()).ToList();
            Assert.True(kinds.IndexOf("Secret") < kinds.IndexOf("Istio") && kinds.IndexOf("Istio") < kinds.IndexOf("Deployment"), string.Join(",", kinds));
        }
    }

    [Fact]
    public void Seed_003_cacerts_Secrets_hold_an_intermediate_under_the_shared_root_that_openssl_verifies()
    {
        ExternalTools.Require("openssl");
        var result = Ossm2Renderer.Render(Seed003WithCa().Set);
        var files = ManifestEmitter.Files(result, TestSupport.Yaml);
        var work = Paths.TempDir();
        foreach (var cluster in new[] { "cluster1", "cluster2" })
        {
            var secret = TestSupport.Find(TestSupport.ReadBack(files[cluster + ".yaml"]), "Secret", "cacerts");
            Assert.Equal("istio-system", secret["metadata"]!["namespace"]!.GetValue<string>());
            var data = secret["data"]!.AsObject();
            Assert.Equal(new[] { "ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem" }, data.Select(kv => kv.Key).Order(StringComparer.Ordinal));
            foreach (var (k, v) in data) File.WriteAllBytes(Path.Combine(work, $"{cluster}-{k}"), Convert.FromBase64String(v!.GetValue<string>()));
            var (code, output) = ExternalTools.Run("openssl", $"verify -CAfile {work}/{cluster}-root-cert.pem -untrusted {work}/{cluster}-cert-chain.pem {work}/{cluster}-ca-cert.pem");
            Assert.True(code == 0, output);
            var (_, text) = ExternalTools.Run("openssl", $"x509 -in {work}/{cluster}-ca-cert.pem -noout -subject");
            Assert.Contains($"L = {cluster}", text, StringComparison.Ordinal);
            var (keyCode, keyText) = ExternalTools.Run("openssl", $"pkey -in {work}/{cluster}-ca-key.pem -noout -check");
            Assert.True(keyCode == 0, keyText);
        }
        // Both clusters chain to the same root: "Complete" trust.
        Assert.Equal(File.ReadAllText(Path.Combine(work, "cluster1-root-cert.pem")), File.ReadAllText(Path.Combine(work, "cluster2-root-cert.pem")));
    }

    [Fact]
    public void Keys_are_redacted_from_the_pipeline_YAML_and_the_cluster_files_holding_them_are_written_0600()
    {
        var result = Ossm2Renderer.Render(Seed003WithCa().Set);
        var shown = ManifestEmitter.WithYaml(result, TestSupport.Yaml);
        foreach (var c in shown)
        {
            Assert.DoesNotContain("ca-key.pem: LS0t", c.Yaml, StringComparison.Ordinal);
            Assert.Contains(ManifestEmitter.Redacted, c.Yaml, StringComparison.Ordinal);
            // The documents the pipeline carries are redacted too, not only their YAML text.
            var cacerts = c.Documents.Single(d => d.Kind == "Secret" && d.Name == "cacerts");
            Assert.All(cacerts.Content["data"]!.AsObject(), kv => Assert.Equal(ManifestEmitter.Redacted, kv.Value!.GetValue<string>()));
        }
        // The rendered result itself (what Export-MeshManifest writes) keeps the real values.
        Assert.NotEqual(ManifestEmitter.Redacted, result.AllManifests.Single(d => d.Cluster == "cluster1" && d.Name == "cacerts").Content["data"]!["ca-key.pem"]!.GetValue<string>());
        var files = ManifestEmitter.Files(result, TestSupport.Yaml);
        var key = TestSupport.Find(TestSupport.ReadBack(files["cluster1.yaml"]), "Secret", "cacerts")["data"]!["ca-key.pem"]!.GetValue<string>();
        Assert.Contains("PRIVATE KEY", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(key)), StringComparison.Ordinal);
        var dir = Paths.TempDir();
        OutputFolder.Write(dir, files, new OutputFolderOptions { PrivateFiles = ManifestEmitter.PrivateFiles(result) });
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "cluster1.yaml")));
            Assert.NotEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "SUMMARY.md")));
        }
        Assert.DoesNotContain("PRIVATE KEY", files["SUMMARY.md"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("network1", "east-west-gateway-net1.yaml")]
    [InlineData("network2", "east-west-gateway-net2.yaml")]
    public void The_east_west_gateway_equals_the_upstream_sample_for_its_network(string network, string sample)
    {
        var set = TestSupport.LoadText($"""
            apiVersion: meshfederation.io/v1alpha1
            kind: FederationTopology
            meshes:
              - name: mesh1
                style: multi-primary
                cluster: {"{"}name: east, network: {network}{"}"}
            """);
        var rendered = Docs(Ossm2Renderer.Render(set), "east")
            .Where(d => d["metadata"]!["name"]!.GetValue<string>().StartsWith("istio-eastwestgateway", StringComparison.Ordinal)).ToList();
        var expected = TestSupport.Yaml.Parse(File.ReadAllText(Path.Combine(Paths.Crds, "sail-operator", "examples", sample)), sample)
            .Select(n => (JsonObject)n.ToJson()!).ToList();
        Assert.Equal(expected.Count, rendered.Count);
        foreach (var want in expected)
        {
            var got = rendered.Single(d => d["kind"]!.GetValue<string>() == want["kind"]!.GetValue<string>());
            var labels = got["metadata"]!["labels"]!.AsObject();
            Assert.Equal("meshfederation", labels[JsonBuilder.ManagedByLabel]!.GetValue<string>());
            labels.Remove(JsonBuilder.ManagedByLabel);
            labels.Remove(JsonBuilder.MeshLabel);
            Assert.Equal(TestSupport.Canonical(WithoutNulls(want)), TestSupport.Canonical(WithoutNulls(got)));
        }
    }

    /// <summary>The sample writes empty fields as null (annotations: null); the API server drops them.</summary>
    private static JsonNode? WithoutNulls(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                var copy = new JsonObject();
                foreach (var (k, v) in o) if (v is not null && WithoutNulls(v) is { } c) copy[k] = c;
                return copy;
            case JsonArray a:
                return new JsonArray(a.Select(WithoutNulls).ToArray());
            default:
                return node?.DeepClone();
        }
    }

    [Theory]
    [InlineData("seed-003-multi-primary.yaml")]
    [InlineData("seed-004-multi-mesh.yaml")]
    public void Kinds_without_a_schema_in_shared_crds_are_exactly_the_east_west_gateway_judged_by_the_upstream_sample(string example)
    {
        var unjudged = TestSupport.RenderExample(example).AllManifests
            .Where(m => !KubeSchemas.Knows(m.ApiVersion, m.Kind))
            .Select(m => (m.ApiVersion + "/" + m.Kind, m.Name)).Distinct().ToList();
        Assert.All(unjudged, u => Assert.Contains(u.Item1, SampleJudged));
        Assert.All(unjudged, u => Assert.Equal(MeshControlPlane.EastWestGatewayName, u.Name));
    }

    [Fact]
    public void Seed_003_exposes_the_exported_service_through_an_AUTO_PASSTHROUGH_Gateway_on_15443()
    {
        var docs = Docs(Ossm2Renderer.Render(Seed003WithCa().Set), "cluster2");
        var gw = TestSupport.Find(docs, "Gateway", "cross-network-gateway");
        Assert.Empty(KubeSchemas.Validate(gw));
        var server = gw["spec"]!["servers"]![0]!;
        Assert.Equal("eastwestgateway", gw["spec"]!["selector"]!["istio"]!.GetValue<string>());
        Assert.Equal(15443, server["port"]!["number"]!.GetValue<int>());
        Assert.Equal("TLS", server["port"]!["protocol"]!.GetValue<string>());
        Assert.Equal("AUTO_PASSTHROUGH", server["tls"]!["mode"]!.GetValue<string>());
        Assert.Equal(new[] { "helloworld.sample.svc.cluster.local" }, server["hosts"]!.AsArray().Select(h => h!.GetValue<string>()));
        // cluster1 exports nothing: no Gateway there, as in the seed.
        Assert.DoesNotContain(Docs(Ossm2Renderer.Render(Seed003WithCa().Set), "cluster1"), d => d["kind"]!.GetValue<string>() == "Gateway");
    }

    [Fact]
    public void Seed_003_failover_DestinationRule_matches_the_seed_and_the_schema()
    {
        var dr = TestSupport.Find(Docs(Ossm2Renderer.Render(Seed003WithCa().Set), "cluster1"), "DestinationRule", "helloworld");
        Assert.Empty(KubeSchemas.Validate(dr));
        Assert.Equal("networking.istio.io/v1", dr["apiVersion"]!.GetValue<string>());
        Assert.Equal("sample", dr["metadata"]!["namespace"]!.GetValue<string>());
        var expected = JsonNode.Parse("""
            {"host":"helloworld.sample.svc.cluster.local","trafficPolicy":{"loadBalancer":{"localityLbSetting":{"enabled":true,
             "failover":[{"from":"us-east-1","to":"us-west-2"}]}},"outlierDetection":{"consecutive5xxErrors":1,"interval":"1s","baseEjectionTime":"1m"}}}
            """);
        Assert.Equal(TestSupport.Canonical(expected), TestSupport.Canonical(dr["spec"]));
    }

    [Fact]
    public void Remote_secrets_are_pending_offline_and_reader_identity_is_rendered_in_each_cluster()
    {
        var result = Ossm2Renderer.Render(Seed003WithCa().Set);
        Assert.Contains(result.Pending, p => p.Cluster == "cluster1" && p.What.Contains("istio-remote-secret-cluster2", StringComparison.Ordinal));
        Assert.Contains(result.Pending, p => p.Cluster == "cluster2" && p.What.Contains("istio-remote-secret-cluster1", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Pending, p => p.What.Contains("cacerts", StringComparison.Ordinal));
        var docs = Docs(result, "cluster1");
        var token = TestSupport.Find(docs, "Secret", "meshfed-reader-istio-remote-secret-token");
        Assert.Equal("kubernetes.io/service-account-token", token["type"]!.GetValue<string>());
        Assert.Equal("meshfed-reader", token["metadata"]!["annotations"]!["kubernetes.io/service-account.name"]!.GetValue<string>());
        var binding = TestSupport.Find(docs, "ClusterRoleBinding", "meshfed-reader-istio-system");
        Assert.Equal("meshfed-reader", binding["subjects"]![0]!["name"]!.GetValue<string>());
        foreach (var kind in new[] { "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Secret" })
            foreach (var d in docs.Where(d => d["kind"]!.GetValue<string>() == kind && d["metadata"]!["name"]!.GetValue<string>().StartsWith("meshfed-reader", StringComparison.Ordinal)))
                Assert.Empty(KubeSchemas.Validate(d));
    }

    [Fact]
    public void A_remote_secret_is_what_istioctl_create_remote_secret_makes_and_kubectl_reads_its_kubeconfig()
    {
        ExternalTools.Require("kubectl");
        var (set, _) = Seed003WithCa();
        var resolved = new FederationSet { Name = set.Name };
        foreach (var o in set.AllObjects().Where(o => o is not MeshPeering)) resolved.Add(o);
        foreach (var p in set.Peerings)
            resolved.Add(p.WithResolved(null, null, new RemoteApiAccess($"https://{p.Remote.ClusterName}.example:6443", Convert.ToBase64String("ca"u8.ToArray()), "tok-" + p.Remote.ClusterName + "-secret")));
        var result = Ossm2Renderer.Render(resolved);
        Assert.DoesNotContain(result.Pending, p => p.What.Contains("remote-secret", StringComparison.Ordinal));

        var full = TestSupport.ReadBack(ManifestEmitter.Files(result, TestSupport.Yaml)["cluster1.yaml"]);
        var secret = TestSupport.Find(full, "Secret", "istio-remote-secret-cluster2");
        Assert.Empty(KubeSchemas.Validate(secret));
        Assert.Equal("true", secret["metadata"]!["labels"]!["istio/multiCluster"]!.GetValue<string>());
        Assert.Equal("cluster2", secret["metadata"]!["annotations"]!["networking.istio.io/cluster"]!.GetValue<string>());
        Assert.Equal("istio-system", secret["metadata"]!["namespace"]!.GetValue<string>());
        var kubeconfig = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(secret["data"]!["cluster2"]!.GetValue<string>()));
        var file = Path.Combine(Paths.TempDir(), "remote.kubeconfig");
        File.WriteAllText(file, kubeconfig);
        var (code, output) = ExternalTools.Run("kubectl", $"--kubeconfig {file} config view --raw -o jsonpath={{.current-context}}|{{.clusters[0].cluster.server}}|{{.users[0].name}}|{{.users[0].user.token}}");
        Assert.True(code == 0, output);
        Assert.Equal("cluster2|https://cluster2.example:6443|cluster2|tok-cluster2-secret", output.Trim());

        // The token never reaches the pipeline view, the summary or pending text.
        Assert.DoesNotContain("tok-cluster2-secret", ManifestEmitter.WithYaml(result, TestSupport.Yaml).Single(c => c.Cluster == "cluster1").Yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("tok-cluster2-secret", ManifestEmitter.Summary(result), StringComparison.Ordinal);
        Assert.DoesNotContain("tok-", resolved.Peerings[0].RemoteApi!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Sail_v1alpha1_as_in_the_seed_is_rendered_on_request()
    {
        var text = File.ReadAllText(Paths.Example("seed-003-multi-primary.yaml")).Replace("    version: v1.27.3\n", "    version: v1.23.0\n    sailApiVersion: sailoperator.io/v1alpha1\n", StringComparison.Ordinal);
        var docs = Docs(Ossm2Renderer.Render(TestSupport.LoadText(text)), "cluster1");
        var istio = TestSupport.Find(docs, "Istio", "default");
        Assert.Equal("sailoperator.io/v1alpha1", istio["apiVersion"]!.GetValue<string>());
        Assert.Equal("sailoperator.io/v1alpha1", TestSupport.Find(docs, "IstioCNI", "default")["apiVersion"]!.GetValue<string>());
        // Judged by the v1alpha1 schema of Sail 0.2.0, the last release that served it.
        Assert.Empty(KubeSchemas.Validate(istio));
    }

    [Fact]
    public void Seed_004_imports_as_a_global_ServiceEntry_with_a_VIP_and_the_remote_gateway_on_15443()
    {
        var result = TestSupport.RenderExample("seed-004-multi-mesh.yaml");
        var docs = Docs(result, "istio-multimesh-pke");
        var se = TestSupport.Find(docs, "ServiceEntry", "echo-svc");
        Assert.Empty(KubeSchemas.Validate(se));
        Assert.Equal("default", se["metadata"]!["namespace"]!.GetValue<string>());
        var spec = se["spec"]!;
        Assert.Equal("echo.default.global", spec["hosts"]![0]!.GetValue<string>());
        Assert.Equal("MESH_INTERNAL", spec["location"]!.GetValue<string>());
        Assert.Equal("DNS", spec["resolution"]!.GetValue<string>());
        Assert.Equal("34.76.20.11", spec["endpoints"]![0]!["address"]!.GetValue<string>());
        Assert.Equal(15443, spec["endpoints"]![0]!["ports"]!["http1"]!.GetValue<int>());
        Assert.Equal(80, spec["ports"]![0]!["number"]!.GetValue<int>());
        var vip = System.Net.IPAddress.Parse(spec["addresses"]![0]!.GetValue<string>()).GetAddressBytes();
        Assert.Equal(new byte[] { 127, 255 }, vip[..2]);
        // Stable across renders.
        var again = TestSupport.Find(Docs(TestSupport.RenderExample("seed-004-multi-mesh.yaml"), "istio-multimesh-pke"), "ServiceEntry", "echo-svc");
        Assert.Equal(spec["addresses"]!.ToJsonString(), again["spec"]!["addresses"]!.ToJsonString());

        var vs = TestSupport.Find(docs, "VirtualService", "echo");
        Assert.Empty(KubeSchemas.Validate(vs));
        var routes = vs["spec"]!["http"]![0]!["route"]!.AsArray();
        Assert.Equal(new[] { ("echo.default.svc.cluster.local", 50), ("echo.default.global", 50) },
            routes.Select(r => (r!["destination"]!["host"]!.GetValue<string>(), r["weight"]!.GetValue<int>())));
        Assert.Equal(new[] { "*" }, vs["spec"]!["hosts"]!.AsArray().Select(h => h!.GetValue<string>()));

        // Independent meshes: each has its own mesh ID.
        Assert.Equal("pke", TestSupport.Find(docs, "Istio", "default")["spec"]!["values"]!["global"]!["meshID"]!.GetValue<string>());
        Assert.Equal("gke", TestSupport.Find(Docs(result, "istio-multimesh-gke"), "Istio", "default")["spec"]!["values"]!["global"]!["meshID"]!.GetValue<string>());
    }

    [Fact]
    public void Seed_004_without_the_remote_gateway_address_leaves_the_endpoints_pending_with_the_command_to_read_them()
    {
        var text = File.ReadAllText(Paths.Example("seed-004-multi-mesh.yaml")).Replace("    ingressAddresses: [34.76.20.11]\n", "", StringComparison.Ordinal);
        var result = Ossm2Renderer.Render(TestSupport.LoadText(text));
        var pending = Assert.Single(result.Pending, p => p.What.Contains("ServiceEntry", StringComparison.Ordinal));
        Assert.Contains("get svc istio-eastwestgateway", pending.HowToGet, StringComparison.Ordinal);
        Assert.Contains("--context istio-multimesh-gke", pending.HowToGet, StringComparison.Ordinal);
    }

    [Fact]
    public void VIPs_never_collide_up_to_the_size_of_the_range_and_an_exhausted_range_is_a_clear_error()
    {
        var hosts = Enumerable.Range(0, 254).Select(i => $"svc{i}.ns.global").ToList();
        var vips = VipAllocator.Allocate("240.0.7.0/24", hosts);
        Assert.Equal(254, vips.Values.Distinct().Count());
        Assert.All(vips.Values, v => Assert.StartsWith("240.0.7.", v, StringComparison.Ordinal));
        Assert.DoesNotContain("240.0.7.0", vips.Values);
        Assert.DoesNotContain("240.0.7.255", vips.Values);
        Assert.Equal(vips, VipAllocator.Allocate("240.0.7.0/24", Enumerable.Reverse(hosts)));

        var ex = TestSupport.Problems(() => VipAllocator.Allocate("240.0.7.0/24", hosts.Append("one-more.ns.global"), field: "mesh 'pke'.vipRange"));
        var problem = TestSupport.AssertProblem(ex, "vipRange", "240.0.7.0/24");
        Assert.Contains("exhausted", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("larger range", problem.Fix, StringComparison.Ordinal);

        // Addresses already in the cluster are kept, even when a new host would hash onto them.
        var existing = new Dictionary<string, string> { ["svc1.ns.global"] = "240.0.7.9" };
        var withExisting = VipAllocator.Allocate("240.0.7.0/24", hosts.Take(50), existing);
        Assert.Equal("240.0.7.9", withExisting["svc1.ns.global"]);
        Assert.Equal(50, withExisting.Values.Distinct().Count());
    }

    [Fact]
    public void Bad_Istio_style_input_names_the_field_the_value_and_the_fix()
    {
        const string head = "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n";
        var sameNetwork = TestSupport.Problems(() => TestSupport.LoadText(head + "  - {name: m, style: multi-primary, clusters: [{name: a, network: n1}, {name: b, network: n1}]}\n"));
        TestSupport.AssertProblem(sameNetwork, "network", "n1");

        var version = TestSupport.Problems(() => TestSupport.LoadText(head + "  - {name: m, style: multi-primary, cluster: a, version: v2.5}\n"));
        TestSupport.AssertProblem(version, "version", "v2.5");

        var sail = TestSupport.Problems(() => TestSupport.LoadText(head + "  - {name: m, style: multi-primary, cluster: a, sailApiVersion: sailoperator.io/v2}\n"));
        TestSupport.AssertProblem(sail, "sailApiVersion", "sailoperator.io/v2");

        var vip = TestSupport.Problems(() => TestSupport.LoadText(head + "  - {name: m, style: multi-mesh, cluster: a, vipRange: 127.255.0.0/40}\n"));
        TestSupport.AssertProblem(vip, "vipRange", "127.255.0.0/40");

        var twoInOne = TestSupport.Problems(() => TestSupport.LoadText(head + "  - {name: m, style: multi-mesh, cluster: a}\n  - {name: n, style: multi-mesh, cluster: a, namespace: other-system}\n"));
        TestSupport.AssertProblem(twoInOne, "cluster", "a");

        var mixed = TestSupport.Problems(() => TestSupport.LoadText(head + "  - {name: m, style: multi-mesh, cluster: a}\n  - {name: n, cluster: b}\npeerings: all\n"));
        TestSupport.AssertProblem(mixed, "peering");

        var noPorts = TestSupport.Problems(() => TestSupport.LoadText(head + "  - {name: m, style: multi-mesh, cluster: a}\n  - {name: n, style: multi-mesh, cluster: b}\npeerings: all\nimports:\n  - {into: m, from: n, services: [{namespace: default, name: echo}]}\n"));
        TestSupport.AssertProblem(noPorts, "ports");

        var badFailover = TestSupport.Problems(() => TestSupport.LoadText(head + "  - {name: m, style: multi-primary, cluster: a}\nfailover:\n  - {mesh: m, name: hw, namespace: sample, host: hw.sample.svc.cluster.local, from: r1, to: r1}\n"));
        TestSupport.AssertProblem(badFailover, "from/to", "r1->r1");

        var typo = TestSupport.Problems(() => TestSupport.LoadText(head + "  - {name: m, style: multi-primary, cluster: a}\nfailover:\n  - {mesh: m, name: hw, namespace: sample, host: h.s.svc, from: r1, to: r2, intervall: 1s}\n"));
        var p = TestSupport.AssertProblem(typo, "intervall");
        Assert.Contains("interval", p.Fix, StringComparison.Ordinal);

        var missingCa = TestSupport.Problems(() => TestSupport.LoadText(head + "  - {name: m, style: multi-primary, cluster: a}\ncertificateAuthority: {dir: /nonexistent-meshfed-ca}\n"));
        TestSupport.AssertProblem(missingCa, "certificateAuthority");
    }
    [Fact]
    public void Checks_of_seed_003_pass_the_shared_root_and_networks_and_warn_that_remote_secrets_need_a_live_apply()
    {
        var (set, dir) = Seed003WithCa();
        var results = Engine.Checks.FederationChecks.Run(set);
        Assert.DoesNotContain(results, r => r.CheckId.StartsWith("OSSM2.", StringComparison.Ordinal));
        Assert.Equal(2, results.Count(r => r.CheckId == "ISTIO.SharedRoot" && r.Status == CheckStatus.Pass));
        Assert.Equal(2, results.Count(r => r.CheckId == "ISTIO.NetworkDistinct" && r.Status == CheckStatus.Pass));
        Assert.Equal(2, results.Count(r => r.CheckId == "ISTIO.RemoteSecretBothWays" && r.Status == CheckStatus.Pass));
        Assert.Equal(2, results.Count(r => r.CheckId == "ISTIO.RemoteSecretReady" && r.Status == CheckStatus.Warn));
        Assert.DoesNotContain(results, r => r.Status == CheckStatus.Fail);

        // cluster2's intermediate from another root: the check fails and says how to fix it.
        var other = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256);
        set.Add(ClusterCaMaterial.From(other.Issue("cluster2")));
        var failed = Engine.Checks.FederationChecks.Run(set).Single(r => r.CheckId == "ISTIO.SharedRoot" && r.Status == CheckStatus.Fail);
        Assert.Contains("cluster2", failed.Message, StringComparison.Ordinal);
        Assert.Contains("New-MeshCertificateAuthority", failed.Fix, StringComparison.Ordinal);
        Assert.True(Directory.Exists(dir));
    }

    [Fact]
    public void Checks_of_seed_004_pass_VIPs_gateway_address_and_import_resolution_and_fail_an_import_nobody_exports()
    {
        var results = Engine.Checks.FederationChecks.Run(TestSupport.LoadExample("seed-004-multi-mesh.yaml"));
        foreach (var id in new[] { "ISTIO.VipUnique", "ISTIO.GatewayAddressKnown", "ISTIO.ImportResolves" })
            Assert.Equal(CheckStatus.Pass, results.Single(r => r.CheckId == id).Status);
        Assert.Contains(results.Single(r => r.CheckId == "ISTIO.VipUnique").Evidence, e => e.Object == "ServiceEntry for echo.default.global" && e.Value!.StartsWith("127.255.", StringComparison.Ordinal));

        var text = File.ReadAllText(Paths.Example("seed-004-multi-mesh.yaml"));
        var noExport = text[..text.IndexOf("exports:", StringComparison.Ordinal)] + text[text.IndexOf("imports:", StringComparison.Ordinal)..];
        var failed = Engine.Checks.FederationChecks.Run(TestSupport.LoadText(noExport)).Single(r => r.CheckId == "ISTIO.ImportResolves");
        Assert.Equal(CheckStatus.Fail, failed.Status);
        Assert.Contains("export default/echo from gke to pke", failed.Fix, StringComparison.Ordinal);
    }
    [Fact]
    public void Observed_checks_that_find_no_control_plane_are_an_error_naming_what_the_topology_expects()
    {
        var (set, _) = Seed003WithCa();
        var nothing = new Engine.Checks.Observation { Clusters = Array.Empty<Engine.Checks.ClusterObservation>(), Meshes = Array.Empty<Engine.Checks.ObservedMesh>(), IstioControlPlanes = Array.Empty<Engine.Checks.ObservedIstio>() };
        var ex = Assert.Throws<Engine.Checks.NoMeshFoundException>(() => Engine.Checks.ObservedChecks.Run(nothing, set));
        Assert.Contains("Istio default for istio-system in cluster1", ex.Message, StringComparison.Ordinal);
    }
}
