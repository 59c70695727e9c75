using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Topology;
using MeshFederation.Engine.Validation;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// Seeds 003 and 004 applied to test API servers: remote secrets carry each remote API server and the reader token
/// its token controller issued; .global ServiceEntries get the remote east-west gateway's address; kubectl reads it all back.
/// </summary>
public sealed class LiveIstioTests : IAsyncLifetime
{
    private TestClusters _clusters = null!;
    private readonly Dictionary<string, FakeSailOperator> _operators = new();
    private string _kubeconfig = "";

    public async Task InitializeAsync()
    {
        _clusters = await TestClusters.StartAsync("cluster1", "cluster2");
        var i = 1;
        foreach (var s in _clusters.Servers)
        {
            _operators[s.Name] = new FakeSailOperator(s, $"10.30.{i++}.");
            foreach (var ns in new[] { "sample", "default" })
                s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } }, "kubectl");
        }
        _kubeconfig = _clusters.WriteKubeconfig();
    }

    public async Task DisposeAsync() => await _clusters.DisposeAsync();

    private LiveFederation Live(RecordingLog log, ClusterConnections conns) =>
        new(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(50), WaitTimeout = TimeSpan.FromSeconds(20) }, log);

    private (int Code, string Output) Kubectl(string context, string args) => ExternalTools.Run("kubectl", $"--kubeconfig {_kubeconfig} --context {context} {args}");

    private static FederationSet Seed003(bool withCa) =>
        withCa ? IstioStyleTests.Seed003WithCa().Set : TestSupport.LoadExample("seed-003-multi-primary.yaml");

    [Fact]
    public async Task Seed_003_live_writes_remote_secrets_with_each_remote_server_and_issued_reader_token_and_reapplies_nothing()
    {
        ExternalTools.Require("kubectl");
        var log = new RecordingLog();
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast, log);
        var live = Live(log, conns);
        var set = Seed003(withCa: true);

        var plan = await live.PlanAsync(set, CancellationToken.None);
        Assert.Contains(plan.Items, i => i.Deferred && i.Kind == "Secret" && i.Name == "istio-remote-secret-cluster2" && i.Cluster == "cluster1");
        await live.ApplyAsync(set, plan, _ => true, CancellationToken.None);

        foreach (var (local, remote) in new[] { ("cluster1", "cluster2"), ("cluster2", "cluster1") })
        {
            var (code, labels) = Kubectl(local, $"-n istio-system get secret istio-remote-secret-{remote} -o jsonpath={{.metadata.labels.istio/multiCluster}}|{{.metadata.annotations.networking\\.istio\\.io/cluster}}");
            Assert.True(code == 0, labels);
            Assert.Equal($"true|{remote}", labels.Trim());
            var (_, b64) = Kubectl(local, $"-n istio-system get secret istio-remote-secret-{remote} -o jsonpath={{.data.{remote}}}");
            var kubeconfig = Path.Combine(_clusters.Directory, $"remote-{local}-{remote}.kubeconfig");
            File.WriteAllBytes(kubeconfig, Convert.FromBase64String(b64.Trim()));

            // The remote secret's kubeconfig works: kubectl reaches the remote API server with the issued reader token.
            var token = _operators[remote].TokenOf("istio-system", "meshfed-reader-istio-remote-secret-token");
            _clusters[remote].Tokens[token] = "system:serviceaccount:istio-system:meshfed-reader";
            var (getCode, istio) = ExternalTools.Run("kubectl", $"--kubeconfig {kubeconfig} get istios.sailoperator.io default -o jsonpath={{.spec.values.global.multiCluster.clusterName}}");
            Assert.True(getCode == 0, istio);
            Assert.Equal(remote, istio.Trim());
            var (_, server) = ExternalTools.Run("kubectl", $"--kubeconfig {kubeconfig} config view --raw -o jsonpath={{.clusters[0].cluster.server}}");
            Assert.Equal(_clusters[remote].Url.ToString().TrimEnd('/'), server.Trim());

            var (_, network) = Kubectl(local, "get namespace istio-system -o jsonpath={.metadata.labels.topology\\.istio\\.io/network}");
            Assert.Equal(local == "cluster1" ? "network1" : "network2", network.Trim());
            var (_, cacerts) = Kubectl(local, "-n istio-system get secret cacerts -o jsonpath={.data.cert-chain\\.pem}");
            Assert.Contains("BEGIN CERTIFICATE", Encoding.UTF8.GetString(Convert.FromBase64String(cacerts.Trim())), StringComparison.Ordinal);
        }

        // Tokens and keys never reach the log.
        foreach (var c in new[] { "cluster1", "cluster2" })
            Assert.DoesNotContain(_operators[c].TokenOf("istio-system", "meshfed-reader-istio-remote-secret-token"), log.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", log.Text, StringComparison.Ordinal);

        var again = await live.PlanAsync(set, CancellationToken.None);
        Assert.All(again.Items, i => Assert.True(i.Action == PlanAction.Unchanged, $"{i.Target}: {i.Action} {i.Reason}"));
    }

    [Fact]
    public async Task Live_apply_without_cacerts_anywhere_stops_before_changing_anything()
    {
        var log = new RecordingLog();
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast, log);
        var writes = _clusters.Servers.Sum(s => s.Store.Writes);
        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => Live(log, conns).PlanAsync(Seed003(withCa: false), CancellationToken.None));
        TestSupport.AssertProblem(ex, "cacerts");
        Assert.Equal(writes, _clusters.Servers.Sum(s => s.Store.Writes));
    }

    [Fact]
    public async Task Seed_004_live_reads_the_remote_gateway_address_into_the_global_ServiceEntry()
    {
        ExternalTools.Require("kubectl");
        var text = File.ReadAllText(Paths.Example("seed-004-multi-mesh.yaml"))
            .Replace("    ingressAddresses: [35.180.106.193]\n", "", StringComparison.Ordinal)
            .Replace("    ingressAddresses: [34.76.20.11]\n", "", StringComparison.Ordinal)
            .Replace("{name: istio-multimesh-pke, context: \"kubernetes-admin@istio-multimesh-pke\"}", "{name: cluster1, context: cluster1}", StringComparison.Ordinal)
            .Replace("{name: istio-multimesh-gke, context: istio-multimesh-gke}", "{name: cluster2, context: cluster2}", StringComparison.Ordinal)
            + "certificateAuthority:\n  dir: certs\n";
        var dir = Paths.TempDir();
        TestSupport.WriteCa(Path.Combine(dir, "certs"), "cluster1", "cluster2");
        File.WriteAllText(Path.Combine(dir, "t.yaml"), text);
        var set = TopologyLoader.LoadFile(Path.Combine(dir, "t.yaml"), TestSupport.Yaml);

        var log = new RecordingLog();
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast, log);
        var live = Live(log, conns);
        var plan = await live.PlanAsync(set, CancellationToken.None);
        Assert.Contains(plan.Items, i => i.Deferred && i.Kind == "ServiceEntry" && i.Name == "echo-svc");
        await live.ApplyAsync(set, plan, _ => true, CancellationToken.None);

        var (code, endpoint) = Kubectl("cluster1", "-n default get serviceentries.networking.istio.io echo-svc -o jsonpath={.spec.endpoints[0].address}:{.spec.endpoints[0].ports.http1}|{.spec.addresses[0]}");
        Assert.True(code == 0, endpoint);
        var parts = endpoint.Trim().Split('|');
        Assert.Equal($"{_operators["cluster2"].GatewayAddress}:15443", parts[0]);
        Assert.StartsWith("127.255.", parts[1], StringComparison.Ordinal);

        // Removal takes away everything it created, cluster-scoped Istio resources included.
        var removal = await live.PlanRemovalAsync(set, CancellationToken.None);
        Assert.Contains(removal.Items, i => i.Kind == "Istio" && i.Cluster == "cluster1");
        Assert.Contains(removal.Items, i => i.Kind == "ServiceEntry");
        await live.ApplyAsync(set, removal, _ => true, CancellationToken.None);
        var (_, left) = Kubectl("cluster1", "get istios.sailoperator.io -o name");
        Assert.Equal("", left.Trim());
    }
}
