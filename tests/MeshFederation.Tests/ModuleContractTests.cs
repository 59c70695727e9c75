using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace MeshFederation.Tests;

/// <summary>
/// Contract tests over the compiled module, read with MetadataLoadContext (no PowerShell needed): approved verbs,
/// the manifest's exports, [OutputType], ShouldProcess on writers, documented chains that bind, one cmdlet per file.
/// </summary>
public partial class ModuleContractTests : IDisposable
{
    private const string Sma = "System.Management.Automation";
    private readonly MetadataLoadContext _mlc;
    private readonly Assembly _module;

    public ModuleContractTests()
    {
        var paths = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
            .Concat(Directory.GetFiles(Paths.ModuleDir, "*.dll"))
            .Append(Paths.SmaReference)
            .GroupBy(Path.GetFileName).Select(g => g.Last());
        _mlc = new MetadataLoadContext(new PathAssemblyResolver(paths));
        _module = _mlc.LoadFromAssemblyPath(Path.Combine(Paths.ModuleDir, "MeshFederation.dll"));
    }

    public void Dispose()
    {
        _mlc.Dispose();
        GC.SuppressFinalize(this);
    }

    internal sealed record CmdletInfo(Type Type, string Verb, string Noun, CustomAttributeData Attribute)
    {
        public string Name => $"{Verb}-{Noun}";

        public bool SupportsShouldProcess => Attribute.NamedArguments.Any(a => a.MemberName == "SupportsShouldProcess" && (bool)a.TypedValue.Value!);
    }

    internal sealed record ParamInfo(string Name, Type Type, bool FromPipeline, bool ByPropertyName, IReadOnlyList<string> Aliases);

