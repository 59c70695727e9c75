using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;
using MeshFederation.TestKube;
using MeshFederation.Yaml;

// Benchmarks of the performance goals. Usage: dotnet run -c Release --project bench/MeshFederation.Bench -- live-apply [iterations] [latency-ms]
var scenario = args.Length > 0 ? args[0] : "live-apply";
var iterations = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
var latency = TimeSpan.FromMilliseconds(args.Length > 2 && args[0] != "render" ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20);
return scenario switch
{
    "live-apply" => await LiveApply.RunAsync(iterations, latency),
    "checks" => await ChecksBench.RunAsync(iterations, latency),
    "checks-offline" => OfflineChecksBench.Run(args.Length > 1 ? iterations : 3),
    "checks-multiprimary" => await MultiPrimaryChecksBench.RunAsync(iterations, latency, 20, args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 20),
    "render" => RenderBench.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3),
    "cold-apply" => await ColdApplyBench.RunAsync(iterations, latency),
    "cold-checks" => await ColdChecksBench.RunAsync(iterations, latency),
    "pki" => PkiBench.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50),
    "startup" => StartupBench.Run(args.Length > 1 ? iterations : 20),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: MeshFederation.Bench live-apply|checks|checks-multiprimary [iterations] [latency-ms] | checks-offline [iterations] | render [meshes] [iterations] | pki [intermediates] | cold-apply|cold-checks [iterations] [latency-ms] (meshfed from $MESHFED_CLI)");
    return 2;
}

/// <summary>
/// Issue 3's goal: federating two meshes (seed 001's object set) on two test API servers with injected latency, against
/// one `kubectl apply --server-side` per object run sequentially (as the seeds' scripts do), both in one run; and our
/// time against the critical-path bound (dependency depth × latency).
/// </summary>
internal sealed class TraceLog : MeshFederation.Engine.Diagnostics.IMeshLog
{
    private readonly Stopwatch _sw = Stopwatch.StartNew();
    public void Verbose(string message) => Console.Error.WriteLine($"{_sw.ElapsedMilliseconds,5} V {message}");
    public void Debug(string message) => Console.Error.WriteLine($"{_sw.ElapsedMilliseconds,5} D {message}");
    public void Warning(string message) => Console.Error.WriteLine($"{_sw.ElapsedMilliseconds,5} W {message}");
    public void Progress(MeshFederation.Engine.Diagnostics.MeshProgress progress) { }
}

internal static class LiveApply
{
    private static readonly YamlDotNetBridge Yaml = new();

