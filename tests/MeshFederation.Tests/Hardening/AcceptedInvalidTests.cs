using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests.Hardening;

/// <summary>
/// Issue 14, "Accepted though invalid (exit 0)" and "Unclear": each case is refused with the field, the value, a fix and
/// the file:line of the value (the topology loader, as meshfed validate and Import-MeshTopology run it).
/// </summary>
public class AcceptedInvalidTests
{
    private const string Head = "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\n";
    private const string Pair = "meshes:\n  - {name: a, cluster: ca}\n  - {name: b, cluster: cb}\npeerings: all\n";

    /// <summary>Loads <paramref name="body"/> and returns the problem about <paramref name="field"/> (with its value), asserting its line.</summary>
    internal static MeshProblem Refused(string body, string field, string? value, int line)
    {
        var text = Head + body;
        var ex = TestSupport.Problems(() => TestSupport.LoadText(text, "bad.yaml"));
        var p = TestSupport.AssertProblem(ex, field, value);
        Assert.True(p.Location is not null, $"no file:line for {field}: {ex.Message}");
        Assert.Equal("bad.yaml", p.Location!.File);
        Assert.True(p.Location.Line == line, $"{field}: line {p.Location.Line}, expected {line}\n{ex.Message}");
        return p;
    }

    public static TheoryData<string, string, string, string?, int> Cases() => new()
    {
        // name, body, field, value, line (counting the two header lines)
        { "duplicate key in ingressAddresses", "meshes:\n  - name: a\n    ingressAddresses: {b: [10.0.0.1], b: [10.0.0.2]}\n  - {name: b}\n", "b", "b", 5 },
        { "duplicate key in overrides", "meshes:\n  - name: a\n    overrides:\n      runtime: {}\n      runtime: {x: 1}\n", "runtime", "runtime", 7 },
        { "duplicate key in labels", Pair + "exports:\n  - from: a\n    to: b\n    services:\n      - namespace: x\n        labels: {app: one, app: two}\n", "app", "app", 12 },
        { "exposure with two values", "meshes:\n  - {name: a, exposure: \"LoadBalancer, NodePort\"}\n", "exposure", "LoadBalancer, NodePort", 4 },
        { "apiServer http", "meshes:\n  - name: a\n    style: multi-primary\n    clusters:\n      - {name: c1, apiServer: \"http://api.c1:6443\"}\n", "apiServer", "http://api.c1:6443", 7 },
        { "apiServer not a url", "meshes:\n  - name: a\n    style: multi-primary\n    clusters:\n      - {name: c1, apiServer: not a url}\n", "apiServer", "not a url", 7 },
        { "ingress address 999.1.1.1", "meshes:\n  - {name: a, ingressAddresses: [999.1.1.1]}\n", "ingressAddresses", "999.1.1.1", 4 },
        { "ingress address 10.1", "meshes:\n  - {name: a, ingressAddresses: [10.1]}\n", "ingressAddresses", "10.1", 4 },
        { "ingress addresses keyed by an unknown peer", "meshes:\n  - name: a\n    ingressAddresses:\n      nosuch: [10.0.0.1]\n  - {name: b}\npeerings: all\n", "ingressAddresses.nosuch", "nosuch", 6 },
        { "vipRange 1/8", "meshes:\n  - {name: a, style: multi-mesh, vipRange: 1/8}\n", "vipRange", "1/8", 4 },
        { "vipRange on an OSSM 2 mesh", "meshes:\n  - {name: a, vipRange: 240.0.0.0/16}\n", "vipRange", "240.0.0.0/16", 4 },
        { "invalid regex", Pair + "imports:\n  - into: a\n    from: b\n    services: [{namespace: x, name: y}]\ntrafficSplits:\n  - mesh: a\n    name: s\n    namespace: x\n    match:\n      - regex: \"([\"\n    local: {host: y}\n    remote: {from: b, service: x/y}\n", "regex", "([", 16 },
        { "failover interval soon", "meshes:\n  - {name: a, style: multi-primary, clusters: [c1, c2]}\npeerings: all\nfailover:\n  - mesh: c1-a\n    name: f\n    namespace: x\n    host: h.x.svc.cluster.local\n    from: r1\n    to: r2\n    interval: soon\n", "interval", "soon", 13 },
        { "import port name Http_1", "meshes:\n  - {name: a, style: multi-mesh, ingressAddresses: [10.0.0.1]}\n  - {name: b, style: multi-mesh, ingressAddresses: [10.0.0.2]}\npeerings: all\nimports:\n  - into: a\n    from: b\n    services:\n      - namespace: x\n        name: y\n        ports: [{name: Http_1, number: 80}]\n", "ports[].name", "Http_1", 13 },
        { "export to an undeclared mesh with one mesh", "meshes:\n  - {name: a}\nexports:\n  - from: a\n    to: nosuch\n    services: [{namespace: x, name: y}]\n", "exports[0].to", "nosuch", 7 },
        { "VIP range too small", "meshes:\n  - {name: a, style: multi-mesh, vipRange: 10.0.0.0/31, ingressAddresses: [10.0.0.1]}\n  - {name: b, style: multi-mesh, ingressAddresses: [10.0.0.2]}\npeerings: all\nimports:\n  - into: a\n    from: b\n    services:\n      - {namespace: x, name: one, ports: [{name: http, number: 80}]}\n      - {namespace: x, name: two, ports: [{name: http, number: 80}]}\n      - {namespace: x, name: three, ports: [{name: http, number: 80}]}\n", "vipRange", "10.0.0.0/31", 4 },
        { "firewall zone injection", "meshes:\n  - {name: a, exposure: NodePort, nodeAddresses: [10.0.0.1]}\n  - {name: b, exposure: NodePort, nodeAddresses: [10.0.0.2]}\npeerings: all\nproxy:\n  host: 10.0.0.9\n  firewallZone: \"libvirt; rm -rf /\"\n", "firewallZone", "libvirt; rm -rf /", 9 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Is_refused_with_field_value_fix_and_line(string name, string body, string field, string? value, int line)
    {
        var p = Refused(body, field, value, line);
        Assert.False(string.IsNullOrWhiteSpace(p.Fix), name);
    }

    [Fact]
    public void Duplicate_keys_name_the_first_occurrence_too()
    {
        var p = Refused("meshes:\n  - name: a\n    overrides:\n      runtime: {}\n      runtime: {x: 1}\n", "runtime", "runtime", 7);
        Assert.Contains("first at line 6", p.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicate_mesh_is_one_clear_error_at_the_second_declaration()
    {
        var ex = TestSupport.Problems(() => TestSupport.LoadText(Head + "meshes:\n  - {name: a}\n  - {name: b}\n  - {name: a}\npeerings: all\n", "bad.yaml"));
        var p = Assert.Single(ex.Problems);
        Assert.Equal("topology.meshes[2].name", p.Field);
        Assert.Equal("a", p.Value);
        Assert.Equal(6, p.Location!.Line);
        Assert.Contains("meshes[0]", p.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain("itself", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_import_from_an_undeclared_mesh_is_reported_along_with_the_split()
    {
        var ex = TestSupport.Problems(() => TestSupport.LoadText(Head + Pair
            + "imports:\n  - into: a\n    from: nosuch\n    services: [{namespace: x, name: y}]\ntrafficSplits:\n  - mesh: a\n    name: s\n    namespace: x\n    local: {host: y}\n    remote: {from: nosuch, service: x/y}\n", "bad.yaml"));
        var p = TestSupport.AssertProblem(ex, "imports[0].from", "nosuch");
        Assert.Equal(9, p.Location!.Line);
    }

    [Fact]
    public void A_valid_merge_key_with_an_overriding_key_loads()
    {
        var set = TestSupport.LoadText(Head + "meshes:\n  - &first {name: a, namespace: a-system, version: v2.4}\n  - <<: *first\n    name: b\n    namespace: b-system\npeerings: all\n", "merge.yaml");
        var b = set.ControlPlanes.Single(c => c.Name == "b");
        Assert.Equal("b-system", b.Namespace);
        Assert.Equal("v2.4", b.Version);
    }

    [Fact]
    public void Merge_keys_follow_YAML_earlier_mappings_win_and_explicit_keys_win_over_all()
    {
        var doc = TestSupport.Yaml.Parse("a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  w: 0\n  <<: [*a, *b]\n  y: 3\n", "m.yaml").Single();
        var c = doc["c"]!;
        Assert.Equal(new[] { "w", "x", "z", "y" }, c.Entries.Select(e => e.Key.Value));
        Assert.Equal("1", c["x"]!.Value);
        Assert.Equal("3", c["y"]!.Value);
        Assert.Equal("2", c["z"]!.Value);
        var bad = TestSupport.Problems(() => TestSupport.Yaml.Parse("a: &a [1]\nb:\n  <<: *a\n", "m.yaml"));
        Assert.Contains("merge key takes a mapping", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_ten_megabyte_value_is_echoed_in_200_characters()
    {
        var huge = new string('x', 1_000_000);
        var ex = TestSupport.Problems(() => TestSupport.LoadText(Head + $"meshes:\n  - name: {huge}\n", "bad.yaml"));
        Assert.True(ex.Message.Length < 2000, $"the message is {ex.Message.Length} characters");
        Assert.Contains("1,000,000 characters", ex.Message, StringComparison.Ordinal);
        // A 10 MB file is refused on its size, briefly.
        var file = Path.Combine(Paths.TempDir(), "huge.yaml");
        File.WriteAllText(file, Head + "meshes:\n  - name: " + new string('x', 10_000_000) + "\n");
        var (code, _, stderr) = BadInputTests.Cli("validate", file);
        Assert.Equal(2, code);
        Assert.True(stderr.Length < 1000, stderr[..Math.Min(stderr.Length, 2000)]);
        Assert.Contains("the limit for this input is 4 MiB", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Control_characters_in_values_are_shown_escaped()
    {
        var ex = TestSupport.Problems(() => TestSupport.LoadText(Head + "meshes:\n  - name: \"a\\e[2Jb\\nc\"\n", "bad.yaml"));
        Assert.DoesNotContain('\u001b', ex.Message);
        Assert.Contains("\\u001b[2Jb\\nc", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_binary_kubeconfig_is_named_as_such()
    {
        var file = Path.Combine(Paths.TempDir(), "config");
        File.WriteAllBytes(file, new byte[] { 0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00 });
        var ex = TestSupport.Problems(() => Engine.Kube.KubeConfig.Load(file, TestSupport.Yaml));
        Assert.Contains("is not a text file", ex.Message, StringComparison.Ordinal);
        Assert.Contains(file, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_as_the_topology_is_named_as_a_folder()
    {
        var dir = Paths.TempDir();
        var (code, _, stderr) = BadInputTests.Cli("validate", dir);
        Assert.Equal(2, code);
        Assert.Contains($"topology = '{dir}': is a folder, not a file", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("denied", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Self_exports_and_self_imports_are_conflicts()
    {
        var a = Factory.ControlPlanes(new ControlPlaneRequest { Name = "a" }).Single();
        var ex = TestSupport.Problems(() => Factory.Export(new MeshServiceExport { ControlPlane = a, Peer = "a", Namespace = "x", Name = "y" }));
        Assert.Equal(MeshErrorKind.Conflict, TestSupport.AssertProblem(ex, ".to", "a").Kind);
        ex = TestSupport.Problems(() => Factory.Import(new MeshServiceImport { ControlPlane = a, Peer = "a", Namespace = "x", Name = "y" }));
        Assert.Equal(MeshErrorKind.Conflict, TestSupport.AssertProblem(ex, ".from", "a").Kind);
    }
}
