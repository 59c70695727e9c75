using System.Text.Json.Nodes;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>Real kubectl against the test API server: it keeps the server's protocol honest.</summary>
public sealed class KubectlCompatibilityTests : IAsyncLifetime
{
    private readonly TestPki _pki = new();
    private FakeApiServer _server = null!;
    private string _kubeconfig = "";

    public async Task InitializeAsync()
    {
        _server = new FakeApiServer("c1", _pki);
        _server.Tokens["admin-token"] = "admin";
        await _server.StartAsync();
        _kubeconfig = Path.Combine(Paths.TempDir(), "kubeconfig");
        File.WriteAllText(_kubeconfig, _server.Kubeconfig("c1", token: "admin-token"));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _pki.Dispose();
    }

    private (int Code, string Output) Kubectl(string args) => ExternalTools.Run("kubectl", $"--kubeconfig {_kubeconfig} {args}");

    private (int Code, string Output) ApplyNamespace(string name)
    {
        var file = Path.Combine(Paths.TempDir(), "ns.yaml");
        File.WriteAllText(file, $"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n");
        return Kubectl($"apply --server-side -f {file}");
    }

    [Fact]
    public void Kubectl_creates_gets_and_server_side_applies()
    {
        var (code, output) = ApplyNamespace("blue-mesh-system");
        Assert.True(code == 0, output);
        var manifest = Path.Combine(Paths.TempDir(), "cm.yaml");
        File.WriteAllText(manifest, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: green-mesh-ca-root-cert\n  namespace: blue-mesh-system\n  labels: {app: x}\ndata:\n  root-cert.pem: abc\n");
        (code, output) = Kubectl($"apply --server-side -f {manifest}");
        Assert.True(code == 0, output);
        Assert.Contains("serverside-applied", output, StringComparison.Ordinal);
        (code, output) = Kubectl("get configmaps -n blue-mesh-system -o json --show-managed-fields");
        Assert.True(code == 0, output);
        var list = JsonNode.Parse(output)!;
        Assert.Equal("abc", list["items"]![0]!["data"]!["root-cert.pem"]!.GetValue<string>());
        Assert.Equal("kubectl", list["items"]![0]!["metadata"]!["managedFields"]![0]!["manager"]!.GetValue<string>());
        (code, output) = Kubectl("get cm -n blue-mesh-system -l app=x -o name");
        Assert.Equal("configmap/green-mesh-ca-root-cert", output.Trim());
        (code, output) = Kubectl("get cm -n blue-mesh-system -l app=y -o name");
        Assert.Equal("", output.Trim());
    }

    [Fact]
    public void Kubectl_applies_custom_resources_by_short_name_and_reads_them_back()
    {
        Assert.Equal(0, ApplyNamespace("green-mesh-system").Code);
        var manifest = Path.Combine(Paths.TempDir(), "smcp.yaml");
        File.WriteAllText(manifest, "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata:\n  name: green-mesh\n  namespace: green-mesh-system\nspec:\n  version: v2.5\n  security:\n    trust:\n      domain: green-mesh.local\n");
        var (code, output) = Kubectl($"apply --server-side -f {manifest}");
        Assert.True(code == 0, output);
        (code, output) = Kubectl("get smcp -n green-mesh-system green-mesh -o jsonpath={.spec.security.trust.domain}");
        Assert.True(code == 0, output);
        Assert.Equal("green-mesh.local", output.Trim());
        // A second manager that sets the same field differently conflicts, unless forced.
        var other = manifest.Replace("smcp.yaml", "smcp2.yaml", StringComparison.Ordinal);
        File.WriteAllText(other, File.ReadAllText(manifest).Replace("v2.5", "v2.6", StringComparison.Ordinal));
        (code, output) = Kubectl($"apply --server-side --field-manager other -f {other}");
        Assert.NotEqual(0, code);
        Assert.Contains("conflict", output, StringComparison.OrdinalIgnoreCase);
        (code, output) = Kubectl($"apply --server-side --field-manager other --force-conflicts -f {other}");
        Assert.True(code == 0, output);
        Assert.Equal("v2.6", Kubectl("get smcp -n green-mesh-system green-mesh -o jsonpath={.spec.version}").Output.Trim());
        (code, output) = Kubectl("delete smcp -n green-mesh-system green-mesh");
        Assert.True(code == 0, output);
        Assert.NotEqual(0, Kubectl("get smcp -n green-mesh-system green-mesh").Code);
    }

    [Fact]
    public void Kubectl_is_refused_without_credentials()
    {
        File.WriteAllText(_kubeconfig, _server.Kubeconfig("c1", token: "wrong-token"));
        var (code, output) = Kubectl("get namespaces");
        Assert.NotEqual(0, code);
        // kubectl words a 401 either way, depending on which request (discovery or the list) it was refused on.
        Assert.Matches("(?i)must be logged in to the server|provide credentials", output);
    }

    private string Write(string yaml)
    {
        var file = Path.Combine(Paths.TempDir(), "m.yaml");
        File.WriteAllText(file, yaml);
        return file;
    }

    [Fact]
    public void Kubectl_create_sends_protobuf_for_built_in_kinds_and_the_server_decodes_it()
    {
        foreach (var args in new[]
        {
            "create namespace proto", "create configmap settings -n proto --from-literal=a=b", "create secret generic s -n proto --from-literal=k=v",
            "create serviceaccount runner -n proto", "create service nodeport np -n proto --tcp=443:8443", "create role reader -n proto --verb=get --resource=pods",
            "create rolebinding reader -n proto --role=reader --serviceaccount=proto:runner",
        })
        {
            var (code, output) = Kubectl(args);
            Assert.True(code == 0, $"kubectl {args}: {output}");
        }
        Assert.Contains(_server.RequestLog, l => l.StartsWith("POST /api/v1/namespaces/proto/configmaps", StringComparison.Ordinal) && l.Contains("[application/vnd.kubernetes.protobuf]", StringComparison.Ordinal));
        Assert.Equal("b", Kubectl("get configmap settings -n proto -o jsonpath={.data.a}").Output.Trim());
        Assert.Equal("dg==", Kubectl("get secret s -n proto -o jsonpath={.data.k}").Output.Trim());
        Assert.Equal("Opaque", Kubectl("get secret s -n proto -o jsonpath={.type}").Output.Trim());
        Assert.Equal("proto:runner", Kubectl("get rolebinding reader -n proto -o jsonpath={.subjects[0].namespace}:{.subjects[0].name}").Output.Trim());
        // The server's defaults and allocations, as kube-apiserver makes them.
        var svc = JsonNode.Parse(Kubectl("get service np -n proto -o json").Output)!;
        Assert.Equal(8443, svc["spec"]!["ports"]![0]!["targetPort"]!.GetValue<int>());
        Assert.InRange(svc["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>(), 30000, 32767);
        Assert.Equal("None", svc["spec"]!["sessionAffinity"]!.GetValue<string>());
        Assert.Equal("IPv4", svc["spec"]!["ipFamilies"]![0]!.GetValue<string>());
        Assert.Matches(@"^10\.96\.", svc["spec"]!["clusterIP"]!.GetValue<string>());
        // A kind the server cannot decode from protobuf is refused with the reason, as a server that cannot decode it would.
        var (deployCode, deployOutput) = Kubectl("create deployment web -n proto --image=nginx");
        Assert.NotEqual(0, deployCode);
        Assert.Contains("protobuf", deployOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Server_defaults_generation_and_managed_fields_per_manager_are_what_kubectl_shows()
    {
        Assert.Equal(0, ApplyNamespace("apps").Code);
        var deployment = Write("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        resources: {requests: {cpu: 1000m, memory: 1024Mi}}\n      - name: sidecar\n        image: envoy\n");
        var (code, output) = Kubectl($"apply --server-side -f {deployment}");
        Assert.True(code == 0, output);
        var web = JsonNode.Parse(Kubectl("get deployment web -n apps -o json --show-managed-fields").Output)!;
        var c0 = web["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal(("IfNotPresent", "/dev/termination-log", "File"), (c0["imagePullPolicy"]!.GetValue<string>(), c0["terminationMessagePath"]!.GetValue<string>(), c0["terminationMessagePolicy"]!.GetValue<string>()));
        Assert.Equal("Always", web["spec"]!["template"]!["spec"]!["containers"]![1]!["imagePullPolicy"]!.GetValue<string>());
        Assert.Equal(("1", "1Gi"), (c0["resources"]!["requests"]!["cpu"]!.GetValue<string>(), c0["resources"]!["requests"]!["memory"]!.GetValue<string>()));
        Assert.Equal((1, 10, "ClusterFirst"), (web["spec"]!["replicas"]!.GetValue<int>(), web["spec"]!["revisionHistoryLimit"]!.GetValue<int>(), web["spec"]!["template"]!["spec"]!["dnsPolicy"]!.GetValue<string>()));
        Assert.Equal(1, web["metadata"]!["generation"]!.GetValue<int>());

        // kubectl label (an Update by another manager) changes metadata only: generation stays, managedFields gains its entry.
        Assert.Equal(0, Kubectl("label deployment web -n apps tier=frontend").Code);
        // kubectl set image (a strategic merge patch) changes the spec: generation moves, the other container keeps its fields.
        Assert.Equal(0, Kubectl("set image deployment/web -n apps web=nginx:1.28").Code);
        web = JsonNode.Parse(Kubectl("get deployment web -n apps -o json --show-managed-fields").Output)!;
        Assert.Equal(2, web["metadata"]!["generation"]!.GetValue<int>());
        Assert.Equal("nginx:1.28", web["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
        Assert.Equal("1Gi", web["spec"]!["template"]!["spec"]!["containers"]![0]!["resources"]!["requests"]!["memory"]!.GetValue<string>());
        Assert.Equal("envoy", web["spec"]!["template"]!["spec"]!["containers"]![1]!["image"]!.GetValue<string>());
        var managers = web["metadata"]!["managedFields"]!.AsArray().Select(e => $"{e!["manager"]}/{e["operation"]}").ToList();
        Assert.Contains("kubectl/Apply", managers);
        Assert.Contains("kubectl-label/Update", managers);
        Assert.Contains("kubectl-set/Update", managers);
        // The image now belongs to kubectl-set: applying the old one again conflicts.
        (code, output) = Kubectl($"apply --server-side -f {deployment}");
        Assert.NotEqual(0, code);
        Assert.Contains("kubectl-set", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Server_side_dry_run_with_strict_validation_rejects_unknown_fields_with_their_path_and_stores_nothing()
    {
        Assert.Equal(0, ApplyNamespace("mesh-system").Code);
        var typo = Write("apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata:\n  name: basic\n  namespace: mesh-system\nspec:\n  version: v2.5\n  runtime:\n    defaults:\n      container:\n        imagePullPolicyy: Always\n");
        var (code, output) = Kubectl($"apply --server-side --dry-run=server -f {typo}");
        Assert.NotEqual(0, code);
        Assert.Contains(".spec.runtime.defaults.container.imagePullPolicyy: field not declared in schema", output, StringComparison.Ordinal);
        var good = Write(File.ReadAllText(typo).Replace("imagePullPolicyy", "imagePullPolicy", StringComparison.Ordinal));
        (code, output) = Kubectl($"apply --server-side --dry-run=server -f {good}");
        Assert.True(code == 0, output);
        Assert.Contains("server dry run", output, StringComparison.Ordinal);
        Assert.NotEqual(0, Kubectl("get smcp -n mesh-system basic").Code);
        // kubectl create validates strictly as well (a JSON body: "strict decoding error").
        var cm = Write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: mesh-system\ndatta:\n  a: b\n");
        (code, output) = Kubectl($"create -f {cm}");
        Assert.NotEqual(0, code);
        Assert.Contains("unknown field \"datta\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_namespace_stays_Terminating_while_finalizers_run_and_kubectl_delete_waits_for_it()
    {
        Assert.Equal(0, ApplyNamespace("doomed").Code);
        var held = Write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: doomed\n  finalizers: [example.com/hold]\ndata:\n  a: b\n");
        Assert.Equal(0, Kubectl($"apply --server-side -f {held}").Code);
        Assert.Equal(0, Kubectl("delete namespace doomed --wait=false").Code);
        await Task.Delay(300);
        Assert.Equal("Terminating", Kubectl("get namespace doomed -o jsonpath={.status.phase}").Output.Trim());
        Assert.Contains("example.com/hold", Kubectl("get namespace doomed -o jsonpath={.status.conditions}").Output, StringComparison.Ordinal);
        Assert.NotEqual("", Kubectl("get configmap held -n doomed -o jsonpath={.metadata.deletionTimestamp}").Output.Trim());
        var (code, output) = Kubectl($"create configmap late -n doomed --from-literal=a=b");
        Assert.NotEqual(0, code);
        Assert.Contains("because it is being terminated", output, StringComparison.Ordinal);

        // Removing the finalizer lets the namespace go; kubectl delete waits (with a watch) until it is gone.
        var wait = Task.Run(() => Kubectl("delete namespace doomed --timeout=30s"));
        await Task.Delay(500);
        var patch = Write("{\"metadata\":{\"finalizers\":null}}");
        Assert.Equal(0, Kubectl($"patch configmap held -n doomed --type merge --patch-file {patch}").Code);
        var (deleted, deleteOutput) = await wait.WaitAsync(TimeSpan.FromSeconds(40));
        Assert.True(deleted == 0, deleteOutput);
        Assert.NotEqual(0, Kubectl("get namespace doomed").Code);
    }

    [Fact]
    public void A_watch_from_a_resourceVersion_replays_what_changed_since_as_the_watch_cache_does()
    {
        // kubectl delete --wait lists, then watches from the list's resourceVersion: what happens in between must reach it.
        Assert.Equal(0, ApplyNamespace("watched").Code);
        Assert.Equal(0, Kubectl("create configmap first -n watched --from-literal=a=b").Code);
        var listed = JsonNode.Parse(Kubectl("get --raw /api/v1/namespaces/watched/configmaps").Output)!["metadata"]!["resourceVersion"]!.GetValue<string>();
        Assert.Equal(0, Kubectl("delete configmap first -n watched").Code);
        Assert.Equal(0, Kubectl("create configmap second -n watched --from-literal=a=b").Code);
        var (code, output) = Kubectl($"get --raw /api/v1/namespaces/watched/configmaps?watch=true&resourceVersion={listed}&timeoutSeconds=1");
        Assert.True(code == 0, output);
        var events = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(new[] { "DELETED first", "ADDED second" }, events.Select(e => $"{e["type"]} {e["object"]!["metadata"]!["name"]}"));
        // The deletion has a resourceVersion of its own, after the list's.
        Assert.True(long.Parse(events[0]["object"]!["metadata"]!["resourceVersion"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) > long.Parse(listed, System.Globalization.CultureInfo.InvariantCulture));

        // A version older than the history kept: 410 Expired, as kube-apiserver answers (clients list again).
        _server.Store.HistoryLimit = 1;
        Assert.Equal(0, Kubectl("create configmap third -n watched --from-literal=a=b").Code);
        (code, output) = Kubectl($"get --raw /api/v1/namespaces/watched/configmaps?watch=true&resourceVersion={listed}&timeoutSeconds=1");
        var error = JsonNode.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0])!;
        Assert.Equal("ERROR", error["type"]!.GetValue<string>());
        Assert.Equal(410, error["object"]!["code"]!.GetValue<int>());
    }
}
