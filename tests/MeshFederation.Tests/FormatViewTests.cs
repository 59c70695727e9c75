using System.Xml.Linq;
using MeshFederation.Engine.Model;

namespace MeshFederation.Tests;

/// <summary>module/MeshFederation.format.ps1xml: a table view per output type, over real properties, nothing secret.</summary>
public class FormatViewTests
{
    private static readonly XDocument Views = XDocument.Load(Path.Combine(Paths.RepoRoot, "module", "MeshFederation.format.ps1xml"));

    [Fact]
    public void Every_view_selects_a_real_engine_type_and_real_properties()
    {
        var engine = typeof(MeshControlPlane).Assembly;
        var views = Views.Descendants("View").ToList();
        Assert.NotEmpty(views);
        foreach (var v in views)
        {
            var typeName = v.Element("ViewSelectedBy")!.Element("TypeName")!.Value;
            var type = engine.GetType(typeName);
            Assert.True(type is not null, $"{typeName} is not an engine type");
            var headers = v.Descendants("TableColumnHeader").Count();
            var items = v.Descendants("TableColumnItem").ToList();
            Assert.Equal(headers, items.Count);
            foreach (var p in items.Select(i => i.Element("PropertyName")?.Value).Where(p => p is not null))
                Assert.True(type!.GetProperty(p!) is not null, $"{typeName} has no property {p}");
            foreach (var s in items.Select(i => i.Element("ScriptBlock")?.Value).Where(s => s is not null))
                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(s!, @"\$_\.(\w+)"))
                    Assert.True(type!.GetProperty(m.Groups[1].Value) is not null || m.Groups[1].Value is "Key" or "Value" or "Count",
                        $"{typeName} view uses unknown property {m.Groups[1].Value}");
        }
    }

    [Fact]
    public void Every_cmdlet_output_type_has_a_table_view_and_no_view_shows_certificates_or_keys()
    {
        var viewed = Views.Descendants("TypeName").Select(t => t.Value).ToHashSet();
        foreach (var c in CmdletMetadata.Load())
            foreach (var o in c.OutputTypes.Where(o => o.StartsWith("MeshFederation.", StringComparison.Ordinal)))
                Assert.True(viewed.Contains(o), $"{c.Name} outputs {o}, which has no view");
        var text = Views.ToString();
        foreach (var secretish in new[] { "CaBundle", "RootCertificate", "Key", "Token", "Yaml" })
            Assert.DoesNotContain($"<PropertyName>{secretish}</PropertyName>", text, StringComparison.Ordinal);
    }
}
