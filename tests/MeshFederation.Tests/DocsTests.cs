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
        Assert.Contains($"online version: https://github.com/meshfederation/MeshFederation/blob/main/docs/{name}.md\n", page, StringComparison.Ordinal);
        var problems = MetadataProblems(c, page);
        Assert.True(problems.Count == 0, $"docs/{name}.md does not match the compiled {name} (the help shipped in the module is generated from both):\n\n" + string.Join("\n\n", problems));
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

    /// <summary>
    /// Every difference between a page and the compiled cmdlet (syntax per parameter set, and per parameter its type,
    /// sets, position, required, pipeline input, aliases and wildcards), each with what to write instead.
    /// </summary>
    internal static List<string> MetadataProblems(CmdletMetadata.Cmdlet c, string page)
    {
        var problems = new List<string>();
        foreach (var set in c.Sets)
        {
            var syntax = CmdletMetadata.Syntax(c, set);
            if (!page.Contains(syntax, StringComparison.Ordinal))
                problems.Add($"## SYNTAX: parameter set {set} is not shown as compiled. Write this line under '### {set}{(set == c.DefaultSet ? " (Default)" : "")}':\n{syntax}");
        }
        var documented = ParamHeading().Matches(page).Select(m => m.Groups[1].Value).Where(n => n is not ("WhatIf" or "Confirm")).ToList();
        foreach (var missing in c.Parameters.Select(p => p.Name).Distinct().Except(documented))
            problems.Add($"-{missing} exists but is not documented: add a '### -{missing}' section with a description and this yaml block:\n" + string.Join("\n", CmdletMetadata.ParameterYaml(c, missing).Select(Fence)));
        foreach (var extra in documented.Except(c.Parameters.Select(p => p.Name)))
            problems.Add($"-{extra} is documented but the cmdlet has no such parameter: remove '### -{extra}' (or rename it)");
        foreach (var pname in c.Parameters.Select(p => p.Name).Distinct().Intersect(documented))
        {
            var section = Regex.Match(page, $@"### -{pname}\n(?<text>(.|\n)*?)(?=\n### |\n## )").Groups["text"].Value;
            var description = Regex.Match(section, @"^(?<d>(.|\n)*?)```").Groups["d"].Value;
            if (description.Trim().Length <= 10) problems.Add($"-{pname} has no description: write one or more sentences under '### -{pname}'");
            var actual = Regex.Matches(section, @"```yaml\n(?<yaml>(.|\n)*?)```").Select(m => Regex.Replace(m.Groups["yaml"].Value, @"^Default value:.*\n", "", RegexOptions.Multiline)).ToList();
            var expected = CmdletMetadata.ParameterYaml(c, pname);
            if (!actual.Order(StringComparer.Ordinal).SequenceEqual(expected.Order(StringComparer.Ordinal)))
                problems.Add($"-{pname}: the yaml block(s) say\n{string.Join("\n", actual.Select(Fence))}\nbut the compiled parameter is (keep your 'Default value:' line)\n{string.Join("\n", expected.Select(Fence))}");
        }
        return problems;
    }

    private static string Fence(string yaml) => "```yaml\n" + yaml + "```";

    [Fact]
    public void A_page_that_differs_from_the_compiled_cmdlet_is_reported_with_the_fix()
    {
        var c = Cmdlets.Single(x => x.Name == "Test-MeshFederation");
        var page = Page(c.Name);
        Assert.Empty(MetadataProblems(c, page));
        // -Path is mandatory in its own set and optional with -Snapshot: one block per set, each with its truth.
        var path = CmdletMetadata.ParameterYaml(c, "Path");
        Assert.Equal(2, path.Count);
        Assert.Contains(path, y => y.Contains("Parameter Sets: Path\n", StringComparison.Ordinal) && y.Contains("Required: True\nPosition: 0\n", StringComparison.Ordinal));
        Assert.Contains(path, y => y.Contains("Parameter Sets: Snapshot", StringComparison.Ordinal) && y.Contains("Required: False\nPosition: Named\n", StringComparison.Ordinal));
        var wrong = Regex.Replace(page, @"(### -Path\n(.|\n)*?Required: )True", "${1}False");
        var problems = MetadataProblems(c, wrong);
        Assert.Contains(problems, p => p.StartsWith("-Path: the yaml block(s) say", StringComparison.Ordinal) && p.Contains("Required: True", StringComparison.Ordinal));
        var undocumented = Regex.Replace(page, @"### -Quiet\n(.|\n)*?(?=\n### )", "");
        Assert.Contains(MetadataProblems(c, undocumented), p => p.StartsWith("-Quiet exists but is not documented", StringComparison.Ordinal));
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
