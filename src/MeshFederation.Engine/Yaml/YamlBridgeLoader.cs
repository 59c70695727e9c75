using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.Loader;

namespace MeshFederation.Engine.Yaml;

/// <summary>
/// Loads the YAML bridge (MeshFederation.Yaml.dll) and YamlDotNet from a <c>Dependencies</c> folder into a dedicated
/// AssemblyLoadContext, so the module coexists with other modules that ship another YamlDotNet. The engine itself is
/// shared with the default context, so <see cref="IYamlBridge"/> is one type on both sides.
/// </summary>
public static class YamlBridgeLoader
{
    public const string BridgeAssemblyName = "MeshFederation.Yaml";
    public const string BridgeTypeName = "MeshFederation.Yaml.YamlDotNetBridge";
    public const string ContextName = "MeshFederation.Dependencies";

    private static readonly object Gate = new();
    private static readonly Dictionary<string, IYamlBridge> Loaded = new(StringComparer.Ordinal);

    /// <summary>Loads (once per folder) the bridge from <paramref name="dependenciesDirectory"/>.</summary>
    [RequiresUnreferencedCode("Loads MeshFederation.Yaml.dll from a folder at run time (the PowerShell module); meshfed, trimmed or native, references the bridge directly.")]
    public static IYamlBridge Load(string dependenciesDirectory)
    {
        var dir = Path.GetFullPath(dependenciesDirectory);
        lock (Gate)
        {
            if (Loaded.TryGetValue(dir, out var bridge)) return bridge;
            var path = Path.Combine(dir, BridgeAssemblyName + ".dll");
            if (!File.Exists(path))
                throw new FileNotFoundException($"The YAML bridge was not found at '{path}'. Reinstall the module; its Dependencies folder is incomplete.", path);
            var context = new DependencyContext(dir);
            var assembly = context.LoadFromAssemblyPath(path);
            var type = assembly.GetType(BridgeTypeName, throwOnError: true)!;
            bridge = (IYamlBridge)Activator.CreateInstance(type)!;
            Loaded[dir] = bridge;
            return bridge;
        }
    }

    /// <summary>
    /// Resolves the bridge's dependencies from its own folder; assemblies shared with the host (the engine and the
    /// framework) fall back to the default context so types unify.
    /// </summary>
    private sealed class DependencyContext : AssemblyLoadContext
    {
        private readonly string _directory;

        public DependencyContext(string directory) : base(ContextName, isCollectible: false) => _directory = directory;

        [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only reached through YamlBridgeLoader.Load, which requires unreferenced code.")]
        protected override Assembly? Load(AssemblyName assemblyName)
        {
            if (assemblyName.Name is null || assemblyName.Name == typeof(IYamlBridge).Assembly.GetName().Name) return null;
            var candidate = Path.Combine(_directory, assemblyName.Name + ".dll");
            return File.Exists(candidate) ? LoadFromAssemblyPath(candidate) : null;
        }
    }
}
