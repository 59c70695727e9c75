using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Topology;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// The Istio checks live: seed 003 (multi-primary) and seed 004 (multi-mesh) applied to test API servers with the
/// Sail operator, istiod's root, the token controller and a load balancer stood in for; remote secrets are tried as
/// istiod would use them (connect, then SelfSubjectAccessReviews answered by the server's RBAC).
/// </summary>
public sealed class LiveIstioChecksTests : IAsyncLifetime
{
    private TestClusters _clusters = null!;
    private string _kubeconfig = "";

    public async Task InitializeAsync()
    {
        _clusters = await TestClusters.StartAsync("cluster1", "cluster2");
        var i = 1;
        foreach (var s in _clusters.Servers)
        {
            _ = new FakeSailOperator(s, $"10.40.{i++}.");
            foreach (var ns in new[] { "sample", "default" })
                s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } }, "kubectl");
            // The application the failover rule is for (seed 003 deploys helloworld in both clusters).
            s.Store.Upsert(JsonNode.Parse("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"helloworld","namespace":"sample"},"spec":{"ports":[{"name":"http","port":5000}]}}""")!.AsObject(), "kubectl");
        }
        _kubeconfig = _clusters.WriteKubeconfig();
    }

    public async Task DisposeAsync() => await _clusters.DisposeAsync();

    private async Task ApplyAsync(FederationSet set)
    {
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast);
        var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20), WaitTimeout = TimeSpan.FromSeconds(20) });
        await live.ApplyAsync(set, await live.PlanAsync(set, CancellationToken.None), _ => true, CancellationToken.None);
    }

    private async Task<IReadOnlyList<MeshCheckResult>> CheckAsync(FederationSet? intended)
    {
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast);
        return await MeshChecks.RunLiveAsync(intended, new[] { new ClusterBinding("cluster1"), new ClusterBinding("cluster2") }, conns,
            new CheckOptions { RemoteTimeout = TimeSpan.FromSeconds(3) }, false, null, CancellationToken.None);
    }

    private static MeshCheckResult One(IEnumerable<MeshCheckResult> results, string id, string cluster, string? peer = null) =>
        results.Single(r => r.CheckId == id && r.Cluster == cluster && (peer is null || r.Peer == peer));

    private static readonly string[] IstioChecks =
    {
        "ISTIO.IstioReady", "ISTIO.IstioCNIReady", "ISTIO.NetworkLabel", "ISTIO.NetworkDistinct", "ISTIO.MeshId", "ISTIO.ClusterNameUnique", "ISTIO.CaCerts",
        "ISTIO.SharedRoot", "ISTIO.RemoteSecretBothWays", "ISTIO.RemoteSecretUsable", "ISTIO.EastWestGateway", "ISTIO.ExportExposed", "ISTIO.FailoverHost",
    };

    private static string Kubeconfig(string cluster, string server, string caPem, string token) => new JsonObject
    {
        ["apiVersion"] = "v1", ["kind"] = "Config", ["current-context"] = cluster,
        ["clusters"] = new JsonArray(new JsonObject { ["name"] = cluster, ["cluster"] = new JsonObject { ["server"] = server, ["certificate-authority-data"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(caPem)) } }),
        ["contexts"] = new JsonArray(new JsonObject { ["name"] = cluster, ["context"] = new JsonObject { ["cluster"] = cluster, ["user"] = cluster } }),
        ["users"] = new JsonArray(new JsonObject { ["name"] = cluster, ["user"] = new JsonObject { ["token"] = token } }),
    }.ToJsonString();

    /// <summary>Replaces the kubeconfig cluster1 holds for cluster2, as someone editing the remote secret would.</summary>
    private void SetRemoteSecret(string kubeconfig)
    {
        var secret = _clusters["cluster1"].Store.Get(ResourceTypes.ByKind("v1", "Secret")!, "istio-system", "istio-remote-secret-cluster2", "v1")!;
        secret["data"]!["cluster2"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(kubeconfig));
        _clusters["cluster1"].Store.Upsert(secret, "kubectl");
    }

    [Fact]
    public async Task Seed_003_applied_live_passes_every_Istio_check_with_and_without_the_topology()
    {
        var (set, _) = IstioStyleTests.Seed003WithCa();
        await ApplyAsync(set);
        foreach (var intended in new[] { set, null })
        {
            var results = await CheckAsync(intended);
            // cluster1 exports nothing, so it has no cross-network Gateway to judge.
            Assert.All(results, r => Assert.True(r.Status == CheckStatus.Pass || (r.CheckId == "ISTIO.ExportExposed" && r.Cluster == "cluster1" && r.Status == CheckStatus.Skip),
                r + " " + string.Join(" | ", r.Evidence)));
            foreach (var id in IstioChecks) Assert.Contains(results, r => r.CheckId == id);
            var usable = One(results, "ISTIO.RemoteSecretUsable", "cluster1", "cluster2");
            Assert.Contains("system:serviceaccount:istio-system:meshfed-reader", usable.Message, StringComparison.Ordinal);
            Assert.Contains("services: allowed, endpoints: allowed, pods: allowed", string.Join(" ", usable.Evidence), StringComparison.Ordinal);
            Assert.DoesNotContain("eyJ", string.Join(" ", results.SelectMany(r => r.Evidence)) + string.Join(" ", results.Select(r => r.Message)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Remote_secrets_that_do_not_work_are_told_apart_revoked_forbidden_wrong_CA_unreachable_expired()
    {
        var (set, _) = IstioStyleTests.Seed003WithCa();
        await ApplyAsync(set);
        var secrets = ResourceTypes.ByKind("v1", "Secret")!;

        // Revoked: cluster2's reader token Secret is deleted, so the token cluster1 holds is no longer accepted.
        Assert.NotNull(_clusters["cluster2"].Store.Delete(secrets, "istio-system", "meshfed-reader-istio-remote-secret-token"));
        var revoked = One(await CheckAsync(set), "ISTIO.RemoteSecretUsable", "cluster1", "cluster2");
        Assert.Equal(CheckStatus.Fail, revoked.Status);
        Assert.Contains("revoked", revoked.Message, StringComparison.Ordinal);

        // Forbidden: cluster1's reader loses its ClusterRoleBinding; cluster2's secret connects but may not list.
        Assert.NotNull(_clusters["cluster1"].Store.Delete(ResourceTypes.ByKind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")!, null, "meshfed-reader-istio-system"));
        var forbidden = One(await CheckAsync(set), "ISTIO.RemoteSecretUsable", "cluster2", "cluster1");
        Assert.Equal(CheckStatus.Fail, forbidden.Status);
        Assert.Contains("may not list services, endpoints, pods", forbidden.Message, StringComparison.Ordinal);

        var server2 = _clusters["cluster2"].Url.ToString().TrimEnd('/');
        var token = FakeSailOperator.ServiceAccountJwt("istio-system", "meshfed-reader", "manual");
        _clusters["cluster2"].Tokens[token] = "system:serviceaccount:istio-system:meshfed-reader";

        // A wrong CA: the secret trusts another CA than the one that signed cluster2's serving certificate.
        using (var other = new TestPki("someone-else"))
            SetRemoteSecret(Kubeconfig("cluster2", server2, other.CaPem, token));
        var wrongCa = One(await CheckAsync(set), "ISTIO.RemoteSecretUsable", "cluster1", "cluster2");
        Assert.Equal(CheckStatus.Fail, wrongCa.Status);
        Assert.Contains("not trusted by the CA in the secret", wrongCa.Message, StringComparison.Ordinal);

        // Unreachable: nothing listens at the secret's server.
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        SetRemoteSecret(Kubeconfig("cluster2", $"https://127.0.0.1:{port}", _clusters["cluster2"].CaPem, token));
        var unreachable = One(await CheckAsync(set), "ISTIO.RemoteSecretUsable", "cluster1", "cluster2");
        Assert.Equal(CheckStatus.Fail, unreachable.Status);
        Assert.Contains("unreachable", unreachable.Message, StringComparison.Ordinal);

        // Expired: a bound token past its exp (the API server rejects it; the check reads when it expired).
        var expired = FakeSailOperator.ServiceAccountJwt("istio-system", "meshfed-reader", "manual", DateTimeOffset.UtcNow.AddHours(-1));
        _clusters["cluster2"].Tokens[expired] = "system:serviceaccount:istio-system:meshfed-reader";
        SetRemoteSecret(Kubeconfig("cluster2", server2, _clusters["cluster2"].CaPem, expired));
        var old = One(await CheckAsync(set), "ISTIO.RemoteSecretUsable", "cluster1", "cluster2");
        Assert.Equal(CheckStatus.Fail, old.Status);
        Assert.Contains("expired at", old.Message, StringComparison.Ordinal);

        // A kubeconfig from a cluster never runs a program here, nor makes this machine send its own files.
        var marker = Path.Combine(_clusters.Directory, "exec-ran");
        var withExec = JsonNode.Parse(Kubeconfig("cluster2", server2, _clusters["cluster2"].CaPem, token))!;
        withExec["users"]![0]!["user"] = new JsonObject { ["exec"] = new JsonObject { ["apiVersion"] = "client.authentication.k8s.io/v1", ["command"] = "touch", ["args"] = new JsonArray(marker) } };
        SetRemoteSecret(withExec.ToJsonString());
        var exec = One(await CheckAsync(set), "ISTIO.RemoteSecretUsable", "cluster1", "cluster2");
        Assert.Equal(CheckStatus.Skip, exec.Status);
        Assert.Contains("exec credential plugin", exec.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
        withExec["users"]![0]!["user"] = JsonNode.Parse("""{"tokenFile":"/var/run/secrets/kubernetes.io/serviceaccount/token"}""");
        SetRemoteSecret(withExec.ToJsonString());
        Assert.Contains("local file (tokenFile)", One(await CheckAsync(set), "ISTIO.RemoteSecretUsable", "cluster1", "cluster2").Message, StringComparison.Ordinal);

        // An opaque token (not a JWT) works, but when it expires is not observed: a Warn that says so, never a Pass.
        _clusters["cluster2"].Tokens["opaque-reader-token-0123456789"] = "system:serviceaccount:istio-system:meshfed-reader";
        SetRemoteSecret(Kubeconfig("cluster2", server2, _clusters["cluster2"].CaPem, "opaque-reader-token-0123456789"));
        var opaque = One(await CheckAsync(set), "ISTIO.RemoteSecretUsable", "cluster1", "cluster2");
        Assert.Equal(CheckStatus.Warn, opaque.Status);
        Assert.Contains("when its token expires is not observed: it is not a JWT", opaque.Message, StringComparison.Ordinal);
        Assert.Contains("--take-over", opaque.Fix, StringComparison.Ordinal);

        // A client certificate: its expiry is observed from the certificate (valid 30 days here).
        var (certPem, keyPem) = _clusters.Pki.Client("admin");
        var withCert = JsonNode.Parse(Kubeconfig("cluster2", server2, _clusters["cluster2"].CaPem, token))!;
        withCert["users"]![0]!["user"] = new JsonObject
        {
            ["client-certificate-data"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(certPem)), ["client-key-data"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(keyPem)),
        };
        SetRemoteSecret(withCert.ToJsonString());
        var byCert = One(await CheckAsync(set), "ISTIO.RemoteSecretUsable", "cluster1", "cluster2");
        Assert.Equal(CheckStatus.Pass, byCert.Status);
        Assert.Contains("its client certificate expires at", byCert.Message, StringComparison.Ordinal);
        Assert.Contains("client certificate notAfter", string.Join(" ", byCert.Evidence.Select(e => e.Field)), StringComparison.Ordinal);

        // And a good one again: connects, may list.
        SetRemoteSecret(Kubeconfig("cluster2", server2, _clusters["cluster2"].CaPem, token));
        Assert.Equal(CheckStatus.Pass, One(await CheckAsync(set), "ISTIO.RemoteSecretUsable", "cluster1", "cluster2").Status);
        Assert.DoesNotContain(token, string.Join(" ", (await CheckAsync(set)).SelectMany(r => r.Evidence.Select(e => e.ToString()).Append(r.Message))), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Broken_live_Istio_state_fails_network_label_cacerts_east_west_address_and_failover_host()
    {
        var (set, _) = IstioStyleTests.Seed003WithCa();
        await ApplyAsync(set);
        var c2 = _clusters["cluster2"].Store;
        var ns = c2.Get(ResourceTypes.ByKind("v1", "Namespace")!, null, "istio-system", "v1")!;
        ns["metadata"]!["labels"]!["topology.istio.io/network"] = "network1";
        c2.Upsert(ns, "kubectl");
        c2.Delete(ResourceTypes.ByKind("v1", "Secret")!, "istio-system", "cacerts");
        // Someone turned the east-west gateway into a ClusterIP Service: nothing outside the cluster reaches it.
        var ew = c2.Get(ResourceTypes.ByKind("v1", "Service")!, "istio-system", "istio-eastwestgateway", "v1")!;
        ew["spec"]!["type"] = "ClusterIP";
        ew["status"] = new JsonObject { ["loadBalancer"] = new JsonObject() };
        c2.Upsert(ew, "kubectl");
        _clusters["cluster1"].Store.Delete(ResourceTypes.ByKind("v1", "Service")!, "sample", "helloworld");

        var results = await CheckAsync(set);
        var label = One(results, "ISTIO.NetworkLabel", "cluster2");
        Assert.Equal(CheckStatus.Fail, label.Status);
        Assert.Contains("labelled network network1 but the Istio resource says network2", label.Message, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Fail, One(results, "ISTIO.CaCerts", "cluster2").Status);
        Assert.Equal(CheckStatus.Fail, One(results, "ISTIO.EastWestGateway", "cluster2").Status);
        var failover = One(results, "ISTIO.FailoverHost", "cluster1");
        Assert.Equal(CheckStatus.Fail, failover.Status);
        Assert.Contains("does not exist in cluster1", failover.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Seed_004_global_ServiceEntries_are_compared_with_the_remote_gateway_s_current_address()
    {
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
        await ApplyAsync(set);

        var results = await CheckAsync(set);
        var entry = One(results, "ISTIO.GlobalServiceEntry", "cluster1");
        Assert.Equal(CheckStatus.Pass, entry.Status);
        Assert.Equal(CheckStatus.Pass, One(results, "ISTIO.VipUnique", "cluster1").Status);
        Assert.Equal(CheckStatus.Pass, One(results, "ISTIO.SharedRoot", "cluster1").Status);

        // The remote gateway moved; the ServiceEntry still points at the old address.
        var seType = ResourceTypes.ByKind("networking.istio.io/v1", "ServiceEntry")!;
        var se = _clusters["cluster1"].Store.Get(seType, "default", "echo-svc", "v1")!;
        var gateway = se["spec"]!["endpoints"]![0]!["address"]!.GetValue<string>();
        se["spec"]!["endpoints"]![0]!["address"] = "10.40.9.9";
        _clusters["cluster1"].Store.Upsert(se, "kubectl");
        var moved = One(await CheckAsync(set), "ISTIO.GlobalServiceEntry", "cluster1");
        Assert.Equal(CheckStatus.Fail, moved.Status);
        Assert.Contains("10.40.9.9", moved.Message, StringComparison.Ordinal);
        Assert.Contains(gateway, moved.Message, StringComparison.Ordinal);
    }
}
