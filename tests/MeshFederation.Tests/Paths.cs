using System.Reflection;

namespace MeshFederation.Tests;

/// <summary>Where the repository, the shared reference material and the built module are.</summary>
internal static class Paths
{
    private static string Meta(string key) =>
        typeof(Paths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == key).Value!;

    public static string RepoRoot => Meta("RepoRoot");

    public static string ModuleDir => Meta("ModuleDir");

    public static string SmaReference => Meta("SmaReference");

    /// <summary>shared/ sits beside the checkout (CI clones main with shared/ next to it).</summary>
    public static string Shared
    {
        get
        {
            var candidates = new[]
            {
                Environment.GetEnvironmentVariable("MESHFED_SHARED"),
                Path.Combine(RepoRoot, "..", "shared"),
                Path.Combine(RepoRoot, "shared"),
            };
            foreach (var c in candidates)
                if (!string.IsNullOrEmpty(c) && Directory.Exists(Path.Combine(c, "crds"))) return Path.GetFullPath(c);
            throw new DirectoryNotFoundException($"shared/ (CRDs and seeds) not found beside {RepoRoot}; set MESHFED_SHARED");
        }
    }

    public static string Crds => Path.Combine(Shared, "crds");

    public static string Seed(string number) => Directory.GetFiles(Path.Combine(Shared, "seeds"), number + "_*.txt").Single();

    public static string Example(string name) => Path.Combine(RepoRoot, "examples", name);

    public static IEnumerable<string> ExampleTopologies => Directory.GetFiles(Path.Combine(RepoRoot, "examples"), "*.yaml").Order();

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "meshfed-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
