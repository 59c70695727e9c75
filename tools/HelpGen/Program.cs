// MeshFederation.HelpGen: docs/<Cmdlet>.md (PlatyPS markdown) + the compiled cmdlets -> MAML help.
//
//   MeshFederation.HelpGen --assembly MeshFederation.dll --sma System.Management.Automation.dll --docs DIR --out FILE
//
// Text (synopsis, description, parameter descriptions and default values, examples with their output, inputs, outputs,
// notes, related links) comes from the markdown; parameter metadata (sets, type, position, required, pipeline input,
// aliases, wildcards) from the compiled cmdlets, so the help PowerShell shows is what binds. A cmdlet without a page,
// or a parameter without a description, is reported on stderr (exit code 1) and still gets help from its metadata.
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Xml;
using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

string? assembly = null, sma = null, docs = null, output = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--assembly": assembly = args[i + 1]; break;
        case "--sma": sma = args[i + 1]; break;
        case "--docs": docs = args[i + 1]; break;
        case "--out": output = args[i + 1]; break;
        default: Console.Error.WriteLine($"HelpGen: unknown option {args[i]}"); return 2;
    }
}
if (assembly is null || sma is null || docs is null || output is null)
{
    Console.Error.WriteLine("usage: MeshFederation.HelpGen --assembly MeshFederation.dll --sma System.Management.Automation.dll --docs DIR --out FILE");
    return 2;
}

var cmdlets = Metadata.Load(assembly, sma);
var problems = new List<string>();
var pages = new List<(CmdletMeta Cmdlet, HelpPage Page)>();
foreach (var c in cmdlets)
{
    var path = Path.Combine(docs, c.Name + ".md");
    if (!File.Exists(path))
    {
        problems.Add($"{c.Name}: no page {path}");
        pages.Add((c, new HelpPage()));
        continue;
    }
    var page = HelpPage.Read(File.ReadAllText(path));
    foreach (var p in c.Parameters.Where(p => !page.Parameters.ContainsKey(p.Name)))
        problems.Add($"{path}: parameter -{p.Name} is not documented (add a '### -{p.Name}' section)");
    pages.Add((c, page));
}
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
Maml.Write(output, pages);
foreach (var p in problems) Console.Error.WriteLine("HelpGen: " + p);
Console.WriteLine($"HelpGen: {output} ({pages.Count} cmdlets)");
return problems.Count == 0 ? 0 : 1;

/// <summary>One parameter of one cmdlet, merged over its parameter sets.</summary>
internal sealed record ParamMeta(string Name, string TypeName, string FullTypeName, bool IsSwitch, bool Wildcards, IReadOnlyList<string> Aliases, IReadOnlyList<SetMeta> Sets)
{
    public bool RequiredEverywhere => Sets.All(s => s.Mandatory);

    public string PipelineInput(IEnumerable<SetMeta>? sets = null)
    {
        var s = (sets ?? Sets).ToList();
        var byValue = s.Any(x => x.FromPipeline);
        var byName = s.Any(x => x.ByPropertyName);
        return byValue && byName ? "True (ByPropertyName, ByValue)" : byValue ? "True (ByValue)" : byName ? "True (ByPropertyName)" : "False";
    }
}

/// <summary>A parameter's attributes in one parameter set.</summary>
internal sealed record SetMeta(string Set, bool Mandatory, int? Position, bool FromPipeline, bool ByPropertyName);

internal sealed record CmdletMeta(string Name, string Verb, string Noun, string DefaultSet, bool SupportsShouldProcess, IReadOnlyList<string> OutputTypes, IReadOnlyList<ParamMeta> Parameters)
{
    public const string AllSets = "__AllParameterSets";

    public IReadOnlyList<string> Sets
    {
        get
        {
            var named = Parameters.SelectMany(p => p.Sets).Select(s => s.Set).Where(s => s != AllSets).Distinct().ToList();
            if (named.Count == 0) return new[] { AllSets };
            // The default set first, as Get-Command -Syntax lists it.
            return named.OrderBy(s => s == DefaultSet ? 0 : 1).ToList();
        }
    }

    public IEnumerable<(ParamMeta Param, SetMeta Set)> InSet(string set) =>
        Parameters.Select(p => (p, p.Sets.FirstOrDefault(s => s.Set == set) ?? p.Sets.FirstOrDefault(s => s.Set == AllSets)))
            .Where(x => x.Item2 is not null).Select(x => (x.p, x.Item2!));
}

