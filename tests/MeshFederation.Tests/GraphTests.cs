using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Model;

namespace MeshFederation.Tests;

public class GraphTests
{
    private static FederationGraph.Model Seed001(params MeshCheckResult[] results)
    {
        var set = TestSupport.LoadExample("seed-001-blue-green.yaml");
        return FederationGraph.From(set, results.Length > 0 ? results : FederationChecks.Run(set).ToArray());
    }

    private static MeshCheckResult Result(string mesh, string peer, CheckStatus status) =>
        new() { Mesh = mesh, Peer = peer, CheckId = "T", Status = status, Message = "m" };

    [Fact]
    public void DOT_is_accepted_by_graphviz_and_the_SVG_carries_the_colours_and_labels()
    {
        var model = Seed001(Result("blue-mesh", "green-mesh", CheckStatus.Pass), Result("green-mesh", "blue-mesh", CheckStatus.Fail));
        var dot = FederationGraph.Dot(model);
        var file = Path.Combine(Paths.TempDir(), "g.dot");
        File.WriteAllText(file, dot);
        var (code, output) = ExternalTools.Run("dot", $"-Tsvg {file}");
        Assert.True(code == 0, output);
        // SVG text escapes '-' as &#45;.
        var svg = FederationGraph.Svg(model).Replace("&#45;", "-", StringComparison.Ordinal);
        Assert.StartsWith("<?xml", svg, StringComparison.Ordinal);
        Assert.Contains("#c62828", svg, StringComparison.Ordinal);   // the worst of the pair's checks: Fail, red
        Assert.Contains("peering: Fail", svg, StringComparison.Ordinal);
        Assert.Contains("exports nfs-app-istio/dokuwiki", svg, StringComparison.Ordinal);
        Assert.Contains("blue-dokuwiki.nfs-app-istio.svc.blue-mesh-imports.local", svg, StringComparison.Ordinal);
        Assert.Contains("cluster blue", svg, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CheckStatus.Pass, "#2e7d32")]
    [InlineData(CheckStatus.Warn, "#f9a825")]
    [InlineData(CheckStatus.Fail, "#c62828")]
    public void Mermaid_groups_meshes_by_cluster_and_colours_each_peering(CheckStatus status, string colour)
    {
        var mermaid = FederationGraph.Mermaid(Seed001(Result("blue-mesh", "green-mesh", status)));
        Assert.StartsWith("flowchart LR\n", mermaid, StringComparison.Ordinal);
        Assert.Contains("subgraph m_cluster_blue[\"cluster blue\"]", mermaid, StringComparison.Ordinal);
        Assert.Contains("m_blue_mesh <-->|\"peering: " + status + "\"| m_green_mesh", mermaid, StringComparison.Ordinal);
        Assert.Contains($"linkStyle 0 stroke:{colour},stroke-width:3px", mermaid, StringComparison.Ordinal);
        Assert.Contains("-.->|\"exports nfs-app-istio/dokuwiki as nfs-app-istio/dokuwiki\"|", mermaid, StringComparison.Ordinal);
        Assert.Equal(3, mermaid.Split('\n').Count(l => l.TrimStart().StartsWith("linkStyle", StringComparison.Ordinal)));
    }

    [Fact]
    public void Unchecked_peerings_are_grey_and_the_offline_checks_colour_the_CLI_graph()
    {
        var set = TestSupport.LoadExample("seed-002-bookinfo-split.yaml");
        Assert.Contains("#9e9e9e", FederationGraph.Dot(FederationGraph.From(set, Array.Empty<MeshCheckResult>())), StringComparison.Ordinal);
        var (code, text, err) = BadInputTests.Cli("graph", Paths.Example("seed-002-bookinfo-split.yaml"), "--format", "dot");
        Assert.True(code == 0, err);
        Assert.Contains("\"managedcluster1-mesh\" -> \"managedcluster2-mesh\"", text, StringComparison.Ordinal);
        var svgFile = Path.Combine(Paths.TempDir(), "g.svg");
        Assert.Equal(0, BadInputTests.Cli("graph", Paths.Example("seed-002-bookinfo-split.yaml"), "--format", "svg", "--out", svgFile).Code);
        Assert.Contains("<svg", File.ReadAllText(svgFile), StringComparison.Ordinal);
    }
}
