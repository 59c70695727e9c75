using MeshFederation.Engine.Yaml;

namespace MeshFederation.Infrastructure;

/// <summary>Finds <c>Dependencies/</c> beside the module assembly and loads the YAML bridge from it (once).</summary>
public static class ModuleYaml
{
    private static readonly Lazy<IYamlBridge> Lazy = new(() => YamlBridgeLoader.Load(DependenciesDirectory));

    public static string DependenciesDirectory =>
        Path.Combine(Path.GetDirectoryName(typeof(ModuleYaml).Assembly.Location) ?? AppContext.BaseDirectory, "Dependencies");

    public static IYamlBridge Bridge => Lazy.Value;
}