internal static class Metadata
{
    private const string SmaNs = "System.Management.Automation";

    public static List<CmdletMeta> Load(string assemblyPath, string smaPath)
    {
        var paths = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
            .Concat(Directory.GetFiles(Path.GetDirectoryName(Path.GetFullPath(assemblyPath))!, "*.dll"))
            .Append(smaPath)
            .GroupBy(Path.GetFileName).Select(g => g.Last());
        using var mlc = new MetadataLoadContext(new PathAssemblyResolver(paths));
        var module = mlc.LoadFromAssemblyPath(Path.GetFullPath(assemblyPath));
        var result = new List<CmdletMeta>();
        foreach (var t in module.GetTypes())
        {
            var ca = t.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == $"{SmaNs}.CmdletAttribute");
            if (ca is null) continue;
            var ps = new List<ParamMeta>();
            foreach (var p in t.GetProperties())
            {
                var attrs = p.GetCustomAttributesData();
                var sets = attrs.Where(a => a.AttributeType.FullName == $"{SmaNs}.ParameterAttribute").Select(pa =>
                {
                    var pos = Named(pa, "Position");
                    return new SetMeta(Named(pa, "ParameterSetName") ?? CmdletMeta.AllSets, Named(pa, "Mandatory") == "True",
                        pos is null ? null : int.Parse(pos, CultureInfo.InvariantCulture), Named(pa, "ValueFromPipeline") == "True", Named(pa, "ValueFromPipelineByPropertyName") == "True");
                }).ToList();
                if (sets.Count == 0) continue;
                var aliases = attrs.Where(a => a.AttributeType.FullName == $"{SmaNs}.AliasAttribute")
                    .SelectMany(a => ((IEnumerable<CustomAttributeTypedArgument>)a.ConstructorArguments[0].Value!).Select(v => (string)v.Value!)).ToList();
                var wildcards = attrs.Any(a => a.AttributeType.FullName == $"{SmaNs}.SupportsWildcardsAttribute");
                ps.Add(new ParamMeta(p.Name, TypeName(p.PropertyType), FullTypeName(p.PropertyType), p.PropertyType.FullName == $"{SmaNs}.SwitchParameter", wildcards, aliases, sets));
            }
            var outputs = t.GetCustomAttributesData().Where(a => a.AttributeType.FullName == $"{SmaNs}.OutputTypeAttribute")
                .SelectMany(a => ((IEnumerable<CustomAttributeTypedArgument>)a.ConstructorArguments[0].Value!).Select(v => ((Type)v.Value!).FullName!)).ToList();
            var verb = (string)ca.ConstructorArguments[0].Value!;
            var noun = (string)ca.ConstructorArguments[1].Value!;
            result.Add(new CmdletMeta($"{verb}-{noun}", verb, noun, Named(ca, "DefaultParameterSetName") ?? CmdletMeta.AllSets, Named(ca, "SupportsShouldProcess") == "True", outputs,
                ps.OrderBy(p => p.Name, StringComparer.Ordinal).ToList()));
        }
        return result.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    private static string? Named(CustomAttributeData a, string n) =>
        a.NamedArguments.Where(x => x.MemberName == n).Select(x => Convert.ToString(x.TypedValue.Value, CultureInfo.InvariantCulture)).FirstOrDefault();

    /// <summary>The short type name help shows (String, String[], Hashtable, TimeSpan, SwitchParameter).</summary>
    public static string TypeName(Type t)
    {
        if (t.IsArray) return TypeName(t.GetElementType()!) + "[]";
        if (t.IsGenericType && t.GetGenericTypeDefinition().FullName == "System.Nullable`1") return TypeName(t.GetGenericArguments()[0]);
        return t.Name;
    }

    private static string FullTypeName(Type t)
    {
        if (t.IsArray) return FullTypeName(t.GetElementType()!) + "[]";
        if (t.IsGenericType && t.GetGenericTypeDefinition().FullName == "System.Nullable`1") return FullTypeName(t.GetGenericArguments()[0]);
        return t.FullName ?? t.Name;
    }
}

/// <summary>The text of one PlatyPS page.</summary>
internal sealed class HelpPage
{
    public string? OnlineVersion { get; private set; }

    public List<string> Synopsis { get; } = new();

    public List<string> Description { get; } = new();

    public List<(string Title, string Code, string? Output, List<string> Remarks)> Examples { get; } = new();

