using MeshFederation.Engine.Kube;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>Test clusters: one PKI, N fake API servers, kubeconfig files for them.</summary>
public sealed class TestClusters : IAsyncDisposable
{
    public TestPki Pki { get; } = new();

    public List<FakeApiServer> Servers { get; } = new();

    public string Directory { get; } = Paths.TempDir();

    public const string Token = "s3cr3t-admin-token-0123456789";

    public static async Task<TestClusters> StartAsync(params string[] names)
    {
        var c = new TestClusters();
        foreach (var n in names)
        {
            var s = new FakeApiServer(n, c.Pki, "kubernetes.test");
            s.Tokens[Token] = "admin";
            await s.StartAsync();
            c.Servers.Add(s);
        }
        return c;
    }

    public FakeApiServer this[string name] => Servers.Single(s => s.Name == name);

    /// <summary>The fake OSSM 2 operators of clusters started with <see cref="StartOssm2Async"/>, by cluster.</summary>
    public Dictionary<string, FakeOssm2Operator> Operators { get; } = new();

    /// <summary>
    /// Seed 001's clusters: OSSM 2 test clusters (operator addresses 10.19.3.x, 10.19.4.x, ...) where the application's
    /// namespace nfs-app-istio exists, as in the seed (oc create ns nfs-app-istio).
    /// </summary>
    public static async Task<TestClusters> StartOssm2Async(params string[] names)
    {
        var c = await StartAsync(names);
        var i = 3;
        foreach (var s in c.Servers)
        {
            c.Operators[s.Name] = new FakeOssm2Operator(s, $"10.19.{i++}.");
            s.Store.Upsert(new System.Text.Json.Nodes.JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = "nfs-app-istio" } }, "oc");
        }
        return c;
    }

    /// <summary>One kubeconfig with a context per server (context name = server name), bearer-token auth.</summary>
    public string WriteKubeconfig(string file = "kubeconfig")
    {
        static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s));
        var sb = new System.Text.StringBuilder("apiVersion: v1\nkind: Config\n");
        sb.Append("current-context: ").Append(Servers[0].Name).Append('\n');
        sb.Append("clusters:\n");
        foreach (var s in Servers) sb.Append($"- name: {s.Name}\n  cluster:\n    server: {s.Url.ToString().TrimEnd('/')}\n    certificate-authority-data: {B64(s.CaPem)}\n");
        sb.Append("contexts:\n");
        foreach (var s in Servers) sb.Append($"- name: {s.Name}\n  context:\n    cluster: {s.Name}\n    user: admin\n");
        sb.Append($"users:\n- name: admin\n  user:\n    token: {Token}\n");
        var path = Path.Combine(Directory, file);
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    public KubeClient Client(string name, KubeClientOptions? options = null, Engine.Diagnostics.IMeshLog? log = null)
    {
        var config = KubeConfig.Load(WriteKubeconfig(), TestSupport.Yaml);
        return new KubeClient(config.Resolve(name), options ?? Fast, log);
    }

    public static readonly KubeClientOptions Fast = new() { BaseDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromMilliseconds(100), RequestTimeout = TimeSpan.FromSeconds(10) };

    public async ValueTask DisposeAsync()
    {
        foreach (var s in Servers) await s.DisposeAsync();
        Pki.Dispose();
    }
}

/// <summary>
/// A test class over seed 001's OSSM 2 test clusters (<see cref="TestClusters.StartOssm2Async"/>), with their kubeconfig
/// and seed 001 (addresses read from the clusters) written beside it.
/// </summary>
public abstract class Ossm2ClustersTest : IAsyncLifetime
{
    private readonly string[] _names;

    protected Ossm2ClustersTest(params string[] names) => _names = names.Length == 0 ? new[] { "blue", "green" } : names;

    protected TestClusters Clusters { get; private set; } = null!;

    protected string KubeconfigPath { get; private set; } = "";

    /// <summary>Seed 001 without the addresses, as a file.</summary>
    protected string TopologyPath { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Clusters = await TestClusters.StartOssm2Async(_names);
        KubeconfigPath = Clusters.WriteKubeconfig();
        TopologyPath = Path.Combine(Clusters.Directory, "seed-001.yaml");
        File.WriteAllText(TopologyPath, LiveFederationTests.Seed001Live());
    }

    public async Task DisposeAsync() => await Clusters.DisposeAsync();

    protected (int Code, string Output) Kubectl(string context, string args) => ExternalTools.Run("kubectl", $"--kubeconfig {KubeconfigPath} --context {context} {args}");
}

/// <summary>Collects everything the engine logs, to assert that no secret is ever in it.</summary>
public sealed class RecordingLog : Engine.Diagnostics.IMeshLog
{
    public List<string> Lines { get; } = new();

    public List<Engine.Diagnostics.MeshProgress> ProgressUpdates { get; } = new();

    public void Verbose(string message) { lock (Lines) Lines.Add("VERBOSE: " + message); }

    public void Debug(string message) { lock (Lines) Lines.Add("DEBUG: " + message); }

    public void Warning(string message) { lock (Lines) Lines.Add("WARNING: " + message); }

    public void Progress(Engine.Diagnostics.MeshProgress progress) { lock (ProgressUpdates) ProgressUpdates.Add(progress); }

    public string Text { get { lock (Lines) return string.Join("\n", Lines); } }
}
