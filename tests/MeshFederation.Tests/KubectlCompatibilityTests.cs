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
}
