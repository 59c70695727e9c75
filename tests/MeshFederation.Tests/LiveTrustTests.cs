using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// Issue 11, items 1-8, against test API servers that behave like kube-apiserver (defaults, managedFields per manager,
/// operators that reconcile late and clean up after a delay, finalizers, Terminating namespaces), judged by kubectl.
/// </summary>
public sealed class LiveTrustTests : Ossm2ClustersTest
{
    internal static LiveOptions Options(TimeSpan? wait = null, TimeSpan? delete = null) =>
        new() { PollInterval = TimeSpan.FromMilliseconds(25), WaitTimeout = wait ?? TimeSpan.FromSeconds(20), DeleteTimeout = delete ?? TimeSpan.FromSeconds(10), Prune = true };

    internal static LiveOptions Quick => Options();

    private (LiveFederation Live, ClusterConnections Connections) Live(RecordingLog? log = null, LiveOptions? options = null)
    {
        var conns = new ClusterConnections(TestSupport.Yaml, KubeconfigPath, TestClusters.Fast, log);
        return (new LiveFederation(conns, options ?? Quick, log), conns);
    }

    private static FederationSet Seed001(string? text = null) => TestSupport.LoadText(text ?? LiveFederationTests.Seed001Live(), "live.yaml");

    private static async Task<IReadOnlyList<ApplyOutcome>> Apply(LiveFederation live, FederationSet set) =>
        await live.ApplyAsync(set, await live.PlanAsync(set, CancellationToken.None), _ => true, CancellationToken.None);

