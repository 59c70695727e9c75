using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rotation;
using MeshFederation.Engine.Validation;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// Issue 18: the reader credential of a remote cluster rotated across a multi-primary mesh (seed 003 applied live to
/// test API servers with the token controller stood in for). Real kubectl judges which tokens the API server accepts
/// before and after; the remote-secret check judges every updated secret.
/// </summary>
public sealed class CredentialRotationTests : IAsyncLifetime
{
    private TestClusters _clusters = null!;
    private string _kubeconfig = "";
    private string _emptyKubeconfig = "";
    private string _caFile = "";
    private FederationSet _set = null!;
    private static readonly ClusterBinding[] Bindings = { new("cluster1") { Context = "cluster1" }, new("cluster2") { Context = "cluster2" } };

    public async Task InitializeAsync()
    {
        _clusters = await TestClusters.StartAsync("cluster1", "cluster2");
        var i = 1;
        foreach (var s in _clusters.Servers)
        {
            _ = new FakeSailOperator(s, $"10.41.{i++}.");
            s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "sample" } }, "kubectl");
        }
        _kubeconfig = _clusters.WriteKubeconfig();
        _emptyKubeconfig = Path.Combine(_clusters.Directory, "empty-kubeconfig");
        File.WriteAllText(_emptyKubeconfig, "apiVersion: v1\nkind: Config\n");
        _caFile = Path.Combine(_clusters.Directory, "ca.pem");
        File.WriteAllText(_caFile, _clusters["cluster2"].CaPem);
        var (set, _) = IstioStyleTests.Seed003WithCa();
        _set = set;
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast);
        var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20), WaitTimeout = TimeSpan.FromSeconds(20) });
        await live.ApplyAsync(set, await live.PlanAsync(set, CancellationToken.None), _ => true, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _clusters.DisposeAsync();

    private static readonly ResourceType Secrets = ResourceTypes.ByKind("v1", "Secret")!;

    private JsonObject RemoteSecret(string name = "istio-remote-secret-cluster2") => _clusters["cluster1"].Store.Get(Secrets, "istio-system", name, "v1")!;

    /// <summary>The token cluster1's remote secret for cluster2 holds now.</summary>
    private string TokenIn(string name = "istio-remote-secret-cluster2")
    {
        var kubeconfig = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(RemoteSecret(name)["data"]!["cluster2"]!.GetValue<string>())))!;
        return kubeconfig["users"]![0]!["user"]!["token"]!.GetValue<string>();
    }

    /// <summary>What real kubectl gets from cluster2 with the token: the API versions (exit 0), or Unauthorized.</summary>
    private (int Code, string Output) Kubectl(string token) =>
        ExternalTools.Run("kubectl", $"--kubeconfig={_emptyKubeconfig} --server={_clusters["cluster2"].Url.ToString().TrimEnd('/')} --certificate-authority={_caFile} --token={token} get --raw /api");

    private (int Code, string Out, string Err) Meshfed(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        var all = new List<string> { "remote-secret", "rotate", "--kubeconfig", _kubeconfig, "--context", "cluster1", "--context", "cluster2", "--cluster", "cluster2", "--timeout", "5" };
        all.AddRange(args);
        var code = MeshfedApp.Run(all.ToArray(), o, e);
        return (code, o.ToString(), e.ToString());
    }

    private async Task<MeshCheckResult> UsableAsync(DateTimeOffset? now = null)
    {
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast);
        var results = await MeshChecks.RunLiveAsync(null, new[] { new ClusterBinding("cluster1"), new ClusterBinding("cluster2") }, conns,
            new CheckOptions { RemoteTimeout = TimeSpan.FromSeconds(3), Now = now }, false, null, CancellationToken.None);
        return results.Single(r => r.CheckId == "ISTIO.RemoteSecretUsable" && r.Cluster == "cluster1" && r.Peer == "cluster2");
    }

    /// <summary>meshfed apply again (the same topology and CA): the plan it made, what it applied, what it warned.</summary>
    private async Task<(FederationPlan Plan, RecordingLog Log)> ApplyAgainAsync(bool prune = false)
    {
        var log = new RecordingLog();
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast);
        var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20), WaitTimeout = TimeSpan.FromSeconds(20), Prune = prune }, log);
        var plan = await live.PlanAsync(_set, CancellationToken.None);
        var outcomes = await live.ApplyAsync(_set, plan, _ => true, CancellationToken.None);
        Assert.All(outcomes, o => Assert.True(o.Done, o.ToString()));
        return (plan, log);
    }

    private async Task<FederationPlan> PlanAgainAsync(bool prune)
    {
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast);
        return await new LiveFederation(conns, new LiveOptions { Prune = prune }).PlanAsync(_set, CancellationToken.None);
    }

    /// <summary>What real kubectl auth can-i says cluster2 lets the token do (istiod's reads).</summary>
    private string CanI(string token, string verbResource) =>
        ExternalTools.Run("kubectl", $"--kubeconfig={_emptyKubeconfig} --server={_clusters["cluster2"].Url.ToString().TrimEnd('/')} --certificate-authority={_caFile} --token={token} auth can-i {verbResource} --all-namespaces").Output.Split('\n')[0].Trim();

    /// <summary>After a rotation, applying again keeps the rotated credential: the same token in the remote secret, nothing re-made, no change planned.</summary>
    private async Task AssertApplyKeepsAsync(string rotated, string revoked, string? rotatedSecret)
    {
        var (first, log) = await ApplyAgainAsync();
        Assert.DoesNotContain(first.Items, i => i.Cluster == "cluster2" && i.Name == "meshfed-reader-istio-remote-secret-token");
        Assert.Contains(first.Items, i => i.Cluster == "cluster1" && i.Name == "meshfed-reader-istio-remote-secret-token"); // cluster1's reader was not rotated
        var remote = Assert.Single(first.Items, i => i.Cluster == "cluster1" && i.Name == "istio-remote-secret-cluster2");
        Assert.True(remote.Action == PlanAction.Unchanged, $"{remote.Action}: {remote.Reason}");
        Assert.True(!first.HasChanges, string.Join("\n", first.Changes));
        Assert.DoesNotContain("eyJ", log.Text, StringComparison.Ordinal);
        Assert.Contains("the reader credential the last rotation put in force", log.Text, StringComparison.Ordinal);

        Assert.Equal(rotated, TokenIn());
        Assert.Equal(rotatedSecret is null ? new List<string>() : new List<string> { rotatedSecret }, TokenSecretsOf2()); // the revoked token Secret is not made again
        var (code, output) = Kubectl(rotated);
        Assert.True(code == 0 && output.Contains("APIVersions", StringComparison.Ordinal), output);
        Assert.Equal("yes", CanI(rotated, "list services"));
        Assert.Equal("yes", CanI(rotated, "watch endpoints"));
        Assert.Equal("no", CanI(rotated, "delete pods")); // a reader, and kubectl can tell

        var (oldCode, oldOutput) = Kubectl(revoked);
        Assert.NotEqual(0, oldCode);
        Assert.Contains("Unauthorized", oldOutput, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Pass, (await UsableAsync()).Status);

        // Idempotent: the next plan changes nothing, and pruning keeps the rotation's record and the token in force.
        var second = await PlanAgainAsync(prune: true);
        Assert.True(!second.HasChanges, string.Join("\n", second.Changes));
        Assert.Equal(rotated, TokenIn());
    }

    private List<string> TokenSecretsOf2() => _clusters["cluster2"].Store.List(Secrets, "istio-system", null, "v1")
        .Where(s => s["type"]?.GetValue<string>() == "kubernetes.io/service-account-token").Select(s => s["metadata"]!["name"]!.GetValue<string>()).OrderBy(n => n, StringComparer.Ordinal).ToList();

    [Fact]
    public async Task A_long_lived_token_is_rotated_every_secret_verified_and_the_old_token_revoked_only_then()
    {
        var old = TokenIn();
        var (code0, out0) = Kubectl(old);
        Assert.True(code0 == 0 && out0.Contains("APIVersions", StringComparison.Ordinal), out0);

        var (code, stdout, stderr) = Meshfed("--yes");
        Assert.True(code == 0, stdout + stderr);
        Assert.DoesNotContain("eyJ", stdout + stderr, StringComparison.Ordinal);
        Assert.Contains("Verified Secret istio-system/istio-remote-secret-cluster2 in cluster1", stdout, StringComparison.Ordinal);
        Assert.Contains("Revoked token Secret istio-system/meshfed-reader-istio-remote-secret-token in cluster2", stdout, StringComparison.Ordinal);

        // The secret holds a new token that kubectl may use; the old one is refused; the old token Secret is gone.
        var fresh = TokenIn();
        Assert.NotEqual(old, fresh);
        var (code1, out1) = Kubectl(fresh);
        Assert.True(code1 == 0 && out1.Contains("APIVersions", StringComparison.Ordinal), out1);
        var (code2, out2) = Kubectl(old);
        Assert.NotEqual(0, code2);
        Assert.Contains("Unauthorized", out2, StringComparison.Ordinal);
        var tokenSecrets = TokenSecretsOf2();
        var created = Assert.Single(tokenSecrets);
        Assert.StartsWith("meshfed-reader-token-", created, StringComparison.Ordinal);
        var record = _clusters["cluster2"].Store.Get(Secrets, "istio-system", created, "v1")!;
        Assert.True(Ownership.IsOwned(record, "meshfederation"), record.ToJsonString());
        Assert.Equal("meshfed-reader-istio-remote-secret-token", record["metadata"]!["annotations"]![CredentialRotation.ReplacesAnnotation]!.GetValue<string>());
        // The rotated secret stays meshfed's, and the check passes it; a long-lived token has no expiry to report.
        Assert.True(Ownership.IsOwned(RemoteSecret(), "meshfederation"));
        var usable = await UsableAsync();
        Assert.Equal(CheckStatus.Pass, usable.Status);
        Assert.Contains("does not expire", usable.Message, StringComparison.Ordinal);

        // The rotation recorded the credential it put in force (meshfed's, no token in it), and apply keeps using it.
        var state = _clusters["cluster2"].Store.Get(ResourceTypes.ByKind("v1", "ConfigMap")!, "istio-system", "meshfed-reader-credential", "v1")!;
        Assert.True(Ownership.IsOwned(state, "meshfederation"), state.ToJsonString());
        Assert.Equal(created, state["metadata"]!["annotations"]!["rotation.meshfederation.io/token-secret"]!.GetValue<string>());
        Assert.DoesNotContain(fresh, state.ToJsonString(), StringComparison.Ordinal);
        await AssertApplyKeepsAsync(fresh, old, created);

        // meshfed remove takes the rotation's token Secret and record along with the reader.
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast);
        var removal = await new LiveFederation(conns).PlanRemovalAsync(_set, CancellationToken.None);
        Assert.Contains(removal.Items, i => i.Action == PlanAction.Delete && i.Cluster == "cluster2" && i.Name == created);
        Assert.Contains(removal.Items, i => i.Action == PlanAction.Delete && i.Cluster == "cluster2" && i.Name == "meshfed-reader-credential");
    }

    [Fact]
    public async Task A_bound_token_carries_its_expiry_into_the_checks_and_cannot_be_revoked_later()
    {
        var original = TokenIn();
        var (code, stdout, stderr) = Meshfed("--bound-token", "--token-expiry", "1h", "--yes");
        Assert.True(code == 0, stdout + stderr);
        Assert.DoesNotContain("eyJ", stdout + stderr, StringComparison.Ordinal);
        Assert.Empty(TokenSecretsOf2()); // the long-lived token Secret meshfed apply made was revoked
        var exp = CredentialRotation.ClaimsOf(TokenIn())!["exp"]!.GetValue<long>();
        var expires = DateTimeOffset.FromUnixTimeSeconds(exp);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(55), TimeSpan.FromMinutes(61));

        // The check shows the expiry; close to it (a fifth of the 1 h lifetime: 12 min) it warns; past it, it fails.
        var now = await UsableAsync();
        Assert.Equal(CheckStatus.Pass, now.Status);
        Assert.Contains($"expires at {expires.UtcDateTime:yyyy-MM-dd}", now.Message, StringComparison.Ordinal);
        var soon = await UsableAsync(expires.AddMinutes(-5));
        Assert.Equal(CheckStatus.Warn, soon.Status);
        Assert.Contains("within the warning threshold of 12 min (a fifth of its 60 min lifetime)", soon.Message, StringComparison.Ordinal);
        var late = await UsableAsync(expires.AddMinutes(1));
        Assert.Equal(CheckStatus.Fail, late.Status);
        Assert.Contains("expired", late.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ", now.Message + soon.Message + string.Join(" ", now.Evidence), StringComparison.Ordinal);

        // Applying again keeps the bound token (no long-lived token Secret comes back), and a bound token close to its
        // expiry is reported, not silently replaced.
        await AssertApplyKeepsAsync(TokenIn(), original, null);
        using (var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast))
        {
            var log = new RecordingLog();
            var holders = new[] { (conns.For(Bindings[0]), "cluster1", "istio-system") };
            var kept = await ReaderCredential.CurrentAsync(conns.For(Bindings[1]), "cluster2", "istio-system", "cluster2", holders, TestSupport.Yaml, log, CancellationToken.None, expires.AddMinutes(-5));
            Assert.Equal(TokenIn(), kept!.ExportToken());
            Assert.Contains("WARNING: cluster2: the reader's bound token of istio-system/meshfed-reader", log.Text, StringComparison.Ordinal);
            Assert.Contains("expires in 5 min, within the warning threshold of 12 min", log.Text, StringComparison.Ordinal);
            Assert.Contains("applying never replaces it by itself", log.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("eyJ", log.Text, StringComparison.Ordinal);
        }

        // Rotating again: the old bound token is said to be unrevocable (until its expiry), not deleted or hidden.
        var first = TokenIn();
        var (code2, stdout2, stderr2) = Meshfed("--bound-token", "--token-expiry", "2h", "--yes");
        Assert.True(code2 == 0, stdout2 + stderr2);
        Assert.Contains("NotRevocable bound token of system:serviceaccount:istio-system:meshfed-reader", stdout2, StringComparison.Ordinal);
        Assert.Contains("cannot be revoked on its own", stdout2, StringComparison.Ordinal);
        Assert.Equal(0, Kubectl(first).Code);
        Assert.Equal(0, Kubectl(TokenIn()).Code);
    }

    [Fact]
    public void A_secret_meshfed_did_not_create_is_refused_without_take_over_and_dry_runs_change_nothing()
    {
        // Someone copied the remote secret with kubectl: it points at cluster2 too, but is not meshfed's.
        var copy = (JsonObject)RemoteSecret().DeepClone();
        var md = copy["metadata"]!.AsObject();
        md["name"] = "istio-remote-secret-cluster2-copy";
        foreach (var k in new[] { "uid", "resourceVersion", "managedFields", "creationTimestamp" }) md.Remove(k);
        md["annotations"]!.AsObject().Remove(Ownership.CreatedAnnotation);
        _clusters["cluster1"].Store.Upsert(copy, "kubectl");
        var before = (RemoteSecret().ToJsonString(), RemoteSecret("istio-remote-secret-cluster2-copy").ToJsonString(), string.Join(",", TokenSecretsOf2()));

        var (code, stdout, stderr) = Meshfed("--yes");
        Assert.Equal(2, code);
        Assert.Contains("Secret istio-system/istio-remote-secret-cluster2-copy", stderr, StringComparison.Ordinal);
        Assert.Contains("--take-over", stderr, StringComparison.Ordinal);
        Assert.Equal(before, (RemoteSecret().ToJsonString(), RemoteSecret("istio-remote-secret-cluster2-copy").ToJsonString(), string.Join(",", TokenSecretsOf2())));

        var (dcode, dout, derr) = Meshfed("--take-over", "--dry-run");
        Assert.True(dcode == 0, dout + derr);
        Assert.Contains("taken over", dout, StringComparison.Ordinal);
        Assert.Contains("DELETE", dout, StringComparison.Ordinal);
        Assert.Equal(before, (RemoteSecret().ToJsonString(), RemoteSecret("istio-remote-secret-cluster2-copy").ToJsonString(), string.Join(",", TokenSecretsOf2())));

        var (tcode, tout, terr) = Meshfed("--take-over", "--yes");
        Assert.True(tcode == 0, tout + terr);
        Assert.Equal(TokenIn(), TokenIn("istio-remote-secret-cluster2-copy"));
        Assert.Equal(0, Kubectl(TokenIn()).Code);
    }

    [Fact]
    public async Task When_a_secret_does_not_verify_the_old_token_is_kept_and_a_second_run_revokes_both()
    {
        var old = TokenIn();
        // The reader loses its permissions on cluster2: a new token authenticates but may not list, so nothing verifies.
        var bindings = ResourceTypes.ByKind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")!;
        var binding = _clusters["cluster2"].Store.Get(bindings, null, "meshfed-reader-istio-system", "v1")!;
        _clusters["cluster2"].Store.Delete(bindings, null, "meshfed-reader-istio-system");
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast);
        var log = new RecordingLog();
        var rotation = new CredentialRotation(conns, Bindings, "cluster2", new CredentialRotationOptions { WaitTimeout = TimeSpan.FromSeconds(1), PollInterval = TimeSpan.FromMilliseconds(200) }, log);
        var plan = await rotation.PlanAsync(CancellationToken.None);
        var result = await rotation.ApplyAsync(plan, _ => true, CancellationToken.None);
        Assert.False(result.Verified);
        var secret = Assert.Single(result.Secrets);
        Assert.Equal(RemoteSecretState.NotVerified, secret.State);
        Assert.Contains("may not list services, endpoints, pods", secret.Detail, StringComparison.Ordinal);
        var kept = Assert.Single(result.OldCredentials);
        Assert.Equal(OldCredentialState.Kept, kept.State);
        Assert.Contains("not revoked", kept.Detail, StringComparison.Ordinal);
        Assert.False(result.Completed);
        Assert.Equal(2, TokenSecretsOf2().Count);
        Assert.Contains("Unauthorized", Kubectl("not-a-token").Output, StringComparison.Ordinal);
        var stillValid = Kubectl(old); // still authenticates: not revoked
        Assert.True(stillValid.Code == 0, stillValid.Output);
        Assert.DoesNotContain("eyJ", log.Text, StringComparison.Ordinal);

        // Permissions back: the next run verifies and revokes the first token and the one the failed run issued.
        md(binding);
        _clusters["cluster2"].Store.Upsert(binding, "kubectl");
        var failedRunToken = TokenIn();
        var (code, stdout, stderr) = Meshfed("--yes");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("Revoked token Secret istio-system/meshfed-reader-istio-remote-secret-token", stdout, StringComparison.Ordinal);
        Assert.Contains("an earlier rotation that was not finished", stdout, StringComparison.Ordinal);
        Assert.Single(TokenSecretsOf2());
        Assert.NotEqual(0, Kubectl(old).Code);
        Assert.NotEqual(0, Kubectl(failedRunToken).Code);
        Assert.Equal(0, Kubectl(TokenIn()).Code);

        static void md(JsonObject o)
        {
            foreach (var k in new[] { "uid", "resourceVersion", "managedFields", "creationTimestamp" }) o["metadata"]!.AsObject().Remove(k);
        }
    }

    [Fact]
    public async Task Apply_refuses_rather_than_falling_back_when_the_rotated_credential_is_gone_and_the_record_can_be_dropped()
    {
        Assert.Equal(0, Meshfed("--yes").Code);
        var rotated = Assert.Single(TokenSecretsOf2());
        // Someone deletes the token Secret in force: its token is revoked; apply must not quietly make another one.
        _clusters["cluster2"].Store.Delete(Secrets, "istio-system", rotated);
        var before = RemoteSecret().ToJsonString();
        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => PlanAgainAsync(prune: false));
        var problem = Assert.Single(ex.Problems);
        Assert.Contains($"token Secret istio-system/{rotated}, which no longer exists", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("meshfed remote-secret rotate --cluster cluster2", problem.Fix, StringComparison.Ordinal);
        Assert.Contains("delete configmap meshfed-reader-credential", problem.Fix, StringComparison.Ordinal);
        Assert.Equal(before, RemoteSecret().ToJsonString());
        Assert.Empty(TokenSecretsOf2());

        // Dropping the record (as the fix says) goes back to the token Secret meshfed apply makes.
        _clusters["cluster2"].Store.Delete(ResourceTypes.ByKind("v1", "ConfigMap")!, "istio-system", "meshfed-reader-credential");
        await ApplyAgainAsync();
        Assert.Equal(new List<string> { "meshfed-reader-istio-remote-secret-token" }, TokenSecretsOf2());
        Assert.Equal(0, Kubectl(TokenIn()).Code);
    }

    [Fact]
    public void Bad_input_is_refused_before_anything_is_read()
    {
        Assert.Equal(2, Meshfed("--token-expiry", "24h", "--yes").Code); // without --bound-token
        Assert.Equal(2, Meshfed("--bound-token", "--yes").Code); // without --token-expiry
        var (code, _, err) = Meshfed("--bound-token", "--token-expiry", "5m", "--yes");
        Assert.Equal(2, code);
        Assert.Contains("--token-expiry", err, StringComparison.Ordinal);
        Assert.Contains("at least 10 minutes", err, StringComparison.Ordinal);
        using var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig);
        var ex = Assert.Throws<MeshFederationException>(() => new CredentialRotation(conns, Bindings, "cluster9"));
        Assert.Contains("is not one of the clusters given (cluster1, cluster2)", ex.Problems[0].Problem, StringComparison.Ordinal);
        Assert.Single(TokenSecretsOf2()); // only the one meshfed apply made
    }
}
