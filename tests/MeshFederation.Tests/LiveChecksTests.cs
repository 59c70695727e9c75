using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>The checks against test API servers (with stand-ins for the operator and istiod), and the network probes.</summary>
public sealed class LiveChecksTests : IAsyncLifetime
{
    private TestClusters _clusters = null!;
    private FakeFederationController _istiod = null!;
    private string _kubeconfig = "";

    public async Task InitializeAsync()
    {
        _clusters = await TestClusters.StartAsync("blue", "green");
        var i = 3;
        foreach (var s in _clusters.Servers)
        {
            _ = new FakeOssm2Operator(s, $"10.19.{i++}.");
            s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "nfs-app-istio" } }, "oc");
        }
        _istiod = new FakeFederationController(_clusters.Servers.ToArray());
        _kubeconfig = _clusters.WriteKubeconfig();
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast);
        var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20) });
        var set = Set();
        await live.ApplyAsync(set, await live.PlanAsync(set, CancellationToken.None), _ => true, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _clusters.DisposeAsync();

    private static FederationSet Set() => TestSupport.LoadText(LiveFederationTests.Seed001Live(), "seed-001.yaml");

    private async Task<IReadOnlyList<MeshCheckResult>> CheckAsync(FederationSet? intended = null)
    {
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast);
        return await MeshChecks.RunLiveAsync(intended ?? Set(), new[] { new ClusterBinding("blue"), new ClusterBinding("green") }, conns, new CheckOptions(), false, null, CancellationToken.None);
    }

    [Fact]
    public async Task A_federation_applied_live_passes_every_check()
    {
        var results = await CheckAsync();
        Assert.All(results, r => Assert.True(r.Status == CheckStatus.Pass, r.ToString()));
        Assert.Contains(results, r => r.CheckId == "OSSM2.ImportResolved" && r.Message.Contains("blue-dokuwiki.nfs-app-istio.svc.blue-mesh-imports.local", StringComparison.Ordinal));
        Assert.Contains(results, r => r.CheckId == "OSSM2.ExportActive" && r.Status == CheckStatus.Pass);
        Assert.Contains(results, r => r.CheckId == "OSSM2.PeerConnected" && r.Mesh == "green-mesh");
    }

    [Fact]
    public async Task A_broken_link_and_a_missing_peer_fail_and_every_check_still_runs()
    {
        _istiod.Broken.Add(("blue-mesh", "green-mesh"));
        _istiod.Reconcile();
        _clusters["green"].Store.Delete(ResourceTypes.ByKind("v1", "ConfigMap")!, "green-mesh-system", "blue-mesh-ca-root-cert");
        var results = await CheckAsync();
        Assert.Equal(CheckStatus.Fail, results.Single(r => r.CheckId == "OSSM2.PeerConnected" && r.Mesh == "blue-mesh").Status);
        Assert.Equal(CheckStatus.Fail, results.Single(r => r.CheckId == "OSSM2.PeerRootCertificate" && r.Mesh == "green-mesh").Status);
        Assert.Equal(CheckStatus.Pass, results.Single(r => r.CheckId == "OSSM2.PeerRootCertificate" && r.Mesh == "blue-mesh").Status);
        Assert.True(results.Count(r => r.CheckId == "OSSM2.ControlPlaneReady") == 2);
    }

    [Fact]
    public void The_CLI_checks_live_and_from_a_snapshot_that_kubectl_saved()
    {
        var topology = Path.Combine(_clusters.Directory, "seed-001.yaml");
        File.WriteAllText(topology, LiveFederationTests.Seed001Live());
        var (code, json, err) = BadInputTests.Cli("check", topology, "--live", "--kubeconfig", _kubeconfig, "--output", "json");
        Assert.True(code == MeshfedApp.ExitOk, err + json);
        Assert.DoesNotContain("\"Status\": \"Fail\"", json, StringComparison.Ordinal);

        // Support staff's view: what kubectl saved from each cluster, checked offline.
        var snapshot = Path.Combine(_clusters.Directory, "snapshot");
        foreach (var cluster in new[] { "blue", "green" })
        {
            Directory.CreateDirectory(Path.Combine(snapshot, cluster));
            var (kc, saved) = ExternalTools.Run("kubectl", $"--kubeconfig {_kubeconfig} --context {cluster} get servicemeshcontrolplanes,servicemeshpeers,exportedservicesets,importedservicesets,configmaps,services,pods,nodes -A -o yaml");
            Assert.True(kc == 0, saved);
            File.WriteAllText(Path.Combine(snapshot, cluster, "objects.yaml"), saved);
        }
        (code, var table, err) = BadInputTests.Cli("check", "--snapshot", snapshot);
        Assert.True(code == MeshfedApp.ExitOk, err + table);
        Assert.Contains("OSSM2.PeerConnected", table, StringComparison.Ordinal);
        Assert.Matches(@"\d+ passed, 0 failed", table);

        _istiod.Broken.Add(("blue-mesh", "green-mesh"));
        _istiod.Reconcile();
        (code, _, _) = BadInputTests.Cli("check", "--context", "blue", "--context", "green", "--kubeconfig", _kubeconfig);
        Assert.Equal(MeshfedApp.ExitCheckFailed, code);
        Assert.Equal(MeshfedApp.ExitBadInput, BadInputTests.Cli("check").Code);
    }

    [Fact]
    public async Task Probes_connect_and_see_TLS_on_discovery_and_fail_on_a_closed_port()
    {
        using var pki = new TestPki("gateway");
        using var cert = pki.Server();
        var tls = new TcpListener(IPAddress.Loopback, 0);
        var tcp = new TcpListener(IPAddress.Loopback, 0);
        tls.Start();
        tcp.Start();
        using var stop = new CancellationTokenSource();
        _ = Task.Run(async () =>
        {
            // An ingress gateway's discovery port: TLS that insists on a client certificate, as ISTIO_MUTUAL does.
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var c = await tls.AcceptTcpClientAsync(stop.Token);
                    using var ssl = new SslStream(c.GetStream());
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = cert, ClientCertificateRequired = true, RemoteCertificateValidationCallback = (_, x, _, _) => x is not null }, stop.Token);
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException or SocketException) { }
            }
        });
        _ = Task.Run(async () => { while (!stop.IsCancellationRequested) { try { (await tcp.AcceptTcpClientAsync(stop.Token)).Dispose(); } catch (Exception) { return; } } });
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var closedPort = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var smp = JsonNode.Parse($$$$"""
            {"apiVersion":"federation.maistra.io/v1","kind":"ServiceMeshPeer","metadata":{"name":"green-mesh","namespace":"blue-mesh-system"},
             "spec":{"remote":{"addresses":["127.0.0.1"],"discoveryPort":{{{{((IPEndPoint)tls.LocalEndpoint).Port}}}},"servicePort":{{{{((IPEndPoint)tcp.LocalEndpoint).Port}}}}}}}
            """)!.AsObject();
        var smcp = JsonNode.Parse("""{"apiVersion":"maistra.io/v2","kind":"ServiceMeshControlPlane","metadata":{"name":"blue-mesh","namespace":"blue-mesh-system"}}""")!.AsObject();
        var mesh = new ObservedMesh { Cluster = "blue", ControlPlane = smcp };
        mesh.Peers.Add(smp);
        var results = await MeshChecks.ProbeAsync(new[] { mesh }, TimeSpan.FromSeconds(3), CancellationToken.None);
        var discovery = results.Single(r => r.CheckId == "OSSM2.ProbeDiscovery");
        Assert.Equal(CheckStatus.Pass, discovery.Status);
        Assert.Contains(discovery.Evidence, e => e.Value!.Contains("subject=CN=kube-apiserver", StringComparison.Ordinal));
        Assert.Equal(CheckStatus.Pass, results.Single(r => r.CheckId == "OSSM2.ProbeService").Status);

        smp["spec"]!["remote"]!["discoveryPort"] = closedPort;
        smp["spec"]!["remote"]!["servicePort"] = ((IPEndPoint)tcp.LocalEndpoint).Port; // TCP only, no TLS here
        results = await MeshChecks.ProbeAsync(new[] { mesh }, TimeSpan.FromSeconds(3), CancellationToken.None);
        Assert.Equal(CheckStatus.Fail, results.Single(r => r.CheckId == "OSSM2.ProbeDiscovery").Status);
        smp["spec"]!["remote"]!["discoveryPort"] = ((IPEndPoint)tcp.LocalEndpoint).Port;
        smp["spec"]!["remote"]!["servicePort"] = closedPort;
        results = await MeshChecks.ProbeAsync(new[] { mesh }, TimeSpan.FromSeconds(3), CancellationToken.None);
        Assert.Equal(CheckStatus.Fail, results.Single(r => r.CheckId == "OSSM2.ProbeService").Status);
        var notTls = results.Single(r => r.CheckId == "OSSM2.ProbeDiscovery");
        Assert.Equal(CheckStatus.Fail, notTls.Status);
        Assert.Contains("no TLS server answered", notTls.Message, StringComparison.Ordinal);
        stop.Cancel();
        tls.Stop();
        tcp.Stop();
    }
}
