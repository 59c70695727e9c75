using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Migration;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// Issue 16, item 4: the migration of an OSSM 2 federation to the OSSM 3 federation style. The guide's own OSSM 2
/// federation (its SMCPs, ServiceMeshPeers, service sets with the statuses the guide shows, httpbin in a and b, curl in
/// client) is loaded into two test API servers and read back; the plan's patches and manifests are the guide's, kubectl
/// applies them, and the rollbacks restore what was there.
/// </summary>
public sealed class Ossm3MigrationTests : IAsyncLifetime
{
    private TestClusters _clusters = null!;
    private string _kubeconfig = "";
    private readonly Dictionary<string, FakeOssm3Cluster> _fakes = new();

    private static JsonObject Guide(string file, string? ns = null) => Ossm3FederationTests.Guide(file, ns);

    private static JsonObject GuideJson(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(UpstreamFixtureTests.FixtureDir, "Upstream", "ossm-migration-federation", file)))!.AsObject();

    public async Task InitializeAsync()
    {
        _clusters = await TestClusters.StartAsync("east", "west");
        foreach (var s in _clusters.Servers)
            _fakes[s.Name] = new FakeOssm3Cluster(s, Ossm3FederationLiveTests.Root(s.Name), s.Name == "east" ? "203.0.113.10" : "203.0.113.20");
        foreach (var (cluster, ns) in new[] { ("east", "client"), ("west", "a"), ("west", "b") })
            _clusters[cluster].Store.Upsert(new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Namespace",
                ["metadata"] = new JsonObject { ["name"] = ns, ["labels"] = new JsonObject { ["istio-injection"] = "enabled" } },
            }, "kubectl");
        _fakes["west"].Httpbin("a");
        _fakes["west"].Httpbin("b");
        // The guide's OSSM 2 federation, with the statuses its verification step shows.
        _clusters["east"].Store.Upsert(Guide("ossm2-smcp-east.yaml"), "kubectl");
        _clusters["west"].Store.Upsert(Guide("ossm2-smcp-west.yaml"), "kubectl");
        _clusters["east"].Store.Upsert(Guide("ossm2-servicemeshpeer-west-mesh-in-east.yaml"), "kubectl");
        _clusters["west"].Store.Upsert(Guide("ossm2-servicemeshpeer-east-mesh-in-west.yaml"), "kubectl");
        var ess = Guide("ossm2-exportedserviceset-east-mesh-in-west.yaml");
        ess["status"] = GuideJson("ossm2-exportedserviceset-east-mesh-status.json");
        _clusters["west"].Store.Upsert(ess, "kubectl");
        var iss = Guide("ossm2-importedserviceset-west-mesh-in-east.yaml");
        iss["status"] = GuideJson("ossm2-importedserviceset-west-mesh-status.json");
        _clusters["east"].Store.Upsert(iss, "kubectl");
        _kubeconfig = _clusters.WriteKubeconfig();
    }

    public async Task DisposeAsync() => await _clusters.DisposeAsync();

    private async Task<MeshMigration> MigrateAsync()
    {
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast, new RecordingLog());
        var source = await Ossm2Federation.DiscoverAsync(conns, new[] { "east", "west" }.Select(c => new ClusterBinding(c) { Context = c }), null, CancellationToken.None);
        return Ossm3Migration.Create(source, null, TestSupport.Yaml);
    }

    private static List<JsonObject> Docs(MeshMigration m, string file) => TestSupport.ReadBack(m.Files[file]);

    private (int Code, string Output) Kubectl(string context, string args) => ExternalTools.Run("kubectl", $"--kubeconfig {_kubeconfig} --context {context} {args}");

    /// <summary>The guide names its imported ServiceEntries and WorkloadEntries by hand; the migration names them after the host. Everything else is compared.</summary>
    private static JsonObject Unnamed(JsonObject o)
    {
        var copy = UpstreamFixtureTests.WithoutOwnership(o);
        copy["metadata"]!["name"] = "(named after the host)";
        if (copy["spec"]?["workloadSelector"]?["labels"] is JsonObject sel) sel["app"] = "(the ServiceEntry's name)";
        if (copy["metadata"]?["labels"] is JsonObject labels && labels.ContainsKey("app")) labels["app"] = "(the ServiceEntry's name)";
        return copy;
    }

    [Fact]
    public async Task The_guides_OSSM_2_federation_read_from_the_clusters_becomes_the_guides_patches_and_OSSM_3_objects()
    {
        var m = await MigrateAsync();
        Assert.Equal(new[] { "east-mesh", "west-mesh" }, m.Target.ControlPlanes.Select(c => c.Name).Order(StringComparer.Ordinal));
        Assert.Equal(8, m.Steps.Count);

        // Step 1: the guide's SMCP patches, byte for byte in meaning.
        foreach (var c in new[] { "east", "west" })
            Assert.Equal(TestSupport.Canonical(GuideJson($"ossm2-smcp-patch-{c}.json")), TestSupport.Canonical(JsonNode.Parse(m.Files[$"steps/1-prepare-ossm2/{c}.patch.json"])));

        // Step 2: the guide's export objects.
        var export = Docs(m, "steps/2-export/west.yaml");
        foreach (var g in new[] { Guide("export-gateway-eastwestgateway.yaml", "istio-ingress"), Guide("export-gateway-expose-services.yaml", "istio-ingress"), Guide("export-serviceentry-httpbin-a.yaml") })
            UpstreamFixtureTests.AssertEqualToUpstream(g, export.Single(d => d["kind"]!.ToString() == g["kind"]!.ToString() && d["metadata"]!["name"]!.ToString() == g["metadata"]!["name"]!.ToString()));
        Assert.Contains(export, d => d["kind"]!.ToString() == "Namespace" && d["metadata"]!["name"]!.ToString() == "istio-ingress");
        Assert.False(m.Files.ContainsKey("steps/2-export/east.yaml"));

        // Step 3: the east-west gateway does not exist yet, so its address is pending and the step says how to get it.
        Assert.Contains(m.Manifests.Pending, p => p.Defers && p.What.Contains("remote-gateway-network-west-mesh", StringComparison.Ordinal));
        Assert.Contains("run the migration again", m.Steps[2].Why, StringComparison.Ordinal);
        var import = Docs(m, "steps/3-import/east.yaml");
        foreach (var (se, we) in new[] { ("import-serviceentry-httpbin-b-svc-cluster-local.yaml", "import-workloadentry-httpbin-cluster-local-west-mesh.yaml"), ("import-serviceentry-httpbin-west-mesh-imports.yaml", "import-workloadentry-httpbin-west-mesh-imports.yaml") })
        {
            var guideSe = Guide(se);
            var host = guideSe["spec"]!["hosts"]![0]!.ToString();
            var ours = import.Single(d => d["kind"]!.ToString() == "ServiceEntry" && d["spec"]!["hosts"]![0]!.ToString() == host);
            Assert.Equal(TestSupport.Canonical(Unnamed(guideSe)), TestSupport.Canonical(Unnamed(ours)));
            var oursWe = import.Single(d => d["kind"]!.ToString() == "WorkloadEntry" && d["metadata"]!["labels"]!["app"]!.ToString() == ours["spec"]!["workloadSelector"]!["labels"]!["app"]!.ToString());
            Assert.Equal(TestSupport.Canonical(Unnamed(Guide(we))), TestSupport.Canonical(Unnamed(oursWe)));
        }

        // Step 6: the guide's Istio and IstioCNI, the root read from the peer, the access log carried over from the SMCP.
        foreach (var c in new[] { "east", "west" })
        {
            var install = Docs(m, $"steps/6-install-ossm3/{c}.yaml");
            UpstreamFixtureTests.AssertEqualToUpstream(Guide($"ossm3-istio-{c}.yaml"), install.Single(d => d["kind"]!.ToString() == "Istio"));
            UpstreamFixtureTests.AssertEqualToUpstream(Guide($"ossm3-istiocni-{c}.yaml"), install.Single(d => d["kind"]!.ToString() == "IstioCNI"));
            Assert.DoesNotContain(install, d => d["kind"]!.ToString() == "Namespace" && d["metadata"]!["name"]!.ToString() == "istio-system"); // the 2.6 control plane's: never created nor deleted
        }

        // Step 4 deletes what the guide deletes, importers first; its rollback restores the objects.
        Assert.Equal(new[]
        {
            "kubectl --context east -n istio-system delete importedserviceset west-mesh", "kubectl --context west -n istio-system delete exportedserviceset east-mesh",
            "kubectl --context east -n istio-system delete servicemeshpeer west-mesh", "kubectl --context west -n istio-system delete servicemeshpeer east-mesh",
        }, m.Steps[3].Actions.Select(a => a.Command));
        var restore = Docs(m, "steps/4-remove-federation/west.rollback.yaml");
        UpstreamFixtureTests.AssertEqualToUpstream(Guide("ossm2-exportedserviceset-east-mesh-in-west.yaml"), restore.Single(d => d["kind"]!.ToString() == "ExportedServiceSet"));

        // Step 5: the guide's JSON patch (the gateway sections hold only the federation gateways).
        Assert.Equal("""[{"op":"remove","path":"/spec/gateways/additionalIngress"},{"op":"remove","path":"/spec/gateways/additionalEgress"}]""",
            JsonNode.Parse(m.Files["steps/5-remove-federation-gateways/east.patch.json"])!.ToJsonString());

        // Step 7: the guide's relabelling, with the revision of the Istio resource.
        Assert.Contains(m.Steps[6].Actions, a => a.Command == "kubectl --context east label namespace client istio.io/rev=default-v1-24-latest maistra.io/ignore-namespace=true istio-injection- --overwrite");
        Assert.Contains(m.Steps[6].Actions, a => a.Command == "kubectl --context west -n istio-ingress label gateways.gateway.networking.k8s.io eastwestgateway istio.io/rev=default-v1-24-latest maistra.io/ignore=true --overwrite");
        Assert.Contains(m.Steps[6].Rollback, r => r.StartsWith("kubectl --context east label namespace client istio.io/rev- maistra.io/ignore-namespace- istio-injection=enabled --overwrite", StringComparison.Ordinal));

        // The topology reads back and renders the steps' objects (namespaces that exist aside).
        var reloaded = Ossm2Renderer.Render(TestSupport.LoadText(m.TopologyYaml, Ossm3Migration.TopologyFile));
        var fromSteps = m.Files.Where(f => f.Key.StartsWith("steps/", StringComparison.Ordinal) && f.Key.EndsWith(".yaml", StringComparison.Ordinal) && !f.Key.Contains("rollback", StringComparison.Ordinal))
            .SelectMany(f => TestSupport.ReadBack(f.Value)).Select(TestSupport.Canonical).Order(StringComparer.Ordinal).ToList();
        var rendered = ManifestEmitter.WithYaml(reloaded, TestSupport.Yaml).SelectMany(c => TestSupport.ReadBack(c.Yaml))
            .Where(d => !(d["kind"]!.ToString() == "Namespace" && d["metadata"]!["name"]!.ToString() is "istio-system")).Select(TestSupport.Canonical).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(rendered, fromSteps);
        Assert.Contains("## Step 8: After the migration", m.Plan, StringComparison.Ordinal);
        Assert.Contains(m.Notes, n => n.Contains("general", StringComparison.Ordinal)); // the SMCP's logging levels are not carried over, and the plan says so
    }

    [Fact]
    public async Task Kubectl_applies_the_steps_and_the_rollbacks_restore_the_control_planes()
    {
        ExternalTools.Require("kubectl");
        var m = await MigrateAsync();
        var dir = Paths.TempDir();
        foreach (var written in Engine.IO.OutputFolder.Write(dir, m.Files, new Engine.IO.OutputFolderOptions()).Written) Assert.True(File.Exists(written));
        string Run(MeshMigrationAction a) => a.Command.Replace("kubectl --context ", $"kubectl --kubeconfig {_kubeconfig} --context ", StringComparison.Ordinal);
        (int, string) Shell(string command)
        {
            try
            {
                // kubectl logs its requests when deleting a namespace: shown if it hangs (a watch that misses the deletion).
                if (command.Contains(" delete namespace ", StringComparison.Ordinal)) command = command.Replace(" delete namespace ", " -v=6 delete namespace ", StringComparison.Ordinal);
                var (code, output) = ExternalTools.Run("bash", $"-c \"cd '{dir}' && {command.Replace("\"", "\\\"", StringComparison.Ordinal)}\"",
                    TimeSpan.FromSeconds(180)); // kubectl delete namespace waits for the namespace to go: slow on a loaded 2-core machine
                return (code, output);
            }
            catch (TimeoutException e)
            {
                // Say what the clusters hold: a namespace left Terminating, and what keeps it there.
                var state = string.Join("\n", _clusters.Servers.SelectMany(server => server.Store.All()
                    .Where(o => o["metadata"]?["deletionTimestamp"] is not null || o["metadata"]?["namespace"]?.GetValue<string>() == "istio-cni" || o["metadata"]?["name"]?.GetValue<string>() == "istio-cni")
                    .Select(o => $"{server.Name}: {o.ToJsonString()}")));
                var requests = string.Join("\n", _clusters.Servers.SelectMany(server =>
                {
                    lock (server.RequestLog) return server.RequestLog.TakeLast(12).Select(r => $"{server.Name} served: {r}").ToList();
                }));
                throw new TimeoutException($"{e.Message}\nsubscriber failures: {string.Join(", ", _clusters.Servers.Select(x => x.Store.SubscriberFailures))}\n{state}\n{requests}", e);
            }
        }
        var before = (await _clusters.Client("east").GetAsync("maistra.io/v2", "ServiceMeshControlPlane", "istio-system", "basic", CancellationToken.None))!["spec"]!.DeepClone();

        // Step 1 and its rollback.
        foreach (var a in m.Steps[0].Actions) Assert.Equal(0, Shell(Run(a)).Item1);
        var patched = (await _clusters.Client("east").GetAsync("maistra.io/v2", "ServiceMeshControlPlane", "istio-system", "basic", CancellationToken.None))!["spec"]!;
        Assert.Equal("""["west.local"]""", patched["techPreview"]!["meshConfig"]!["trustDomainAliases"]!.ToJsonString());
        Assert.Equal("network-east-mesh", patched["cluster"]!["network"]!.GetValue<string>());
        foreach (var r in m.Steps[0].Rollback) Assert.Equal(0, Shell(r.Replace("kubectl --context ", $"kubectl --kubeconfig {_kubeconfig} --context ", StringComparison.Ordinal)).Item1);
        var restored = (await _clusters.Client("east").GetAsync("maistra.io/v2", "ServiceMeshControlPlane", "istio-system", "basic", CancellationToken.None))!["spec"]!;
        // Every value the patch set is back; the parents it created stay behind empty (nothing added there meanwhile is lost).
        Assert.Equal(TestSupport.Canonical(before), TestSupport.Canonical(WithoutEmpty(restored)));
        Assert.Equal("{}", restored["runtime"]!["components"]!["pilot"]!["container"]!["env"]!.ToJsonString());

        // Step 2 applies with kubectl; the east-west gateway gets its address; the migration run again fills in step 3.
        foreach (var a in m.Steps[1].Actions.Where(a => a.File is not null)) { var (code, output) = Shell(Run(a)); Assert.True(code == 0, output); }
        var again = await MigrateAsync();
        Assert.DoesNotContain(again.Manifests.Pending, p => p.Defers);
        var remote = Docs(again, "steps/3-import/east.yaml").Single(d => d["kind"]!.ToString() == "Gateway");
        UpstreamFixtureTests.AssertEqualToUpstream(Guide("import-remote-gateway-network-west-mesh.yaml").Also(g => g["spec"]!["addresses"]![0]!["value"] = "203.0.113.20"), remote);
        Engine.IO.OutputFolder.Write(dir, again.Files, new Engine.IO.OutputFolderOptions()); // meshfed's own files are replaced
        foreach (var a in again.Steps[2].Actions.Where(a => a.File is not null)) { var (code, output) = Shell(Run(a)); Assert.True(code == 0, output); }
        foreach (var a in again.Steps[5].Actions.Where(a => a.File is not null)) { var (code, output) = Shell(Run(a)); Assert.True(code == 0, output); }

        // Step 6's rollback removes exactly what it created, and step 2's (delete --ignore-not-found) too.
        foreach (var r in again.Steps[5].Rollback.Concat(again.Steps[1].Rollback)) { var (code, output) = Shell(r.Replace("kubectl --context ", $"kubectl --kubeconfig {_kubeconfig} --context ", StringComparison.Ordinal)); Assert.True(code == 0, output); }
        Assert.Null(await _clusters.Client("east").GetAsync("sailoperator.io/v1", "Istio", null, "default", CancellationToken.None));
        Assert.NotNull(await _clusters.Client("east").GetAsync("v1", "Namespace", null, "istio-system", CancellationToken.None));
        Assert.Null(await _clusters.Client("west").GetAsync("gateway.networking.k8s.io/v1", "Gateway", "istio-ingress", "eastwestgateway", CancellationToken.None));
        Assert.NotNull(await _clusters.Client("west").GetAsync("maistra.io/v2", "ServiceMeshControlPlane", "istio-system", "basic", CancellationToken.None));

        // Step 5's rollback restores the federation gateways the JSON patch removes.
        var smcp = (JsonObject)(await _clusters.Client("west").GetAsync("maistra.io/v2", "ServiceMeshControlPlane", "istio-system", "basic", CancellationToken.None))!.DeepClone();
        var gateways = (JsonObject)smcp["spec"]!["gateways"]!;
        var original = gateways.DeepClone();
        foreach (var op in JsonNode.Parse(again.Files["steps/5-remove-federation-gateways/west.patch.json"])!.AsArray())
            gateways.Remove(op!["path"]!.GetValue<string>().Split('/').Last());
        Assert.Null(gateways["additionalIngress"]);
        JsonBuilder.DeepMerge(smcp, (JsonObject)JsonNode.Parse(again.Files["steps/5-remove-federation-gateways/west.rollback.json"])!);
        Assert.Equal(TestSupport.Canonical(original), TestSupport.Canonical(smcp["spec"]!["gateways"]));
    }

    private static JsonNode? WithoutEmpty(JsonNode? node)
    {
        if (node is not JsonObject o) return node?.DeepClone();
        var copy = new JsonObject();
        foreach (var (k, v) in o)
            if (WithoutEmpty(v) is var c && !(c is JsonObject { Count: 0 })) copy[k] = c;
        return copy;
    }

    [Fact]
    public async Task meshfed_migrate_reads_the_clusters_and_writes_the_plan()
    {
        var dir = Path.Combine(Paths.TempDir(), "migration");
        var (code, stdout, stderr) = BadInputTests.Cli("migrate", "--context", "east", "--context", "west", "--kubeconfig", _kubeconfig, "--out", dir);
        Assert.True(code == MeshfedApp.ExitOk, stderr);
        Assert.Contains("step 8: After the migration", stdout, StringComparison.Ordinal);
        Assert.Contains("pending: east (east-mesh): Gateway istio-system/remote-gateway-network-west-mesh", stderr, StringComparison.Ordinal);
        foreach (var f in new[] { "MIGRATION.md", "ossm3-topology.yaml", "steps/2-export/west.yaml", "steps/6-install-ossm3/east.yaml" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        // The emitted topology is a valid topology.
        var (vcode, vout, verr) = BadInputTests.Cli("validate", Path.Combine(dir, "ossm3-topology.yaml"));
        Assert.True(vcode == MeshfedApp.ExitOk, verr);
        Assert.Contains("2 meshes", vout, StringComparison.Ordinal);
        await Task.CompletedTask;
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject o, Action<JsonObject> change)
    {
        change(o);
        return o;
    }
}

/// <summary>Issue 16, item 4 offline: the migration of an OSSM 2 topology, and bad input.</summary>
public class Ossm3MigrationOfflineTests
{
    private static string Example => Paths.Example("ossm2-federation-to-migrate.yaml");

    [Fact]
    public void An_OSSM_2_topology_migrates_to_the_example_OSSM_3_topology_with_what_only_the_clusters_know_left_pending()
    {
        var m = Ossm3Migration.Create(Ossm2Federation.FromSet(TestSupport.LoadExample("ossm2-federation-to-migrate.yaml")), null, TestSupport.Yaml);
        // The migrated topology declares what examples/ossm3-federation.yaml declares (which names the services' ports and identities).
        var example = TestSupport.LoadExample("ossm3-federation.yaml");
        var migrated = TestSupport.LoadText(m.TopologyYaml);
        Assert.Equal(example.ControlPlanes.Select(c => (c.Name, c.ClusterName, c.Namespace, c.TrustDomain, c.Network, c.Version, string.Join(",", c.MemberNamespaces), c.RootCertificate)),
            migrated.ControlPlanes.Select(c => (c.Name, c.ClusterName, c.Namespace, c.TrustDomain, c.Network, c.Version, string.Join(",", c.MemberNamespaces), c.RootCertificate)));
        Assert.Equal(Engine.Rendering.Ossm3Federation.Services(example).Select(s => s.Host).Order(StringComparer.Ordinal), Engine.Rendering.Ossm3Federation.Services(migrated).Select(s => s.Host).Order(StringComparer.Ordinal));
        // Offline, the services' ports and identities and the east-west address are pending, and the plan says where to read them.
        Assert.Contains(m.Manifests.Pending, p => p.Defers && p.What.Contains("spec.subjectAltNames", StringComparison.Ordinal));
        Assert.Contains("## Not known when this plan was made", m.Plan, StringComparison.Ordinal);
        // The SMCP patch is computed against the SMCP the topology renders (federation gateways named per peer).
        Assert.Contains("/spec/gateways/additionalIngress", m.Files["steps/5-remove-federation-gateways/east.patch.json"], StringComparison.Ordinal);
        Assert.Contains("west-mesh-ingress", m.Files["steps/5-remove-federation-gateways/east.rollback.json"], StringComparison.Ordinal);
        var undo = JsonNode.Parse(m.Files["steps/1-prepare-ossm2/east.rollback.json"])!;
        Assert.Null(undo["spec"]!["runtime"]!["components"]!["pilot"]!["container"]!["env"]!["PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API"]);
        Assert.True(undo["spec"]!["runtime"]!["components"]!["pilot"]!["container"]!["env"]!.AsObject().ContainsKey("PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API"));
    }

    [Fact]
    public void A_federation_gateway_section_that_holds_other_gateways_loses_only_the_federation_ones()
    {
        var text = File.ReadAllText(Example).Replace("      mode: ClusterWide\n      proxy:\n        accessLogging:\n          file: {name: /dev/stdout}\n  - name: west-mesh",
            "      mode: ClusterWide\n      gateways: {additionalIngress: {public-ingress: {enabled: true}}}\n      proxy:\n        accessLogging:\n          file: {name: /dev/stdout}\n  - name: west-mesh", StringComparison.Ordinal);
        var m = Ossm3Migration.Create(Ossm2Federation.FromSet(TestSupport.LoadText(text)), null, TestSupport.Yaml);
        var ops = JsonNode.Parse(m.Files["steps/5-remove-federation-gateways/east.patch.json"])!.AsArray().Select(o => o!["path"]!.GetValue<string>()).ToList();
        Assert.Equal(new[] { "/spec/gateways/additionalIngress/west-mesh-ingress", "/spec/gateways/additionalEgress" }, ops);
    }

    [Fact]
    public void meshfed_migrate_refuses_bad_input_with_exit_2_and_writes_nothing()
    {
        var dir = Path.Combine(Paths.TempDir(), "out");
        var (code, _, stderr) = BadInputTests.Cli("migrate", "--out", dir);
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains("nothing to migrate", stderr, StringComparison.Ordinal);
        (code, _, stderr) = BadInputTests.Cli("migrate", Paths.Example("ossm3-federation.yaml"), "--out", dir);
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains("mesh 'east-mesh'.style", stderr, StringComparison.Ordinal);
        Assert.Contains("only ossm2 meshes are migrated", stderr, StringComparison.Ordinal);
        (code, _, stderr) = BadInputTests.Cli("migrate", Example, "--context", "east", "--out", dir);
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        (code, _, stderr) = BadInputTests.Cli("migrate", Example, "--out", dir, "--version", "v1.99.0");
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains("v1.24-latest", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void meshfed_migrate_dry_run_lists_the_files_and_steps()
    {
        var dir = Path.Combine(Paths.TempDir(), "out");
        var (code, stdout, _) = BadInputTests.Cli("migrate", Example, "--out", dir, "--dry-run");
        Assert.Equal(MeshfedApp.ExitOk, code);
        Assert.Contains("would write " + Path.Combine(dir, "MIGRATION.md"), stdout, StringComparison.Ordinal);
        Assert.Contains("step 6: Install the OSSM 3 control planes", stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }
}
