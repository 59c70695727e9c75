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
    }

    [Fact]
    public async Task A_bound_token_carries_its_expiry_into_the_checks_and_cannot_be_revoked_later()
    {
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