    /// <summary>kubectl apply --server-side of a manifest under another field manager (a GitOps tool, an admin).</summary>
    private void KubectlApply(string context, string yaml, string manager = "gitops")
    {
        var file = Path.Combine(Clusters.Directory, $"{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, yaml);
        var (code, output) = Kubectl(context, $"apply --server-side --field-manager={manager} -f {file}");
        Assert.True(code == 0, output);
    }

    private const string OurLabels = "    app.kubernetes.io/managed-by: meshfederation\n    federation.meshfederation.io/mesh: blue-mesh\n";

    /// <summary>Objects carrying this module's labels, each applied only by another field manager.</summary>
    internal static string ForeignLookalikes() =>
        "apiVersion: federation.maistra.io/v1\nkind: ServiceMeshPeer\nmetadata:\n  name: purple-mesh\n  namespace: blue-mesh-system\n  labels:\n" + OurLabels
        + "spec:\n  remote:\n    addresses: [10.9.9.9]\n  gateways:\n    ingress: {name: ingress-purple-mesh}\n    egress: {name: egress-purple-mesh}\n"
        + "  security:\n    trustDomain: purple-mesh.local\n    clientID: purple-mesh.local/ns/purple-mesh-system/sa/egress-blue-mesh-service-account\n"
        + "    certificateChain: {kind: ConfigMap, name: purple-mesh-ca-root-cert}\n---\n"
        + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: team-settings\n  namespace: blue-mesh-system\n  labels:\n" + OurLabels + "data:\n  owner: platform-team\n---\n"
        + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-settings\n  namespace: nfs-app-istio\n  labels:\n" + OurLabels + "data:\n  owner: app-team\n---\n"
        + "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n  name: legacy-route\n  namespace: nfs-app-istio\n  labels:\n" + OurLabels
        + "spec:\n  hosts: [legacy.nfs-app-istio.svc.cluster.local]\n  http:\n  - route:\n    - destination: {host: dokuwiki.nfs-app-istio.svc.cluster.local}\n";

    internal static readonly (string Kind, string Resource, string Ns, string Name)[] Lookalikes =
    {
        ("ServiceMeshPeer", "servicemeshpeers.federation.maistra.io", "blue-mesh-system", "purple-mesh"),
        ("ConfigMap", "configmap", "blue-mesh-system", "team-settings"),
        ("ConfigMap", "configmap", "nfs-app-istio", "app-settings"),
        ("VirtualService", "virtualservices.networking.istio.io", "nfs-app-istio", "legacy-route"),
    };

    [Fact]
    public async Task Item1_delete_and_prune_leave_objects_that_only_other_managers_applied_even_with_our_labels()
    {
        var (live, conns) = Live();
        using var _ = conns;
        var set = Seed001();
        await Apply(live, set);
        KubectlApply("blue", ForeignLookalikes());

        // Prune (the next apply) lists them as left alone and deletes none of them.
        var plan = await live.PlanAsync(set, CancellationToken.None);
        foreach (var (kind, _, ns, name) in Lookalikes)
        {
            var item = Assert.Single(plan.Items, i => i.Kind == kind && i.Namespace == ns && i.Name == name);
            Assert.Equal(PlanAction.Keep, item.Action);
            Assert.Contains("did not create it", item.Reason, StringComparison.Ordinal);
        }
        Assert.False(plan.HasChanges, plan.ToString());

        var removal = await live.PlanRemovalAsync(set, CancellationToken.None);
        Assert.All(removal.Items.Where(i => Lookalikes.Any(l => l.Name == i.Name)), i => Assert.Equal(PlanAction.Keep, i.Action));
        var outcomes = await live.ApplyAsync(set, removal, _ => true, CancellationToken.None);
        foreach (var (_, resource, ns, name) in Lookalikes)
        {
            var (code, output) = Kubectl("blue", $"get {resource} -n {ns} {name} -o name");
            Assert.True(code == 0, $"{ns}/{name} was deleted: {output}");
        }
        // The control-plane namespace holds foreign objects: it stays, and says why.
        var kept = Assert.Single(outcomes, o => o.Item.Kind == "Namespace" && o.Item.Cluster == "blue");
        Assert.Equal((OutcomeState.Kept, false), (kept.State, kept.Done));
        Assert.Contains("team-settings", kept.Reason, StringComparison.Ordinal);
        Assert.Equal(0, Kubectl("blue", "get namespace blue-mesh-system -o name").Code);
        // What was ours is gone.
        Assert.NotEqual(0, Kubectl("blue", "get smcp -n blue-mesh-system blue-mesh").Code);
        Assert.NotEqual(0, Kubectl("green", "get namespace green-mesh-system").Code);
    }

    [Fact]
    public async Task Item2_a_namespace_an_admin_created_is_kept_and_loses_only_our_labels_and_annotations()
    {
        // The admin creates the namespace first (kubectl create sends it as protobuf) and labels it.
        Assert.Equal(0, Kubectl("blue", "create namespace blue-mesh-system").Code);
        Assert.Equal(0, Kubectl("blue", "label namespace blue-mesh-system team=platform").Code);
        var (live, conns) = Live();
        using var _ = conns;
        var set = Seed001();
        await Apply(live, set);
        Assert.Equal("meshfederation", Kubectl("blue", "get namespace blue-mesh-system -o jsonpath={.metadata.labels.app\\.kubernetes\\.io/managed-by}").Output.Trim());

        var removal = await live.PlanRemovalAsync(set, CancellationToken.None);
        var item = Assert.Single(removal.Items, i => i.Kind == "Namespace" && i.Cluster == "blue");
        Assert.Equal(PlanAction.Update, item.Action);
        Assert.Contains("did not create it", item.Reason, StringComparison.Ordinal);
        await live.ApplyAsync(set, removal, _ => true, CancellationToken.None);

        var (code, json) = Kubectl("blue", "get namespace blue-mesh-system -o json --show-managed-fields");
        Assert.True(code == 0, "the admin's namespace was deleted: " + json);
        var nsObj = JsonNode.Parse(json)!;
        var labels = nsObj["metadata"]!["labels"]!.AsObject();
        Assert.Equal("platform", labels["team"]!.GetValue<string>());
        Assert.False(labels.ContainsKey("app.kubernetes.io/managed-by"));
        Assert.False(labels.ContainsKey("federation.meshfederation.io/mesh"));
        Assert.Null(nsObj["metadata"]!["annotations"]?[Ownership.CreatedAnnotation]);
        Assert.DoesNotContain(nsObj["metadata"]!["managedFields"]!.AsArray(), e => e!["manager"]!.GetValue<string>() == "meshfederation");
        Assert.Equal("Active", nsObj["status"]!["phase"]!.GetValue<string>());
        // The namespace meshfederation created in green is gone.
        Assert.NotEqual(0, Kubectl("green", "get namespace green-mesh-system").Code);
        Assert.Empty((await live.PlanRemovalAsync(set, CancellationToken.None)).Items);
    }

    [Fact]
    public async Task Item3_removal_counts_only_what_is_gone_and_reports_kept_and_terminating_objects()
    {
        foreach (var o in Clusters.Operators.Values) o.CleanupDelay = TimeSpan.FromMilliseconds(200);
        foreach (var s in Clusters.Servers) s.Store.GarbageCollectionDelay = TimeSpan.FromMilliseconds(300);
        var log = new RecordingLog();
        var (live, conns) = Live(log, Options(delete: TimeSpan.FromSeconds(3)));
        using var _ = conns;
        var set = Seed001();
        await Apply(live, set);
        // green: a foreign ConfigMap in the control-plane namespace, and a finalizer someone else holds on one of ours.
        KubectlApply("green", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: team-settings\n  namespace: green-mesh-system\ndata:\n  a: b\n", "admin");
        var patch = Path.Combine(Clusters.Directory, "finalizer.json");
        File.WriteAllText(patch, "{\"metadata\":{\"finalizers\":[\"example.com/audit\"]}}");
        var (patched, patchOutput) = Kubectl("green", $"patch importedservicesets.federation.maistra.io -n green-mesh-system blue-mesh --type merge --patch-file {patch}");
        Assert.True(patched == 0, patchOutput);

        var removal = await live.PlanRemovalAsync(set, CancellationToken.None);
        var outcomes = await live.ApplyAsync(set, removal, _ => true, CancellationToken.None);

        // Every outcome counted as deleted is gone; nothing else is counted.
        var deleted = outcomes.Where(o => o.State == OutcomeState.Deleted).ToList();
        Assert.All(deleted, o => Assert.True(o.Done));
        foreach (var o in deleted)
        {
            var type = ResourceTypes.ByKind(o.Item.ApiVersion, o.Item.Kind)!;
            Assert.Null(Clusters[o.Item.Cluster].Store.Get(type, o.Item.Namespace, o.Item.Name, o.Item.ApiVersion.Split('/').Last()));
        }
        Assert.Contains(deleted, o => o.Item.Kind == "Namespace" && o.Item.Cluster == "blue");
        // The operator's leftovers (gateway Services, istiod's root certificate) are neither deleted by us nor counted.
        Assert.DoesNotContain(outcomes, o => o.Item.Name is "istio-ca-root-cert" or "ingress-green-mesh" or "egress-green-mesh");

        var kept = Assert.Single(outcomes, o => o.Item.Kind == "Namespace" && o.Item.Cluster == "green");
        Assert.Equal((OutcomeState.Kept, false), (kept.State, kept.Done));
        Assert.Contains("ConfigMap team-settings", kept.Reason, StringComparison.Ordinal);
        var held = Assert.Single(outcomes, o => o.Item.Kind == "ImportedServiceSet" && o.Item.Cluster == "green");
        Assert.Equal((OutcomeState.Terminating, false), (held.State, held.Done));
        Assert.Contains("example.com/audit", held.Reason, StringComparison.Ordinal);
        Assert.Contains("still terminating", log.Text, StringComparison.Ordinal);

        // After a complete removal (blue), a rerun finds nothing to delete there.
        var again = await live.PlanRemovalAsync(set, CancellationToken.None);
        Assert.DoesNotContain(again.Items, i => i.Cluster == "blue");
        Assert.Null(Clusters["blue"].Store.Get(ResourceTypes.Namespace, null, "blue-mesh-system", "v1"));
    }

    [Fact]
    public async Task Item4_apply_after_a_control_plane_change_returns_once_the_operator_has_seen_the_new_generation()
    {
        var log = new RecordingLog();
        var (live, conns) = Live(log);
        using var _ = conns;
        await Apply(live, Seed001());
        foreach (var o in Clusters.Operators.Values) o.ReadyDelay = TimeSpan.FromMilliseconds(1200);
        var changed = Seed001(LiveFederationTests.Seed001Live().Replace("imagePullPolicy: Always", "imagePullPolicy: IfNotPresent", StringComparison.Ordinal));
        var plan = await live.PlanAsync(changed, CancellationToken.None);
        Assert.Contains(plan.Items, i => i.Kind == "ServiceMeshControlPlane" && i.Action == PlanAction.Update);
        await live.ApplyAsync(changed, plan, _ => true, CancellationToken.None);

        var smcp = Clusters["blue"].Store.Get(ResourceTypes.ByKind("maistra.io/v2", "ServiceMeshControlPlane")!, "blue-mesh-system", "blue-mesh", "v2")!;
        Assert.Equal(2, smcp["metadata"]!["generation"]!.GetValue<long>());
        Assert.Equal(2, ObjectStore.Number(smcp["status"]!["observedGeneration"]));
        Assert.Contains(log.ProgressUpdates, p => p.Status.Contains("generation 2, observed 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Item4_a_control_plane_that_never_reconciles_times_out_naming_the_generations()
    {
        var (live, conns) = Live(options: Options(wait: TimeSpan.FromMilliseconds(600)));
        using var _ = conns;
        await Apply(live, Seed001());
        foreach (var o in Clusters.Operators.Values) o.ReadyDelay = TimeSpan.FromHours(1);
        var changed = Seed001(LiveFederationTests.Seed001Live().Replace("imagePullPolicy: Always", "imagePullPolicy: IfNotPresent", StringComparison.Ordinal));
        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => Apply(live, changed));
        Assert.Contains("generation 2, observed 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ServiceMeshControlPlane blue-mesh-system/blue-mesh", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Item6_a_terminating_namespace_is_refused_by_plan_and_fails_the_checks()
    {
        var (live, conns) = Live();
        using var _ = conns;
        var set = Seed001();
        await Apply(live, set);
        // The namespace controller has not emptied it yet: everything in it still looks fine.
        Clusters["green"].Store.NamespaceDeletionDelay = TimeSpan.FromHours(1);
        Assert.Equal(0, Kubectl("green", "delete namespace green-mesh-system --wait=false").Code);
        var writes = Clusters.Servers.Sum(s => s.Store.Writes);

        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => live.PlanAsync(set, CancellationToken.None));
        Assert.Contains("namespace = 'green-mesh-system'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Terminating", ex.Message, StringComparison.Ordinal);
        Assert.Equal(writes, Clusters.Servers.Sum(s => s.Store.Writes));

        var results = await MeshChecks.RunLiveAsync(set, set.ControlPlanes.Select(c => c.Cluster), conns, new CheckOptions(), false, null, CancellationToken.None);
        var ready = Assert.Single(results, r => r.Mesh == "green-mesh" && r.CheckId == "OSSM2.ControlPlaneReady");
        Assert.Equal(CheckStatus.Fail, ready.Status);
        Assert.Contains("Terminating", ready.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Item7_an_unknown_field_in_overrides_fails_before_anything_is_written_naming_object_and_field()
    {
        var (live, conns) = Live();
        using var _ = conns;
        var writes = Clusters.Servers.Sum(s => s.Store.Writes);
        var text = LiveFederationTests.Seed001Live().Replace("imagePullPolicy: Always", "imagePullPolicyy: Always", StringComparison.Ordinal);
        // The offline schema check (loading) or the server's strict dry run (planning) refuses it; nothing is written.
        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => live.PlanAsync(Seed001(text), CancellationToken.None));
        Assert.Contains("ServiceMeshControlPlane blue-mesh-system/blue-mesh", ex.Message, StringComparison.Ordinal);
        Assert.Contains("spec.runtime.defaults.container.imagePullPolicyy", ex.Message, StringComparison.Ordinal);
        Assert.Equal(writes, Clusters.Servers.Sum(s => s.Store.Writes));
    }

    [Fact]
    public async Task Item7_a_field_theClusters_older_CRD_lacks_fails_the_plan_by_server_dry_run_before_anything_is_written()
    {
        // The topology is valid for the schemas meshfed ships, but blue runs an older CRD without that field.
        Clusters["blue"].Store.UnservedFields.Add("maistra.io/ServiceMeshControlPlane:spec.runtime.defaults.container.imagePullPolicy");
        var (live, conns) = Live();
        using var _ = conns;
        var writes = Clusters.Servers.Sum(s => s.Store.Writes);
        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => live.PlanAsync(Seed001(), CancellationToken.None));
        var problem = Assert.Single(ex.Problems);
        Assert.Equal("cluster 'blue' ServiceMeshControlPlane blue-mesh-system/blue-mesh", problem.Field);
        Assert.Equal(".spec.runtime.defaults.container.imagePullPolicy", problem.Value);
        Assert.Contains("field not declared in schema", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("overrides", problem.Fix, StringComparison.Ordinal);
        Assert.Equal(writes, Clusters.Servers.Sum(s => s.Store.Writes));
    }

    [Fact]
    public async Task A_read_only_user_still_gets_a_plan_compared_client_side_with_a_warning()
    {
        var (live, conns) = Live();
        using var _ = conns;
        var set = Seed001();
        await Apply(live, set);
        foreach (var s in Clusters.Servers) s.ReadOnlyUsers.Add("admin");
        var log = new RecordingLog();
        var (viewer, conns2) = Live(log);
        using var __ = conns2;
        var plan = await viewer.PlanAsync(set, CancellationToken.None);
        Assert.False(plan.HasChanges, plan.ToString());
        Assert.Contains("no permission to dry-run", log.Text, StringComparison.Ordinal);
        Assert.Contains("cannot patch resource", log.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Item8_an_oidc_user_sends_its_id_token_and_an_expired_one_points_to_kubelogin()
    {
        var valid = Jwt(DateTimeOffset.UtcNow.AddHours(1));
        var expired = Jwt(DateTimeOffset.UtcNow.AddMinutes(-5));
        Clusters["blue"].Tokens[valid] = "alice";
        string Config(string token) => Clusters["blue"].Kubeconfig("blue", token: "none").Replace("    token: none\n",
            $"    auth-provider:\n      name: oidc\n      config:\n        client-id: kubernetes\n        idp-issuer-url: https://idp.example.test\n        id-token: {token}\n", StringComparison.Ordinal);
        var file = Path.Combine(Clusters.Directory, "oidc-kubeconfig");
        File.WriteAllText(file, Config(valid));
        using (var client = new KubeClient(KubeConfig.Load(file, TestSupport.Yaml).Resolve("blue"), TestClusters.Fast))
            Assert.NotNull(await client.GetAsync("v1", "Namespace", null, "nfs-app-istio", CancellationToken.None));
        Assert.Contains("bearer", Clusters["blue"].AuthLog);

        File.WriteAllText(file, Config(expired));
        var log = new RecordingLog();
        using var stale = new KubeClient(KubeConfig.Load(file, TestSupport.Yaml).Resolve("blue"), TestClusters.Fast, log);
        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => stale.GetAsync("v1", "Namespace", null, "nfs-app-istio", CancellationToken.None));
        Assert.Contains("expired", ex.Message, StringComparison.Ordinal);
        Assert.Contains("kubelogin", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(expired, ex.Message + log.Text, StringComparison.Ordinal);
    }

    /// <summary>An unsigned JWT with an exp claim (the API server here accepts it as an opaque bearer token).</summary>
    internal static string Jwt(DateTimeOffset expiry)
    {
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{B64("{\"alg\":\"RS256\",\"typ\":\"JWT\"}")}.{B64($"{{\"iss\":\"https://idp.example.test\",\"sub\":\"alice\",\"aud\":\"kubernetes\",\"exp\":{expiry.ToUnixTimeSeconds()}}}")}.c2lnbmF0dXJl";
    }

    [Fact]
    public async Task Item8_in_cluster_configuration_serves_when_asked_and_when_noKubeconfigPath_exists_and_rotated_tokens_keep_working()
    {
        var server = Clusters["blue"];
        var account = Paths.TempDir();
        File.WriteAllText(Path.Combine(account, "token"), "projected-token-1");
        File.WriteAllText(Path.Combine(account, "ca.crt"), server.CaPem);
        File.WriteAllText(Path.Combine(account, "namespace"), "meshfed-runbooks");
        server.Tokens["projected-token-1"] = "system:serviceaccount:meshfed-runbooks:runner";
        var env = new Dictionary<string, string?>
        {
            ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1", ["KUBERNETES_SERVICE_PORT"] = server.Url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MESHFED_SERVICEACCOUNT_DIR"] = account, ["HOME"] = Paths.TempDir(), ["KUBECONFIG"] = null,
        };
        var set = TestSupport.LoadText("apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n  - {name: blue-mesh, cluster: blue}\n", "one.yaml");
        foreach (var asked in new[] { true, false })
        {
            using var conns = new ClusterConnections(TestSupport.Yaml, null, TestClusters.Fast, null, inCluster: asked, environment: env);
            var plan = await new LiveFederation(conns, Quick).PlanAsync(set, CancellationToken.None);
            Assert.Contains(plan.Items, i => i.Kind == "ServiceMeshControlPlane" && i.Action == PlanAction.Create);
            Assert.Equal("in-cluster", conns.Clients.Single().Context.Name);
            Assert.Equal("meshfed-runbooks", conns.Clients.Single().Context.Namespace);

            // kubelet rotates the projected token: the next requests use the new one.
            File.WriteAllText(Path.Combine(account, "token"), "projected-token-2");
            File.SetLastWriteTimeUtc(Path.Combine(account, "token"), DateTime.UtcNow.AddSeconds(5));
            server.Tokens.TryRemove("projected-token-1", out _);
            server.Tokens["projected-token-2"] = "system:serviceaccount:meshfed-runbooks:runner";
            Assert.NotNull(await new LiveFederation(conns, Quick).PlanAsync(set, CancellationToken.None));
            File.WriteAllText(Path.Combine(account, "token"), "projected-token-1");
            server.Tokens["projected-token-1"] = "system:serviceaccount:meshfed-runbooks:runner";
        }

        // One pod reaches one cluster: a second cluster without a kubeconfig is refused with the fix.
        var two = TestSupport.LoadText("apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n  - {name: blue-mesh, cluster: blue}\n  - {name: green-mesh, cluster: green}\n", "two.yaml");
        using var both = new ClusterConnections(TestSupport.Yaml, null, TestClusters.Fast, null, inCluster: true, environment: env);
        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => new LiveFederation(both, Quick).PlanAsync(two, CancellationToken.None));
        Assert.Contains("in-cluster configuration already serves cluster", ex.Message, StringComparison.Ordinal);
    }
}

/// <summary>Issue 11 item 5: every example topology applies, then re-applies with 0 changes and no writes.</summary>
public sealed class LiveExampleReapplyTests
{
    public static TheoryData<string> Examples() => new() { "seed-000-nodeport-per-cluster.yaml", "seed-000-nodeport-shared-host.yaml", "seed-001-blue-green.yaml", "seed-002-bookinfo-split.yaml", "seed-003-multi-primary.yaml", "seed-004-multi-mesh.yaml" };

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Item5_every_example_reapplies_with_zero_changes(string example)
    {
        var dir = Paths.TempDir();
        var text = File.ReadAllText(Paths.Example(example));
        var probe = TestSupport.LoadText(text, example);
        var istio = probe.ControlPlanes.Any(c => c.Style != MeshStyle.Ossm2);
        var clusterNames = probe.ControlPlanes.Select(c => c.ClusterName).Distinct().ToArray();
        if (istio)
        {
            TestSupport.WriteCa(Path.Combine(dir, "certs"), clusterNames);
            text += "\ncertificateAuthority:\n  dir: certs\n";
        }
        File.WriteAllText(Path.Combine(dir, example), text);
        var set = Engine.Topology.TopologyLoader.LoadFile(Path.Combine(dir, example), TestSupport.Yaml);

        await using var clusters = await TestClusters.StartAsync(clusterNames);
        var n = 1;
        foreach (var s in clusters.Servers)
        {
            if (set.ControlPlanes.Any(c => c.ClusterName == s.Name && c.Style == MeshStyle.Ossm2)) _ = new FakeOssm2Operator(s, $"10.19.{n}.");
            else _ = new FakeSailOperator(s, $"10.30.{n}.");
            n++;
        }
        // The applications' namespaces exist (the seeds create them by hand).
        var rendered = Engine.Rendering.Ossm2Renderer.Render(set);
        var created = rendered.AllManifests.Where(m => m.Kind == "Namespace").Select(m => (m.Cluster, m.Name)).ToHashSet();
        foreach (var m in rendered.AllManifests.Where(m => m.Namespace is not null && !created.Contains((m.Cluster, m.Namespace!))).DistinctBy(m => (m.Cluster, m.Namespace)))
            clusters[m.Cluster].Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = m.Namespace } }, "kubectl");
        // One kubeconfig with the contexts the topology names.
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
        var sb = new StringBuilder("apiVersion: v1\nkind: Config\nclusters:\n");
        foreach (var s in clusters.Servers) sb.Append($"- name: {s.Name}\n  cluster:\n    server: {s.Url.ToString().TrimEnd('/')}\n    certificate-authority-data: {B64(s.CaPem)}\n");
        sb.Append("contexts:\n");
        foreach (var b in set.ControlPlanes.Select(c => c.Cluster).DistinctBy(b => b.Context ?? b.Name))
            sb.Append($"- name: \"{b.Context ?? b.Name}\"\n  context:\n    cluster: {b.Name}\n    user: admin\n");
        sb.Append($"users:\n- name: admin\n  user:\n    token: {TestClusters.Token}\n");
        var kubeconfig = Path.Combine(dir, "kubeconfig");
        File.WriteAllText(kubeconfig, sb.ToString());

        using var conns = new ClusterConnections(TestSupport.Yaml, kubeconfig, TestClusters.Fast);
        var live = new LiveFederation(conns, LiveTrustTests.Quick);
        var first = await live.PlanAsync(set, CancellationToken.None);
        Assert.All(await live.ApplyAsync(set, first, _ => true, CancellationToken.None), o => Assert.Equal(OutcomeState.Applied, o.State));

        var writes = clusters.Servers.Sum(s => s.Store.Writes);
        var again = await live.PlanAsync(set, CancellationToken.None);
        Assert.True(!again.HasChanges, $"{example}: {again}\n{string.Join("\n", again.Changes)}");
        Assert.All(again.Items, i => Assert.Equal(PlanAction.Unchanged, i.Action));
        await live.ApplyAsync(set, again, _ => true, CancellationToken.None);
        Assert.Equal(writes, clusters.Servers.Sum(s => s.Store.Writes));
    }
}
