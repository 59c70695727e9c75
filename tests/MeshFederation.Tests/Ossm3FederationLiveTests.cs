using System.Text.Json.Nodes;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// Stands in for what an OSSM 3 cluster runs besides the API server for the federation style: Istio's Gateway API
/// deployment controller (a Gateway of class istio gets a LoadBalancer Service &lt;name&gt;-istio, which the cloud gives an
/// address), and istiod publishing its root in istio-ca-root-cert, followed (ISTIO_MULTIROOT_MESH) by the extra roots
/// its Istio trusts.
/// </summary>
internal sealed class FakeOssm3Cluster
{
    private readonly FakeApiServer _server;
    private readonly string _root;
    private readonly string _ip;

    public FakeOssm3Cluster(FakeApiServer server, string rootPem, string gatewayIp)
    {
        _server = server;
        _root = rootPem;
        _ip = gatewayIp;
        server.Store.Changed += OnChanged;
        PublishRoot("istio-system", Array.Empty<string>());
    }

    public string GatewayIp => _ip;

    private void PublishRoot(string ns, IEnumerable<string> extra) =>
        _server.Store.Upsert(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "istio-ca-root-cert", ["namespace"] = ns },
            ["data"] = new JsonObject { ["root-cert.pem"] = _root + string.Concat(extra) },
        }, "istiod");

    private void OnChanged(ResourceType type, JsonObject obj, string verb)
    {
        if (verb == "DELETED") return;
        var md = obj["metadata"]!;
        if (type.Kind == "Gateway" && type.Group == "gateway.networking.k8s.io" && obj["spec"]?["gatewayClassName"]?.GetValue<string>() == "istio")
        {
            var name = md["name"]!.GetValue<string>() + "-istio";
            var ns = md["namespace"]!.GetValue<string>();
            if (_server.Store.Get(ResourceTypes.ByKind("v1", "Service")!, ns, name, "v1") is not null) return;
            _server.Store.Upsert(new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Service",
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = new JsonObject { ["gateway.networking.k8s.io/gateway-name"] = md["name"]!.GetValue<string>() } },
                ["spec"] = new JsonObject { ["type"] = "LoadBalancer", ["ports"] = new JsonArray(new JsonObject { ["name"] = "cross-network", ["port"] = 15443 }) },
                ["status"] = new JsonObject { ["loadBalancer"] = new JsonObject { ["ingress"] = new JsonArray(new JsonObject { ["ip"] = _ip }) } },
            }, "istio-gateway-controller");
        }
        else if (type.Kind == "Istio" && obj["spec"]?["values"]?["meshConfig"]?["caCertificates"] is JsonArray extra)
            PublishRoot(obj["spec"]?["namespace"]?.GetValue<string>() ?? "istio-system", extra.Select(c => c!["pem"]!.GetValue<string>()));
    }

    /// <summary>A Service and its pod, as the guide deploys httpbin (sample manifest: port 8000 to 8080, service account httpbin).</summary>
    public void Httpbin(string ns)
    {
        _server.Store.Upsert(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Service",
            ["metadata"] = new JsonObject { ["name"] = "httpbin", ["namespace"] = ns, ["labels"] = new JsonObject { ["app"] = "httpbin" } },
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["app"] = "httpbin" },
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = 8000, ["targetPort"] = 8080 }),
            },
        }, "kubectl");
        _server.Store.Upsert(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = "httpbin-7d9c", ["namespace"] = ns, ["labels"] = new JsonObject { ["app"] = "httpbin", ["version"] = "v1" } },
            ["spec"] = new JsonObject
            {
                ["serviceAccountName"] = "httpbin",
                ["containers"] = new JsonArray(new JsonObject { ["name"] = "httpbin", ["image"] = "docker.io/mccutchen/go-httpbin:v2.15.0", ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 8080 }) }),
            },
        }, "kubectl");
    }
}

/// <summary>
/// Issue 16, items 2 and 3 live: the guide's federation applied to two test API servers through the live plan, with
/// every value the guide looks up by hand read from the clusters (roots, the east-west address, ports and service
/// accounts); applying again changes nothing; the live checks pass and fail on what the clusters hold.
/// </summary>
public sealed class Ossm3FederationLiveTests : IAsyncLifetime
{
    private TestClusters _clusters = null!;
    private string _kubeconfig = "";
    private readonly Dictionary<string, FakeOssm3Cluster> _fakes = new();

    internal static string Root(string cluster) =>
        File.ReadAllText(Path.Combine(UpstreamFixtureTests.FixtureDir, "Upstream", "ossm-migration-federation", $"{cluster}-root-cert.pem"));

