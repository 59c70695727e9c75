using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Pki;
using MeshFederation.Engine.Rotation;
using MeshFederation.Engine.Validation;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// Issue 18: a shared root rotated across a multi-primary mesh on test API servers whose fake istiod reloads cacerts as
/// istiod does (roots only with ISTIO_MULTIROOT_MESH=true, superset or subset bundles only). openssl judges at every
/// phase boundary that workload certificates from the old and the new intermediates verify against the bundles in force.
/// </summary>
public sealed class RootRotationTests : IAsyncLifetime
{
    private static readonly string[] Clusters = { "east", "west" };
    private TestClusters _clusters = null!;
    private readonly Dictionary<string, FakeSailOperator> _istiod = new();
    private string _kubeconfig = "";
    private MeshCertificateAuthority _old = null!;
    private string _newCert = "";
    private string _newKey = "";

    public async Task InitializeAsync()
    {
        _clusters = await TestClusters.StartAsync(Clusters);
        _kubeconfig = _clusters.WriteKubeconfig();
        // The old root issued a year's intermediates, the new one ten years': their chains' expiries differ.
        _old = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256, 365);
        var fresh = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256, 3650);
        var dir = Path.Combine(_clusters.Directory, "new-root");
        Directory.CreateDirectory(dir);
        _newCert = Path.Combine(dir, "root-cert.pem");
        _newKey = Path.Combine(dir, "root-key.pem");
        File.WriteAllText(_newCert, fresh.Root.CertificatePem);
        File.WriteAllText(_newKey, fresh.Root.ExportPrivateKeyPem());
        foreach (var s in _clusters.Servers)
        {
            _istiod[s.Name] = new FakeSailOperator(s, "10.40.1.");
            _old.Issue(s.Name);
            s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "istio-system" } }, "kubectl");
            s.Store.Upsert(_old.CacertsSecret(s.Name, "istio-system", "mesh"), "kubectl");
        }
    }

    public async Task DisposeAsync() => await _clusters.DisposeAsync();

    private void StartIstiod(string cluster, bool multiRoot = true, string? profile = null)
    {
        var spec = new JsonObject
        {
            ["version"] = "v1.24.3", ["namespace"] = "istio-system",
            ["values"] = new JsonObject { ["global"] = new JsonObject { ["multiCluster"] = new JsonObject { ["clusterName"] = cluster } } },
        };
        if (multiRoot) spec["values"]!["pilot"] = new JsonObject { ["env"] = new JsonObject { ["ISTIO_MULTIROOT_MESH"] = "true" } };
        if (profile is not null) spec["profile"] = profile;
        _clusters[cluster].Store.Upsert(new JsonObject { ["apiVersion"] = "sailoperator.io/v1", ["kind"] = "Istio", ["metadata"] = new JsonObject { ["name"] = "default" }, ["spec"] = spec }, "kubectl");
    }

    private (int Code, string Out, string Err) Meshfed(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        var all = new List<string> { "ca", "rotate", "--kubeconfig", _kubeconfig, "--timeout", "10" };
        foreach (var c in Clusters) { all.Add("--context"); all.Add(c); }
        all.AddRange(args);
        var code = MeshfedApp.Run(all.ToArray(), o, e);
        return (code, o.ToString(), e.ToString());
    }

    private JsonObject? Get(string cluster, string kind, string name) =>
        _clusters[cluster].Store.Get(ResourceTypes.ByKind("v1", kind)!, "istio-system", name, "v1");

    private string Published(string cluster) => Get(cluster, "ConfigMap", "istio-ca-root-cert")!["data"]!["root-cert.pem"]!.GetValue<string>();

    private (string Cert, string Key) Intermediate(string cluster)
    {
        var data = Get(cluster, "Secret", "cacerts")!["data"]!;
        string D(string k) => Encoding.UTF8.GetString(Convert.FromBase64String(data[k]!.GetValue<string>()));
        return (D("ca-cert.pem"), D("ca-key.pem"));
    }

    /// <summary>A workload certificate as istiod issues it: SPIFFE URI, signed by the intermediate.</summary>
    private string Leaf(string name, (string Cert, string Key) intermediate)
    {
        using var issuer = X509Certificate2.CreateFromPem(intermediate.Cert, intermediate.Key);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("O=", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("spiffe://cluster.local/ns/sample/sa/" + name));
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new("1.3.6.1.5.5.7.3.1"), new("1.3.6.1.5.5.7.3.2") }, false));
        using var leaf = req.Create(issuer, new DateTimeOffset(issuer.NotBefore.ToUniversalTime(), TimeSpan.Zero), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(12));
        var dir = Path.Combine(_clusters.Directory, "leaves", name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "leaf.pem"), leaf.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(dir, "chain.pem"), intermediate.Cert);
        return dir;
    }

    /// <summary>openssl verify of a leaf (with its intermediate) against the bundle a cluster publishes now.</summary>
    private (bool Ok, string Output) Verifies(string leafDir, string cluster)
    {
        var bundle = Path.Combine(_clusters.Directory, $"bundle-{cluster}-{Guid.NewGuid():N}.pem");
        File.WriteAllText(bundle, Published(cluster));
        var (code, output) = ExternalTools.Run("openssl", $"verify -CAfile {bundle} -untrusted {Path.Combine(leafDir, "chain.pem")} {Path.Combine(leafDir, "leaf.pem")}");
        return (code == 0, output);
    }

    [Fact]
    public async Task Three_gated_phases_keep_old_and_new_workload_certificates_verifying_and_resume_after_an_interruption()
    {
        ExternalTools.Require("openssl");
        foreach (var c in Clusters) StartIstiod(c);
        var oldLeaf = Leaf("old-east", Intermediate("east"));
        foreach (var c in Clusters) Assert.True(Verifies(oldLeaf, c).Ok, Verifies(oldLeaf, c).Output);

        var (code, output, err) = Meshfed("--status");
        Assert.True(code == 0, err);
        Assert.Contains("no rotation recorded", output, StringComparison.Ordinal);

        // Gated: the second phase cannot run first.
        (code, _, err) = Meshfed("--phase", "reissue", "--new-root-cert", _newCert, "--new-root-key", _newKey, "--yes");
        Assert.Equal(2, code);
        Assert.Contains("run before trust-add", err, StringComparison.Ordinal);

        // A dry run plans and changes nothing.
        var before = Get("east", "Secret", "cacerts")!["metadata"]!["resourceVersion"]!.GetValue<string>();
        (code, output, err) = Meshfed("--phase", "trust-add", "--new-root-cert", _newCert, "--dry-run");
        Assert.True(code == 0, err);
        Assert.Contains("UPDATE  east", output, StringComparison.Ordinal);
        Assert.Equal(before, Get("east", "Secret", "cacerts")!["metadata"]!["resourceVersion"]!.GetValue<string>());

        // Phase 1: every bundle gets the new root; the old workload certificates still verify everywhere.
        (code, output, err) = Meshfed("--phase", "trust-add", "--new-root-cert", _newCert, "--yes");
        Assert.True(code == 0, output + err);
        Assert.Contains("verified trust-add on east", output, StringComparison.Ordinal);
        Assert.Contains("recorded stage TrustAdded", output, StringComparison.Ordinal);
        foreach (var c in Clusters)
        {
            Assert.Equal(2, Roots(Published(c)));
            Assert.True(Verifies(oldLeaf, c).Ok, Verifies(oldLeaf, c).Output);
            Assert.Contains(_istiod[c].IstiodLog, l => l.Contains("trust bundle updated (1 -> 2", StringComparison.Ordinal));
        }

        // Another machine (a new engine on new connections) reads where the rotation stands from the clusters.
        using (var conns = new ClusterConnections(TestSupport.Yaml, _kubeconfig, TestClusters.Fast))
        {
            var status = await new RootRotation(conns, Clusters.Select(c => new ClusterBinding(c))).GetStatusAsync(CancellationToken.None);
            Assert.Equal(RotationStage.TrustAdded, status.Stage);
            Assert.Equal(RotationPhase.Reissue, status.NextPhase);
            Assert.Equal(_old.Root.Thumbprint, status.OldRoot!.Fingerprint);
        }

        // Phase 2, interrupted: west's istiod does not take up cacerts, so the phase is applied but neither verified nor recorded.
        _istiod["west"].CacertsWatchPaused = true;
        var all = new List<string> { "ca", "rotate", "--kubeconfig", _kubeconfig, "--timeout", "1", "--context", "east", "--context", "west",
            "--phase", "reissue", "--new-root-cert", _newCert, "--new-root-key", _newKey, "--yes" };
        using (var o = new StringWriter())
        using (var e = new StringWriter())
        {
            code = MeshfedApp.Run(all.ToArray(), o, e);
            Assert.Equal(1, code);
            Assert.Contains("NOT verified reissue on west: istiod signs with a chain expiring", o.ToString(), StringComparison.Ordinal);
            Assert.Contains("verified reissue on east", o.ToString(), StringComparison.Ordinal);
            Assert.Contains("run --phase reissue again", e.ToString(), StringComparison.Ordinal);
        }
        (code, output, _) = Meshfed("--status");
        Assert.Contains("TrustAdded", output, StringComparison.Ordinal);

        // Resumed: nothing is issued again (both intermediates are already new), the phase is verified and recorded.
        var westIntermediate = Intermediate("west").Cert;
        _istiod["west"].ResumeCacertsWatch("istio-system");
        (code, output, err) = Meshfed("--phase", "reissue", "--new-root-cert", _newCert, "--new-root-key", _newKey, "--yes");
        Assert.True(code == 0, output + err);
        Assert.DoesNotContain("UPDATE", output, StringComparison.Ordinal);
        Assert.Contains("verified reissue on west: istiod signs with the new intermediate", output, StringComparison.Ordinal);
        Assert.Equal(westIntermediate, Intermediate("west").Cert);
        foreach (var c in Clusters) Assert.Equal(Intermediate(c).Cert, _istiod[c].IstiodIntermediate("istio-system"));

        // Both generations of workload certificates verify against every cluster's bundle (across clusters too).
        var newLeaf = Leaf("new-west", Intermediate("west"));
        foreach (var c in Clusters)
        {
            Assert.True(Verifies(oldLeaf, c).Ok, Verifies(oldLeaf, c).Output);
            Assert.True(Verifies(newLeaf, c).Ok, Verifies(newLeaf, c).Output);
        }

        // Phase 3: the old root goes; new certificates verify, old ones no longer do.
        (code, output, err) = Meshfed("--phase", "trust-remove", "--yes");
        Assert.True(code == 0, output + err);
        Assert.Contains("the rotation is complete", output, StringComparison.Ordinal);
        foreach (var c in Clusters)
        {
            Assert.Equal(1, Roots(Published(c)));
            Assert.True(Verifies(newLeaf, c).Ok, Verifies(newLeaf, c).Output);
            var (ok, why) = Verifies(oldLeaf, c);
            Assert.False(ok, why);
        }
        (code, output, _) = Meshfed("--status");
        Assert.Contains("Completed", output, StringComparison.Ordinal);
        var cm = Get("east", "ConfigMap", RootRotation.StateConfigMap)!;
        Assert.Equal("completed", cm["metadata"]!["annotations"]![RootRotation.StageAnnotation]!.GetValue<string>());
        Assert.DoesNotContain("PRIVATE KEY", cm.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_to_start_without_multiroot_in_ambient_mode_and_when_clusters_disagree()
    {
        StartIstiod("east", multiRoot: false);
        StartIstiod("west", profile: "ambient");
        var (code, _, err) = Meshfed("--phase", "trust-add", "--new-root-cert", _newCert, "--yes");
        Assert.Equal(2, code);
        Assert.Contains("cluster 'east' ISTIO_MULTIROOT_MESH", err, StringComparison.Ordinal);
        Assert.Contains("patch istio default --type merge", err, StringComparison.Ordinal);
        Assert.Contains("spec.values.pilot.env.ISTIO_MULTIROOT_MESH", err, StringComparison.Ordinal);
        Assert.Contains("ambient mode", err, StringComparison.Ordinal);
        Assert.Null(Get("east", "ConfigMap", RootRotation.StateConfigMap));

        // Clusters under different roots.
        StartIstiod("east");
        StartIstiod("west");
        var other = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256, 365);
        other.Issue("west");
        _clusters["west"].Store.Upsert(other.CacertsSecret("west", "istio-system", "mesh"), "kubectl");
        (code, _, err) = Meshfed("--phase", "trust-add", "--new-root-cert", _newCert, "--yes");
        Assert.Equal(2, code);
        Assert.Contains("disagree on the current root", err, StringComparison.Ordinal);
        Assert.Equal(1, Roots(Published("east")));
    }

    [Fact]
    public void Fake_istiod_ignores_a_root_change_without_multiroot_and_refuses_a_bundle_that_is_neither_superset_nor_subset()
    {
        StartIstiod("east", multiRoot: false);
        StartIstiod("west");
        var first = Published("east");
        var other = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256, 365);
        foreach (var c in Clusters)
        {
            other.Issue(c);
            _clusters[c].Store.Upsert(other.CacertsSecret(c, "istio-system", "mesh"), "kubectl");
        }
        Assert.Equal(first, Published("east"));
        Assert.Contains(_istiod["east"].IstiodLog, l => l.Contains("ignored (ISTIO_MULTIROOT_MESH is not true)", StringComparison.Ordinal));
        Assert.Contains(_istiod["west"].IstiodLog, l => l.Contains("neither a superset nor a subset", StringComparison.Ordinal));
        Assert.DoesNotContain(other.Root.CertificatePem.Trim(), Published("west"), StringComparison.Ordinal);
        Assert.Throws<MeshFederationException>(() => RootRotation.ParsePhase("sideways", "--phase"));
    }

    private static int Roots(string bundle) => new System.Text.RegularExpressions.Regex("BEGIN CERTIFICATE").Count(bundle);
}
