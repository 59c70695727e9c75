using System.Text.Json.Nodes;
using MeshFederation.Engine.Live;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>Faults on a fifth of the requests, cancellation mid-apply, and secrets: state stays exact and consistent.</summary>
public sealed class LiveResilienceTests
{
    private static async Task<TestClusters> Start(Action<FakeApiServer>? configure = null)
    {
        var clusters = await TestClusters.StartOssm2Async("blue", "green");
        foreach (var s in clusters.Servers) configure?.Invoke(s);
        return clusters;
    }

    /// <summary>Every object in a cluster, without the fields that differ run to run (uid, times, versions).</summary>
    private static List<string> Snapshot(FakeApiServer s) =>
        s.Store.All().Select(o =>
        {
            var md = (JsonObject)o["metadata"]!;
            foreach (var k in new[] { "uid", "creationTimestamp", "resourceVersion", "managedFields" }) md.Remove(k);
            return TestSupport.Canonical(o);
        }).Order(StringComparer.Ordinal).ToList();

    private static async Task ApplyAsync(TestClusters clusters, RecordingLog? log = null, CancellationToken ct = default)
    {
        using var conns = new ClusterConnections(TestSupport.Yaml, clusters.WriteKubeconfig(), TestClusters.Fast, log);
        var live = new LiveFederation(conns, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20) }, log);
        var set = TestSupport.LoadText(LiveFederationTests.Seed001Live(), "live.yaml");
        var plan = await live.PlanAsync(set, ct);
        await live.ApplyAsync(set, plan, _ => true, ct);
    }

    [Fact]
    public async Task Faults_on_20_percent_of_requests_still_converge_with_nothing_lost_or_duplicated()
    {
        await using var clean = await Start();
        await ApplyAsync(clean);

        await using var faulty = await Start(s =>
        {
            s.Faults.Rate = 0.2;
            s.Faults.RetryAfterSeconds = 0;
            s.Faults.Seed = s.Name.Length * 7919;
        });
        var log = new RecordingLog();
        await ApplyAsync(faulty, log);
        Assert.True(faulty.Servers.Sum(s => s.FaultsInjected) >= 5, "too few faults were injected to mean anything");
        foreach (var name in new[] { "blue", "green" })
        {
            var expected = Snapshot(clean[name]).Where(o => !o.Contains("\"Node\"", StringComparison.Ordinal)).ToList();
            var actual = Snapshot(faulty[name]).Where(o => !o.Contains("\"Node\"", StringComparison.Ordinal)).ToList();
            Assert.Equal(expected.Count, actual.Count);
            // The roots and addresses differ between the two fake operators; everything else is identical.
            Assert.Equal(expected.Select(Shape).Order(StringComparer.Ordinal), actual.Select(Shape).Order(StringComparer.Ordinal));
        }
        Assert.Contains("retrying", log.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(TestClusters.Token, log.Text, StringComparison.Ordinal);

        // Converged means a second run has nothing to do, even with faults.
        using var conns = new ClusterConnections(TestSupport.Yaml, faulty.WriteKubeconfig(), TestClusters.Fast);
        var plan = await new LiveFederation(conns).PlanAsync(TestSupport.LoadText(LiveFederationTests.Seed001Live(), "live.yaml"), CancellationToken.None);
        Assert.False(plan.HasChanges, plan.ToString());
    }

    /// <summary>What differs between two runs by nature: roots (and istiod's self-signed CA), addresses, owner uids and creation times.</summary>
    private static string Shape(string canonical)
    {
        var s = System.Text.RegularExpressions.Regex.Replace(canonical, "-----BEGIN CERTIFICATE-----[^\"]*-----END CERTIFICATE-----(\\\\n)?", "<cert>");
        s = System.Text.RegularExpressions.Regex.Replace(s, "10\\.19\\.\\d+\\.\\d+", "<ip>");
        s = System.Text.RegularExpressions.Regex.Replace(s, "\"([\\w-]+\\.pem)\":\"[A-Za-z0-9+/=]+\"", "\"$1\":\"<pem>\""); // istiod's self-signed CA (istio-ca-secret)
        s = System.Text.RegularExpressions.Regex.Replace(s, "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uid>");
        return System.Text.RegularExpressions.Regex.Replace(s, "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ", "<time>");
    }

    [Fact]
    public async Task Cancellation_leaves_a_consistent_state_a_clear_message_and_a_rerun_finishes()
    {
        await using var clusters = await Start(s => s.Faults.Latency = TimeSpan.FromMilliseconds(40));
        using var cts = new CancellationTokenSource();
        // Ctrl+C as soon as the first control plane has been written: mid-apply, deterministically.
        clusters["blue"].Store.Changed += (t, _, _) => { if (t.Kind == "ServiceMeshControlPlane") cts.Cancel(); };
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ApplyAsync(clusters, ct: cts.Token));
        Assert.Contains("Cancelled after", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(clusters["blue"].Store.Get(ResourceTypes.ByKind("maistra.io/v2", "ServiceMeshControlPlane")!, "blue-mesh-system", "blue-mesh", "v2"));
        Assert.Null(clusters["green"].Store.Get(ResourceTypes.ByKind("federation.maistra.io/v1", "ServiceMeshPeer")!, "green-mesh-system", "blue-mesh", "v1"));

        // Every object that exists is whole: each one we wrote carries all its labels and a spec/data.
        foreach (var s in clusters.Servers)
            foreach (var o in s.Store.All().Where(o => o["metadata"]?["labels"]?["app.kubernetes.io/managed-by"] is not null))
            {
                Assert.NotNull(o["metadata"]!["labels"]!["federation.meshfederation.io/mesh"]);
                Assert.True(o["kind"]!.GetValue<string>() == "Namespace" || o["spec"] is not null || o["data"] is not null, o.ToJsonString());
            }

        foreach (var s in clusters.Servers) s.Faults.Latency = TimeSpan.Zero;
        await ApplyAsync(clusters);
        using var conns = new ClusterConnections(TestSupport.Yaml, clusters.WriteKubeconfig(), TestClusters.Fast);
        var plan = await new LiveFederation(conns).PlanAsync(TestSupport.LoadText(LiveFederationTests.Seed001Live(), "live.yaml"), CancellationToken.None);
        Assert.False(plan.HasChanges, plan.ToString());
    }

    [Fact]
    public async Task The_cancel_message_counts_the_changes_done()
    {
        await using var clusters = await Start(s => s.Faults.Latency = TimeSpan.FromMilliseconds(30));
        using var conns = new ClusterConnections(TestSupport.Yaml, clusters.WriteKubeconfig(), TestClusters.Fast);
        var live = new LiveFederation(conns);
        var set = TestSupport.LoadText(LiveFederationTests.Seed001Live(), "live.yaml");
        var plan = await live.PlanAsync(set, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        clusters["green"].Store.Changed += (t, _, _) => { if (t.Kind == "Namespace") cts.Cancel(); };
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => live.ApplyAsync(set, plan, _ => true, cts.Token));
        Assert.Matches(@"Cancelled after \d+ of \d+ changes; .* Run the same command again to finish\.", ex.Message);
    }

    [Fact]
    public async Task No_token_or_key_appears_in_plans_outcomes_logs_or_errors()
    {
        await using var clusters = await Start();
        // Client-certificate auth this time: the key must not leak either.
        var (cert, key) = clusters.Pki.Client("meshfed-ci");
        var kubeconfig = Path.Combine(clusters.Directory, "cert-kubeconfig");
        static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s));
        var text = File.ReadAllText(clusters.WriteKubeconfig()).Replace($"    token: {TestClusters.Token}\n", $"    client-certificate-data: {B64(cert)}\n    client-key-data: {B64(key)}\n", StringComparison.Ordinal);
        File.WriteAllText(kubeconfig, text);
        var log = new RecordingLog();
        using var conns = new ClusterConnections(TestSupport.Yaml, kubeconfig, TestClusters.Fast, log);
        var live = new LiveFederation(conns, null, log);
        var set = TestSupport.LoadText(LiveFederationTests.Seed001Live(), "live.yaml");
        var plan = await live.PlanAsync(set, CancellationToken.None);
        var outcomes = await live.ApplyAsync(set, plan, _ => true, CancellationToken.None);
        clusters["green"].Faults.Scripted.Enqueue("500");
        clusters["green"].Store.Delete(ResourceTypes.ByKind("v1", "Namespace")!, null, "nfs-app-istio");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => live.PlanAsync(set, CancellationToken.None));
        var everything = string.Join("\n", log.Text, plan.ToString(), string.Join("\n", plan.Items.Select(i => i.ToString())),
            string.Join("\n", outcomes.Select(o => o.ToString())), error.ToString());
        var keyBody = key.Split('\n')[1];
        Assert.DoesNotContain(keyBody, everything, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", everything, StringComparison.Ordinal);
        Assert.DoesNotContain(TestClusters.Token, everything, StringComparison.Ordinal);
        Assert.Contains("cert:CN=meshfed-ci", string.Join(",", clusters["green"].AuthLog), StringComparison.Ordinal);
    }
}
