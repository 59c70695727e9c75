using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.Engine.Live;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// Issue 12's five misses, each reproduced through meshfed's exit code (the CLI face; tests/pester/Checks.Tests.ps1 is
/// the PowerShell face) from upstream status shapes: the snapshot fixtures under tests/fixtures/snapshots (see their
/// SOURCE.md) and live test clusters.
/// </summary>
public sealed class CheckHonestyTests
{
    internal static string Fixture(string name) => Path.Combine(Paths.RepoRoot, "tests", "fixtures", "snapshots", name);

    /// <summary>A private copy of a fixture to break one thing in.</summary>
    internal static string CopyFixture(string name)
    {
        var to = Paths.TempDir();
        foreach (var file in Directory.GetFiles(Fixture(name), "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(Fixture(name), file);
            if (rel == "SOURCE.md") continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, rel))!);
            File.Copy(file, Path.Combine(to, rel));
        }
        return to;
    }

    internal static void Edit(string file, string from, string to)
    {
        var text = File.ReadAllText(file);
        Assert.True(text.Contains(from, StringComparison.Ordinal), $"{file} does not contain '{from}'");
        File.WriteAllText(file, text.Replace(from, to, StringComparison.Ordinal));
    }

    private static string Row(string table, string checkId, string mesh) =>
        table.Split('\n').FirstOrDefault(l => l.Contains(checkId, StringComparison.Ordinal) && l.Contains(mesh, StringComparison.Ordinal)) ?? "";

    // ---- item 1: Istio remote secrets are read, not assumed

    [Fact]
    public async Task Item1_live_a_deleted_remote_secret_fails_and_nothing_says_not_known_offline()
    {
        await using var clusters = await TestClusters.StartAsync("cluster1", "cluster2");
        var i = 1;
        foreach (var s in clusters.Servers)
        {
            _ = new FakeSailOperator(s, $"10.30.{i++}.");
            s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "sample" } }, "kubectl");
        }
        var kubeconfig = clusters.WriteKubeconfig();
        var (set, dir) = IstioStyleTests.Seed003WithCa();
        using (var conns = new ClusterConnections(TestSupport.Yaml, kubeconfig, TestClusters.Fast))
        {
            var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20), WaitTimeout = TimeSpan.FromSeconds(20) });
            await live.ApplyAsync(set, await live.PlanAsync(set, CancellationToken.None), _ => true, CancellationToken.None);
        }
        Assert.NotNull(clusters["cluster1"].Store.Delete(ResourceTypes.ByKind("v1", "Secret")!, "istio-system", "istio-remote-secret-cluster2"));

        var (code, table, err) = BadInputTests.Cli("check", Path.Combine(dir, "topology.yaml"), "--live", "--kubeconfig", kubeconfig);
        Assert.True(code == MeshfedApp.ExitCheckFailed, $"exit {code}\n{err}{table}");
        Assert.StartsWith("FAIL", Row(table, "ISTIO.RemoteSecretBothWays", "cluster1"), StringComparison.Ordinal);
        Assert.DoesNotContain("not known offline", table, StringComparison.Ordinal);
        Assert.DoesNotContain("ISTIO.LiveNotObserved", table, StringComparison.Ordinal);
    }

    [Fact]
    public void Item1_snapshot_without_the_remote_secret_fails()
    {
        var dir = CopyFixture("seed-003");
        Edit(Path.Combine(dir, "cluster1", "objects.yaml"), "istio-remote-secret-cluster2", "istio-remote-secret-retired");
        Edit(Path.Combine(dir, "cluster1", "objects.yaml"), "networking.istio.io/cluster: cluster2", "networking.istio.io/cluster: retired");
        Edit(Path.Combine(dir, "cluster1", "objects.yaml"), "    cluster2: ''", "    retired: ''");
        var rc = Path.Combine(dir, "cluster1", "remote-clusters.txt");
        File.WriteAllLines(rc, File.ReadAllLines(rc).Where(l => !l.StartsWith("cluster2", StringComparison.Ordinal)));
        var (code, table, err) = BadInputTests.Cli("check", "--snapshot", dir);
        Assert.True(code == MeshfedApp.ExitCheckFailed, $"exit {code}\n{err}{table}");
        Assert.Contains("ISTIO.RemoteSecretBothWays", table, StringComparison.Ordinal);
    }

    // ---- item 2: a snapshot that holds no mesh, or text instead of objects

    [Fact]
    public void Item2_a_disconnected_peer_without_its_control_plane_is_an_error_that_says_what_was_found()
    {
        var dir = Paths.TempDir();
        Directory.CreateDirectory(Path.Combine(dir, "mesh1"));
        File.WriteAllText(Path.Combine(dir, "mesh1", "peer.yaml"), """
            # oc -n mesh1-system get servicemeshpeer mesh2 -o yaml
            apiVersion: federation.maistra.io/v1
            kind: ServiceMeshPeer
            metadata:
              name: mesh2
              namespace: mesh1-system
            spec:
              remote:
                addresses: [192.168.127.11]
              gateways:
                ingress: {name: mesh2-ingress}
                egress: {name: mesh2-egress}
              security:
                trustDomain: mesh2.local
                clientID: mesh2.local/ns/mesh2-system/sa/mesh1-egress-service-account
            status:
              discoveryStatus:
                inactive:
                - pod: istiod-fed-export-59c5865775-bq9zl
                  watch:
                    connected: false
                    lastConnected: "2021-10-07T04:16:48Z"
                    lastDisconnect: "2021-10-07T04:20:11Z"
                    lastDisconnectStatus: 503 Service Unavailable
                    lastFullSync: "2021-10-07T04:16:48Z"
            """);
        var (code, table, err) = BadInputTests.Cli("check", "--snapshot", dir);
        Assert.True(code == MeshfedApp.ExitCheckFailed, $"exit {code}\n{err}{table}");
        Assert.Contains("ServiceMeshPeer mesh1-system/mesh2", err, StringComparison.Ordinal);
        Assert.Contains("no service mesh control plane", err, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Item2_table_text_in_a_snapshot_is_an_error_naming_the_file_and_the_command()
    {
        var dir = CopyFixture("seed-001");
        // What seed 001 shows for `oc -n blue-mesh-system get smcp`, saved instead of -o yaml.
        File.WriteAllText(Path.Combine(dir, "blue", "objects.yaml"), """
            NAME        READY   STATUS            PROFILES      VERSION   AGE
            blue-mesh   10/10   ComponentsReady   ["default"]   2.1.4     118s
            """);
        var (code, table, err) = BadInputTests.Cli("check", "--snapshot", dir);
        Assert.True(code == MeshfedApp.ExitBadInput, $"exit {code}\n{err}{table}");
        Assert.Contains(Path.Combine("blue", "objects.yaml"), err, StringComparison.Ordinal);
        Assert.Contains("-o yaml", err, StringComparison.Ordinal);
    }

    // ---- item 3: meshes whose control planes are named otherwise than their peers know them

    [Fact]
    public void Item3_seed_000_names_are_checked_in_full_and_a_wrong_client_ID_and_trust_domain_fail()
    {
        var dir = CopyFixture("seed-000");
        var (code, table, err) = BadInputTests.Cli("check", "--snapshot", dir, "--as-of", "2021-10-07T04:17:00Z");
        Assert.True(code == MeshfedApp.ExitOk, $"exit {code}\n{err}{table}");
        Assert.StartsWith("PASS", Row(table, "OSSM2.PeerIdentity", "fed-export"), StringComparison.Ordinal);
        Assert.StartsWith("PASS", Row(table, "OSSM2.PeerRootCertificate", "fed-import"), StringComparison.Ordinal);

        Edit(Path.Combine(dir, "mesh1", "objects.yaml"), "trustDomain: mesh2.local", "trustDomain: cluster.local");
        Edit(Path.Combine(dir, "mesh1", "objects.yaml"), "clientID: mesh2.local/ns/mesh2-system/sa/mesh1-egress-service-account", "clientID: mesh2.local/ns/mesh2-system/sa/default");
        (code, table, err) = BadInputTests.Cli("check", "--snapshot", dir, "--as-of", "2021-10-07T04:17:00Z");
        Assert.True(code == MeshfedApp.ExitCheckFailed, $"exit {code}\n{err}{table}");
        var row = Row(table, "OSSM2.PeerIdentity", "fed-export");
        Assert.StartsWith("FAIL", row, StringComparison.Ordinal);
        Assert.Contains("mesh1-egress-service-account", row, StringComparison.Ordinal);
    }

    // ---- item 4: the peer's address is compared with the remote gateway's real address

    [Fact]
    public async Task Item4_live_a_peer_address_that_is_not_the_remote_gateway_fails_showing_both()
    {
        await using var clusters = await TestClusters.StartAsync("blue", "green");
        var i = 3;
        FakeOssm2Operator? greenOperator = null;
        foreach (var s in clusters.Servers)
        {
            var op = new FakeOssm2Operator(s, $"10.19.{i++}.");
            if (s.Name == "green") greenOperator = op;
            s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "nfs-app-istio" } }, "oc");
        }
        _ = new FakeFederationController(clusters.Servers.ToArray());
        var kubeconfig = clusters.WriteKubeconfig();
        var topology = Path.Combine(clusters.Directory, "seed-001.yaml");
        File.WriteAllText(topology, LiveFederationTests.Seed001Live());
        using (var conns = new ClusterConnections(TestSupport.Yaml, kubeconfig, TestClusters.Fast))
        {
            var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20) });
            var set = TestSupport.LoadText(LiveFederationTests.Seed001Live(), "seed-001.yaml");
            await live.ApplyAsync(set, await live.PlanAsync(set, CancellationToken.None), _ => true, CancellationToken.None);
        }
        var (code, table, err) = BadInputTests.Cli("check", topology, "--live", "--kubeconfig", kubeconfig);
        Assert.True(code == MeshfedApp.ExitOk, $"exit {code}\n{err}{table}");

        // Someone points blue's peer at an old address; green's gateway still has its own.
        var smp = ResourceTypes.ByKind("federation.maistra.io/v1", "ServiceMeshPeer")!;
        var peer = clusters["blue"].Store.Get(smp, "blue-mesh-system", "green-mesh", "v1")!;
        peer["spec"]!["remote"]!["addresses"] = new JsonArray("10.19.9.99");
        clusters["blue"].Store.Upsert(peer, "oc");
        (code, table, err) = BadInputTests.Cli("check", topology, "--live", "--kubeconfig", kubeconfig);
        Assert.True(code == MeshfedApp.ExitCheckFailed, $"exit {code}\n{err}{table}");
        var gatewayAddress = greenOperator!.AddressOf("ingress-blue-mesh");
        Assert.Contains(table.Split('\n'), l => l.StartsWith("FAIL", StringComparison.Ordinal) && l.Contains("10.19.9.99", StringComparison.Ordinal) && l.Contains(gatewayAddress, StringComparison.Ordinal));
    }

    [Fact]
    public void Item4_snapshot_peer_address_differs_from_the_remote_LoadBalancer()
    {
        var dir = CopyFixture("seed-001");
        Edit(Path.Combine(dir, "blue", "objects.yaml"), "      - 10.19.3.30\n", "      - 10.19.3.31\n");
        var (code, table, err) = BadInputTests.Cli("check", "--snapshot", dir, "--as-of", "2022-08-02T13:32:00Z");
        Assert.True(code == MeshfedApp.ExitCheckFailed, $"exit {code}\n{err}{table}");
        Assert.Contains(table.Split('\n'), l => l.StartsWith("FAIL", StringComparison.Ordinal) && l.Contains("10.19.3.31", StringComparison.Ordinal) && l.Contains("10.19.3.30", StringComparison.Ordinal));
    }

    // ---- item 5: sync age against Maistra's 60 s resync, and the evidence of a watch that is down

    [Fact]
    public void Item5_a_full_sync_five_hours_old_fails()
    {
        var dir = CopyFixture("seed-001");
        var (code, table, err) = BadInputTests.Cli("check", "--snapshot", dir, "--as-of", "2022-08-02T13:32:00Z");
        Assert.True(code == MeshfedApp.ExitOk, $"exit {code}\n{err}{table}");
        (code, table, err) = BadInputTests.Cli("check", "--snapshot", dir, "--as-of", "2022-08-02T18:31:48Z");
        Assert.True(code == MeshfedApp.ExitCheckFailed, $"exit {code}\n{err}{table}");
        Assert.StartsWith("FAIL", Row(table, "OSSM2.PeerSyncAge", "blue-mesh"), StringComparison.Ordinal);
    }

    [Fact]
    public void Item5_a_watch_that_is_down_shows_its_last_disconnect_status_in_the_evidence()
    {
        var dir = CopyFixture("seed-001");
        var green = Path.Combine(dir, "green", "objects.yaml");
        var text = File.ReadAllText(green);
        var start = text.IndexOf("  status:\n    discoveryStatus:", StringComparison.Ordinal);
        Assert.True(start > 0);
        var end = text.IndexOf("\n- ", start, StringComparison.Ordinal);
        var inactive = string.Join('\n',
            "  status:",
            "    discoveryStatus:",
            "      inactive:",
            "      - pod: istiod-green-mesh-594f485c4c-7k57m",
            "        remotes:",
            "        - connected: true",
            "          lastConnected: '2022-08-01T18:02:15Z'",
            "          lastFullSync: '2022-08-02T13:30:26Z'",
            "          source: 10.132.1.10",
            "        watch:",
            "          connected: false",
            "          lastConnected: '2022-08-01T18:01:48Z'",
            "          lastDisconnect: '2022-08-02T13:31:02Z'",
            "          lastDisconnectStatus: 503 Service Unavailable",
            "          lastFullSync: '2022-08-02T13:30:48Z'");
        File.WriteAllText(green, text[..start] + inactive + (end < 0 ? "\n" : text[end..]));
        var (code, json, err) = BadInputTests.Cli("check", "--snapshot", dir, "--as-of", "2022-08-02T13:32:00Z", "--output", "json");
        Assert.True(code == MeshfedApp.ExitCheckFailed, $"exit {code}\n{err}{json}");
        var connected = JsonNode.Parse(json)!.AsArray().OfType<JsonObject>()
            .Single(r => r["CheckId"]!.GetValue<string>() == "OSSM2.PeerConnected" && r["Mesh"]!.GetValue<string>() == "green-mesh");
        Assert.Equal("Fail", connected["Status"]!.GetValue<string>());
        Assert.Contains("503 Service Unavailable", connected["Evidence"]!.ToJsonString(), StringComparison.Ordinal);
    }
}