    private List<CmdletInfo> Cmdlets() =>
        _module.GetTypes()
            .Select(t => (t, a: t.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == $"{Sma}.CmdletAttribute")))
            .Where(x => x.a is not null)
            .Select(x => new CmdletInfo(x.t, (string)x.a!.ConstructorArguments[0].Value!, (string)x.a.ConstructorArguments[1].Value!, x.a))
            .ToList();

    private static List<ParamInfo> Parameters(Type t) =>
        t.GetProperties().Select(p =>
        {
            var attrs = p.GetCustomAttributesData().Where(a => a.AttributeType.FullName == $"{Sma}.ParameterAttribute").ToList();
            if (attrs.Count == 0) return null;
            bool Named(string n) => attrs.Any(a => a.NamedArguments.Any(x => x.MemberName == n && (bool)x.TypedValue.Value!));
            var aliases = p.GetCustomAttributesData().Where(a => a.AttributeType.FullName == $"{Sma}.AliasAttribute")
                .SelectMany(a => ((IEnumerable<CustomAttributeTypedArgument>)a.ConstructorArguments[0].Value!).Select(v => (string)v.Value!)).ToList();
            return new ParamInfo(p.Name, p.PropertyType, Named("ValueFromPipeline"), Named("ValueFromPipelineByPropertyName"), aliases);
        }).Where(p => p is not null).Select(p => p!).ToList();

    private static List<Type> OutputTypes(Type t) =>
        t.GetCustomAttributesData().Where(a => a.AttributeType.FullName == $"{Sma}.OutputTypeAttribute")
            .SelectMany(a => ((IEnumerable<CustomAttributeTypedArgument>)a.ConstructorArguments[0].Value!).Select(v => (Type)v.Value!)).ToList();

    [Fact]
    public void Every_cmdlet_uses_an_approved_verb()
    {
        var approved = new[] { "VerbsCommon", "VerbsCommunications", "VerbsData", "VerbsDiagnostic", "VerbsLifecycle", "VerbsOther", "VerbsSecurity" }
            .SelectMany(c => _mlc.LoadFromAssemblyPath(Paths.SmaReference).GetType($"{Sma}.{c}")!.GetFields().Select(f => (string)f.GetRawConstantValue()!))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Contains("New", approved);
        Assert.DoesNotContain("Create", approved);
        var cmdlets = Cmdlets();
        Assert.NotEmpty(cmdlets);
        Assert.All(cmdlets, c => Assert.True(approved.Contains(c.Verb), $"{c.Name}: '{c.Verb}' is not an approved verb"));
    }

    [Fact]
    public void The_manifest_exports_exactly_the_compiled_cmdlets_and_nothing_else()
    {
        var psd1 = File.ReadAllText(Path.Combine(Paths.RepoRoot, "MeshFederation.psd1"));
        var exported = ManifestList(psd1, "CmdletsToExport");
        Assert.Equal(Cmdlets().Select(c => c.Name).Order(StringComparer.Ordinal), exported.Order(StringComparer.Ordinal));
        foreach (var key in new[] { "FunctionsToExport", "AliasesToExport", "VariablesToExport" })
            Assert.Empty(ManifestList(psd1, key));
        Assert.Matches(@"PowerShellVersion\s*=\s*'7\.4'", psd1);
        Assert.Matches(@"CompatiblePSEditions\s*=\s*@\('Core'\)", psd1);
        Assert.Matches(@"RootModule\s*=\s*'MeshFederation\.dll'", psd1);
        foreach (var key in new[] { "Tags", "LicenseUri", "ProjectUri" }) Assert.Matches(key + @"\s*=", psd1);
        // One version source: the manifest's version is Directory.Build.props' VersionPrefix.
        var props = File.ReadAllText(Path.Combine(Paths.RepoRoot, "Directory.Build.props"));
        var version = Regex.Match(props, "<VersionPrefix>([^<]+)</VersionPrefix>").Groups[1].Value;
        Assert.Matches($@"ModuleVersion\s*=\s*'{Regex.Escape(version)}'", psd1);
        Assert.Equal(version, _module.GetName().Version!.ToString(3));
    }

    internal static List<string> ManifestList(string psd1, string key)
    {
        var m = Regex.Match(psd1, key + @"\s*=\s*@\((?<body>[^)]*)\)", RegexOptions.Singleline);
        Assert.True(m.Success, $"{key} is not an explicit @() list");
        return Regex.Matches(m.Groups["body"].Value, @"'([^']+)'").Select(x => x.Groups[1].Value).ToList();
    }

    [Fact]
    public void Every_cmdlet_declares_its_output_type()
    {
        Assert.All(Cmdlets(), c => Assert.True(OutputTypes(c.Type).Count > 0, $"{c.Name} has no [OutputType]"));
    }

    private static readonly HashSet<string> WritingVerbs = new(StringComparer.Ordinal)
    {
        "Set", "Remove", "Add", "Clear", "Install", "Uninstall", "Invoke", "Update", "Write", "Publish", "Register",
        "Unregister", "Start", "Stop", "Restart", "Sync", "Save", "Out", "Move", "Rename", "Reset", "Deploy", "Enable", "Disable",
    };

    [Fact]
    public void Every_cmdlet_that_writes_supports_ShouldProcess()
    {
        var writers = Cmdlets().Where(c => WritingVerbs.Contains(c.Verb) || Parameters(c.Type).Any(p => p.Name == "Path" && c.Verb is "Export" or "Out")).ToList();
        Assert.Contains(writers, w => w.Name == "Export-MeshManifest");
        Assert.All(writers, w => Assert.True(w.SupportsShouldProcess, $"{w.Name} writes but does not support -WhatIf/-Confirm"));
    }

    [Fact]
    public void One_sealed_cmdlet_per_file_named_VerbNounCommand()
    {
        var dir = Path.Combine(Paths.RepoRoot, "src", "MeshFederation", "Commands");
        var files = Directory.GetFiles(dir, "*.cs");
        var cmdlets = Cmdlets();
        Assert.Equal(cmdlets.Count, files.Length);
        foreach (var f in files)
        {
            var text = File.ReadAllText(f);
            Assert.Equal(1, Regex.Count(text, @"\[Cmdlet\("));
            var cls = Regex.Match(text, @"public sealed class (\w+)\s*:").Groups[1].Value;
            Assert.Equal(Path.GetFileNameWithoutExtension(f), cls);
        }
        foreach (var c in cmdlets)
        {
            Assert.Equal(c.Verb + c.Noun + "Command", c.Type.Name);
            Assert.True(c.Type.IsSealed, $"{c.Type.Name} is not sealed");
            Assert.Equal("MeshFederation.Commands", c.Type.Namespace);
        }
    }

    [Fact]
    public void The_engine_references_neither_PowerShell_nor_YamlDotNet_and_the_module_not_YamlDotNet()
    {
        var engine = _mlc.LoadFromAssemblyPath(Path.Combine(Paths.ModuleDir, "MeshFederation.Engine.dll"));
        var engineRefs = engine.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain(Sma, engineRefs);
        Assert.DoesNotContain("YamlDotNet", engineRefs);
        var moduleRefs = _module.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.Contains(Sma, moduleRefs);
        Assert.DoesNotContain("YamlDotNet", moduleRefs);
        Assert.DoesNotContain("MeshFederation.Yaml", moduleRefs);
    }

    /// <summary>Every pipeline between two of our cmdlets written in docs, examples, README and Pester binds.</summary>
    [Fact]
    public void Each_documented_chain_binds()
    {
        var cmdlets = Cmdlets().ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);
        var chains = DocumentedChains(cmdlets.Keys).ToList();
        Assert.True(chains.Count >= 8, $"only {chains.Count} documented chains found");
        foreach (var (producer, consumer, where) in chains)
        {
            var outputs = OutputTypes(cmdlets[producer].Type);
            var ps = Parameters(cmdlets[consumer].Type);
            var binds = outputs.Any(o => ps.Any(p =>
                (p.FromPipeline && Accepts(p.Type, o)) ||
                (p.ByPropertyName && o.GetProperties().Any(prop => prop.Name == p.Name || p.Aliases.Contains(prop.Name)))));
            Assert.True(binds, $"{where}: {producer} | {consumer} does not bind (outputs {string.Join(",", outputs.Select(o => o.Name))})");
        }
    }

    private static bool Accepts(Type parameter, Type output)
    {
        var element = parameter.IsArray ? parameter.GetElementType()! : parameter;
        return element.FullName == "System.Object" || element.IsAssignableFrom(output) || element.FullName == output.FullName;
    }

    private static readonly HashSet<string> PassThrough = new(StringComparer.OrdinalIgnoreCase)
    {
        "Where-Object", "Sort-Object", "Select-Object", "Tee-Object", "where", "?", "sort",
    };

    /// <summary>
    /// (producer, consumer) pairs from powershell code: adjacent commands in a pipeline, through pass-through filters,
    /// and variables assigned from a pipeline ($peers = ... | New-MeshPeer; $peers | Export-MeshService).
    /// </summary>
    internal static IEnumerable<(string Producer, string Consumer, string Where)> DocumentedChains(IEnumerable<string> ours)
    {
        var known = ours.ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var (file, code) in PowerShellSources())
        {
            var vars = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            foreach (var statement in Statements(code))
            {
                var assign = Regex.Match(statement, @"^\s*\$(\w+)\s*=\s*(.+)$", RegexOptions.Singleline);
                var pipeline = assign.Success ? assign.Groups[2].Value : statement;
                var stages = SplitPipeline(pipeline);
                List<string>? previous = null;
                foreach (var stage in stages)
                {
                    var s = stage.Trim().TrimStart('(').Trim();
                    var cmd = Regex.Match(s, @"^([A-Za-z]+-[A-Za-z]+|\?|where|sort)\b").Groups[1].Value;
                    if (cmd.Length == 0)
                    {
                        // A leading expression: @($a, $b) or $a, $b — producers from variables.
                        previous = Regex.Matches(s, @"\$(\w+)").SelectMany(m => vars.TryGetValue(m.Groups[1].Value, out var p) ? p : new List<string>()).Distinct().ToList();
                        continue;
                    }
                    if (PassThrough.Contains(cmd)) continue;
                    if (known.Contains(cmd))
                    {
                        if (previous is not null)
                            foreach (var p in previous.Where(known.Contains)) yield return (p, cmd, file);
                        previous = new List<string> { cmd };
                    }
                    else previous = null;
                }
                if (assign.Success && previous is not null) vars[assign.Groups[1].Value] = previous;
            }
        }
    }

    private static IEnumerable<string> Statements(string code)
    {
        // Join continuation lines (ending in | or `), then split on newlines and ';'.
        var joined = Regex.Replace(code, @"(\||`)\s*\r?\n\s*", m => m.Value.StartsWith('|') ? "| " : " ");
        return joined.Split('\n').SelectMany(l => l.Split(';')).Where(l => !l.TrimStart().StartsWith('#'));
    }

    private static List<string> SplitPipeline(string s)
    {
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        char? quote = null;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (quote is not null) { if (c == quote) quote = null; continue; }
            if (c is '\'' or '"') quote = c;
            else if (c is '(' or '{' or '[') depth++;
            else if (c is ')' or '}' or ']') depth--;
            else if (c == '|' && depth == 0 && (i + 1 >= s.Length || s[i + 1] != '|')) { parts.Add(s[start..i]); start = i + 1; }
        }
        parts.Add(s[start..]);
        return parts;
    }

    internal static IEnumerable<(string File, string Code)> PowerShellSources()
    {
        var root = Paths.RepoRoot;
        var files = new[] { "docs", "examples", Path.Combine("tests", "pester") }
            .Where(d => Directory.Exists(Path.Combine(root, d)))
            .SelectMany(d => Directory.GetFiles(Path.Combine(root, d), "*.*", SearchOption.AllDirectories))
            .Append(Path.Combine(root, "README.md"))
            .Where(File.Exists);
        foreach (var f in files)
        {
            var rel = Path.GetRelativePath(root, f);
            if (f.EndsWith(".ps1", StringComparison.Ordinal)) yield return (rel, File.ReadAllText(f));
            else if (f.EndsWith(".md", StringComparison.Ordinal))
                foreach (Match m in PowerShellBlock().Matches(File.ReadAllText(f))) yield return (rel, m.Groups["code"].Value);
        }
    }

    [GeneratedRegex(@"```(?:powershell|pwsh|ps1|PowerShell)\s*\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex PowerShellBlock();
}
