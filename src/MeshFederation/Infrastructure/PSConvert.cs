using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Text.Json.Nodes;

namespace MeshFederation.Infrastructure;

/// <summary>Converts PowerShell values (hashtables, PSObjects, arrays) into the engine's plain types.</summary>
public static class PSConvert
{
    public static IReadOnlyDictionary<string, string> ToStringMap(Hashtable? table)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (table is null) return result;
        foreach (DictionaryEntry e in table)
            result[Convert.ToString(Unwrap(e.Key), CultureInfo.InvariantCulture) ?? ""] = Convert.ToString(Unwrap(e.Value), CultureInfo.InvariantCulture) ?? "";
        return result;
    }

    /// <summary>A hashtable whose values are one address or a list of addresses.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ToListMap(Hashtable? table)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (table is null) return result;
        foreach (DictionaryEntry e in table)
        {
            var key = Convert.ToString(Unwrap(e.Key), CultureInfo.InvariantCulture) ?? "";
            result[key] = Unwrap(e.Value) switch
            {
                string s => new[] { s },
                IEnumerable many => many.Cast<object?>().Select(o => Convert.ToString(Unwrap(o), CultureInfo.InvariantCulture) ?? "").ToArray(),
                var o => new[] { Convert.ToString(o, CultureInfo.InvariantCulture) ?? "" },
            };
        }
        return result;
    }

    public static JsonObject? ToJsonObject(Hashtable? table) => table is null ? null : (JsonObject?)ToJson(table);

    public static JsonNode? ToJson(object? value)
    {
        switch (Unwrap(value))
        {
            case null: return null;
            case IDictionary d:
                var o = new JsonObject();
                foreach (DictionaryEntry e in d) o[Convert.ToString(Unwrap(e.Key), CultureInfo.InvariantCulture) ?? ""] = ToJson(e.Value);
                return o;
            case string s: return JsonValue.Create(s);
            case bool b: return JsonValue.Create(b);
            case int i: return JsonValue.Create(i);
            case long l: return JsonValue.Create(l);
            case double dbl: return JsonValue.Create(dbl);
            case IEnumerable many:
                var a = new JsonArray();
                foreach (var item in many) a.Add(ToJson(item));
                return a;
            case var other: return JsonValue.Create(Convert.ToString(other, CultureInfo.InvariantCulture));
        }
    }

    private static object? Unwrap(object? value) => value is PSObject ps ? ps.BaseObject : value;

    /// <summary>
    /// JSON as PowerShell objects, the way ConvertFrom-Json gives them: objects as PSCustomObjects (keys in order),
    /// arrays as object[], numbers as long or double, booleans, strings, null. No System.Text.Json type reaches output.
    /// </summary>
    public static object? FromJson(JsonNode? node)
    {
        switch (node)
        {
            case null: return null;
            case JsonObject o:
                var ps = new PSObject();
                foreach (var (key, value) in o) ps.Properties.Add(new PSNoteProperty(key, FromJson(value)));
                return ps;
            case JsonArray a:
                return a.Select(FromJson).ToArray();
            case JsonValue v when v.TryGetValue<bool>(out var b): return b;
            case JsonValue v when v.TryGetValue<long>(out var l): return l;
            case JsonValue v when v.TryGetValue<double>(out var d): return d;
            case JsonValue v when v.TryGetValue<string>(out var str): return str;
            default: return node.ToJsonString();
        }
    }

    /// <summary>RenderedManifest.Content (types.ps1xml CodeProperty): the object to apply, as PowerShell objects.</summary>
    public static object? ManifestContent(PSObject instance) =>
        instance?.BaseObject is Engine.Rendering.RenderedManifest m ? FromJson(m.GetContent()) : null;

    /// <summary>MeshControlPlane.SpecOverride (types.ps1xml CodeProperty): the SMCP spec fields merged over the rendered ones.</summary>
    public static object? SpecOverride(PSObject instance) =>
        instance?.BaseObject is Engine.Model.MeshControlPlane cp ? FromJson(cp.GetSpecOverrides()) : null;
}