    public Dictionary<string, (List<string> Description, string? DefaultValue)> Parameters { get; } = new(StringComparer.OrdinalIgnoreCase);

    public List<(string Type, List<string> Description)> Inputs { get; } = new();

    public List<(string Type, List<string> Description)> Outputs { get; } = new();

    public List<string> Notes { get; } = new();

    public List<(string Text, string Uri)> Links { get; } = new();

    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseYamlFrontMatter().Build();

    public static HelpPage Read(string markdown)
    {
        var page = new HelpPage();
        var doc = Markdown.Parse(markdown.Replace("\r\n", "\n", StringComparison.Ordinal), Pipeline);
        string section = "", sub = "";
        foreach (var block in doc)
        {
            switch (block)
            {
                case Markdig.Extensions.Yaml.YamlFrontMatterBlock front:
                    foreach (var line in front.Lines.Lines.Take(front.Lines.Count).Select(l => l.ToString()))
                        if (line.StartsWith("online version:", StringComparison.Ordinal)) page.OnlineVersion = line["online version:".Length..].Trim();
                    break;
                case HeadingBlock h when h.Level == 2:
                    section = Text(h.Inline).Trim().ToUpperInvariant();
                    sub = "";
                    break;
                case HeadingBlock h when h.Level == 3:
                    sub = Text(h.Inline).Trim();
                    page.Open(section, sub);
                    break;
                case FencedCodeBlock code:
                    page.AddCode(section, sub, (code.Info ?? "").Trim(), string.Join("\n", code.Lines.Lines.Take(code.Lines.Count).Select(l => l.ToString())));
                    break;
                case ParagraphBlock p:
                    page.AddText(section, sub, p);
                    break;
                case ListBlock list:
                    foreach (var item in list.OfType<ListItemBlock>())
                        page.AddText(section, sub, "- " + string.Join(" ", item.OfType<ParagraphBlock>().Select(x => Text(x.Inline))));
                    break;
            }
        }
        return page;
    }

    private void Open(string section, string sub)
    {
        switch (section)
        {
            case "EXAMPLES": Examples.Add((sub, "", null, new List<string>())); break;
            case "PARAMETERS" when sub.StartsWith('-'): Parameters[sub[1..]] = (new List<string>(), null); break;
            case "INPUTS": Inputs.Add((sub, new List<string>())); break;
            case "OUTPUTS": Outputs.Add((sub, new List<string>())); break;
        }
    }

    private void AddCode(string section, string sub, string language, string code)
    {
        if (section == "EXAMPLES" && Examples.Count > 0)
        {
            var e = Examples[^1];
            if (language is "output" or "text") Examples[^1] = (e.Title, e.Code, code, e.Remarks);
            else if (e.Code.Length == 0) Examples[^1] = (e.Title, code, e.Output, e.Remarks);
            else e.Remarks.Add(code);
        }
        else if (section == "PARAMETERS" && sub.StartsWith('-') && language == "yaml" && Parameters.TryGetValue(sub[1..], out var p))
        {
            var dv = code.Split('\n').FirstOrDefault(l => l.StartsWith("Default value:", StringComparison.Ordinal))?["Default value:".Length..].Trim();
            Parameters[sub[1..]] = (p.Description, p.DefaultValue ?? dv);
        }
        else if (section == "DESCRIPTION") Description.Add(code);
    }

    private void AddText(string section, string sub, ParagraphBlock p)
    {
        if (section == "RELATED LINKS")
        {
            foreach (var link in p.Inline?.Descendants<LinkInline>() ?? Enumerable.Empty<LinkInline>())
            {
                var url = link.Url ?? "";
                // Links between pages name a command; Get-Help shows the name. Absolute links are URIs.
                Links.Add((Text(link), url.StartsWith("http", StringComparison.Ordinal) ? url : ""));
            }
            return;
        }
        AddText(section, sub, Text(p.Inline));
    }

    private void AddText(string section, string sub, string text)
    {
        text = text.Trim();
        if (text.Length == 0) return;
        switch (section)
        {
            case "SYNOPSIS": Synopsis.Add(text); break;
            case "DESCRIPTION": Description.Add(text); break;
            case "EXAMPLES" when Examples.Count > 0: Examples[^1].Remarks.Add(text); break;
            case "PARAMETERS" when sub.StartsWith('-') && Parameters.TryGetValue(sub[1..], out var p): p.Description.Add(text); break;
            case "INPUTS" when Inputs.Count > 0: Inputs[^1].Description.Add(text); break;
            case "OUTPUTS" when Outputs.Count > 0: Outputs[^1].Description.Add(text); break;
            case "NOTES": Notes.Add(text); break;
        }
    }

