using System.Reflection;
using System.Runtime.InteropServices;

namespace MeshFederation.Tests;

/// <summary>What PowerShell would see of each compiled cmdlet: parameter sets, positions, pipeline input, types.</summary>
internal static class CmdletMetadata
{
    private const string Sma = "System.Management.Automation";

    internal sealed record Param(string Name, string TypeName, string Set, bool Mandatory, int? Position, bool FromPipeline, bool ByPropertyName, IReadOnlyList<string> Aliases, bool IsSwitch);

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
                foreach (var pa in p.GetCustomAttributesData().Where(a => a.AttributeType.FullName == $"{Sma}.ParameterAttribute"))
                {
                    var pos = Named(pa, "Position");
                    ps.Add(new Param(p.Name, TypeName(p.PropertyType), Named(pa, "ParameterSetName") ?? "__AllParameterSets",
                        Named(pa, "Mandatory") == "True", pos is null ? null : int.Parse(pos, System.Globalization.CultureInfo.InvariantCulture),
                        Named(pa, "ValueFromPipeline") == "True", Named(pa, "ValueFromPipelineByPropertyName") == "True", aliases,
                        p.PropertyType.FullName == $"{Sma}.SwitchParameter"));
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
