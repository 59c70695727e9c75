using System.Diagnostics;
using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>Issue 11, items 1-8, through meshfed (the CLI face) against test API servers, judged by kubectl.</summary>
public sealed class CliLiveTrustTests : Ossm2ClustersTest
{
    private string Topology(string text, string name = "seed-001.yaml")
    {
        var path = Path.Combine(Clusters.Directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private (int Code, string Stdout, string Stderr) Meshfed(params string[] args) => BadInputTests.Cli(args.Concat(new[] { "--kubeconfig", KubeconfigPath }).ToArray());

    private void KubectlApply(string context, string yaml, string manager)
    {
        var file = Path.Combine(Clusters.Directory, $"{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, yaml);
        var (code, output) = Kubectl(context, $"apply --server-side --field-manager={manager} -f {file}");
        Assert.True(code == 0, output);
    }

    private void ApplyOk(string? topology = null)
    {
        var (code, output, error) = Meshfed("apply", topology ?? TopologyPath, "--timeout", "30");
        Assert.True(code == 0, output + error);
    }

    [Fact]
    public void Item1_delete_leaves_objects_that_only_other_managers_applied_even_with_our_labels()
    {
        ApplyOk();
        KubectlApply("blue", LiveTrustTests.ForeignLookalikes(), "gitops");
        var (code, output, error) = Meshfed("delete", TopologyPath);
        Assert.True(code == 0, output + error);
        foreach (var (_, resource, ns, name) in LiveTrustTests.Lookalikes)
        {
            Assert.True(Kubectl("blue", $"get {resource} -n {ns} {name} -o name").Code == 0, $"{ns}/{name} was deleted\n{output}");
            Assert.Matches($"KEEP +blue +\\S+ +{ns} +{name} +left alone", output);
        }
        Assert.Contains("kept: blue: Namespace blue-mesh-system: it holds objects meshfederation did not create", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Item2_delete_keeps_a_namespace_the_admin_created_and_removes_only_our_labels()
    {
        Assert.Equal(0, Kubectl("green", "create namespace green-mesh-system").Code);
        ApplyOk();
        var (code, output, error) = Meshfed("delete", TopologyPath);
        Assert.True(code == 0, output + error);
        var (exists, labels) = Kubectl("green", "get namespace green-mesh-system -o jsonpath={.metadata.labels}");
        Assert.True(exists == 0, "the admin's namespace was deleted: " + output);
        Assert.DoesNotContain("meshfederation", labels, StringComparison.Ordinal);
        Assert.NotEqual(0, Kubectl("blue", "get namespace blue-mesh-system").Code);
    }

    [Fact]
    public void Item3_delete_counts_only_what_is_gone_and_a_rerun_deletes_nothing()
    {
        foreach (var o in Clusters.Operators.Values) o.CleanupDelay = TimeSpan.FromMilliseconds(200);
        foreach (var s in Clusters.Servers) s.Store.GarbageCollectionDelay = TimeSpan.FromMilliseconds(300);
        ApplyOk();
        var ours = Clusters.Servers.Sum(s => s.Store.All().Count(o => o["metadata"]?["labels"]?["app.kubernetes.io/managed-by"] is not null));
        var (code, output, error) = Meshfed("delete", TopologyPath);
        Assert.True(code == 0, output + error);
        // The operator's leftovers (gateway Services, istiod's root certificate) did not keep the namespaces, and are not counted.
        Assert.Contains($"deleted {ours} object(s), 0 still terminating, 0 kept", output, StringComparison.Ordinal);
        foreach (var s in Clusters.Servers) Assert.Null(s.Store.Get(ResourceTypes.Namespace, null, $"{s.Name}-mesh-system", "v1"));
        (code, output, _) = Meshfed("delete", TopologyPath);
        Assert.Equal(0, code);
        Assert.Contains("plan: 0 to create, 0 to update, 0 to delete, 0 unchanged", output, StringComparison.Ordinal);
        Assert.DoesNotContain("deleted", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Item4_apply_returns_once_the_operator_has_seen_the_control_plane_change()
    {
        ApplyOk();
        foreach (var o in Clusters.Operators.Values) o.ReadyDelay = TimeSpan.FromMilliseconds(1200);
        ApplyOk(Topology(LiveFederationTests.Seed001Live().Replace("imagePullPolicy: Always", "imagePullPolicy: IfNotPresent", StringComparison.Ordinal), "changed.yaml"));
        var (_, generations) = Kubectl("blue", "get smcp -n blue-mesh-system blue-mesh -o jsonpath={.metadata.generation}/{.status.observedGeneration}");
        Assert.Equal("2/2", generations.Trim());
    }

    [Fact]
    public async Task Item5_seed_003_reapplies_with_zero_changes_whatever_the_server_defaults()
    {
        await using var clusters = await TestClusters.StartAsync("cluster1", "cluster2");
        var n = 1;
        foreach (var s in clusters.Servers)
        {
            _ = new FakeSailOperator(s, $"10.30.{n++}.");
            s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "sample" } }, "kubectl");
        }
        TestSupport.WriteCa(Path.Combine(clusters.Directory, "certs"), "cluster1", "cluster2");
        var topology = Path.Combine(clusters.Directory, "seed-003.yaml");
        File.WriteAllText(topology, File.ReadAllText(Paths.Example("seed-003-multi-primary.yaml")) + "\ncertificateAuthority:\n  dir: certs\n");
        var kubeconfig = clusters.WriteKubeconfig();
        var (code, output, error) = BadInputTests.Cli("apply", topology, "--kubeconfig", kubeconfig, "--timeout", "30");
        Assert.True(code == 0, output + error);
        (code, output, error) = BadInputTests.Cli("plan", topology, "--kubeconfig", kubeconfig);
        Assert.True(code == 0, output + error);
        Assert.Matches(@"plan: 0 to create, 0 to update, 0 to delete, \d+ unchanged", output);
    }

    [Fact]
    public void Item6_plan_and_apply_refuse_a_terminating_namespace_and_the_check_fails()
    {
        ApplyOk();
        Clusters["green"].Store.NamespaceDeletionDelay = TimeSpan.FromHours(1);
        Assert.Equal(0, Kubectl("green", "delete namespace green-mesh-system --wait=false").Code);
        var writes = Clusters.Servers.Sum(s => s.Store.Writes);
        foreach (var command in new[] { "plan", "apply" })
        {
            var (code, output, error) = Meshfed(command, TopologyPath);
            Assert.True(code == MeshfedApp.ExitBadInput, output + error);
            Assert.Contains("namespace = 'green-mesh-system'", error, StringComparison.Ordinal);
            Assert.Contains("Terminating", error, StringComparison.Ordinal);
        }
        Assert.Equal(writes, Clusters.Servers.Sum(s => s.Store.Writes));
        var check = BadInputTests.Cli("check", TopologyPath, "--live", "--kubeconfig", KubeconfigPath);
        Assert.Equal(MeshfedApp.ExitCheckFailed, check.Code);
        Assert.Matches("FAIL +OSSM2.ControlPlaneReady +green-mesh .*Terminating", check.Stdout);
    }

    [Fact]
    public void Item7_plan_and_apply_fail_on_a_typo_in_overrides_before_anything_is_written()
    {
        var typo = Topology(LiveFederationTests.Seed001Live().Replace("imagePullPolicy: Always", "imagePullPolicyy: Always", StringComparison.Ordinal), "typo.yaml");
        var writes = Clusters.Servers.Sum(s => s.Store.Writes);
        foreach (var command in new[] { "plan", "apply" })
        {
            var (code, output, error) = Meshfed(command, typo);
            Assert.True(code == MeshfedApp.ExitBadInput, output + error);
            Assert.Contains("ServiceMeshControlPlane blue-mesh-system/blue-mesh", error, StringComparison.Ordinal);
            Assert.Contains("spec.runtime.defaults.container.imagePullPolicyy", error, StringComparison.Ordinal);
        }
        Assert.Equal(writes, Clusters.Servers.Sum(s => s.Store.Writes));
    }

    [Fact]
    public void Item7_apply_fails_before_any_write_when_a_cluster_runs_an_older_CRD_without_a_field()
    {
        Clusters["blue"].Store.UnservedFields.Add("maistra.io/ServiceMeshControlPlane:spec.runtime.defaults.container.imagePullPolicy");
        var writes = Clusters.Servers.Sum(s => s.Store.Writes);
        var (code, output, error) = Meshfed("apply", TopologyPath);
        Assert.True(code == MeshfedApp.ExitBadInput, output + error);
        Assert.Contains("cluster 'blue' ServiceMeshControlPlane blue-mesh-system/blue-mesh = '.spec.runtime.defaults.container.imagePullPolicy'", error, StringComparison.Ordinal);
        Assert.Contains("field not declared in schema", error, StringComparison.Ordinal);
        Assert.Equal(writes, Clusters.Servers.Sum(s => s.Store.Writes));
    }

    [Fact]
    public void Item8_oidc_id_token_is_sent_and_an_expired_one_points_to_kubelogin()
    {
        var valid = LiveTrustTests.Jwt(DateTimeOffset.UtcNow.AddHours(1));
        var expired = LiveTrustTests.Jwt(DateTimeOffset.UtcNow.AddMinutes(-1));
        Clusters["blue"].Tokens[valid] = "alice";
        var one = Topology("apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n  - {name: blue-mesh, cluster: blue}\n", "one.yaml");
        var file = Path.Combine(Clusters.Directory, "oidc");
        foreach (var (token, ok) in new[] { (valid, true), (expired, false) })
        {
            File.WriteAllText(file, Clusters["blue"].Kubeconfig("blue", token: "none").Replace("    token: none\n",
                $"    auth-provider:\n      name: oidc\n      config:\n        idp-issuer-url: https://idp.example.test\n        id-token: {token}\n", StringComparison.Ordinal));
            var (code, output, error) = BadInputTests.Cli("plan", one, "--kubeconfig", file);
            if (ok) Assert.True(code == 0, output + error);
            else
            {
                Assert.Equal(MeshfedApp.ExitBadInput, code);
                Assert.Contains("expired", error, StringComparison.Ordinal);
                Assert.Contains("kubelogin", error, StringComparison.Ordinal);
                Assert.DoesNotContain(token, output + error, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Item8_in_a_pod_meshfed_uses_the_service_account_with_in_cluster_and_without_aKubeconfigPath()
    {
        var server = Clusters["blue"];
        var account = Paths.TempDir();
        File.WriteAllText(Path.Combine(account, "token"), "projected-token");
        File.WriteAllText(Path.Combine(account, "ca.crt"), server.CaPem);
        File.WriteAllText(Path.Combine(account, "namespace"), "runbooks");
        server.Tokens["projected-token"] = "system:serviceaccount:runbooks:runner";
        var one = Topology("apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n  - {name: blue-mesh, cluster: blue}\n", "one.yaml");
        foreach (var args in new[] { new[] { "plan", one, "--in-cluster" }, new[] { "plan", one } })
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "meshfed.dll"));
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["KUBERNETES_SERVICE_HOST"] = "127.0.0.1";
            psi.Environment["KUBERNETES_SERVICE_PORT"] = server.Url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            psi.Environment["MESHFED_SERVICEACCOUNT_DIR"] = account;
            psi.Environment["HOME"] = Paths.TempDir();
            psi.Environment.Remove("KUBECONFIG");
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await p.WaitForExitAsync(timeout.Token);
            var (output, error) = (await stdout, await stderr);
            Assert.True(p.ExitCode == 0, $"{string.Join(' ', args)}: {output}{error}");
            Assert.Contains("CREATE  blue", output, StringComparison.Ordinal);
        }
    }
}
