// Serves fake Kubernetes API servers (tests/MeshFederation.TestKube) from their own process for the Pester suite.
//
//   MeshFederation.TestKube.Host --out DIR [--operators LIST] [--namespace NS]... [--unreachable NAME]...
//                                [--unauthorized NAME]... CLUSTER[:LIST]...
//
// CLUSTER is a cluster (and context) name; LIST is a comma-separated set of fake operators for it (the default comes
// from --operators): ossm2 (OpenShift Service Mesh 2 operator: SMCP Ready, gateway Services with LoadBalancer
// addresses 10.19.N.x, istio-ca-root-cert, nodes), federation (istiod federation across every cluster that has it:
// peer, export and import statuses) and sail (Sail operator: Istio Ready, service-account tokens that the same cluster
// accepts, east-west gateway address 10.30.N.x). --namespace creates that namespace on every cluster.
// --unreachable NAME adds a context NAME whose server is a closed port; --unauthorized NAME adds a context NAME to the
// first cluster with a token it does not accept. --ready-delay MS makes the operators reconcile a new generation of a
// control plane only after MS milliseconds (its status stays the previous generation's until then); --cleanup-delay MS
// makes the OSSM 2 operator hold its finalizer on a deleted SMCP that long.
//
// DIR/serviceaccount holds what a pod's service account mount holds (token, ca.crt, namespace) for the first cluster,
// with a token it accepts: point MESHFED_SERVICEACCOUNT_DIR there and KUBERNETES_SERVICE_HOST/_PORT at its server.
// clusters.json also has oidcToken (an id-token the first cluster accepts) and expiredOidcToken.
//
// Writes DIR/kubeconfig (a context per cluster, current context the first), DIR/clusters.json and DIR/clusters.psd1
// (kubeconfig, token, clusters with name, context, server, operators), then prints one line
// "testkube ready <DIR/clusters.json>" and serves until stdin closes, SIGTERM or SIGINT. Exit code 2 on bad arguments.
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MeshFederation.TestKube;

const string Token = "testkube-admin-token-0123456789";
const string ServiceAccountToken = "testkube-projected-serviceaccount-token";
string[] knownOperators = { "ossm2", "federation", "sail" };

string? outDir = null;
var defaultOperators = new List<string>();
var namespaces = new List<string>();
var unreachable = new List<string>();
var unauthorized = new List<string>();
var clusters = new List<(string Name, List<string> Operators)>();
var readyDelay = TimeSpan.Zero;
TimeSpan? cleanupDelay = null;
try
{
    for (var i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--out": outDir = Path.GetFullPath(Next()); break;
            case "--operators": defaultOperators = Operators(Next()); break;
            case "--namespace": namespaces.Add(Next()); break;
            case "--unreachable": unreachable.Add(Next()); break;
            case "--unauthorized": unauthorized.Add(Next()); break;
            case "--ready-delay": readyDelay = TimeSpan.FromMilliseconds(int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture)); break;
            case "--cleanup-delay": cleanupDelay = TimeSpan.FromMilliseconds(int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture)); break;
            case "-h" or "--help":
                Console.WriteLine("usage: MeshFederation.TestKube.Host --out DIR [--operators ossm2,federation,sail] [--namespace NS]... [--unreachable NAME]... [--unauthorized NAME]... CLUSTER[:OPERATORS]...");
                return 0;
            case var a when a.StartsWith('-'): throw new ArgumentException($"unknown option {a}");
            case var spec:
                var colon = spec.IndexOf(':', StringComparison.Ordinal);
                var name = colon < 0 ? spec : spec[..colon];
                if (name.Length == 0 || clusters.Any(c => c.Name == name)) throw new ArgumentException($"cluster name '{name}' is empty or repeated");
                clusters.Add((name, colon < 0 ? null! : Operators(spec[(colon + 1)..])));
                break;
        }
    }
    if (outDir is null) throw new ArgumentException("--out DIR is required");
    if (clusters.Count == 0) throw new ArgumentException("give at least one cluster name");
}
catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine("testkube: " + ex.Message);
    return 2;
}
for (var i = 0; i < clusters.Count; i++) clusters[i] = (clusters[i].Name, clusters[i].Operators ?? defaultOperators);

