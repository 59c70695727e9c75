using MeshFederation.Cli;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests;

/// <summary>Bad input gets a clear error naming the field, the value and the fix; the CLI exits 2 and writes nothing.</summary>
public class BadInputTests
{
    private const string Head = "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\n";

    private static MeshFederationException Load(string body) => TestSupport.Problems(() => TestSupport.LoadText(Head + body, "bad.yaml"));

    [Fact]
    public void An_invalid_DNS_1123_name_is_named_with_a_suggestion()
    {
        var ex = Load("meshes:\n  - name: Blue_Mesh\n");
        var p = TestSupport.AssertProblem(ex, "mesh.name", "Blue_Mesh");
        Assert.Contains("blue-mesh", p.Fix, StringComparison.Ordinal);
        Assert.Equal(MeshErrorKind.InvalidArgument, p.Kind);
        Assert.Equal(new SourceLocation("bad.yaml", 4, 11), p.Location); // the value's own line and column
    }

    [Fact]
    public void A_name_longer_than_63_characters_is_rejected()
    {
        var name = new string('a', 64);
        var ex = TestSupport.Problems(() => Factory.ControlPlanes(new ControlPlaneRequest { Name = name }));
        Assert.Contains("63", TestSupport.AssertProblem(ex, "mesh.name", name).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_peers_are_a_conflict()
    {
        var ex = Load("meshes:\n  - {name: a}\n  - {name: b}\npeerings:\n  - between: [a, b]\n  - between: [b, a]\n");
        var p = TestSupport.AssertProblem(ex, "peers", "b");
        Assert.Equal(MeshErrorKind.Conflict, p.Kind);
        Assert.Contains("peered twice", p.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_aliases_are_a_conflict()
    {
        var ex = Load("meshes:\n  - {name: a}\n  - {name: b}\npeerings: all\nexports:\n  - from: a\n    to: b\n    services:\n"
            + "      - {namespace: x, name: one, alias: shared/svc}\n      - {namespace: y, name: two, alias: shared/svc}\n");
        var p = TestSupport.AssertProblem(ex, "alias", "svc.shared.svc.b-exports.local");
        Assert.Equal(MeshErrorKind.Conflict, p.Kind);
    }

    [Fact]
    public void A_mesh_federated_with_itself_is_rejected_in_a_topology_and_in_the_pipeline()
    {
        var ex = Load("meshes:\n  - {name: a}\npeerings:\n  - between: [a, a]\n");
        Assert.Contains("itself", TestSupport.AssertProblem(ex, "between", "a").Problem, StringComparison.Ordinal);
        var a = Factory.ControlPlanes(new ControlPlaneRequest { Name = "a" }).Single();
        var ex2 = TestSupport.Problems(() => Factory.Peerings(new[] { a, a }));
        Assert.Contains("itself", TestSupport.AssertProblem(ex2, "peers", "a").Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_meshes_with_the_same_trust_domain_are_a_conflict()
    {
        var ex = Load("meshes:\n  - {name: a, trustDomain: shared.local}\n  - {name: b, trustDomain: shared.local}\npeerings: all\n");
        var p = TestSupport.AssertProblem(ex, "trustDomain", "shared.local");
        Assert.Equal(MeshErrorKind.Conflict, p.Kind);
        Assert.Contains("b.local", p.Fix, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("discoveryPort: 70000", "discoveryPort", "70000")]
    [InlineData("servicePort: 0", "servicePort", "0")]
    public void Ports_out_of_range_are_rejected(string line, string field, string value)
    {
        var ex = Load($"meshes:\n  - {{name: a}}\n  - {{name: b}}\npeerings:\n  - between: [a, b]\n    {line}\n");
        Assert.Contains("between 1 and 65535", TestSupport.AssertProblem(ex, field, value).Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_port_base_outside_the_node_port_range_is_rejected()
    {
        var ex = Load("meshes:\n  - {name: a, exposure: NodePort, gateways: {nodePortBase: 29999}}\n");
        Assert.Contains("30000", TestSupport.AssertProblem(ex, "nodePortBase", "29999").Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_style_lists_the_valid_ones()
    {
        var ex = Load("meshes:\n  - {name: a, style: ossm9}\n");
        Assert.Contains("ossm2", TestSupport.AssertProblem(ex, "style", "ossm9").Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_YAML_reports_the_file_and_the_line()
    {
        var ex = Load("meshes:\n  - name: a\n    namespace: [unclosed\n");
        var p = ex.Problems.Single();
        Assert.Equal("bad.yaml", p.Location!.File);
        Assert.InRange(p.Location.Line, 5, 6);
        Assert.Contains("bad.yaml:", ex.Message, StringComparison.Ordinal);
        Assert.Equal(MeshErrorKind.InvalidData, p.Kind);
    }

    [Fact]
    public void An_unknown_field_gets_a_did_you_mean_and_its_line()
    {
        var ex = Load("meshes:\n  - name: a\n    namespce: a-system\n");
        var p = TestSupport.AssertProblem(ex, "namespce", "namespce");
        Assert.Contains("did you mean 'namespace'", p.Fix, StringComparison.Ordinal);
        Assert.Equal(5, p.Location!.Line);
    }

    [Fact]
    public void An_export_to_a_mesh_that_is_not_peered_is_reported()
    {
        var ex = Load("meshes:\n  - {name: a}\n  - {name: b}\n  - {name: c}\npeerings:\n  - between: [a, b]\nexports:\n  - from: a\n    to: c\n    services: [{namespace: x, name: y}]\n");
        Assert.Equal(MeshErrorKind.NotFound, TestSupport.AssertProblem(ex, ".to", "c").Kind);
    }

    [Fact]
    public void ImportAsLocal_without_a_fixed_alias_namespace_is_rejected_before_OSSM_drops_it()
    {
        var a = Factory.ControlPlanes(new ControlPlaneRequest { Name = "a" }).Single();
        var ex = TestSupport.Problems(() => Factory.Import(new MeshServiceImport { ControlPlane = a, Peer = "b", Namespace = "x", Name = "y", ImportAsLocal = true }));
        Assert.Contains("silently", TestSupport.AssertProblem(ex, "alias.namespace").Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var ex = Load("meshes:\n  - {name: A}\n  - {name: b, version: v1.0}\n  - {name: c, exposre: NodePort}\n");
        Assert.True(ex.Problems.Count >= 3, ex.Message);
    }

    [Fact]
    public void The_CLI_exits_2_and_writes_nothing_on_bad_input()
    {
        var dir = Paths.TempDir();
        var topology = Path.Combine(dir, "bad.yaml");
        File.WriteAllText(topology, Head + "meshes:\n  - {name: a, trustDomain: x.local}\n  - {name: b, trustDomain: x.local}\npeerings: all\n");
        var outDir = Path.Combine(dir, "out");
        var (code, stdout, stderr) = Cli("render", topology, "--out", outDir);
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.False(Directory.Exists(outDir), "the output folder was created");
        Assert.Contains("trustDomain = 'x.local'", stderr, StringComparison.Ordinal);
        Assert.Contains("Fix:", stderr, StringComparison.Ordinal);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void The_CLI_exits_2_for_a_missing_file_and_for_unknown_options()
    {
        Assert.Equal(MeshfedApp.ExitBadInput, Cli("render", "/nonexistent/topology.yaml", "--out", Paths.TempDir()).Code);
        Assert.Equal(MeshfedApp.ExitBadInput, Cli("render", Paths.Example("seed-001-blue-green.yaml"), "--bogus").Code);
    }

    [Fact]
    public void Nothing_is_half_written_when_one_target_is_unusable()
    {
        var dir = Paths.TempDir();
        Directory.CreateDirectory(Path.Combine(dir, "green.yaml"));
        var (code, _, stderr) = Cli("render", Paths.Example("seed-001-blue-green.yaml"), "--out", dir);
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains("green.yaml", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "blue.yaml")));
        Assert.False(File.Exists(Path.Combine(dir, "SUMMARY.md")));
    }

    internal static (int Code, string Stdout, string Stderr) Cli(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = MeshfedApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
