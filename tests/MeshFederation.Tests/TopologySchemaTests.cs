using System.Text.Json.Nodes;
using NJsonSchema;

namespace MeshFederation.Tests;

/// <summary>docs/topology.schema.json agrees with the loader: every example validates, and what the loader rejects the schema rejects.</summary>
public class TopologySchemaTests
{
    private static readonly JsonSchema Schema = JsonSchema.FromFileAsync(Path.Combine(Paths.RepoRoot, "docs", "topology.schema.json")).GetAwaiter().GetResult();

    private static JsonNode ToJson(string yaml) => TestSupport.Yaml.Parse(yaml, "t.yaml").Single().ToJson()!;

    [Fact]
    public void Every_example_topology_validates_against_the_published_schema()
    {
        var files = Paths.ExampleTopologies.ToList();
        Assert.True(files.Count >= 4);
        foreach (var f in files)
        {
            var errors = Schema.Validate(ToJson(File.ReadAllText(f)).ToJsonString());
            Assert.True(errors.Count == 0, $"{f}: {string.Join("; ", errors)}");
        }
    }

    [Theory]
    [InlineData("meshes:\n  - {name: a, namespce: b}\n")]
    [InlineData("meshes:\n  - {name: Bad_Name}\n")]
    [InlineData("meshes:\n  - {name: a, style: ossm9}\n")]
    [InlineData("meshes:\n  - {name: a}\npeerings:\n  - between: [a, b]\n    discoveryPort: 70000\n")]
    [InlineData("meshes: []\n")]
    public void The_schema_rejects_what_the_loader_rejects(string body)
    {
        var yaml = "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\n" + body;
        Assert.NotEmpty(Schema.Validate(ToJson(yaml).ToJsonString()));
        Assert.Throws<MeshFederation.Engine.Validation.MeshFederationException>(() => TestSupport.LoadText(yaml));
    }
}
