using System.Text.Json.Nodes;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>Live apply, re-apply, waiting, pruning, removal and discovery against test API servers.</summary>
public sealed class LiveFederationTests : Ossm2ClustersTest
{
    public LiveFederationTests() : base("blue", "green", "red") { }

    /// <summary>Seed 001 without the addresses: they are read from the clusters.</summary>
    internal static string Seed001Live() =>
        string.Join('\n', File.ReadAllLines(Paths.Example("seed-001-blue-green.yaml")).Where(l => !l.Contains("ingressAddresses", StringComparison.Ordinal) && !l.Contains("LoadBalancer IP of blue", StringComparison.Ordinal)));

    private (LiveFederation Live, ClusterConnections Connections) Live(RecordingLog? log = null, LiveOptions? options = null)
    {
        var conns = new ClusterConnections(TestSupport.Yaml, KubeconfigPath, TestClusters.Fast, log);
        return (new LiveFederation(conns, options ?? new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(50), WaitTimeout = TimeSpan.FromSeconds(20) }, log), conns);
    }

    private static FederationSet Load(string text) => TestSupport.LoadText(text, "live.yaml");

    private static async Task<IReadOnlyList<ApplyOutcome>> Apply(LiveFederation live, FederationSet set)
    {
        var plan = await live.PlanAsync(set, CancellationToken.None);
        return await live.ApplyAsync(set, plan, _ => true, CancellationToken.None);
    }

    [Fact]
    public async Task Seed_001_live_end_to_end_reads_roots_and_addresses_and_a_second_apply_changes_nothing()
    {
        var log = new RecordingLog();
        var (live, conns) = Live(log);
        using var _ = conns;
        var set = Load(Seed001Live());
        var plan = await live.PlanAsync(set, CancellationToken.None);
        Assert.Contains(plan.Items, i => i.Deferred && i.Kind == "ServiceMeshPeer");
        Assert.Contains(plan.Items, i => i.Deferred && i.Kind == "ConfigMap" && i.Name == "blue-mesh-ca-root-cert");
        Assert.All(plan.Items, i => Assert.NotEqual(PlanAction.Delete, i.Action));
        var outcomes = await live.ApplyAsync(set, plan, _ => true, CancellationToken.None);
        Assert.All(outcomes, o => Assert.True(o.Done, o.ToString()));

        // What kubectl reads back is what the seed's manual steps would have produced.
        var (code, address) = Kubectl("green", "get servicemeshpeer -n green-mesh-system blue-mesh -o jsonpath={.spec.remote.addresses[0]}");
        Assert.True(code == 0, address);
        Assert.Equal(Clusters.Operators["blue"].AddressOf("ingress-green-mesh"), address.Trim());
        var (code2, root) = Kubectl("green", "get configmap -n green-mesh-system blue-mesh-ca-root-cert -o jsonpath={.data.root-cert\\.pem}");
        Assert.True(code2 == 0, root);
        Assert.Equal(Clusters.Operators["blue"].RootOf("blue-mesh").Trim(), root.Trim());
        Assert.Equal("green-mesh.local/ns/green-mesh-system/sa/egress-blue-mesh-service-account",
            Kubectl("blue", "get servicemeshpeer -n blue-mesh-system green-mesh -o jsonpath={.spec.security.clientID}").Output.Trim());
        Assert.Contains("blue-dokuwiki.nfs-app-istio.svc.blue-mesh-imports.local",
            Kubectl("green", "get virtualservice -n nfs-app-istio dokuwiki -o json").Output, StringComparison.Ordinal);

        // Progress: a parent activity that completes.
        Assert.Contains(log.ProgressUpdates, p => p.ParentActivityId is null && p.Completed);

        // Second apply: nothing to do, nothing written.
        var writes = Clusters.Servers.Sum(s => s.Store.Writes);
        var again = await live.PlanAsync(set, CancellationToken.None);
        Assert.All(again.Items, i => Assert.Equal(PlanAction.Unchanged, i.Action));
        await live.ApplyAsync(set, again, _ => true, CancellationToken.None);
        Assert.Equal(writes, Clusters.Servers.Sum(s => s.Store.Writes));
        // The operator's status (status subresource) survives our applies.
        var smcp = JsonNode.Parse(Kubectl("blue", "get smcp -n blue-mesh-system blue-mesh -o json").Output)!;
        Assert.Contains(smcp["status"]!["conditions"]!.AsArray(), c => c!["type"]!.GetValue<string>() == "Ready" && c["status"]!.GetValue<string>() == "True");
        Assert.DoesNotContain(TestClusters.Token, log.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_waits_for_control_planes_to_be_ready_with_progress()
    {
        foreach (var o in Clusters.Operators.Values) o.ReadyDelay = TimeSpan.FromMilliseconds(600);
        var log = new RecordingLog();
        var (live, conns) = Live(log);
        using var _ = conns;
        var set = Load(Seed001Live());
        await Apply(live, set);
        Assert.Contains(log.ProgressUpdates, p => p.ParentActivityId == 1 && p.Status.Contains("not ready", StringComparison.Ordinal));
        Assert.Contains(log.ProgressUpdates, p => p.ParentActivityId == 1 && p.Completed);
        Assert.NotNull(Clusters["green"].Store.Get(ResourceTypes.ByKind("v1", "ConfigMap")!, "green-mesh-system", "blue-mesh-ca-root-cert", "v1"));
    }

    [Fact]
    public async Task A_gateway_that_never_gets_an_address_times_out_with_a_clear_message()
    {
        Clusters.Operators["blue"].AssignLoadBalancerAddresses = false;
        var (live, conns) = Live(options: new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(50), WaitTimeout = TimeSpan.FromMilliseconds(500) });
        using var _ = conns;
        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => Apply(live, Load(Seed001Live())));
        Assert.Contains("ServiceMeshPeer green-mesh-system/blue-mesh", ex.Message, StringComparison.Ordinal);
        Assert.Contains("LoadBalancer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThreeClusters_apply_reapply_and_remove()
    {
        const string topology = "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n"
            + "  - {name: blue-mesh, cluster: blue}\n  - {name: green-mesh, cluster: green}\n  - {name: red-mesh, cluster: red}\npeerings: all\n";
        var (live, conns) = Live();
        using var _ = conns;
        var set = Load(topology);
        await Apply(live, set);
        foreach (var s in Clusters.Servers)
            Assert.Equal(2, s.Store.List(ResourceTypes.ByKind("federation.maistra.io/v1", "ServiceMeshPeer")!, null, null, "v1").Count);
        var again = await live.PlanAsync(set, CancellationToken.None);
        Assert.False(again.HasChanges, again.ToString());

        var removal = await live.PlanRemovalAsync(set, CancellationToken.None);
        Assert.All(removal.Items, i => Assert.Equal(PlanAction.Delete, i.Action));
        await live.ApplyAsync(set, removal, _ => true, CancellationToken.None);
        foreach (var s in Clusters.Servers)
        {
            Assert.DoesNotContain(s.Store.All(), o => o["metadata"]?["labels"]?["app.kubernetes.io/managed-by"]?.GetValue<string>() == "meshfederation");
            Assert.Empty(s.Store.List(ResourceTypes.ByKind("maistra.io/v2", "ServiceMeshControlPlane")!, null, null, "v2"));
        }
        // Idempotent: removing again finds nothing.
        Assert.Empty((await live.PlanRemovalAsync(set, CancellationToken.None)).Items);
    }

    [Fact]
    public async Task An_object_gone_before_removal_reaches_it_is_reported_deleted_already_gone_and_done()
    {
        var (live, conns) = Live();
        using var _ = conns;
        var set = Load(Seed001Live());
        await Apply(live, set);
        var removal = await live.PlanRemovalAsync(set, CancellationToken.None);
        var peer = removal.Items.First(i => i.Kind == "ServiceMeshPeer" && i.Cluster == "blue");
        // Gone meanwhile (as the garbage collector takes an object with its owner, or someone else deletes it).
        Assert.NotNull(Clusters["blue"].Store.Delete(ResourceTypes.ByKind(peer.ApiVersion, peer.Kind)!, peer.Namespace, peer.Name));
        var outcomes = await live.ApplyAsync(set, removal, _ => true, CancellationToken.None);
        var gone = outcomes.Single(o => o.Item.Kind == "ServiceMeshPeer" && o.Item.Cluster == "blue" && o.Item.Name == peer.Name);
        Assert.True(gone.Done);
        Assert.Equal(OutcomeState.Deleted, gone.State);
        Assert.Equal("already gone", gone.Reason);
        Assert.EndsWith("(already gone)", gone.ToString(), StringComparison.Ordinal);
        Assert.All(outcomes, o => Assert.True(o.Done, o.ToString()));
    }

    [Fact]
    public async Task Removal_deletes_exactly_what_this_module_created_and_nothing_else()
    {
        var (live, conns) = Live();
        using var _ = conns;
        var set = Load(Seed001Live());
        await Apply(live, set);
        var store = Clusters["blue"].Store;
        // Someone else's objects: one in our control-plane namespace, one in an app namespace, one with our label but another mesh.
        store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = "team-settings", ["namespace"] = "blue-mesh-system" }, ["data"] = new JsonObject { ["a"] = "b" } });
        store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = "app", ["namespace"] = "nfs-app-istio" } });
        store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = "other-mesh-cm", ["namespace"] = "nfs-app-istio",
            ["labels"] = new JsonObject { ["app.kubernetes.io/managed-by"] = "meshfederation", ["federation.meshfederation.io/mesh"] = "purple-mesh" } } });
        var log = new RecordingLog();
        var (live2, conns2) = Live(log);
        using var __ = conns2;
        var removal = await live2.PlanRemovalAsync(set, CancellationToken.None);
        Assert.DoesNotContain(removal.Items, i => i.Name is "team-settings" or "app" or "other-mesh-cm" or "istio-ca-root-cert");
        await live2.ApplyAsync(set, removal, _ => true, CancellationToken.None);
        var cm = ResourceTypes.ByKind("v1", "ConfigMap")!;
        Assert.NotNull(store.Get(cm, "blue-mesh-system", "team-settings", "v1"));
        Assert.NotNull(store.Get(cm, "nfs-app-istio", "app", "v1"));
        Assert.NotNull(store.Get(cm, "nfs-app-istio", "other-mesh-cm", "v1"));
        Assert.Contains("kept namespace blue-mesh-system", log.Text, StringComparison.Ordinal);
        // green had nothing foreign: its namespace (ours) is gone with everything in it.
        Assert.Null(Clusters["green"].Store.Get(ResourceTypes.ByKind("v1", "Namespace")!, null, "green-mesh-system", "v1"));
        Assert.DoesNotContain(Clusters["green"].Store.All(), o => o["metadata"]?["namespace"]?.GetValue<string>() == "green-mesh-system");
    }

    [Fact]
    public async Task Objects_dropped_from_theTopologyPath_are_pruned_on_the_next_apply()
    {
        var (live, conns) = Live(options: new LiveOptions { Prune = true, PollInterval = TimeSpan.FromMilliseconds(50), WaitTimeout = TimeSpan.FromSeconds(20) });
        using var _ = conns;
        var text = Seed001Live();
        await Apply(live, Load(text));
        var withoutRoute = text[..text.IndexOf("trafficSplits:", StringComparison.Ordinal)];
        // Pruning is asked for (-Prune, --prune): without it nothing is deleted.
        var (keeping, conns2) = Live();
        using var __ = conns2;
        Assert.DoesNotContain((await keeping.PlanAsync(Load(withoutRoute), CancellationToken.None)).Items, i => i.Action == PlanAction.Delete);
        var plan = await live.PlanAsync(Load(withoutRoute), CancellationToken.None);
        var delete = Assert.Single(plan.Items, i => i.Action == PlanAction.Delete);
        Assert.Equal(("VirtualService", "dokuwiki"), (delete.Kind, delete.Name));
        await live.ApplyAsync(Load(withoutRoute), plan, _ => true, CancellationToken.None);
        Assert.Empty(Clusters["green"].Store.List(ResourceTypes.ByKind("networking.istio.io/v1beta1", "VirtualService")!, null, null, "v1beta1"));
    }

    [Fact]
    public async Task A_missing_operator_is_reported_before_anything_changes()
    {
        Clusters["green"].HiddenGroups.Add("maistra.io");
        Clusters["green"].HiddenGroups.Add("federation.maistra.io");
        var (live, conns) = Live();
        using var _ = conns;
        var writes = Clusters.Servers.Sum(s => s.Store.Writes);
        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => live.PlanAsync(Load(Seed001Live()), CancellationToken.None));
        Assert.Contains("cluster 'green'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ServiceMeshControlPlane (maistra.io/v2)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("OpenShift Service Mesh 2 operator", ex.Message, StringComparison.Ordinal);
        Assert.Equal(writes, Clusters.Servers.Sum(s => s.Store.Writes));
    }

    [Fact]
    public async Task A_missing_application_namespace_is_reported_before_anything_changes()
    {
        Clusters["green"].Store.Purge(ResourceTypes.ByKind("v1", "Namespace")!, null, "nfs-app-istio");
        var (live, conns) = Live();
        using var _ = conns;
        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => live.PlanAsync(Load(Seed001Live()), CancellationToken.None));
        Assert.Contains("namespace = 'nfs-app-istio'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("VirtualService nfs-app-istio/dokuwiki", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Conflicting_fields_of_another_manager_fail_unless_forced()
    {
        var (live, conns) = Live();
        using var _ = conns;
        var set = Load(Seed001Live());
        await Apply(live, set);
        var smcpType = ResourceTypes.ByKind("maistra.io/v2", "ServiceMeshControlPlane")!;
        Clusters["blue"].Store.Apply(smcpType, "blue-mesh-system", "blue-mesh",
            JsonNode.Parse("""{"apiVersion":"maistra.io/v2","kind":"ServiceMeshControlPlane","metadata":{"name":"blue-mesh","namespace":"blue-mesh-system"},"spec":{"version":"v2.6"}}""")!.AsObject(),
            "v2", "console-user", force: true, status: false);
        var plan = await live.PlanAsync(set, CancellationToken.None);
        Assert.Contains(plan.Items, i => i.Action == PlanAction.Update && i.Kind == "ServiceMeshControlPlane" && i.Reason.Contains(".spec.version", StringComparison.Ordinal));
        var ex = await Assert.ThrowsAsync<LiveFederationException>(() => live.ApplyAsync(set, plan, _ => true, CancellationToken.None));
        Assert.Contains("console-user", ex.Message, StringComparison.Ordinal);
        var (forced, conns2) = Live(options: new LiveOptions { ForceConflicts = true });
        using var __ = conns2;
        await Apply(forced, set);
        Assert.Equal("v2.1", Clusters["blue"].Store.Get(smcpType, "blue-mesh-system", "blue-mesh", "v2")!["spec"]!["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task Only_approved_items_are_applied()
    {
        var (live, conns) = Live();
        using var _ = conns;
        var set = Load(Seed001Live());
        var plan = await live.PlanAsync(set, CancellationToken.None);
        var outcomes = await live.ApplyAsync(set, plan, i => i.Kind == "Namespace", CancellationToken.None);
        Assert.All(outcomes, o => Assert.Equal("Namespace", o.Item.Kind));
        Assert.Empty(Clusters["blue"].Store.List(ResourceTypes.ByKind("maistra.io/v2", "ServiceMeshControlPlane")!, null, null, "v2"));
    }

    [Fact]
    public async Task Existing_control_planes_are_discovered_as_the_same_objects()
    {
        var (live, conns) = Live();
        using var _ = conns;
        var set = Load(Seed001Live());
        await Apply(live, set);
        // A Sail-operator mesh and a plain istiod in the third cluster.
        var red = Clusters["red"].Store;
        red.Upsert(JsonNode.Parse("""{"apiVersion":"sailoperator.io/v1","kind":"Istio","metadata":{"name":"default"},"spec":{"version":"v1.27.3","namespace":"istio-system","values":{"meshConfig":{"trustDomain":"red.local"}}}}""")!.AsObject());
        red.Upsert(JsonNode.Parse("""{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"istiod","namespace":"legacy-istio","labels":{"app":"istiod"}},"spec":{"template":{"spec":{"containers":[{"name":"discovery","image":"docker.io/istio/pilot:1.22.3"}]}}}}""")!.AsObject());
        var found = await MeshDiscovery.DiscoverAsync(conns, new[] { new ClusterBinding("blue"), new ClusterBinding("green"), new ClusterBinding("red") }, null, CancellationToken.None);
        var blue = Assert.Single(found, c => c.Name == "blue-mesh");
        Assert.Equal(("blue-mesh-system", "blue-mesh.local", "v2.1", MeshProvider.OpenShiftServiceMesh2), (blue.Namespace, blue.TrustDomain, blue.Version, blue.Provider));
        Assert.Equal(new[] { "nfs-app-istio" }, blue.MemberNamespaces);
        Assert.Equal("ingress-{peer}", blue.IngressGatewayTemplate);
        Assert.True(blue.Discovered);
        var sail = Assert.Single(found, c => c.Provider == MeshProvider.SailOperator);
        Assert.Equal(("red-istio-system-default", "red.local", MeshStyle.MultiPrimary), (sail.Name, sail.TrustDomain, sail.Style));
        var istiod = Assert.Single(found, c => c.Provider == MeshProvider.Istiod);
        Assert.Equal(("legacy-istio", "1.22.3"), (istiod.Namespace, istiod.Version));

        // Discovered OSSM 2 meshes join a pipeline: peering them renders the same peers as the topology did.
        var discovered = found.Where(c => c.Provider == MeshProvider.OpenShiftServiceMesh2).ToList();
        var peers = Factory.Peerings(discovered);
        var rendered = Ossm2Renderer.Render(FederationSet.From(discovered.Cast<object>().Concat(peers)));
        var peer = rendered.AllManifests.Single(m => m.Kind == "ServiceMeshPeer" && m.Mesh == "green-mesh");
        Assert.Equal("blue-mesh.local/ns/blue-mesh-system/sa/egress-green-mesh-service-account", peer.Content["spec"]!["security"]!["clientID"]!.GetValue<string>());
    }
}

/// <summary>Seed 000 live: NodePort gateways behind a proxy, applied and uninstalled.</summary>
public sealed class LiveSeed000Tests
{
    [Fact]
    public async Task Seed_000_applies_NodePort_services_points_peers_at_the_proxy_and_uninstalls()
    {
        await using var clusters = await TestClusters.StartAsync("mesh1", "mesh2");
        foreach (var s in clusters.Servers) _ = new FakeOssm2Operator(s, s.Name == "mesh1" ? "192.168.126." : "192.168.127.");
        using var conns = new ClusterConnections(TestSupport.Yaml, clusters.WriteKubeconfig(), TestClusters.Fast);
        var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20) });
        var set = TestSupport.LoadExample("seed-000-nodeport-shared-host.yaml");
        var plan = await live.PlanAsync(set, CancellationToken.None);
        var outcomes = await live.ApplyAsync(set, plan, _ => true, CancellationToken.None);
        Assert.All(outcomes, o => Assert.True(o.Done, o.ToString()));

        var svc = clusters["mesh1"].Store.Get(ResourceTypes.ByKind("v1", "Service")!, "mesh1-system", "mesh2-ingress-nodeport", "v1")!;
        var proxy = set.ProxyConfigs.Single();
        var map = proxy.Find("mesh1", "mesh2", MeshFederation.Engine.Proxy.FederationPortKind.Service)!;
        Assert.Contains(svc["spec"]!["ports"]!.AsArray(), p => p!["nodePort"]!.GetValue<int>() == map.NodePort);
        var peer = clusters["mesh2"].Store.Get(ResourceTypes.ByKind("federation.maistra.io/v1", "ServiceMeshPeer")!, "mesh2-system", "mesh1", "v1")!;
        Assert.Equal("192.168.122.1", peer["spec"]!["remote"]!["addresses"]![0]!.GetValue<string>());
        Assert.Equal(map.FrontendPort, peer["spec"]!["remote"]!["servicePort"]!.GetValue<int>());

        Assert.False((await live.PlanAsync(set, CancellationToken.None)).HasChanges);
        var removal = await live.PlanRemovalAsync(set, CancellationToken.None);
        await live.ApplyAsync(set, removal, _ => true, CancellationToken.None);
        foreach (var s in clusters.Servers)
        {
            Assert.DoesNotContain(s.Store.All(), o => o["metadata"]?["labels"]?["app.kubernetes.io/managed-by"] is not null);
            Assert.DoesNotContain(s.Store.All(), o => o["metadata"]?["namespace"]?.GetValue<string>() is "mesh1-system" or "mesh2-system");
        }
    }
}