    public async Task InitializeAsync()
    {
        _clusters = await TestClusters.StartAsync("east", "west");
        foreach (var s in _clusters.Servers)
        {
            _ = new FakeSailOperator(s, s.Name == "east" ? "10.40.1." : "10.40.2.");
            _fakes[s.Name] = new FakeOssm3Cluster(s, Root(s.Name), s.Name == "east" ? "203.0.113.10" : "203.0.113.20");
        }
        _fakes["west"].Httpbin("a");
        _fakes["west"].Httpbin("b");
        _clusters["east"].Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ServiceAccount", ["metadata"] = new JsonObject { ["name"] = "curl", ["namespace"] = "client" } }, "kubectl");
        _kubeconfig = _clusters.WriteKubeconfig();
    }

    public async Task DisposeAsync() => await _clusters.DisposeAsync();

    /// <summary>The guide's topology with everything the clusters know left out.</summary>
    internal static FederationSet LiveTopology() => TestSupport.LoadText(LiveTopologyText());

    private (int Code, string Output) Kubectl(string context, string args) => ExternalTools.Run("kubectl", $"--kubeconfig {_kubeconfig} --context {context} {args}");

    /// <summary>A change someone makes in a cluster (as kubectl edit would).</summary>
    private void Edit(string cluster, string apiVersion, string kind, string ns, string name, Action<JsonObject> change)
    {
        var store = _clusters[cluster].Store;
        var obj = (JsonObject)store.Get(ResourceTypes.ByKind(apiVersion, kind)!, ns, name, apiVersion.Split('/')[1])!.DeepClone();
        change(obj);
        store.Upsert(obj, "kubectl-edit");
    }