List<string> Operators(string list)
{
    var ops = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(o => o.ToLowerInvariant()).ToList();
    foreach (var o in ops.Where(o => !knownOperators.Contains(o)))
        throw new ArgumentException($"unknown operator '{o}' (known: {string.Join(", ", knownOperators)})");
    return ops;
}

using var stop = new CancellationTokenSource();
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

using var pki = new TestPki("testkube");
var servers = new List<FakeApiServer>();
try
{
    var n = 1;
    foreach (var (name, ops) in clusters)
    {
        var server = new FakeApiServer(name, pki, "kubernetes.test");
        server.Tokens[Token] = "admin";
        await server.StartAsync();
        servers.Add(server);
        foreach (var ns in namespaces)
            server.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } }, "kubectl");
        if (ops.Contains("ossm2"))
        {
            var ossm = new FakeOssm2Operator(server, $"10.19.{n}.") { ReadyDelay = readyDelay };
            if (cleanupDelay is { } cd) ossm.CleanupDelay = cd;
        }
        if (ops.Contains("sail"))
        {
            _ = new FakeSailOperator(server, $"10.30.{n}.") { ReadyDelay = readyDelay };
            AcceptIssuedTokens(server);
        }
        n++;
    }
    var federated = servers.Where((s, i) => clusters[i].Operators.Contains("federation")).ToArray();
    if (federated.Length > 0) _ = new FakeFederationController(federated); // kept alive by the stores' Changed handlers

    Directory.CreateDirectory(outDir);
    var account = Path.Combine(outDir, "serviceaccount");
    Directory.CreateDirectory(account);
    File.WriteAllText(Path.Combine(account, "token"), ServiceAccountToken);
    File.WriteAllText(Path.Combine(account, "ca.crt"), servers[0].CaPem);
    File.WriteAllText(Path.Combine(account, "namespace"), "meshfed-runbooks");
    servers[0].Tokens[ServiceAccountToken] = "system:serviceaccount:meshfed-runbooks:runner";
    // An oidc id-token the first cluster accepts (valid for an hour) and one that has expired (auth-provider: oidc users).
    var oidcToken = Jwt(DateTimeOffset.UtcNow.AddHours(1));
    servers[0].Tokens[oidcToken] = "oidc:alice";
    var kubeconfig = Path.Combine(outDir, "kubeconfig");
    File.WriteAllText(kubeconfig, Kubeconfig(servers, unreachable, unauthorized, ClosedPort()));
    var description = new JsonObject
    {
        ["kubeconfig"] = kubeconfig,
        ["token"] = Token,
        ["serviceAccount"] = account,
        ["oidcToken"] = oidcToken,
        ["expiredOidcToken"] = Jwt(DateTimeOffset.UtcNow.AddMinutes(-10)),
        ["pid"] = Environment.ProcessId,
        ["clusters"] = new JsonArray(servers.Select((s, i) => (JsonNode)new JsonObject
        {
            ["name"] = s.Name,
            ["context"] = s.Name,
            ["server"] = s.Url.ToString().TrimEnd('/'),
            ["operators"] = new JsonArray(clusters[i].Operators.Select(o => (JsonNode)JsonValue.Create(o)!).ToArray()),
        }).ToArray()),
        ["unreachable"] = new JsonArray(unreachable.Select(u => (JsonNode)JsonValue.Create(u)!).ToArray()),
        ["unauthorized"] = new JsonArray(unauthorized.Select(u => (JsonNode)JsonValue.Create(u)!).ToArray()),
    };
    var json = Path.Combine(outDir, "clusters.json");
    File.WriteAllText(json, description.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    File.WriteAllText(Path.Combine(outDir, "clusters.psd1"), Psd1(description));

    Console.WriteLine($"testkube ready {json}");
    Console.Out.Flush();

    // Serve until stdin closes (the parent is gone or closed it) or a signal arrives.
    var stdin = Task.Run(() =>
    {
        try
        {
            while (Console.In.ReadLine() is not null) { }
        }
        catch (IOException)
        {
        }
    });
    await Task.WhenAny(stdin, Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default));
    return 0;
}
finally
{
    foreach (var s in servers) await s.DisposeAsync();
}

