using System.Text.RegularExpressions;

namespace MeshFederation.Tests;

/// <summary>docs/ holds a PlatyPS page per cmdlet that stays in sync with the compiled cmdlets.</summary>
public partial class DocsTests
{
    private static readonly List<CmdletMetadata.Cmdlet> Cmdlets = CmdletMetadata.Load();

    private static string Page(string name) => File.ReadAllText(Path.Combine(Paths.RepoRoot, "docs", name + ".md"));

    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var c in Cmdlets) d.Add(c.Name);
        return d;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Each_cmdlet_has_a_PlatyPS_page_in_sync_with_its_parameters(string name)
    {
        var c = Cmdlets.Single(x => x.Name == name);
        var page = Page(name);
        Assert.Matches(@"^---\n(.*\n)*?external help file: MeshFederation\.dll-Help\.xml\n(.*\n)*?Module Name: MeshFederation\n(.*\n)*?schema: 2\.0\.0\n---\n", page);
        Assert.Contains($"\n# {name}\n", page, StringComparison.Ordinal);
        foreach (var section in new[] { "## SYNOPSIS", "## SYNTAX", "## DESCRIPTION", "## EXAMPLES", "## PARAMETERS", "## INPUTS", "## OUTPUTS", "## NOTES", "## RELATED LINKS" })
            Assert.Contains($"\n{section}\n", page, StringComparison.Ordinal);

        // Syntax: one block per parameter set, exactly what PowerShell would print.
        foreach (var set in c.Sets)
            Assert.Contains(CmdletMetadata.Syntax(c, set), page, StringComparison.Ordinal);

        // Every parameter documented, with the facts PlatyPS records; no parameter documented that does not exist.
        var documented = ParamHeading().Matches(page).Select(m => m.Groups[1].Value).Where(n => n is not ("WhatIf" or "Confirm")).ToList();
        Assert.Equal(c.Parameters.Select(p => p.Name).Distinct().Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
        foreach (var group in c.Parameters.GroupBy(p => p.Name))
        {
            var block = Regex.Match(page, $@"### -{group.Key}\n(?<text>(.|\n)*?)```yaml\n(?<yaml>(.|\n)*?)```").Groups;
            Assert.True(block["text"].Value.Trim().Length > 10, $"{name} -{group.Key} has no description");
            var yaml = block["yaml"].Value;
            var p = group.First();
            Assert.Contains($"Type: {p.TypeName}\n", yaml, StringComparison.Ordinal);
            var sets = group.Any(x => x.Set == "__AllParameterSets") ? "(All)" : string.Join(", ", group.Select(x => x.Set));
            Assert.Contains($"Parameter Sets: {sets}\n", yaml, StringComparison.Ordinal);
            Assert.Contains($"Required: {(group.All(x => x.Mandatory) ? "True" : "False")}\n", yaml, StringComparison.Ordinal);
            Assert.Contains($"Position: {(p.Position is { } pos ? pos.ToString(System.Globalization.CultureInfo.InvariantCulture) : "Named")}\n", yaml, StringComparison.Ordinal);
            var pipe = p.FromPipeline && p.ByPropertyName ? "True (ByPropertyName, ByValue)" : p.FromPipeline ? "True (ByValue)" : p.ByPropertyName ? "True (ByPropertyName)" : "False";
            Assert.Contains($"Accept pipeline input: {pipe}\n", yaml, StringComparison.Ordinal);
            Assert.Contains($"Aliases: {(p.Aliases.Count == 0 ? "" : string.Join(", ", p.Aliases))}\n".Replace(": \n", ":\n", StringComparison.Ordinal), yaml, StringComparison.Ordinal);
        }
        if (c.SupportsShouldProcess)
        {
            Assert.Contains("### -WhatIf", page, StringComparison.Ordinal);
            Assert.Contains("### -Confirm", page, StringComparison.Ordinal);
        }

        // At least two examples, and at least one that chains into or out of another of our cmdlets.
        var examples = Regex.Count(page, @"### Example \d+");
        Assert.True(examples >= 2, $"{name} has {examples} examples");
        var blocks = Regex.Matches(page, @"### Example \d+[^\n]*\n```powershell\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
        Assert.True(blocks.Count(b => Regex.IsMatch(b, @"\|\s*(\w+-\w+)")) >= 2, $"{name}: fewer than two examples chain into another command");
        var code = string.Join("\n", blocks);
        Assert.Contains(name, code, StringComparison.Ordinal);

        // Outputs name the declared output types.
        var outputs = page[page.IndexOf("## OUTPUTS", StringComparison.Ordinal)..page.IndexOf("## NOTES", StringComparison.Ordinal)];
        foreach (var o in c.OutputTypes) Assert.Contains(o, outputs, StringComparison.Ordinal);
    }

    [Fact]
    public void There_is_no_page_for_a_cmdlet_that_does_not_exist_and_the_about_topic_exists()
    {
        var pages = Directory.GetFiles(Path.Combine(Paths.RepoRoot, "docs"), "*-*.md").Select(Path.GetFileNameWithoutExtension)
            .Where(n => Regex.IsMatch(n!, "^[A-Z][A-Za-z]+-[A-Z]")).ToList();
        Assert.Equal(Cmdlets.Select(c => c.Name).Order(StringComparer.Ordinal), pages.Order(StringComparer.Ordinal));
        Assert.True(File.Exists(Path.Combine(Paths.RepoRoot, "docs", "about_MeshFederation.md")));
        var about = File.ReadAllText(Path.Combine(Paths.RepoRoot, "module", "en-US", "about_MeshFederation.help.txt"));
        Assert.Contains("about_MeshFederation", about, StringComparison.Ordinal);
        foreach (var c in Cmdlets) Assert.Contains(c.Name, about, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^### -(\w+)$", RegexOptions.Multiline)]
    private static partial Regex ParamHeading();

    /// <summary>Writes the metadata the page generator needs (run with MESHFED_DUMP_METADATA=path).</summary>
    [Fact]
    public void Metadata_dump_for_the_docs_generator()
    {
        var target = Environment.GetEnvironmentVariable("MESHFED_DUMP_METADATA");
        var json = System.Text.Json.JsonSerializer.Serialize(Cmdlets.Select(c => new
        {
            c.Name, c.DefaultSet, c.SupportsShouldProcess, c.OutputTypes, c.Sets,
            Syntax = c.Sets.ToDictionary(s => s, s => CmdletMetadata.Syntax(c, s)),
            c.Parameters,
        }));
        Assert.Contains("New-MeshPeer", json, StringComparison.Ordinal);
        if (!string.IsNullOrEmpty(target)) File.WriteAllText(target, json);
    }
}