    private static string Repo()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "MeshFederation.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("run from inside the repository");
    }

    internal static string Topology()
    {
        // Seed 001 with every value known up front (roots and addresses), so both sides apply the same objects.
        var text = File.ReadAllText(Path.Combine(Repo(), "examples", "seed-001-blue-green.yaml"));
        foreach (var mesh in new[] { "blue-mesh", "green-mesh" })
        {
            var pem = TestPki.RootCertificatePem(mesh).Replace("\n", "\n      ", StringComparison.Ordinal).TrimEnd();
            text = text.Replace($"  - name: {mesh}\n", $"  - name: {mesh}\n    rootCertificate: |\n      {pem}\n", StringComparison.Ordinal);
        }
        return text;
    }

    private sealed class Clusters : IAsyncDisposable
    {
        public TestPki Pki { get; } = new();
        public List<FakeApiServer> Servers { get; } = new();
        public string Kubeconfig { get; private set; } = "";

        public static async Task<Clusters> StartAsync(TimeSpan latency, string dir)
        {
            var c = new Clusters();
            foreach (var name in new[] { "blue", "green" })
            {
                var s = new FakeApiServer(name, c.Pki);
                s.Tokens["bench-token"] = "admin";
                await s.StartAsync();
                _ = new FakeOssm2Operator(s, name == "blue" ? "10.19.3." : "10.19.4.");
                s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "nfs-app-istio" } }, "oc");
                s.Faults.Latency = latency;
                c.Servers.Add(s);
            }
            static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s));
            var sb = new System.Text.StringBuilder("apiVersion: v1\nkind: Config\ncurrent-context: blue\nclusters:\n");
            foreach (var s in c.Servers) sb.Append($"- name: {s.Name}\n  cluster:\n    server: {s.Url.ToString().TrimEnd('/')}\n    certificate-authority-data: {B64(s.CaPem)}\n");
            sb.Append("contexts:\n");
            foreach (var s in c.Servers) sb.Append($"- name: {s.Name}\n  context: {{cluster: {s.Name}, user: admin}}\n");
            sb.Append("users:\n- name: admin\n  user:\n    token: bench-token\n");
            c.Kubeconfig = Path.Combine(dir, $"kubeconfig-{Guid.NewGuid():N}");
            await File.WriteAllTextAsync(c.Kubeconfig, sb.ToString());
            return c;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var s in Servers) await s.DisposeAsync();
            Pki.Dispose();
        }
    }

    public static async Task<int> RunAsync(int iterations, TimeSpan latency)
    {
        var dir = Path.Combine(Path.GetTempPath(), "meshfed-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var topology = Topology();
        var set = TopologyLoader.Load(topology, "seed-001.yaml", Yaml);
        var manifests = Ossm2Renderer.Render(set).AllManifests.ToList();

        // The kubectl side applies exactly these objects, one file each, in the same order.
        var files = new List<(string Context, string File)>();
        foreach (var (m, i) in manifests.Select((m, i) => (m, i)))
        {
            var f = Path.Combine(dir, $"{i:D2}-{m.Cluster}-{m.Kind}-{m.Name}.yaml");
            await File.WriteAllTextAsync(f, Yaml.Emit(new[] { m.Content }));
            files.Add((m.Cluster, f));
        }

        var ours = new List<double>();
        var kubectl = new List<double>();
        var depth = 0;
        for (var i = 0; i < iterations + 1; i++)
        {
            await using (var clusters = await Clusters.StartAsync(latency, dir))
            {
                var trace = Environment.GetEnvironmentVariable("BENCH_DEBUG") == "1" && i == iterations ? new TraceLog() : null;
                using var connections = new ClusterConnections(Yaml, clusters.Kubeconfig, new KubeClientOptions(), trace);
                var live = new LiveFederation(connections);
                var sw = Stopwatch.StartNew();
                var plan = await live.PlanAsync(TopologyLoader.Load(topology, "seed-001.yaml", Yaml), CancellationToken.None);
                var planned = sw.Elapsed.TotalMilliseconds;
                var outcomes = await live.ApplyAsync(set, plan, _ => true, CancellationToken.None);
                sw.Stop();
                if (outcomes.Count != manifests.Count || outcomes.Any(o => !o.Done)) throw new InvalidOperationException($"apply did not complete: {outcomes.Count} of {manifests.Count}");
                depth = plan.DependencyDepth;
                if (i > 0) ours.Add(sw.Elapsed.TotalMilliseconds);
                if (Environment.GetEnvironmentVariable("BENCH_DEBUG") == "1") Console.Error.WriteLine($"plan {planned:0} ms, total {sw.Elapsed.TotalMilliseconds:0} ms, requests {connections.Clients.Sum(c => c.RequestCount)}");
            }
            await using (var clusters = await Clusters.StartAsync(latency, dir))
            {
                var sw = Stopwatch.StartNew();
                foreach (var (context, file) in files)
                {
                    using var p = Process.Start(new ProcessStartInfo("kubectl", $"--kubeconfig {clusters.Kubeconfig} --context {context} apply --server-side -f {file}") { RedirectStandardOutput = true, RedirectStandardError = true })!;
                    var err = p.StandardError.ReadToEndAsync();
                    await p.StandardOutput.ReadToEndAsync();
                    await p.WaitForExitAsync();
                    if (p.ExitCode != 0) throw new InvalidOperationException($"kubectl failed on {file}: {await err}");
                }
                sw.Stop();
                var applied = clusters.Servers.Sum(s => s.Store.All().Count(o => o["metadata"]?["managedFields"]?.ToJsonString().Contains("kubectl", StringComparison.Ordinal) == true));
                if (applied != manifests.Count) throw new InvalidOperationException($"kubectl applied {applied} of {manifests.Count}");
                if (i > 0) kubectl.Add(sw.Elapsed.TotalMilliseconds);
            }
        }

        static double Median(List<double> xs) { var s = xs.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
        var bound = depth * latency.TotalMilliseconds;
        var speedup = Median(kubectl) / Median(ours);
        var overBound = Median(ours) / bound;
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"| objects | latency | meshfed median (min) | kubectl per object median (min) | speedup | dependency depth | bound | meshfed / bound |"));
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        Console.WriteLine(string.Create(inv, $"| {manifests.Count} | {latency.TotalMilliseconds:0} ms | {Median(ours):0} ms ({ours.Min():0}) | {Median(kubectl):0} ms ({kubectl.Min():0}) | {speedup:0.0}x | {depth} | {bound:0} ms | {overBound:0.00} |"));
        var ok = speedup >= 10 && overBound <= 1.5;
        Console.WriteLine(ok ? "goals met: >= 10x faster than kubectl, within 1.5x of the critical-path bound" : "GOALS NOT MET");
        return ok ? 0 : 1;
    }
}

