using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>meshfed apply / plan / delete / discover against test API servers.</summary>
public sealed class CliLiveTests : Ossm2ClustersTest
{
    [Fact]
    public void Apply_twice_plan_discover_and_delete()
    {
        var writes = Clusters.Servers.Sum(s => s.Store.Writes);
        var (code, output, error) = BadInputTests.Cli("apply", TopologyPath, "--kubeconfig", KubeconfigPath, "--dry-run");
        Assert.True(code == 0, error);
        Assert.Contains("CREATE  blue", output, StringComparison.Ordinal);
        Assert.Equal(writes, Clusters.Servers.Sum(s => s.Store.Writes));

        (code, output, error) = BadInputTests.Cli("apply", TopologyPath, "--kubeconfig", KubeconfigPath);
        Assert.True(code == 0, error);
        Assert.Matches(@"applied 1[34] change\(s\)", output);

        (code, output, error) = BadInputTests.Cli("plan", TopologyPath, "--kubeconfig", KubeconfigPath);
        Assert.True(code == 0, error);
        Assert.Matches(@"plan: 0 to create, 0 to update, 0 to delete, \d+ unchanged", output);

        (code, output, error) = BadInputTests.Cli("discover", "--kubeconfig", KubeconfigPath, "--context", "blue", "--context", "green", "--output", "json");
        Assert.True(code == 0, error);
        var found = JsonNode.Parse(output)!.AsArray();
        Assert.Equal(new[] { "blue-mesh", "green-mesh" }, found.Select(f => f!["Name"]!.GetValue<string>()).Order());

        (code, output, error) = BadInputTests.Cli("delete", TopologyPath, "--kubeconfig", KubeconfigPath);
        Assert.True(code == 0, error);
        Assert.Contains("deleted", output, StringComparison.Ordinal);
        foreach (var s in Clusters.Servers)
            Assert.DoesNotContain(s.Store.All(), o => o["metadata"]?["labels"]?["app.kubernetes.io/managed-by"] is not null);
        (code, output, _) = BadInputTests.Cli("delete", TopologyPath, "--kubeconfig", KubeconfigPath);
        Assert.Equal(0, code);
        Assert.Contains("0 to delete", output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreachable_cluster_exits_1_and_a_badTopologyPath_exits_2()
    {
        var broken = Path.Combine(Clusters.Directory, "broken-kubeconfig");
        File.WriteAllText(broken, File.ReadAllText(KubeconfigPath).Replace(Clusters["green"].Url.ToString().TrimEnd('/'), "https://127.0.0.1:1", StringComparison.Ordinal));
        var (code, _, error) = BadInputTests.Cli("plan", TopologyPath, "--kubeconfig", broken);
        Assert.Equal(MeshfedApp.ExitFailed, code);
        Assert.Contains("green", error, StringComparison.Ordinal);
        Assert.DoesNotContain(TestClusters.Token, error, StringComparison.Ordinal);
        Assert.Equal(MeshfedApp.ExitBadInput, BadInputTests.Cli("apply", "/nonexistent.yaml", "--kubeconfig", KubeconfigPath).Code);
        (code, _, error) = BadInputTests.Cli("apply", TopologyPath, "--kubeconfig", Path.Combine(Clusters.Directory, "no-such-kubeconfig"));
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains("no-such-kubeconfig", error, StringComparison.Ordinal);
    }
}
