using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests;

/// <summary>
/// Every YAML block in docs/ and README.md parses, and is what it claims to be: a topology (loaded and validated, every
/// object it renders judged by the shipped upstream schemas), a Kubernetes object (judged by its schema) or a PlatyPS
/// parameter block. PowerShell blocks are checked by the static PowerShell test.
/// </summary>
public partial class DocsYamlTests
{
    private static readonly NJsonSchema.JsonSchema TopologySchema = NJsonSchema.JsonSchema.FromFileAsync(Path.Combine(Paths.RepoRoot, "docs", "topology.schema.json")).GetAwaiter().GetResult();

    private static readonly string[] PlatyPsKeys = { "Type", "Parameter Sets", "Aliases", "Required", "Position", "Default value", "Accept pipeline input", "Accept wildcard characters" };

    public static TheoryData<string, int> Blocks()
    {
        var data = new TheoryData<string, int>();
        foreach (var file in DocFiles())
        {
            var count = YamlBlock().Count(File.ReadAllText(file));
            for (var i = 0; i < count; i++) data.Add(Path.GetRelativePath(Paths.RepoRoot, file), i);
        }
        return data;
    }

    private static IEnumerable<string> DocFiles() =>
        Directory.GetFiles(Path.Combine(Paths.RepoRoot, "docs"), "*.md").Append(Path.Combine(Paths.RepoRoot, "README.md")).Order(StringComparer.Ordinal);

    [Theory]
    [MemberData(nameof(Blocks))]
    public void Every_YAML_block_parses_and_validates(string file, int index)
    {
        var match = YamlBlock().Matches(File.ReadAllText(Path.Combine(Paths.RepoRoot, file)))[index];
        var text = match.Groups["body"].Value;
        var line = File.ReadAllText(Path.Combine(Paths.RepoRoot, file))[..match.Index].Count(c => c == '\n') + 2;
        var where = $"{file}:{line}";
        var docs = TestSupport.Yaml.Parse(text, where);
        Assert.NotEmpty(docs);
        foreach (var doc in docs)
        {
            var json = doc.ToJson() as JsonObject;
            Assert.True(json is not null, $"{where}: not a mapping");
            if (json!["kind"]?.GetValue<string>() == TopologyLoader.Kind)
            {
                var dir = Paths.TempDir();
                // A block naming a certificateAuthority folder gets one, as `meshfed ca` would write it.
                if (json["certificateAuthority"]?["dir"]?.GetValue<string>() is { } caDir)
                {
                    var clusters = TestSupport.Yaml.Parse(text, where).Single().ToJson()!["meshes"]!.AsArray()
                        .SelectMany(m => m!["clusters"]?.AsArray().Select(c => c is JsonObject o ? o["name"]!.GetValue<string>() : c!.GetValue<string>())
                            ?? new[] { m["cluster"] is JsonObject o ? o["name"]!.GetValue<string>() : m["cluster"]?.GetValue<string>() ?? m["name"]!.GetValue<string>() })
                        .ToArray();
                    TestSupport.WriteCa(Path.Combine(dir, caDir), clusters);
                }
                var schemaErrors = TopologySchema.Validate(json.ToJsonString());
                Assert.True(schemaErrors.Count == 0, $"{where}: not valid against docs/topology.schema.json: {string.Join("; ", schemaErrors)}");
                var path = Path.Combine(dir, "block.yaml");
                File.WriteAllText(path, text);
                var set = TopologyLoader.LoadFile(path, TestSupport.Yaml);
                Assert.NotEmpty(set.ControlPlanes);
                var result = Ossm2Renderer.Render(set);
                foreach (var m in result.AllManifests) Assert.True(UpstreamSchemas.Validate(m.Content).Count == 0, $"{where}: {m}");
            }
            else if (json["apiVersion"] is not null && json["kind"] is not null)
            {
                var key = $"{json["apiVersion"]!.GetValue<string>()}/{json["kind"]!.GetValue<string>()}";
                Assert.True(UpstreamSchemas.Knows(key), $"{where}: {key} is not a kind with a shipped schema");
                var errors = UpstreamSchemas.Validate(json);
                Assert.True(errors.Count == 0, $"{where}: {string.Join("; ", errors)}");
            }
            else
            {
                var keys = json.Select(kv => kv.Key).ToList();
                Assert.True(keys.Count > 0 && keys.All(k => PlatyPsKeys.Contains(k)), $"{where}: neither a topology, a Kubernetes object nor a PlatyPS parameter block (keys {string.Join(", ", keys)})");
                Assert.All(PlatyPsKeys, k => Assert.True(json.ContainsKey(k), $"{where}: PlatyPS block without '{k}'"));
            }
        }
    }

    [Fact]
    public void The_first_topology_example_of_docs_topology_md_is_valid_YAML_and_a_valid_topology()
    {
        var text = File.ReadAllText(Path.Combine(Paths.RepoRoot, "docs", "topology.md"));
        var first = YamlBlock().Match(text).Groups["body"].Value;
        var set = TestSupport.LoadText(first, "docs/topology.md");
        Assert.Equal(2, set.ControlPlanes.Count);
        Assert.Equal("ingress-green-mesh", set.ControlPlanes[0].IngressGatewayFor("green-mesh"));
    }

    [Fact]
    public void The_docs_hold_YAML_blocks_to_check()
    {
        var blocks = Blocks();
        Assert.True(blocks.Count > 100);
        Assert.Contains(blocks, b => (string)b[0] == Path.Combine("docs", "topology.md"));
    }

    [GeneratedRegex(@"^```(?:yaml|yml)\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
