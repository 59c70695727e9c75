using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Pki;
using MeshFederation.Engine.Rotation;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// Issue 18, OSSM 2 federation: blue-mesh's root rotated in green-mesh's ConfigMap blue-mesh-ca-root-cert (seed 001,
/// applied live on two test clusters whose fake istiod signs with blue's cacerts and takes up a changed root only when
/// restarted). openssl judges at every phase boundary which of blue's workload certificates (from its old and its new
/// intermediate) verify against the bundle green holds; the live checks judge both sides at each phase.
/// </summary>
public sealed class PeerRootRotationTests : Ossm2ClustersTest
{
    private const string BlueNs = "blue-mesh-system";
    private const string GreenNs = "green-mesh-system";
    private const string PeerConfigMap = "blue-mesh-ca-root-cert";
    private MeshCertificateAuthority _old = null!;
    private MeshCertificateAuthority _new = null!;
    private string _newCert = "";

    private async Task SetUpAsync()
    {
        // blue-mesh signs with a plugged-in CA (its user's cacerts, not meshfed's) from the start.
        _old = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256, 365);
        _old.Issue("blue");
        _new = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256, 3650);
        _new.Issue("blue");
        _newCert = Path.Combine(Clusters.Directory, "new-root-cert.pem");
        File.WriteAllText(_newCert, _new.Root.CertificatePem);
        var blue = Clusters["blue"].Store;
        blue.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = BlueNs } }, "oc");
        blue.Upsert(_old.CacertsSecret("blue", BlueNs, "blue-mesh"), "oc");
        using var conns = new ClusterConnections(TestSupport.Yaml, KubeconfigPath, TestClusters.Fast);
        var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20), WaitTimeout = TimeSpan.FromSeconds(20) });
        var set = TestSupport.LoadText(LiveFederationTests.Seed001Live(), "seed-001.yaml");
        var outcomes = await live.ApplyAsync(set, await live.PlanAsync(set, CancellationToken.None), _ => true, CancellationToken.None);
        Assert.All(outcomes, o => Assert.True(o.Done, o.ToString()));
    }

    private (int Code, string Out, string Err) Meshfed(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        var all = new List<string> { "ca", "rotate", "--kubeconfig", KubeconfigPath, "--context", "blue", "--context", "green", "--mesh", "blue-mesh" };
        all.AddRange(args);
        var code = MeshfedApp.Run(all.ToArray(), o, e);
        return (code, o.ToString(), e.ToString());
    }

    private JsonObject? PeerCm() => Clusters["green"].Store.Get(ResourceTypes.ByKind("v1", "ConfigMap")!, GreenNs, PeerConfigMap, "v1");

    private string Bundle() => PeerCm()!["data"]!["root-cert.pem"]!.GetValue<string>();

    private static int Roots(string pem) => pem.Split("BEGIN CERTIFICATE").Length - 1;

    /// <summary>A workload certificate of blue-mesh, signed by an intermediate, written with its chain.</summary>
    private string Leaf(string name, ClusterCertificates ca)
    {
        using var issuer = X509Certificate2.CreateFromPem(ca.Intermediate.CertificatePem, ca.Intermediate.ExportPrivateKeyPem());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("O=", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("spiffe://blue-mesh.local/ns/blue-mesh-system/sa/" + name));
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        using var leaf = req.Create(issuer, new DateTimeOffset(issuer.NotBefore.ToUniversalTime(), TimeSpan.Zero), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(12));
        var dir = Path.Combine(Clusters.Directory, "leaves", name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "leaf.pem"), leaf.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(dir, "chain.pem"), ca.Intermediate.CertificatePem);
        return dir;
    }

    /// <summary>openssl verify of a leaf (with its intermediate) against the bundle green holds for blue now.</summary>
    private bool Verifies(string leafDir)
    {
        var bundle = Path.Combine(Clusters.Directory, $"bundle-{Guid.NewGuid():N}.pem");
        File.WriteAllText(bundle, Bundle());
        var (code, _) = ExternalTools.Run("openssl", $"verify -CAfile {bundle} -untrusted {Path.Combine(leafDir, "chain.pem")} {Path.Combine(leafDir, "leaf.pem")}");
        return code == 0;
    }

    private async Task<(MeshCheckResult Green, MeshCheckResult Blue)> PeerRootChecks()
    {
        using var conns = new ClusterConnections(TestSupport.Yaml, KubeconfigPath, TestClusters.Fast);
        var results = await MeshChecks.RunLiveAsync(TestSupport.LoadText(LiveFederationTests.Seed001Live(), "seed-001.yaml"),
            new[] { new ClusterBinding("blue"), new ClusterBinding("green") }, conns, new CheckOptions(), false, null, CancellationToken.None);
        return (results.Single(r => r.CheckId == "OSSM2.PeerRootCertificate" && r.Mesh == "green-mesh"),
            results.Single(r => r.CheckId == "OSSM2.PeerRootCertificate" && r.Mesh == "blue-mesh"));
    }

    /// <summary>blue-mesh's user switches its cacerts (the new intermediate, with the roots given) and, optionally, restarts its istiod.</summary>
    private void SwitchBlueCa(bool keepOldRoot, bool restart)
    {
        var secret = _new.CacertsSecret("blue", BlueNs, "blue-mesh");
        if (keepOldRoot) secret["data"]!["root-cert.pem"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(_new.Root.CertificatePem + _old.Root.CertificatePem));
        Clusters["blue"].Store.Upsert(secret, "oc");
        if (restart) Assert.Equal(0, Kubectl("blue", $"-n {BlueNs} delete pod istiod-blue-mesh-0").Code);
    }

    [Fact]
    public async Task Three_gated_phases_keep_blues_old_and_new_certificates_verifying_in_green_resume_after_an_interruption_and_the_checks_follow()
    {
        ExternalTools.Require("openssl");
        await SetUpAsync();
        var oldLeaf = Leaf("old", _old["blue"]);
        var newLeaf = Leaf("new", _new["blue"]);
        Assert.True(Verifies(oldLeaf));
        Assert.False(Verifies(newLeaf));
        var checks = await PeerRootChecks();
        Assert.Equal(CheckStatus.Pass, checks.Green.Status);

        // Gated: reissue and trust-remove cannot run first.
        var (code, output, err) = Meshfed("--phase", "reissue", "--yes");
        Assert.Equal(2, code);
        Assert.Contains("cannot run before trust-add", err, StringComparison.Ordinal);

        // A dry run plans and changes nothing.
        var version = PeerCm()!["metadata"]!["resourceVersion"]!.GetValue<string>();
        (code, output, err) = Meshfed("--phase", "trust-add", "--new-root-cert", _newCert, "--dry-run");
        Assert.True(code == 0, err);
        Assert.Contains($"UPDATE  green", output, StringComparison.Ordinal);
        Assert.Equal(version, PeerCm()!["metadata"]!["resourceVersion"]!.GetValue<string>());

        // Phase 1: green holds both roots; both of blue's generations verify there.
        (code, output, err) = Meshfed("--phase", "trust-add", "--new-root-cert", _newCert, "--yes", "--timeout", "10");
        Assert.True(code == 0, output + err);
        Assert.Contains("verified trust-add on green (green-mesh)", output, StringComparison.Ordinal);
        Assert.Equal(2, Roots(Bundle()));
        Assert.True(Verifies(oldLeaf));
        Assert.True(Verifies(newLeaf));
        Assert.True(Ownership.IsOwned(PeerCm()!, "meshfederation"));
        checks = await PeerRootChecks();
        Assert.Equal(CheckStatus.Pass, checks.Green.Status);
        Assert.Contains("old and new roots while its root rotation is at stage trust-added", checks.Green.Message, StringComparison.Ordinal);
        Assert.Contains(checks.Green.Evidence, e => e.Value?.Contains("trust-added", StringComparison.Ordinal) == true);
        Assert.Equal(CheckStatus.Pass, checks.Blue.Status); // green's root in blue is untouched

        // Applying the federation mid-rotation keeps the overlap (blue publishes only its old root yet).
        using (var conns = new ClusterConnections(TestSupport.Yaml, KubeconfigPath, TestClusters.Fast))
        {
            var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20), WaitTimeout = TimeSpan.FromSeconds(20) });
            var set = TestSupport.LoadText(LiveFederationTests.Seed001Live(), "seed-001.yaml");
            var plan = await live.PlanAsync(set, CancellationToken.None);
            Assert.Equal(PlanAction.Unchanged, plan.Items.Single(i => i.Kind == "ConfigMap" && i.Name == PeerConfigMap).Action);
        }

        // Phase 2, interrupted: blue's cacerts is switched but its istiod was not restarted, so it still publishes the old root.
        SwitchBlueCa(keepOldRoot: true, restart: false);
        (code, output, err) = Meshfed("--phase", "reissue", "--yes", "--timeout", "1");
        Assert.Equal(1, code);
        Assert.Contains("NOT verified reissue on blue (blue-mesh)", output, StringComparison.Ordinal);
        Assert.Contains("does not publish the new root", output, StringComparison.Ordinal);
        Assert.Contains("run --phase reissue again", err, StringComparison.Ordinal);

        // Another machine (a new engine on new connections) reads where it stands from the clusters.
        using (var conns = new ClusterConnections(TestSupport.Yaml, KubeconfigPath, TestClusters.Fast))
        {
            var status = await new PeerRootRotation(conns, new[] { new ClusterBinding("blue"), new ClusterBinding("green") }, "blue-mesh").GetStatusAsync(CancellationToken.None);
            Assert.Equal(RotationStage.TrustAdded, status.Stage);
            Assert.Equal(RotationPhase.Reissue, status.NextPhase);
            Assert.Equal(_new.Root.Thumbprint, status.SigningRoot!.Fingerprint);
            Assert.Equal(_old.Root.Thumbprint, status.OldRoot!.Fingerprint);
            Assert.Equal(PeerConfigMap, Assert.Single(status.Peers).ConfigMap);
        }

        // Resumed once istiod restarted: verified and recorded.
        SwitchBlueCa(keepOldRoot: true, restart: true);
        (code, output, err) = Meshfed("--phase", "reissue", "--yes", "--timeout", "10");
        Assert.True(code == 0, output + err);
        Assert.Contains("verified reissue on blue (blue-mesh): Secret blue-mesh-system/cacerts signs with the new root", output, StringComparison.Ordinal);
        Assert.True(Verifies(oldLeaf));
        Assert.True(Verifies(newLeaf));
        checks = await PeerRootChecks();
        Assert.Equal(CheckStatus.Pass, checks.Green.Status);
        Assert.Contains("stage reissued", checks.Green.Message, StringComparison.Ordinal);

        // Phase 3 is refused while blue still publishes the old root; nothing is changed.
        version = PeerCm()!["metadata"]!["resourceVersion"]!.GetValue<string>();
        (code, _, err) = Meshfed("--phase", "trust-remove", "--yes");
        Assert.Equal(2, code);
        Assert.Contains("still publishes the old root", err, StringComparison.Ordinal);
        Assert.Equal(version, PeerCm()!["metadata"]!["resourceVersion"]!.GetValue<string>());

        // Once blue publishes only the new root, the old one goes: blue's new certificates verify in green, old ones no longer do.
        SwitchBlueCa(keepOldRoot: false, restart: true);
        (code, output, err) = Meshfed("--phase", "trust-remove", "--yes", "--timeout", "10");
        Assert.True(code == 0, output + err);
        Assert.Contains("the rotation is complete", output, StringComparison.Ordinal);
        Assert.Equal(1, Roots(Bundle()));
        Assert.True(Verifies(newLeaf));
        Assert.False(Verifies(oldLeaf));
        checks = await PeerRootChecks();
        Assert.Equal(CheckStatus.Pass, checks.Green.Status);
        Assert.Equal(CheckStatus.Pass, checks.Blue.Status);

        // A lingering overlap after completion is a warning, naming the phase to run again.
        var cm = PeerCm()!;
        cm["data"]!["root-cert.pem"] = Bundle() + _old.Root.CertificatePem;
        Clusters["green"].Store.Upsert(cm, "meshfederation");
        checks = await PeerRootChecks();
        Assert.Equal(CheckStatus.Warn, checks.Green.Status);
        Assert.Contains("completed, but blue-mesh-ca-root-cert still holds the old root", checks.Green.Message, StringComparison.Ordinal);
        Assert.Contains("--phase trust-remove", checks.Green.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mesh_whose_istiod_self_signs_is_rotated_reading_its_CA_from_istio_ca_secret()
    {
        ExternalTools.Require("openssl");
        // blue-mesh has no cacerts: its istiod makes its own root and keeps it in istio-ca-secret, as real istiod does.
        _new = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256, 3650);
        _new.Issue("blue");
        _newCert = Path.Combine(Clusters.Directory, "new-root-cert.pem");
        File.WriteAllText(_newCert, _new.Root.CertificatePem);
        using (var conns = new ClusterConnections(TestSupport.Yaml, KubeconfigPath, TestClusters.Fast))
        {
            var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20), WaitTimeout = TimeSpan.FromSeconds(20) });
            var set = TestSupport.LoadText(LiveFederationTests.Seed001Live(), "seed-001.yaml");
            Assert.All(await live.ApplyAsync(set, await live.PlanAsync(set, CancellationToken.None), _ => true, CancellationToken.None), o => Assert.True(o.Done, o.ToString()));
        }
        var caSecret = Clusters["blue"].Store.Get(ResourceTypes.ByKind("v1", "Secret")!, BlueNs, "istio-ca-secret", "v1")!;
        Assert.Equal("istio.io/ca-root", caSecret["type"]!.GetValue<string>());
        var selfRoot = Encoding.UTF8.GetString(Convert.FromBase64String(caSecret["data"]!["ca-cert.pem"]!.GetValue<string>()));
        var selfKey = Encoding.UTF8.GetString(Convert.FromBase64String(caSecret["data"]!["ca-key.pem"]!.GetValue<string>()));
        Assert.Equal(selfRoot, Bundle()); // green holds the root blue's istiod made

        // A workload certificate istiod signed with its self-made root, and one from the new intermediate.
        var selfLeaf = Path.Combine(Clusters.Directory, "leaves", "self");
        Directory.CreateDirectory(selfLeaf);
        using (var issuer = X509Certificate2.CreateFromPem(selfRoot, selfKey))
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var req = new CertificateRequest("O=", key, HashAlgorithmName.SHA256);
            req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            using var leaf = req.Create(issuer, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(12));
            File.WriteAllText(Path.Combine(selfLeaf, "leaf.pem"), leaf.ExportCertificatePem() + "\n");
            File.WriteAllText(Path.Combine(selfLeaf, "chain.pem"), selfRoot);
        }
        var newLeaf = Leaf("new", _new["blue"]);
        Assert.True(Verifies(selfLeaf));
        Assert.False(Verifies(newLeaf));

        // trust-add reads blue's CA from istio-ca-secret (not "could not be read") and green then trusts both.
        var (code, output, err) = Meshfed("--phase", "trust-add", "--new-root-cert", _newCert, "--yes", "--timeout", "10");
        Assert.True(code == 0, output + err);
        Assert.Equal(2, Roots(Bundle()));
        Assert.True(Verifies(selfLeaf));
        Assert.True(Verifies(newLeaf));
        using (var conns = new ClusterConnections(TestSupport.Yaml, KubeconfigPath, TestClusters.Fast))
        {
            var status = await new PeerRootRotation(conns, new[] { new ClusterBinding("blue"), new ClusterBinding("green") }, "blue-mesh").GetStatusAsync(CancellationToken.None);
            Assert.Equal(RotationStage.TrustAdded, status.Stage);
            Assert.Equal(X509Certificate2.CreateFromPem(selfRoot).GetCertHashString(HashAlgorithmName.SHA256), status.OldRoot!.Fingerprint, ignoreCase: true);
        }

        // reissue: the user plugs in cacerts under the new root (keeping the self-made one trusted) and restarts istiod.
        var cacerts = _new.CacertsSecret("blue", BlueNs, "blue-mesh");
        cacerts["data"]!["root-cert.pem"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(_new.Root.CertificatePem + selfRoot));
        Clusters["blue"].Store.Upsert(cacerts, "oc");
        Assert.Equal(0, Kubectl("blue", $"-n {BlueNs} delete pod istiod-blue-mesh-0").Code);
        (code, output, err) = Meshfed("--phase", "reissue", "--yes", "--timeout", "10");
        Assert.True(code == 0, output + err);
        Assert.Contains("Secret blue-mesh-system/cacerts signs with the new root", output, StringComparison.Ordinal);
        Assert.True(Verifies(selfLeaf));
        Assert.True(Verifies(newLeaf));
    }

    [Fact]
    public async Task A_peer_ConfigMap_meshfed_did_not_create_or_that_disagrees_is_refused_and_adopt_takes_it_over()
    {
        await SetUpAsync();
        // green's copy of blue's root made by hand (as the Maistra docs do it), with the right content.
        var cmType = ResourceTypes.ByKind("v1", "ConfigMap")!;
        var root = Bundle();
        Clusters["green"].Store.Delete(cmType, GreenNs, PeerConfigMap);
        Clusters["green"].Store.Upsert(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = PeerConfigMap, ["namespace"] = GreenNs },
            ["data"] = new JsonObject { ["root-cert.pem"] = root },
        }, "kubectl");
        var version = PeerCm()!["metadata"]!["resourceVersion"]!.GetValue<string>();
        var (code, _, err) = Meshfed("--phase", "trust-add", "--new-root-cert", _newCert, "--yes");
        Assert.Equal(2, code);
        Assert.Contains($"ConfigMap {GreenNs}/{PeerConfigMap}", err, StringComparison.Ordinal);
        Assert.Contains("is not this module's", err, StringComparison.Ordinal);
        Assert.Contains("--adopt", err, StringComparison.Ordinal);
        Assert.Equal(version, PeerCm()!["metadata"]!["resourceVersion"]!.GetValue<string>());

        // A peer that holds another root than blue's: the peers disagree, nothing starts.
        var stale = PeerCm()!;
        stale["data"]!["root-cert.pem"] = TestPki.RootCertificatePem("someone-else");
        Clusters["green"].Store.Upsert(stale, "kubectl");
        (code, _, err) = Meshfed("--phase", "trust-add", "--new-root-cert", _newCert, "--adopt", "--yes");
        Assert.Equal(2, code);
        Assert.Contains("the peers disagree on blue-mesh's root", err, StringComparison.Ordinal);
        Assert.Null(Clusters["blue"].Store.Get(cmType, BlueNs, PeerRootRotation.StateConfigMap, "v1"));

        // --adopt takes the hand-made ConfigMap over (content kept, new root added) and proves it ours from then on.
        stale["data"]!["root-cert.pem"] = root;
        Clusters["green"].Store.Upsert(stale, "kubectl");
        var output = "";
        (code, output, err) = Meshfed("--phase", "trust-add", "--new-root-cert", _newCert, "--adopt", "--dry-run");
        Assert.True(code == 0, err);
        Assert.Contains("ADOPT", output, StringComparison.Ordinal);
        (code, output, err) = Meshfed("--phase", "trust-add", "--new-root-cert", _newCert, "--adopt", "--yes", "--timeout", "10");
        Assert.True(code == 0, output + err);
        Assert.True(Ownership.IsOwned(PeerCm()!, "meshfederation"));
        Assert.Equal(2, Roots(Bundle()));
        Assert.Equal("trust-added", Kubectl("blue", $"-n {BlueNs} get configmap {PeerRootRotation.StateConfigMap} -o jsonpath={{.metadata.annotations.rotation\\.meshfederation\\.io/stage}}").Output.Trim());
    }
}
