using System.Runtime.Loader;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Tests;

public class YamlBridgeTests
{
    [Theory]
    [InlineData("true")]
    [InlineData("yes")]
    [InlineData("on")]
    [InlineData("8080")]
    [InlineData("0o17")]
    [InlineData("1.5e3")]
    [InlineData("null")]
    [InlineData("~")]
    [InlineData("")]
    [InlineData("*")]
    [InlineData("- item")]
    [InlineData("a: b")]
    [InlineData("2026-11-21")]
    [InlineData("12:30")]
    [InlineData("multi\nline\n")]
    public void Strings_that_YAML_would_read_as_something_else_stay_strings(string value)
    {
        var yaml = TestSupport.Yaml.Emit(new[] { new JsonObject { ["v"] = value } });
        var back = TestSupport.Yaml.Parse(yaml, "x").Single().ToJson()!["v"]!;
        Assert.Equal(System.Text.Json.JsonValueKind.String, back.GetValueKind());
        Assert.Equal(value, back.GetValue<string>());
    }

    [Fact]
    public void Numbers_and_booleans_stay_typed_and_documents_are_separated()
    {
        var yaml = TestSupport.Yaml.Emit(new[] { new JsonObject { ["port"] = 15443, ["enabled"] = true }, new JsonObject { ["b"] = new JsonArray() } });
        Assert.StartsWith("---\n", yaml, StringComparison.Ordinal);
        var docs = TestSupport.Yaml.Parse(yaml, "x");
        Assert.Equal(2, docs.Count);
        Assert.Equal(15443, docs[0].ToJson()!["port"]!.GetValue<int>());
        Assert.True(docs[0].ToJson()!["enabled"]!.GetValue<bool>());
    }

    [Fact]
    public void Parse_keeps_lines_and_columns_and_resolves_anchors_and_merge_keys()
    {
        var docs = TestSupport.Yaml.Parse("base: &b\n  x: 1\nderived:\n  <<: *b\n  y: 2\n", "f.yaml");
        var root = docs.Single();
        Assert.Equal(new MeshFederation.Engine.Validation.SourceLocation("f.yaml", 4, 3), root["derived"]!.Location);
        Assert.Equal("1", root["derived"]!["x"]!.Value);
        Assert.Equal("f.yaml", root.Location.File);
    }

    [Fact]
    public void The_module_loads_the_bridge_and_YamlDotNet_from_Dependencies_into_their_own_context()
    {
        var deps = Path.Combine(Paths.ModuleDir, "Dependencies");
        Assert.True(File.Exists(Path.Combine(deps, "MeshFederation.Yaml.dll")), "the module build did not place the bridge in Dependencies/");
        Assert.True(File.Exists(Path.Combine(deps, "YamlDotNet.dll")));
        Assert.False(File.Exists(Path.Combine(Paths.ModuleDir, "YamlDotNet.dll")), "YamlDotNet must not sit beside the module (default context)");
        Assert.False(File.Exists(Path.Combine(Paths.ModuleDir, "System.Management.Automation.dll")), "PowerShell's own assembly must not ship with the module");

        var bridge = YamlBridgeLoader.Load(deps);
        var bridgeContext = AssemblyLoadContext.GetLoadContext(bridge.GetType().Assembly)!;
        Assert.NotSame(AssemblyLoadContext.Default, bridgeContext);
        Assert.Equal(YamlBridgeLoader.ContextName, bridgeContext.Name);
        Assert.Equal(Path.GetFullPath(Path.Combine(deps, "MeshFederation.Yaml.dll")), bridge.GetType().Assembly.Location);

        // The engine is shared, so the interface is one type on both sides.
        Assert.Same(typeof(IYamlBridge).Assembly, AssemblyLoadContext.Default.Assemblies.Single(a => a.GetName().Name == "MeshFederation.Engine"));
        Assert.DoesNotContain(bridgeContext.Assemblies, a => a.GetName().Name == "MeshFederation.Engine");

        // And it works: parse and emit through the isolated copy.
        Assert.Equal("v", bridge.Parse("k: v\n", "x").Single()["k"]!.Value);
        Assert.Contains("k: v", bridge.Emit(new[] { new JsonObject { ["k"] = "v" } }), StringComparison.Ordinal);
        Assert.Same(bridge, YamlBridgeLoader.Load(deps));

        // YamlDotNet is loaded into the same isolated context, from Dependencies/, not the default context's copy.
        var isolatedYamlDotNet = bridgeContext.Assemblies.Single(a => a.GetName().Name == "YamlDotNet");
        Assert.Equal(Path.GetFullPath(Path.Combine(deps, "YamlDotNet.dll")), isolatedYamlDotNet.Location);
        Assert.NotSame(typeof(YamlDotNet.Core.Parser).Assembly, isolatedYamlDotNet);

    }

    [Fact]
    public void A_missing_Dependencies_folder_gives_a_clear_error()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => YamlBridgeLoader.Load(Paths.TempDir()));
        Assert.Contains("Reinstall the module", ex.Message, StringComparison.Ordinal);
    }
}
