using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Tests;

/// <summary>The PowerShell Gallery nupkg and the meshfed dotnet tool, made by tools/package.sh without pwsh.</summary>
public class PackagingTests
{
    internal static readonly object Gate = new();

    private static string Version =>
        Regex.Match(File.ReadAllText(Path.Combine(Paths.RepoRoot, "Directory.Build.props")), "<VersionPrefix>([^<]+)</VersionPrefix>").Groups[1].Value;

    private static string Package(string id)
    {
        var path = Path.Combine(Paths.RepoRoot, "out", "packages", $"{id}.{Version}.nupkg");
        lock (Gate)
        {
            if (!File.Exists(path))
            {
                var (code, output) = ExternalTools.Run("bash", Path.Combine(Paths.RepoRoot, "tools", "package.sh"), TimeSpan.FromMinutes(5));
                Assert.True(code == 0, "tools/package.sh failed: " + output);
            }
        }
        Assert.True(File.Exists(path), path);
        return path;
    }

    private static XElement Nuspec(ZipArchive zip, string id)
    {
        using var s = zip.GetEntry($"{id}.nuspec")!.Open();
        return XDocument.Load(s).Root!;
    }

    [Fact]
    public void The_gallery_package_holds_the_module_with_its_Dependencies_layout()
    {
        using var zip = ZipFile.OpenRead(Package("MeshFederation"));
        var names = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        foreach (var f in new[] { "MeshFederation.psd1", "MeshFederation.dll", "MeshFederation.Engine.dll", "MeshFederation.format.ps1xml",
                     "en-US/about_MeshFederation.help.txt", "en-US/MeshFederation.dll-Help.xml", "Dependencies/MeshFederation.Yaml.dll", "Dependencies/YamlDotNet.dll" })
            Assert.Contains(f, names);
        Assert.DoesNotContain(names, n => n.EndsWith("System.Management.Automation.dll", StringComparison.Ordinal));
        Assert.DoesNotContain("YamlDotNet.dll", names);
        Assert.DoesNotContain(names, n => n.StartsWith("lib/", StringComparison.Ordinal));

        using (var psd1 = new StreamReader(zip.GetEntry("MeshFederation.psd1")!.Open()))
            Assert.Equal(File.ReadAllText(Path.Combine(Paths.RepoRoot, "MeshFederation.psd1")), psd1.ReadToEnd());

        var md = Nuspec(zip, "MeshFederation").El("metadata")!;
        Assert.Equal("MeshFederation", md.El("id")!.Value);
        Assert.Equal(Version, md.El("version")!.Value);
        Assert.False(string.IsNullOrWhiteSpace(md.El("description")!.Value));
        Assert.Contains("github.com/meshfederation", md.El("projectUrl").Value, StringComparison.Ordinal);
        Assert.Equal("MIT", md.El("license").Value);
        var tags = md.El("tags")!.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        foreach (var t in new[] { "PSModule", "PSEdition_Core", "PSIncludes_Cmdlet" }) Assert.Contains(t, tags);
        var cmdlets = ModuleContractTests.ManifestList(File.ReadAllText(Path.Combine(Paths.RepoRoot, "MeshFederation.psd1")), "CmdletsToExport");
        Assert.Equal(cmdlets.Select(c => "PSCmdlet_" + c).Order(StringComparer.Ordinal), tags.Where(t => t.StartsWith("PSCmdlet_", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Equal(cmdlets.Select(c => "PSCommand_" + c).Order(StringComparer.Ordinal), tags.Where(t => t.StartsWith("PSCommand_", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_assembled_module_loads_its_YAML_bridge_from_Dependencies()
    {
        Package("MeshFederation");
        var deps = Path.Combine(Paths.RepoRoot, "out", "MeshFederation", Version, "Dependencies");
        var bridge = YamlBridgeLoader.Load(deps);
        Assert.Equal(Path.GetFullPath(Path.Combine(deps, "MeshFederation.Yaml.dll")), bridge.GetType().Assembly.Location);
        Assert.Equal("x", bridge.Parse("a: x\n", "t").Single()["a"]!.Value);
    }

    [Fact]
    public void meshfed_packs_as_a_dotnet_tool()
    {
        using var zip = ZipFile.OpenRead(Package("MeshFederation.Cli"));
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("tools/net8.0/any/meshfed.dll", names);
        Assert.Contains("tools/net8.0/any/DotnetToolSettings.xml", names);
        using (var s = zip.GetEntry("tools/net8.0/any/DotnetToolSettings.xml")!.Open())
            Assert.Equal("meshfed", XDocument.Load(s).Descendants("Command").Single().Attribute("Name")!.Value);
        var md = Nuspec(zip, "MeshFederation.Cli").El("metadata")!;
        Assert.Equal("DotnetTool", md.El("packageTypes")!.El("packageType")!.Attribute("name")!.Value);
        Assert.Equal(Version, md.El("version")!.Value);
    }
}

internal static class NuspecXml
{
    /// <summary>A child element by local name (nuspec namespaces vary between NuGet versions).</summary>
    public static XElement El(this XElement e, string localName) => e.Elements().First(x => x.Name.LocalName == localName);
}
