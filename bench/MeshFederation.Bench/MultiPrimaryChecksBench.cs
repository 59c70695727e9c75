using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Pki;
using MeshFederation.Engine.Topology;
using MeshFederation.TestKube;
using MeshFederation.Yaml;

/// <summary>
/// Issue 12's multi-primary case: one Istio mesh over 20 clusters (Sail operator, a shared root, an east-west gateway
/// and 19 remote secrets per cluster, 380 in all), checked live with every Istio check, remote secrets tried with
/// SelfSubjectAccessReviews; against what a user would run, one kubectl per object the checks read and one
/// `kubectl auth can-i` per permission per remote secret, sequentially. Both on test API servers with injected latency.
/// </summary>
internal static class MultiPrimaryChecksBench
{
    private static readonly YamlDotNetBridge Yaml = new();

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }

    private static async Task<(int Code, string Output)> Kubectl(string args)
    {
        using var p = Process.Start(new ProcessStartInfo("kubectl", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var err = p.StandardError.ReadToEndAsync();
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, output + await err);
    }

    public static async Task<int> RunAsync(int iterations, TimeSpan latency, int clusters = 20, int kubectlClusters = 20)
    {
        var dir = Path.Combine(Path.GetTempPath(), "meshfed-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var pki = new TestPki();
        var servers = new List<FakeApiServer>();
        var names = Enumerable.Range(0, clusters).Select(i => $"c{i:D2}").ToList();
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            var s = new FakeApiServer(name, pki);
            s.Tokens["bench-token"] = "admin";
            await s.StartAsync();
            _ = new FakeSailOperator(s, $"10.50.{i}.");
            s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "sample" } }, "kubectl");
            s.Store.Upsert(JsonNode.Parse("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"helloworld","namespace":"sample"},"spec":{"ports":[{"name":"http","port":5000}]}}""")!.AsObject(), "kubectl");
            servers.Add(s);
        }
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
        var kc = new StringBuilder("apiVersion: v1\nkind: Config\ncurrent-context: c00\nclusters:\n");
        foreach (var s in servers) kc.Append(CultureInfo.InvariantCulture, $"- name: {s.Name}\n  cluster:\n    server: {s.Url.ToString().TrimEnd('/')}\n    certificate-authority-data: {B64(s.CaPem)}\n");
        kc.Append("contexts:\n");
        foreach (var s in servers) kc.Append(CultureInfo.InvariantCulture, $"- name: {s.Name}\n  context: {{cluster: {s.Name}, user: admin}}\n");
        kc.Append("users:\n- name: admin\n  user:\n    token: bench-token\n");
        var kubeconfig = Path.Combine(dir, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, kc.ToString());

        // Seed 003 over 20 clusters: one mesh, a network each, a shared root, failover in the first cluster.
        var ca = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256);
        foreach (var n in names) ca.Issue(n);
        foreach (var (path, (content, isPrivate)) in ca.Files(includeRootKey: false))
            MeshFederation.Engine.IO.AtomicFileWriter.Write(Path.Combine(dir, "certs", path), content, isPrivate);
        var topology = new StringBuilder("apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n  - name: mesh1\n    style: multi-primary\n    clusters:\n");
        foreach (var (n, i) in names.Select((n, i) => (n, i))) topology.Append(CultureInfo.InvariantCulture, $"      - {{name: {n}, network: network{i}}}\n");
        topology.Append("peerings: all\nexports:\n  - from: c01-mesh1\n    to: c00-mesh1\n    services:\n      - {namespace: sample, name: helloworld}\n");
        topology.Append("failover:\n  - {mesh: c00-mesh1, name: helloworld, namespace: sample, host: helloworld.sample.svc.cluster.local, from: us-east-1, to: us-west-2}\n");
        topology.Append("certificateAuthority:\n  dir: certs\n");
        var file = Path.Combine(dir, "topology.yaml");
        await File.WriteAllTextAsync(file, topology.ToString());
        var set = TopologyLoader.LoadFile(file, Yaml);
        using (var connections = new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions()))
        {
            var live = new LiveFederation(connections, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(50), ConcurrencyPerCluster = 16, MaxParallelClusters = 20 });
            await live.ApplyAsync(set, await live.PlanAsync(set, CancellationToken.None), _ => true, CancellationToken.None);
        }
        foreach (var s in servers) s.Faults.Latency = latency;

        var ours = new List<double>();
        IReadOnlyList<MeshCheckResult> results = Array.Empty<MeshCheckResult>();
        for (var i = 0; i < iterations + 1; i++)
        {
            using var connections = new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions());
            var sw = Stopwatch.StartNew();
            results = await MeshChecks.RunLiveAsync(set, set.ControlPlanes.Select(c => c.Cluster), connections, new CheckOptions(), false, null, CancellationToken.None);
            sw.Stop();
            var bad = results.Where(r => r.Status is CheckStatus.Fail or CheckStatus.Warn).ToList();
            if (bad.Count > 0) throw new InvalidOperationException("checks did not pass: " + string.Join("; ", bad.Take(3)));
            if (i > 0) ours.Add(sw.Elapsed.TotalMilliseconds);
        }
        var usable = results.Count(r => r.CheckId == "ISTIO.RemoteSecretUsable" && r.Status == CheckStatus.Pass);

        // What a user would run: one kubectl per object the checks read, and kubectl auth can-i with each remote secret.
        foreach (var resource in new[] { "services", "endpoints", "pods" })
            await File.WriteAllTextAsync(Path.Combine(dir, $"ssar-{resource}.json"),
                new JsonObject
                {
                    ["apiVersion"] = "authorization.k8s.io/v1", ["kind"] = "SelfSubjectAccessReview",
                    ["spec"] = new JsonObject { ["resourceAttributes"] = new JsonObject { ["verb"] = "list", ["resource"] = resource } },
                }.ToJsonString());
        var kubectlRuns = 0;
        var kubectlSw = Stopwatch.StartNew();
        foreach (var n in names.Take(kubectlClusters))
        {
            var ctx = $"--kubeconfig {kubeconfig} --context {n}";
            foreach (var g in new[] { "get istios.sailoperator.io default -o json", "get istiocnis.sailoperator.io default -o json", "get namespace istio-system -o json",
                         "-n istio-system get secret cacerts -o json", "-n istio-system get configmap istio-ca-root-cert -o json",
                         "-n istio-system get service istio-eastwestgateway -o json", "-n istio-system get gateways.networking.istio.io -o json" })
            {
                kubectlRuns++;
                var (code, output) = await Kubectl($"{ctx} {g}");
                if (code != 0) throw new InvalidOperationException($"kubectl {g}: {output}");
            }
            foreach (var remote in names.Where(r => r != n))
            {
                kubectlRuns++;
                var (code, json) = await Kubectl($"{ctx} -n istio-system get secret istio-remote-secret-{remote} -o json");
                if (code != 0) throw new InvalidOperationException($"kubectl get secret: {json}");
                var data = JsonNode.Parse(json)!["data"]![remote]!.GetValue<string>();
                var remoteKubeconfig = Path.Combine(dir, $"remote-{n}-{remote}.kubeconfig");
                await File.WriteAllBytesAsync(remoteKubeconfig, Convert.FromBase64String(data));
                foreach (var resource in new[] { "services", "endpoints", "pods" })
                {
                    // What `kubectl auth can-i list <resource> -A` asks; sent as JSON through kubectl create because
                    // the test API server does not speak the protobuf that auth can-i sends (same process, same request).
                    kubectlRuns++;
                    var (code2, answer) = await Kubectl($"--kubeconfig {remoteKubeconfig} create --validate=false -f {Path.Combine(dir, $"ssar-{resource}.json")} -o jsonpath={{.status.allowed}}");
                    if (code2 != 0 || answer.Trim() != "true") throw new InvalidOperationException($"SelfSubjectAccessReview list {resource} with the secret {n} holds for {remote}: {answer}");
                }
            }
        }
        kubectlSw.Stop();
        var kubectlMs = kubectlSw.Elapsed.TotalMilliseconds * clusters / kubectlClusters;
        foreach (var s in servers) await s.DisposeAsync();
        pki.Dispose();

        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine("| clusters | remote secrets | latency | checks | remote secrets tried and usable | meshfed median (max) | kubectl runs | kubectl, one per object and permission | speedup |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        Console.WriteLine(string.Create(inv, $"| {clusters} | {clusters * (clusters - 1)} | {latency.TotalMilliseconds:0} ms | {results.Count} | {usable} | {Median(ours):0} ms ({ours.Max():0}) | {kubectlRuns * clusters / kubectlClusters} | {kubectlMs:0} ms{(kubectlClusters < clusters ? $" (measured on {kubectlClusters} clusters, scaled)" : "")} | {kubectlMs / Median(ours):0}x |"));
        return 0;
    }
}
