using MeshFederation.Cli;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Model;

namespace MeshFederation.Tests;

/// <summary>
/// The Istio checks on a snapshot of seed 003 (tests/fixtures/snapshots/seed-003): Secrets redacted as support bundles
/// save them are judged by structure, and the istioctl remote-clusters output saved with the snapshot is istiod's own
/// word on whether each remote secret works.
/// </summary>
public class IstioSnapshotChecksTests
{
    private static IReadOnlyList<MeshCheckResult> Check(string dir) =>
        MeshChecks.RunSnapshotAsync(dir, TestSupport.Yaml, null, new CheckOptions(), CancellationToken.None).GetAwaiter().GetResult();

    private static MeshCheckResult One(IEnumerable<MeshCheckResult> results, string id, string cluster) => results.Single(r => r.CheckId == id && r.Cluster == cluster);

    [Fact]
    public void Seed_003_snapshot_passes_with_redacted_secrets_judged_by_structure_and_istioctl_as_sync_evidence()
    {
        var dir = CheckHonestyTests.CopyFixture("seed-003");
        var results = Check(dir);
        Assert.All(results, r => Assert.True(r.Status == CheckStatus.Pass || (r.CheckId == "ISTIO.ExportExposed" && r.Cluster == "cluster1" && r.Status == CheckStatus.Skip), r.ToString()));
        Assert.Contains("judged by structure", One(results, "ISTIO.CaCerts", "cluster1").Message, StringComparison.Ordinal);
        var usable = One(results, "ISTIO.RemoteSecretUsable", "cluster1");
        Assert.Contains("synced (istioctl remote-clusters)", usable.Message, StringComparison.Ordinal);
        Assert.Contains(usable.Evidence, e => e.Source!.EndsWith("remote-clusters.txt", StringComparison.Ordinal));
        var (code, _, err) = BadInputTests.Cli("check", "--snapshot", dir);
        Assert.True(code == MeshfedApp.ExitOk, err);
    }

    [Fact]
    public void A_remote_cluster_istiod_reports_as_timeout_fails_and_without_istioctl_output_usability_is_skipped()
    {
        var dir = CheckHonestyTests.CopyFixture("seed-003");
        var rc = Path.Combine(dir, "cluster1", "remote-clusters.txt");
        File.WriteAllText(rc, File.ReadAllText(rc).Replace("cluster2     istio-system/istio-remote-secret-cluster2     synced", "cluster2     istio-system/istio-remote-secret-cluster2     timeout", StringComparison.Ordinal));
        var timeout = One(Check(dir), "ISTIO.RemoteSecretUsable", "cluster1");
        Assert.Equal(CheckStatus.Fail, timeout.Status);
        Assert.Contains("timeout", timeout.Message, StringComparison.Ordinal);

        File.Delete(rc);
        var unknown = One(Check(dir), "ISTIO.RemoteSecretUsable", "cluster1");
        Assert.Equal(CheckStatus.Skip, unknown.Status);
        Assert.Contains("redacted", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Old_generation_wrong_network_label_another_root_and_a_failover_without_outlier_detection_fail()
    {
        var dir = CheckHonestyTests.CopyFixture("seed-003");
        var c1 = Path.Combine(dir, "cluster1", "objects.yaml");
        var c2 = Path.Combine(dir, "cluster2", "objects.yaml");
        // The Istio resource was changed (generation 2) and the operator has not reconciled it yet.
        var text = File.ReadAllText(c2);
        var istio = text.IndexOf("  kind: Istio\n", StringComparison.Ordinal);
        File.WriteAllText(c2, text[..istio] + text[istio..].Replace("    generation: 1", "    generation: 2", StringComparison.Ordinal));
        CheckHonestyTests.Edit(c1, "topology.istio.io/network: network1\n", "topology.istio.io/network: network-a\n");
        CheckHonestyTests.Edit(c1, "      outlierDetection:", "      outlierDetectionRemoved:");
        var other = File.ReadAllText(c2);
        var start = other.IndexOf("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal);
        var end = other.IndexOf("-----END CERTIFICATE-----", StringComparison.Ordinal);
        var replacement = TestKube.TestPki.RootCertificatePem("another-root").Trim().Replace("\n", "\n      ", StringComparison.Ordinal);
        File.WriteAllText(c2, other[..start] + replacement + other[(end + "-----END CERTIFICATE-----".Length)..]);

        var results = Check(dir);
        var ready = One(results, "ISTIO.IstioReady", "cluster2");
        Assert.Equal(CheckStatus.Fail, ready.Status);
        Assert.Contains("not reconciled", ready.Message, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Fail, One(results, "ISTIO.NetworkLabel", "cluster1").Status);
        var root = One(results, "ISTIO.SharedRoot", "cluster1");
        Assert.Equal(CheckStatus.Fail, root.Status);
        Assert.Contains("shares no certificate with cluster2", root.Message, StringComparison.Ordinal);
        var failover = One(results, "ISTIO.FailoverHost", "cluster1");
        Assert.Equal(CheckStatus.Fail, failover.Status);
        Assert.Contains("outlierDetection", failover.Message, StringComparison.Ordinal);
    }
}
