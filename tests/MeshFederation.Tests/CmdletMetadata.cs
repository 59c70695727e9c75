using System.Reflection;
using System.Runtime.InteropServices;

namespace MeshFederation.Tests;

/// <summary>What PowerShell would see of each compiled cmdlet: parameter sets, positions, pipeline input, types.</summary>
internal static class CmdletMetadata
{
    private const string Sma = "System.Management.Automation";

    internal sealed record Param(string Name, string TypeName, string Set, bool Mandatory, int? Position, bool FromPipeline, bool ByPropertyName, IReadOnlyList<string> Aliases, bool IsSwitch, bool Wildcards = false);

    internal sealed record Cmdlet(string Name, string DefaultSet, bool SupportsShouldProcess, IReadOnlyList<string> OutputTypes, IReadOnlyList<Param> Parameters)
    {
        public IReadOnlyList<string> Sets =>
            Parameters.Select(p => p.Set).Where(s => s != "__AllParameterSets").Distinct().DefaultIfEmpty("__AllParameterSets").ToList();

        public IEnumerable<Param> InSet(string set) =>
            Parameters.Where(p => p.Set == set || p.Set == "__AllParameterSets").GroupBy(p => p.Name).Select(g => g.First());
    }

    public static List<Cmdlet> Load()
    {
        var paths = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
            .Concat(Directory.GetFiles(Paths.ModuleDir, "*.dll")).Append(Paths.SmaReference)
            .GroupBy(Path.GetFileName).Select(g => g.Last());
        using var mlc = new MetadataLoadContext(new PathAssemblyResolver(paths));
        var module = mlc.LoadFromAssemblyPath(Path.Combine(Paths.ModuleDir, "MeshFederation.dll"));
        var result = new List<Cmdlet>();
        foreach (var t in module.GetTypes())
        {
            var ca = t.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == $"{Sma}.CmdletAttribute");
            if (ca is null) continue;
            string? Named(CustomAttributeData a, string n) => a.NamedArguments.Where(x => x.MemberName == n).Select(x => x.TypedValue.Value?.ToString()).FirstOrDefault();
            var ps = new List<Param>();
            foreach (var p in t.GetProperties())
            {
                var aliases = p.GetCustomAttributesData().Where(a => a.AttributeType.FullName == $"{Sma}.AliasAttribute")
                    .SelectMany(a => ((IEnumerable<CustomAttributeTypedArgument>)a.ConstructorArguments[0].Value!).Select(v => (string)v.Value!)).ToList();
                var wildcards = p.GetCustomAttributesData().Any(a => a.AttributeType.FullName == $"{Sma}.SupportsWildcardsAttribute");
                foreach (var pa in p.GetCustomAttributesData().Where(a => a.AttributeType.FullName == $"{Sma}.ParameterAttribute"))
                {
                    var pos = Named(pa, "Position");
                    ps.Add(new Param(p.Name, TypeName(p.PropertyType), Named(pa, "ParameterSetName") ?? "__AllParameterSets",
                        Named(pa, "Mandatory") == "True", pos is null ? null : int.Parse(pos, System.Globalization.CultureInfo.InvariantCulture),
                        Named(pa, "ValueFromPipeline") == "True", Named(pa, "ValueFromPipelineByPropertyName") == "True", aliases,
                        p.PropertyType.FullName == $"{Sma}.SwitchParameter", wildcards));
                }
            }
            var outputs = t.GetCustomAttributesData().Where(a => a.AttributeType.FullName == $"{Sma}.OutputTypeAttribute")
                .SelectMany(a => ((IEnumerable<CustomAttributeTypedArgument>)a.ConstructorArguments[0].Value!).Select(v => ((Type)v.Value!).FullName!)).ToList();
            result.Add(new Cmdlet($"{ca.ConstructorArguments[0].Value}-{ca.ConstructorArguments[1].Value}", Named(ca, "DefaultParameterSetName") ?? "__AllParameterSets",
                Named(ca, "SupportsShouldProcess") == "True", outputs, ps));
        }
        return result.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The type name PowerShell's help shows (String, String[], Hashtable, MeshPeering[], SwitchParameter, Int32).</summary>
    public static string TypeName(Type t)
    {
        if (t.IsArray) return TypeName(t.GetElementType()!) + "[]";
        if (t.IsGenericType && t.GetGenericTypeDefinition().FullName == "System.Nullable`1") return TypeName(t.GetGenericArguments()[0]);
        return t.Name;
    }

    /// <summary>
    /// The yaml block(s) PlatyPS writes for a parameter, from the compiled metadata: one block when the parameter's
    /// attributes are the same in all its sets, otherwise one block per group of sets that share them. The "Default
    /// value:" line is free text and left out.
    /// </summary>
    public static List<string> ParameterYaml(Cmdlet c, string name)
    {
        var group = c.Parameters.Where(p => p.Name == name).ToList();
        var first = group[0];
        static string Pipe(Param p) => p.FromPipeline && p.ByPropertyName ? "True (ByPropertyName, ByValue)" : p.FromPipeline ? "True (ByValue)" : p.ByPropertyName ? "True (ByPropertyName)" : "False";
        static string Pos(Param p) => p.Position is { } pos ? pos.ToString(System.Globalization.CultureInfo.InvariantCulture) : "Named";
        var blocks = group.GroupBy(p => (p.Mandatory, Pos(p), Pipe(p))).Select(g =>
        {
            var sets = g.Any(x => x.Set == "__AllParameterSets") ? "(All)" : string.Join(", ", g.Select(x => x.Set));
            return $"Type: {first.TypeName}\nParameter Sets: {sets}\nAliases:{(first.Aliases.Count == 0 ? "" : " " + string.Join(", ", first.Aliases))}\n\n" +
                $"Required: {(g.Key.Mandatory ? "True" : "False")}\nPosition: {g.Key.Item2}\nAccept pipeline input: {g.Key.Item3}\nAccept wildcard characters: {(first.Wildcards ? "True" : "False")}\n";
        }).ToList();
        return blocks;
    }

    /// <summary>The syntax line of one parameter set, as PowerShell's Get-Command -Syntax prints it.</summary>
    public static string Syntax(Cmdlet c, string set)
    {
        var parts = new List<string> { c.Name };
        var ordered = c.InSet(set).OrderBy(p => p.Position ?? int.MaxValue).ThenBy(p => p.Mandatory ? 0 : 1).ThenBy(p => p.Name, StringComparer.Ordinal);
        foreach (var p in ordered)
        {
            var name = p.Position is null ? $"-{p.Name}" : $"[-{p.Name}]";
            var text = p.IsSwitch ? $"-{p.Name}" : $"{name} <{p.TypeName}>";
            parts.Add(p.Mandatory ? text : $"[{text}]");
        }
        if (c.SupportsShouldProcess) { parts.Add("[-WhatIf]"); parts.Add("[-Confirm]"); }
        parts.Add("[<CommonParameters>]");
        return string.Join(' ', parts);
    }
}
