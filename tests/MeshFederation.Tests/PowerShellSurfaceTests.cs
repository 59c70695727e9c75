using System.Reflection;
using System.Runtime.InteropServices;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests;

/// <summary>Completers, error ids and other parts of the PowerShell surface, proven without pwsh.</summary>
public class PowerShellSurfaceTests
{
    private static List<(string Cmdlet, string Parameter, string Completer)> Completers()
    {
        var paths = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll").Concat(Directory.GetFiles(Paths.ModuleDir, "*.dll")).Append(Paths.SmaReference)
            .GroupBy(Path.GetFileName).Select(g => g.Last());
        using var mlc = new MetadataLoadContext(new PathAssemblyResolver(paths));
        var module = mlc.LoadFromAssemblyPath(Path.Combine(Paths.ModuleDir, "MeshFederation.dll"));
        var result = new List<(string, string, string)>();
        foreach (var t in module.GetTypes().Where(t => t.Namespace == "MeshFederation.Commands"))
            foreach (var p in t.GetProperties())
                foreach (var a in p.GetCustomAttributesData().Where(a => a.AttributeType.Name == "ArgumentCompleterAttribute"))
                    result.Add((t.Name, p.Name, ((Type)a.ConstructorArguments[0].Value!).Name));
        return result;
    }

    [Fact]
    public void Context_completes_from_kubeconfig_and_mesh_and_cluster_names_from_the_session()
    {
        var c = Completers();
        Assert.Contains(("GetMeshControlPlaneCommand", "Context", "KubeContextCompleter"), c);
        Assert.Contains(("NewMeshControlPlaneCommand", "Context", "KubeContextCompleter"), c);
        Assert.Contains(("ExportMeshServiceCommand", "Peer", "MeshNameCompleter"), c);
        Assert.Contains(("ImportMeshServiceCommand", "Peer", "MeshNameCompleter"), c);
        Assert.Contains(("ConvertToMeshManifestCommand", "Cluster", "ClusterNameCompleter"), c);
    }

    [Fact]
    public void Session_names_come_from_every_kind_of_object_and_nested_arrays()
    {
        var objects = PipelineTests.Seed001Pipeline();
        var (meshes, clusters) = SessionNames.From(new object?[] { objects.ToArray(), "not a mesh", null, 42 });
        Assert.Equal(new[] { "blue-mesh", "green-mesh" }, meshes);
        Assert.Equal(new[] { "blue", "green" }, clusters);
        var (m2, _) = SessionNames.From(new object?[] { TestSupport.LoadExample("seed-002-bookinfo-split.yaml") });
        Assert.Equal(new[] { "managedcluster1-mesh", "managedcluster2-mesh" }, m2);
    }

    [Fact]
    public void Every_engine_error_kind_has_a_distinct_stable_error_id()
    {
        // ErrorIds.For touches no PowerShell type, so it runs here; ErrorRecords themselves are asserted by Pester.
        var module = Assembly.LoadFrom(Path.Combine(Paths.ModuleDir, "MeshFederation.dll"));
        var errorIds = module.GetType("MeshFederation.Infrastructure.ErrorIds")!;
        var forKind = errorIds.GetMethod("For")!;
        var ids = Enum.GetValues<MeshErrorKind>().ToDictionary(k => k, k => (string)forKind.Invoke(null, new object[] { k })!);
        Assert.Equal(ids.Count, ids.Values.Distinct().Count());
        Assert.Equal("MeshFederation.InvalidArgument", ids[MeshErrorKind.InvalidArgument]);
        Assert.Equal("MeshFederation.Conflict", ids[MeshErrorKind.Conflict]);
        Assert.Equal("MeshFederation.InvalidTopology", ids[MeshErrorKind.InvalidData]);
        Assert.Equal("MeshFederation.NotFound", ids[MeshErrorKind.NotFound]);
        Assert.Equal("MeshFederation.FileError", ids[MeshErrorKind.Io]);
        // Every id is documented in the about topic.
        var constants = errorIds.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();
        var about = File.ReadAllText(Path.Combine(Paths.RepoRoot, "docs", "about_MeshFederation.md"));
        Assert.All(constants, id => Assert.Contains(id, about, StringComparison.Ordinal));
    }

    [Fact]
    public void Cmdlets_report_errors_only_through_ErrorIds()
    {
        // No ad-hoc error ids: every ErrorRecord in the module names an ErrorIds constant.
        var sources = Directory.GetFiles(Path.Combine(Paths.RepoRoot, "src", "MeshFederation"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        var records = 0;
        foreach (var f in sources)
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(f), @"new ErrorRecord\((?<args>[^;]*?),\s*(?<id>[^,]+),\s*ErrorCategory\."))
            {
                records++;
                Assert.StartsWith("ErrorIds.", m.Groups["id"].Value.Trim(), StringComparison.Ordinal);
            }
        Assert.True(records >= 5, $"only {records} ErrorRecords found");
    }
}