static void AcceptIssuedTokens(FakeApiServer server)
{
    // A token the cluster's token controller issued is accepted by that cluster, as a real API server accepts it.
    server.Store.Changed += (type, obj, verb) =>
    {
        if (verb == "DELETED" || type.Kind != "Secret" || obj["type"]?.GetValue<string>() != "kubernetes.io/service-account-token") return;
        if (obj["data"]?["token"]?.GetValue<string>() is not { } b64) return;
        var ns = obj["metadata"]?["namespace"]?.GetValue<string>();
        var sa = obj["metadata"]?["annotations"]?["kubernetes.io/service-account.name"]?.GetValue<string>();
        lock (server.Tokens) server.Tokens[Encoding.UTF8.GetString(Convert.FromBase64String(b64))] = $"system:serviceaccount:{ns}:{sa}";
    };
}

static string Jwt(DateTimeOffset expiry)
{
    static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    return $"{B64("{\"alg\":\"RS256\",\"typ\":\"JWT\"}")}.{B64($"{{\"iss\":\"https://idp.example.test\",\"sub\":\"alice\",\"exp\":{expiry.ToUnixTimeSeconds()}}}")}.c2lnbmF0dXJl";
}

static int ClosedPort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    var port = ((IPEndPoint)listener.LocalEndpoint).Port;
    listener.Stop();
    return port;
}

static string Kubeconfig(List<FakeApiServer> servers, List<string> unreachable, List<string> unauthorized, int closedPort)
{
    static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
    var ca = B64(servers[0].CaPem);
    var sb = new StringBuilder("apiVersion: v1\nkind: Config\n");
    sb.Append("current-context: ").Append(servers[0].Name).Append('\n');
    sb.Append("clusters:\n");
    foreach (var s in servers) sb.Append($"- name: {s.Name}\n  cluster:\n    server: {s.Url.ToString().TrimEnd('/')}\n    certificate-authority-data: {ca}\n");
    foreach (var u in unreachable) sb.Append($"- name: {u}\n  cluster:\n    server: https://127.0.0.1:{closedPort}\n    certificate-authority-data: {ca}\n");
    foreach (var u in unauthorized) sb.Append($"- name: {u}\n  cluster:\n    server: {servers[0].Url.ToString().TrimEnd('/')}\n    certificate-authority-data: {ca}\n");
    sb.Append("contexts:\n");
    foreach (var s in servers) sb.Append($"- name: {s.Name}\n  context:\n    cluster: {s.Name}\n    user: admin\n");
    foreach (var u in unreachable) sb.Append($"- name: {u}\n  context:\n    cluster: {u}\n    user: admin\n");
    foreach (var u in unauthorized) sb.Append($"- name: {u}\n  context:\n    cluster: {u}\n    user: stranger\n");
    sb.Append($"users:\n- name: admin\n  user:\n    token: {Token}\n- name: stranger\n  user:\n    token: not-a-token-this-cluster-knows\n");
    return sb.ToString();
}

static string Psd1(JsonNode? node, int indent = 0)
{
    var pad = new string(' ', indent);
    return node switch
    {
        JsonObject o => "@{\n" + string.Concat(o.Select(p => $"{pad}    {p.Key} = {Psd1(p.Value, indent + 4)}\n")) + pad + "}",
        JsonArray a => "@(" + string.Join(", ", a.Select(e => Psd1(e, indent))) + ")",
        JsonValue v when v.TryGetValue<int>(out var i) => i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        JsonValue v => "'" + v.ToString().Replace("'", "''", StringComparison.Ordinal) + "'",
        _ => "$null",
    };
}