    /// <summary>Plain text of inline markdown: links keep their text, code spans their code, line breaks become spaces.</summary>
    private static string Text(Inline? inline)
    {
        var sb = new StringBuilder();
        void Walk(Inline? i)
        {
            switch (i)
            {
                case null: return;
                case LiteralInline l: sb.Append(l.Content.ToString()); break;
                case CodeInline c: sb.Append(c.Content); break;
                case LineBreakInline: sb.Append(' '); break;
                case HtmlEntityInline e: sb.Append(e.Transcoded.ToString()); break;
                case AutolinkInline a: sb.Append(a.Url); break;
                case HtmlInline h: sb.Append(h.Tag); break;
                case ContainerInline container:
                    foreach (var child in container) Walk(child);
                    break;
                default: sb.Append(i.ToString()); break;
            }
        }
        Walk(inline);
        return sb.ToString();
    }
}

internal static class Maml
{
    private const string MamlNs = "http://schemas.microsoft.com/maml/2004/10";
    private const string CommandNs = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private const string DevNs = "http://schemas.microsoft.com/maml/dev/2004/10";

    public static void Write(string path, List<(CmdletMeta Cmdlet, HelpPage Page)> pages)
    {
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false), NewLineChars = "\n" };
        var temp = path + ".tmp";
        using (var w = XmlWriter.Create(temp, settings))
        {
            w.WriteStartDocument();
            w.WriteStartElement("helpItems", "http://msh");
            w.WriteAttributeString("schema", "maml");
            foreach (var (c, page) in pages) Command(w, c, page);
            w.WriteEndElement();
            w.WriteEndDocument();
        }
        File.Move(temp, path, overwrite: true);
    }

    private static void Command(XmlWriter w, CmdletMeta c, HelpPage page)
    {
        w.WriteStartElement("command", "command", CommandNs);
        w.WriteAttributeString("xmlns", "maml", null, MamlNs);
        w.WriteAttributeString("xmlns", "dev", null, DevNs);
        w.WriteStartElement("command", "details", CommandNs);
        w.WriteElementString("command", "name", CommandNs, c.Name);
        w.WriteElementString("command", "verb", CommandNs, c.Verb);
        w.WriteElementString("command", "noun", CommandNs, c.Noun);
        Description(w, page.Synopsis);
        w.WriteEndElement();
        Description(w, page.Description);

        w.WriteStartElement("command", "syntax", CommandNs);
        foreach (var set in c.Sets)
        {
            w.WriteStartElement("command", "syntaxItem", CommandNs);
            w.WriteElementString("maml", "name", MamlNs, c.Name);
            var ordered = c.InSet(set).OrderBy(x => x.Set.Position ?? int.MaxValue).ThenBy(x => x.Set.Mandatory ? 0 : 1).ThenBy(x => x.Param.Name, StringComparer.Ordinal);
            foreach (var (p, s) in ordered) Parameter(w, p, page, s.Mandatory, s.Position, p.PipelineInput(new[] { s }));
            if (c.SupportsShouldProcess) foreach (var n in new[] { "WhatIf", "Confirm" }) CommonSwitch(w, n, page);
            w.WriteEndElement();
        }
        w.WriteEndElement();

        w.WriteStartElement("command", "parameters", CommandNs);
        foreach (var p in c.Parameters)
            Parameter(w, p, page, p.RequiredEverywhere, p.Sets.Select(s => s.Position).FirstOrDefault(x => x is not null), p.PipelineInput());
        if (c.SupportsShouldProcess) foreach (var n in new[] { "Confirm", "WhatIf" }) CommonSwitch(w, n, page);
        w.WriteEndElement();

        Types(w, "inputTypes", "inputType", page.Inputs);
        Types(w, "returnValues", "returnValue", page.Outputs.Count > 0 ? page.Outputs : c.OutputTypes.Select(o => (o, new List<string>())).ToList());

        if (page.Notes.Count > 0)
        {
            w.WriteStartElement("maml", "alertSet", MamlNs);
            w.WriteStartElement("maml", "alert", MamlNs);
            foreach (var n in page.Notes) w.WriteElementString("maml", "para", MamlNs, n);
            w.WriteEndElement();
            w.WriteEndElement();
        }

        w.WriteStartElement("command", "examples", CommandNs);
        foreach (var e in page.Examples)
        {
            w.WriteStartElement("command", "example", CommandNs);
            w.WriteElementString("maml", "title", MamlNs, $"-------------------------- {e.Title} --------------------------");
            w.WriteElementString("dev", "code", DevNs, e.Output is null ? e.Code : e.Code + "\n\n" + e.Output);
            w.WriteStartElement("dev", "remarks", DevNs);
            foreach (var r in e.Remarks) w.WriteElementString("maml", "para", MamlNs, r);
            w.WriteEndElement();
            w.WriteEndElement();
        }
        w.WriteEndElement();

        w.WriteStartElement("command", "relatedLinks", CommandNs);
        if (page.OnlineVersion is { Length: > 0 } online) Link(w, "Online Version:", online);
        foreach (var (text, uri) in page.Links) Link(w, text, uri);
        w.WriteEndElement();
        w.WriteEndElement();
    }

    private static void Description(XmlWriter w, IEnumerable<string> paras)
    {
        w.WriteStartElement("maml", "description", MamlNs);
        foreach (var p in paras) w.WriteElementString("maml", "para", MamlNs, p);
        w.WriteEndElement();
    }

    private static void Parameter(XmlWriter w, ParamMeta p, HelpPage page, bool required, int? position, string pipeline)
    {
        page.Parameters.TryGetValue(p.Name, out var doc);
        w.WriteStartElement("command", "parameter", CommandNs);
        w.WriteAttributeString("required", required ? "true" : "false");
        w.WriteAttributeString("variableLength", "true");
        w.WriteAttributeString("globbing", p.Wildcards ? "true" : "false");
        w.WriteAttributeString("pipelineInput", pipeline);
        w.WriteAttributeString("position", position is { } pos ? pos.ToString(CultureInfo.InvariantCulture) : "named");
        w.WriteAttributeString("aliases", p.Aliases.Count == 0 ? "none" : string.Join(", ", p.Aliases));
        w.WriteElementString("maml", "name", MamlNs, p.Name);
        Description(w, doc.Description ?? new List<string>());
        if (!p.IsSwitch)
        {
            w.WriteStartElement("command", "parameterValue", CommandNs);
            w.WriteAttributeString("required", "true");
            w.WriteAttributeString("variableLength", "false");
            w.WriteString(p.TypeName);
            w.WriteEndElement();
        }
        w.WriteStartElement("dev", "type", DevNs);
        w.WriteElementString("maml", "name", MamlNs, p.FullTypeName);
        w.WriteElementString("maml", "uri", MamlNs, "");
        w.WriteEndElement();
        w.WriteElementString("dev", "defaultValue", DevNs, doc.DefaultValue ?? (p.IsSwitch ? "False" : "None"));
        w.WriteEndElement();
    }

    private static void CommonSwitch(XmlWriter w, string name, HelpPage page)
    {
        var text = page.Parameters.TryGetValue(name, out var doc) && doc.Description.Count > 0 ? doc.Description
            : new List<string> { name == "WhatIf" ? "Shows what would happen if the cmdlet runs. The cmdlet is not run." : "Prompts you for confirmation before running the cmdlet." };
        var p = new ParamMeta(name, "SwitchParameter", "System.Management.Automation.SwitchParameter", true, false, name == "WhatIf" ? new[] { "wi" } : new[] { "cf" },
            new[] { new SetMeta(CmdletMeta.AllSets, false, null, false, false) });
        var copy = new HelpPage();
        copy.Parameters[name] = (text, "False");
        Parameter(w, p, copy, false, null, "False");
    }

    private static void Types(XmlWriter w, string outer, string inner, List<(string Type, List<string> Description)> types)
    {
        w.WriteStartElement("command", outer, CommandNs);
        foreach (var (type, description) in types)
        {
            w.WriteStartElement("command", inner, CommandNs);
            w.WriteStartElement("dev", "type", DevNs);
            w.WriteElementString("maml", "name", MamlNs, type);
            w.WriteEndElement();
            Description(w, description);
            w.WriteEndElement();
        }
        w.WriteEndElement();
    }

    private static void Link(XmlWriter w, string text, string uri)
    {
        w.WriteStartElement("maml", "navigationLink", MamlNs);
        w.WriteElementString("maml", "linkText", MamlNs, text);
        w.WriteElementString("maml", "uri", MamlNs, uri);
        w.WriteEndElement();
    }
}