    [Fact]
    public async Task The_guides_federation_applies_live_with_roots_addresses_ports_and_identities_read_from_the_clusters_and_reapplies_nothing()
    {
        ExternalTools.Require("kubectl");
        var log = new RecordingLog();
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast, log);
        var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(50), WaitTimeout = TimeSpan.FromSeconds(20) }, log);
        var set = LiveTopology();

        // Offline, the guide's lookups are pending.
        Assert.Contains(Ossm2Renderer.Render(set).Pending, p => p.Defers && p.What.StartsWith("Gateway istio-system/remote-gateway-network-west-mesh", StringComparison.Ordinal));

        var plan = await live.PlanAsync(set, CancellationToken.None);
        // The east-west gateway does not exist yet: the remote Gateway waits for its address.
        var waiting = Assert.Single(plan.Items, i => i.Deferred);
        Assert.Equal(("east", "Gateway", "remote-gateway-network-west-mesh"), (waiting.Cluster, waiting.Kind, waiting.Name));
        Assert.Contains("east-west gateway address", waiting.Reason, StringComparison.Ordinal);
        await live.ApplyAsync(set, plan, _ => true, CancellationToken.None);

        var (code, addresses) = Kubectl("east", "-n istio-system get gateways.gateway.networking.k8s.io remote-gateway-network-west-mesh -o jsonpath={.spec.addresses[*].value}/{.spec.addresses[*].type}");
        Assert.True(code == 0, addresses);
        Assert.Equal("203.0.113.20/IPAddress", addresses.Trim());
        (code, var sans) = Kubectl("east", "-n istio-system get serviceentries.networking.istio.io httpbin-west-mesh-imports -o jsonpath={.spec.subjectAltNames[*]}|{.spec.ports[0].number}|{.spec.ports[0].protocol}");
        Assert.True(code == 0, sans);
        Assert.Equal("spiffe://west.local/ns/a/sa/httpbin|8000|HTTP", sans.Trim());
        (code, var target) = Kubectl("west", "-n a get serviceentries.networking.istio.io httpbin-a-svc-east-mesh-exports-local -o jsonpath={.spec.ports[0].targetPort}|{.spec.workloadSelector.labels.app}");
        Assert.True(code == 0, target);
        Assert.Equal("8080|httpbin", target.Trim());
        // Each Istio trusts exactly the peer's root: the peer's bundle also holds the roots it trusts itself, which are left out.
        foreach (var (local, peer) in new[] { ("east", "west"), ("west", "east") })
        {
            var istio = (await _clusters.Client(local).GetAsync("sailoperator.io/v1", "Istio", null, "default", CancellationToken.None))!;
            var pems = istio["spec"]!["values"]!["meshConfig"]!["caCertificates"]!.AsArray().Select(c => c!["pem"]!.GetValue<string>()).ToList();
            Assert.Equal(new[] { Root(peer) }, pems);
        }
        Assert.DoesNotContain("PRIVATE KEY", log.Text, StringComparison.Ordinal);

        // Applying again changes nothing (roots re-read: the peers' bundles now hold extra roots).
        var again = await live.PlanAsync(set, CancellationToken.None);
        Assert.False(again.HasChanges, string.Join("\n", again.Items.Where(i => i.Action != PlanAction.Unchanged).Select(i => $"{i.Action} {i.Cluster} {i.Kind} {i.Namespace}/{i.Name}: {i.Reason}")));

        // The live checks pass on what was applied ...
        var results = await Ossm3FederationChecks.RunLiveAsync(set, cp => conns.For(cp.Cluster), CancellationToken.None);
        Assert.All(results, r => Assert.NotEmpty(r.Evidence));
        var failing = results.Where(r => r.Status is CheckStatus.Fail or CheckStatus.Skip).ToList();
        Assert.True(failing.Count == 0, string.Join("\n", failing));
        foreach (var id in new[] { "LiveRemoteGatewayAddress", "LivePeerRootTrusted", "LiveImportMatchesService", "LiveGatewayHosts", "LiveTrustDomainAliased", "GatewayApiServed" })
            Assert.Contains(results, r => r.CheckId == "OSSM3FED." + id && r.Status == CheckStatus.Pass);

        // ... and fail on what is wrong, with the observed values.
        Edit("east", "gateway.networking.k8s.io/v1", "Gateway", "istio-system", "remote-gateway-network-west-mesh",
            g => g["spec"]!["addresses"] = JsonNode.Parse("""[{"type":"IPAddress","value":"198.51.100.7"}]"""));
        Edit("east", "networking.istio.io/v1beta1", "ServiceEntry", "istio-system", "httpbin-west-mesh-imports", se => se["spec"]!["ports"]![0]!["number"] = 80);
        Edit("west", "networking.istio.io/v1alpha3", "Gateway", "istio-ingress", "expose-services", g => g["spec"]!["servers"]![0]!["hosts"]!.AsArray().Add("*.local"));
        var broken = await Ossm3FederationChecks.RunLiveAsync(set, cp => conns.For(cp.Cluster), CancellationToken.None);
        var address = Assert.Single(broken, r => r.CheckId == "OSSM3FED.LiveRemoteGatewayAddress");
        Assert.Equal(CheckStatus.Fail, address.Status);
        Assert.Contains("198.51.100.7", address.Message, StringComparison.Ordinal);
        Assert.Contains("203.0.113.20", address.Message, StringComparison.Ordinal);
        Assert.Contains(broken, r => r.CheckId == "OSSM3FED.LiveImportMatchesService" && r.Status == CheckStatus.Fail && r.Message.Contains("80/http/HTTP", StringComparison.Ordinal));
        Assert.Contains(broken, r => r.CheckId == "OSSM3FED.LiveGatewayHosts" && r.Status == CheckStatus.Fail && r.Message.Contains("passed but not exported: *.local", StringComparison.Ordinal));

        // The guide's caveat: a policy in west naming east's client identity also matches west's own client/curl, once west has one.
        _clusters["west"].Store.Upsert(Ossm3FederationTests.Guide("post-authorizationpolicy-httpbin-allow-curl-from-east.yaml"), "kubectl");
        var quiet = await Ossm3FederationChecks.RunLiveAsync(set, cp => conns.For(cp.Cluster), CancellationToken.None);
        Assert.Contains(quiet, r => r.CheckId == "OSSM3FED.AuthorizationPolicyAliasedTrustDomain" && r.Mesh == "west-mesh" && r.Status == CheckStatus.Pass);
        _clusters["west"].Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ServiceAccount", ["metadata"] = new JsonObject { ["name"] = "curl", ["namespace"] = "client" } }, "kubectl");
        var warned = await Ossm3FederationChecks.RunLiveAsync(set, cp => conns.For(cp.Cluster), CancellationToken.None);
        var caveat = Assert.Single(warned, r => r.CheckId == "OSSM3FED.AuthorizationPolicyAliasedTrustDomain" && r.Mesh == "west-mesh");
        Assert.Equal(CheckStatus.Warn, caveat.Status);
        Assert.Contains("east.local/ns/client/sa/curl", caveat.Message, StringComparison.Ordinal);
        Assert.Contains("west.local/ns/client/sa/curl", caveat.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_exported_service_fails_the_plan_naming_the_export_and_the_fix()
    {
        var log = new RecordingLog();
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast, log);
        var set = TestSupport.LoadText(LiveTopologyText().Replace("namespace: b, name: httpbin", "namespace: b, name: missing", StringComparison.Ordinal));
        var ex = await Assert.ThrowsAsync<Engine.Validation.MeshFederationException>(() => new LiveFederation(conns, null, log).PlanAsync(set, CancellationToken.None));
        var p = TestSupport.AssertProblem(ex, "export", "Service b/missing");
        Assert.Contains("deploy the service", p.Fix, StringComparison.Ordinal);
    }

    internal static string LiveTopologyText()
    {
        var text = File.ReadAllText(UpstreamFixtureTests.TopologyFile(Ossm3FederationTests.Topology));
        text = System.Text.RegularExpressions.Regex.Replace(text, @"    rootCertificate: \|\n(      .*\n)+", "");
        text = text.Replace("    ingressAddresses: [192.0.2.10]\n", "", StringComparison.Ordinal)
            .Replace(", ports: [{name: http, number: 8000, targetPort: 8080}], serviceAccounts: [httpbin], selector: {app: httpbin}", "", StringComparison.Ordinal);
        Assert.DoesNotContain("BEGIN CERTIFICATE", text, StringComparison.Ordinal);
        Assert.DoesNotContain("serviceAccounts", text, StringComparison.Ordinal);
        return text;
    }
}
