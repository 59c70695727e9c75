using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>meshfed apply / plan / delete / discover against test API servers.</summary>
public sealed class CliLiveTests : IAsyncLifetime
{
    private TestClusters _clusters = null!;
    private string _kubeconfig = "";
    private string _topology = "";

    public async Task InitializeAsync()
    {
        _clusters = await TestClusters.StartAsync("blue", "green");
        var i = 3;
        foreach (var s in _clusters.Servers)
        {
            _ = new FakeOssm2Operator(s, $"10.19.{i++}.");
            s.Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "nfs-app-istio" } }, "oc");
        }
        _kubeconfig = _clusters.WriteKubeconfig();
        _topology = Path.Combine(_clusters.Directory, "seed-001.yaml");
        File.WriteAllText(_topology, LiveFederationTests.Seed001Live());
    }

    public async Task DisposeAsync() => await _clusters.DisposeAsync();

    [Fact]
    public void Apply_twice_plan_discover_and_delete()
    {
        var writes = _clusters.Servers.Sum(s => s.Store.Writes);
        var (code, output, error) = BadInputTests.Cli("apply", _topology, "--kubeconfig", _kubeconfig, "--dry-run");
        Assert.True(code == 0, error);
        Assert.Contains("CREATE  blue", output, StringComparison.Ordinal);
        Assert.Equal(writes, _clusters.Servers.Sum(s => s.Store.Writes));

        (code, output, error) = BadInputTests.Cli("apply", _topology, "--kubeconfig", _kubeconfig);
        Assert.True(code == 0, error);
        Assert.Matches(@"applied 1[34] change\(s\)", output);

        (code, output, error) = BadInputTests.Cli("plan", _topology, "--kubeconfig", _kubeconfig);
        Assert.True(code == 0, error);
        Assert.Matches(@"plan: 0 to create, 0 to update, 0 to delete, \d+ unchanged", output);

        (code, output, error) = BadInputTests.Cli("discover", "--kubeconfig", _kubeconfig, "--context", "blue", "--context", "green", "--output", "json");
        Assert.True(code == 0, error);
        var found = JsonNode.Parse(output)!.AsArray();
        Assert.Equal(new[] { "blue-mesh", "green-mesh" }, found.Select(f => f!["Name"]!.GetValue<string>()).Order());

        (code, output, error) = BadInputTests.Cli("delete", _topology, "--kubeconfig", _kubeconfig);
        Assert.True(code == 0, error);
        Assert.Contains("deleted", output, StringComparison.Ordinal);
        foreach (var s in _clusters.Servers)
            Assert.DoesNotContain(s.Store.All(), o => o["metadata"]?["labels"]?["app.kubernetes.io/managed-by"] is not null);
        (code, output, _) = BadInputTests.Cli("delete", _topology, "--kubeconfig", _kubeconfig);
        Assert.Equal(0, code);
        Assert.Contains("0 to delete", output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreachable_cluster_exits_1_and_a_bad_topology_exits_2()
    {
        var broken = Path.Combine(_clusters.Directory, "broken-kubeconfig");
        File.WriteAllText(broken, File.ReadAllText(_kubeconfig).Replace(_clusters["green"].Url.ToString().TrimEnd('/'), "https://127.0.0.1:1", StringComparison.Ordinal));
        var (code, _, error) = BadInputTests.Cli("plan", _topology, "--kubeconfig", broken);
        Assert.Equal(MeshfedApp.ExitFailed, code);
        Assert.Contains("green", error, StringComparison.Ordinal);
        Assert.DoesNotContain(TestClusters.Token, error, StringComparison.Ordinal);
        Assert.Equal(MeshfedApp.ExitBadInput, BadInputTests.Cli("apply", "/nonexistent.yaml", "--kubeconfig", _kubeconfig).Code);
        (code, _, error) = BadInputTests.Cli("apply", _topology, "--kubeconfig", Path.Combine(_clusters.Directory, "no-such-kubeconfig"));
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains("no-such-kubeconfig", error, StringComparison.Ordinal);
    }
}
