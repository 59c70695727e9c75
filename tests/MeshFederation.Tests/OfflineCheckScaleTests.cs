using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests;

/// <summary>
/// Issue 15, offline checks of large topologies: the meshes of a topology are validated on every core, the schema
/// validator tells value kinds without re-serializing values, and meshfed check streams its table in pieces. Each gives
/// exactly what the one-after-another validation and the plain table gave: the same problems in the same order with
/// the same file:line, the same bytes.
/// </summary>
public sealed class OfflineCheckScaleTests
{
    private const string Head = "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n";

    /// <summary>
    /// OSSM 2 meshes all peered (the benchmark's shape); with <paramref name="errors"/>, every fifth and seventh mesh has
    /// overrides the upstream ServiceMeshControlPlane schema rejects and a failover rule has a wrong enum value.
    /// </summary>
    internal static string Topology(int meshes, bool errors)
    {
        var sb = new StringBuilder(Head);
        for (var i = 1; i <= meshes; i++)
        {
            var at = string.Create(CultureInfo.InvariantCulture, $"name: m{i}, namespace: m{i}-system, cluster: c{i % 4}, ingressAddresses: [10.0.{i / 250}.{(i % 250) + 1}]");
            if (errors && i % 5 == 0)
                sb.Append(CultureInfo.InvariantCulture, $"  - {{{at}, overrides: {{tracng: {{type: Jaeger}}, gateways: {{ingress: {{enabld: true}}}}}}}}\n");
            else if (errors && i % 7 == 0)
                sb.Append(CultureInfo.InvariantCulture, $"  - {{{at}, overrides: {{securty: {{}}, proxy: {{concurrency: many}}}}}}\n");
            else
                sb.Append(CultureInfo.InvariantCulture, $"  - {{{at}}}\n");
        }
        sb.Append("peerings: all\n");
        if (errors) sb.Append("failover:\n  - {mesh: m3, name: r, namespace: b, host: r.b.svc.cluster.local, from: x, to: y, loadBalancer: ROUND_ROBBIN}\n");
        return sb.ToString();
    }

    internal static string Write(string text, string name)
    {
        var file = Path.Combine(Paths.TempDir(), name);
        File.WriteAllText(file, text);
        return file;
    }

    [Fact]
    public void Meshes_validated_in_parallel_report_the_problems_of_one_after_another_in_the_same_order_at_the_same_lines()
    {
        var file = Write(Topology(24, errors: true), "bad.yaml");
        var set = TopologyLoader.LoadFile(file, TestSupport.Yaml, judgeRendered: false);
        var sequential = TestSupport.Problems(() => Ossm2Renderer.Validate(set, 1)).Problems.Select(p => p.ToString()).ToList();
        // The upstream schemas' verdicts, in control-plane order (the failover rule belongs to m3), each at its line.
        Assert.Equal(15, sequential.Count);
        Assert.StartsWith($"{file}:30:5: DestinationRule b/r spec.trafficPolicy.loadBalancer.simple = 'ROUND_ROBBIN'", sequential[0], StringComparison.Ordinal);
        Assert.StartsWith($"{file}:8:", sequential[1], StringComparison.Ordinal);
        Assert.Contains("ServiceMeshControlPlane m5-system/m5 spec.gateways.ingress.enabld", sequential[1], StringComparison.Ordinal);
        Assert.Contains("ServiceMeshControlPlane m7-system/m7 spec.proxy.concurrency = 'many': is a string; the schema wants an integer", sequential[4], StringComparison.Ordinal);
        Assert.Contains("m21-system/m21 spec.proxy.concurrency", sequential[^1], StringComparison.Ordinal);
        foreach (var threads in new[] { 2, 3, 8 })
            for (var run = 0; run < 3; run++)
                Assert.Equal(sequential, TestSupport.Problems(() => Ossm2Renderer.Validate(set, threads)).Problems.Select(p => p.ToString()).ToList());

        // meshfed validate and check print exactly those, one line each, and exit 2.
        foreach (var command in new[] { "validate", "check" })
        {
            var (code, stdout, stderr) = BadInputTests.Cli(command, file);
            Assert.Equal(MeshfedApp.ExitBadInput, code);
            Assert.Equal("", stdout);
            Assert.Equal(string.Concat(sequential.Select(p => $"meshfed: error: {p}\n")), stderr.ReplaceLineEndings("\n"));
        }
    }