/// <summary>
/// Issue 4's goal: checking 50 federated meshes on test API servers with injected latency in under 2 s, and at least
/// 20x faster than test-federation.sh's way (one kubectl get per object, sequentially), both in one run.
/// </summary>
internal static class ChecksBench
{
    private static readonly YamlDotNetBridge Yaml = new();
    private const int Meshes = 50;
    private const int Servers = 5;

    public static async Task<int> RunAsync(int iterations, TimeSpan latency)
    {
        var dir = Path.Combine(Path.GetTempPath(), "meshfed-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var pki = new TestPki();
        var servers = new List<FakeApiServer>();
        for (var i = 0; i < Servers; i++)
        {
            var s = new FakeApiServer($"c{i}", pki);
            s.Tokens["bench-token"] = "admin";
            await s.StartAsync();
            _ = new FakeOssm2Operator(s, $"10.20.{i}.");
            s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "bookinfo" } }, "oc");
            servers.Add(s);
        }
        _ = new FakeFederationController(servers.ToArray());
        static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s));
        var kc = new System.Text.StringBuilder("apiVersion: v1\nkind: Config\ncurrent-context: c0\nclusters:\n");
        foreach (var s in servers) kc.Append($"- name: {s.Name}\n  cluster:\n    server: {s.Url.ToString().TrimEnd('/')}\n    certificate-authority-data: {B64(s.CaPem)}\n");
        kc.Append("contexts:\n");
        foreach (var s in servers) kc.Append($"- name: {s.Name}\n  context: {{cluster: {s.Name}, user: admin}}\n");
        kc.Append("users:\n- name: admin\n  user:\n    token: bench-token\n");
        var kubeconfig = Path.Combine(dir, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, kc.ToString());

        // 50 meshes, 10 per cluster, federated in 25 pairs across clusters, each exporting and importing a service.
        var topology = new System.Text.StringBuilder("apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n");
        for (var i = 0; i < Meshes; i++) topology.Append($"  - {{name: m{i:D2}, namespace: m{i:D2}-system, cluster: c{i % Servers}, members: [bookinfo]}}\n");
        topology.Append("peerings:\n");
        for (var i = 0; i < Meshes; i += 2) topology.Append($"  - between: [m{i:D2}, m{i + 1:D2}]\n");
        topology.Append("exports:\n");
        for (var i = 0; i < Meshes; i++) topology.Append($"  - {{from: m{i:D2}, to: m{i ^ 1:D2}, services: [{{namespace: bookinfo, name: ratings, alias: shared/ratings-{i:D2}}}]}}\n");
        topology.Append("imports:\n");
        for (var i = 0; i < Meshes; i++) topology.Append($"  - {{into: m{i:D2}, from: m{i ^ 1:D2}, services: [{{namespace: shared, name: ratings-{i ^ 1:D2}, alias: bookinfo/remote-ratings}}]}}\n");
        var set = TopologyLoader.Load(topology.ToString(), "bench.yaml", Yaml);
        using (var connections = new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions()))
        {
            var live = new LiveFederation(connections, new LiveOptions { PollInterval = TimeSpan.FromMilliseconds(20), ConcurrencyPerCluster = 32 });
            await live.ApplyAsync(set, await live.PlanAsync(set, CancellationToken.None), _ => true, CancellationToken.None);
        }
        foreach (var s in servers) s.Faults.Latency = latency;

        var ours = new List<double>();
        var resultCount = 0;
        for (var i = 0; i < iterations + 1; i++)
        {
            using var connections = new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions());
            var sw = Stopwatch.StartNew();
            var results = await MeshFederation.Engine.Checks.MeshChecks.RunLiveAsync(set, set.ControlPlanes.Select(c => c.Cluster), connections,
                new MeshFederation.Engine.Checks.CheckOptions(), false, null, CancellationToken.None);
            sw.Stop();
            var failed = results.Where(r => r.Status == MeshFederation.Engine.Model.CheckStatus.Fail).ToList();
            if (failed.Count > 0) throw new InvalidOperationException("checks failed: " + string.Join("; ", failed.Take(3)));
            resultCount = results.Count;
            if (i > 0) ours.Add(sw.Elapsed.TotalMilliseconds);
        }

        // test-federation.sh's way: one kubectl get per object the checks read, one after another.
        var gets = new List<string>();
        foreach (var cp in set.ControlPlanes)
        {
            var ctx = $"--context {cp.ClusterName} -n {cp.Namespace}";
            var peer = set.Peerings.First(p => p.Local == cp);
            gets.Add($"{ctx} get servicemeshcontrolplane {cp.Name} -o json");
            gets.Add($"{ctx} get servicemeshpeer {peer.Remote.Name} -o json");
            gets.Add($"{ctx} get exportedserviceset {peer.Remote.Name} -o json");
            gets.Add($"{ctx} get importedserviceset {peer.Remote.Name} -o json");
            gets.Add($"{ctx} get configmap {peer.CaConfigMap} -o json");
            gets.Add($"{ctx} get configmap istio-ca-root-cert -o json");
            gets.Add($"{ctx} get service {peer.IngressGateway} -o json");
            gets.Add($"{ctx} get pods -l app=istiod -o json");
        }
        var kubectlSw = Stopwatch.StartNew();
        foreach (var g in gets)
        {
            using var p = Process.Start(new ProcessStartInfo("kubectl", $"--kubeconfig {kubeconfig} {g}") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var err = p.StandardError.ReadToEndAsync();
            await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            if (p.ExitCode != 0) throw new InvalidOperationException($"kubectl {g}: {await err}");
        }
        kubectlSw.Stop();
        foreach (var s in servers) await s.DisposeAsync();

        static double Median(List<double> xs) { var s = xs.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
        var speedup = kubectlSw.Elapsed.TotalMilliseconds / Median(ours);
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine("| meshes | clusters | latency | checks | meshfed median (max) | kubectl gets | kubectl, one get per object | speedup |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        Console.WriteLine(string.Create(inv, $"| {Meshes} | {Servers} | {latency.TotalMilliseconds:0} ms | {resultCount} | {Median(ours):0} ms ({ours.Max():0}) | {gets.Count} | {kubectlSw.Elapsed.TotalMilliseconds:0} ms | {speedup:0}x |"));
        var ok = ours.Max() < 2000 && speedup >= 20;
        Console.WriteLine(ok ? "goals met: under 2 s and >= 20x faster than one kubectl get per object" : "GOALS NOT MET");
        pki.Dispose();
        return ok ? 0 : 1;
    }
}