    [Fact]
    public void Work_on_several_threads_runs_every_item_and_throws_what_a_loop_would_have_stopped_at()
    {
        var ran = new int[50];
        var ex = Assert.Throws<InvalidOperationException>(() => ParallelWork.For(50, 4, i =>
        {
            Interlocked.Increment(ref ran[i]);
            if (i is 17 or 31 or 44) throw new InvalidOperationException($"item {i}");
        }));
        Assert.Equal("item 17", ex.Message);
        Assert.All(ran, n => Assert.Equal(1, n));
        var order = new List<int>();
        ParallelWork.For(5, 1, order.Add); // one thread: the calling thread, in order
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, order);
    }

    [Fact]
    public void The_check_table_is_the_plain_table_byte_for_byte_across_its_written_pieces()
    {
        // 40 meshes: 1,560 peerings, 6,000 rows, about ten of the 64K-character pieces the table is written in.
        var file = Write(Topology(40, errors: false), "t40.yaml");
        var results = FederationChecks.Run(TopologyLoader.LoadFile(file, TestSupport.Yaml));
        var rows = results.Select(r => new[]
        {
            r.Status switch { CheckStatus.Pass => "PASS", CheckStatus.Warn => "WARN", CheckStatus.Fail => "FAIL", _ => "SKIP" },
            r.CheckId, r.Mesh, r.Peer ?? "-", r.Message,
        }).Prepend(new[] { "STATUS", "CHECK", "MESH", "PEER", "MESSAGE" }).ToList();
        var widths = Enumerable.Range(0, 4).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var expected = new StringBuilder();
        foreach (var r in rows)
            expected.Append(string.Join("  ", r.Select((cell, c) => c < 4 ? cell.PadRight(widths[c]) : cell)).TrimEnd(' ')).Append('\n');
        expected.Append(CultureInfo.InvariantCulture,
            $"{results.Count(r => r.Status == CheckStatus.Pass)} passed, {results.Count(r => r.Status == CheckStatus.Fail)} failed, {results.Count(r => r.Status == CheckStatus.Warn)} warnings, {results.Count(r => r.Status == CheckStatus.Skip)} skipped\n");
        Assert.True(expected.Length > 8 * 65536, $"the table is {expected.Length} characters");

        var (code, stdout, stderr) = BadInputTests.Cli("check", file);
        Assert.Equal(MeshfedApp.ExitOk, code);
        Assert.Equal("", stderr);
        Assert.Equal(expected.ToString(), stdout);
    }

    [Fact]
    public void Value_kinds_are_told_as_System_Text_Json_tells_them()
    {
        var parsed = JsonNode.Parse("""{"s":"x","i":3,"d":2.5,"t":true,"f":false,"big":12345678901234567890}""")!.AsObject();
        var values = parsed.Select(kv => kv.Value!.AsValue()).Concat(new[]
        {
            JsonValue.Create("x"), JsonValue.Create(3), JsonValue.Create(3L), JsonValue.Create(true), JsonValue.Create(false),
            JsonValue.Create(2.5), JsonValue.Create(2.5m), JsonValue.Create((short)4), JsonValue.Create('c'),
            JsonValue.Create(Guid.Empty), JsonValue.Create(JsonDocument.Parse("\"y\"").RootElement), JsonValue.Create(JsonDocument.Parse("7").RootElement),
        }).ToList();
        foreach (var v in values) Assert.Equal(v!.GetValueKind(), SchemaValidator.Kind(v));
    }
}
