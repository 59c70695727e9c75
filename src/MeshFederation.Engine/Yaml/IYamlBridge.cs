using System.Text.Json.Nodes;

namespace MeshFederation.Engine.Yaml;

/// <summary>
/// The engine's view of YAML. Implemented by MeshFederation.Yaml (the only assembly that references YamlDotNet),
/// which the module loads into its own AssemblyLoadContext. Nothing on this surface is a YamlDotNet type.
/// </summary>
public interface IYamlBridge
{
    /// <summary>Parses a (multi-document) YAML text into node trees that keep line and column numbers.</summary>
    /// <exception cref="Validation.MeshFederationException">The text is not valid YAML; the problem names file and line.</exception>
    IReadOnlyList<YNode> Parse(string text, string sourceName);

    /// <summary>Writes documents as one multi-document YAML text; strings that would read back as another type are quoted.</summary>
    string Emit(IEnumerable<JsonNode> documents);

    /// <summary>Writes documents as <see cref="Emit(IEnumerable{JsonNode})"/> does, straight into <paramref name="writer"/> (large renders).</summary>
    void Emit(IEnumerable<JsonNode> documents, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Emit(documents));
    }
}

/// <summary>Kinds of YAML node.</summary>
public enum YNodeKind
{
    Scalar,
    Mapping,
    Sequence,
}

/// <summary>A parsed YAML node with its position.</summary>
public sealed class YNode
{
    public required YNodeKind Kind { get; init; }

    /// <summary>Scalar text (null for mappings and sequences).</summary>
    public string? Value { get; init; }

    /// <summary>True when the scalar was written plain (unquoted), so core-schema typing applies.</summary>
    public bool IsPlain { get; init; }

    public IReadOnlyList<KeyValuePair<YNode, YNode>> Entries { get; init; } = Array.Empty<KeyValuePair<YNode, YNode>>();

    public IReadOnlyList<YNode> Items { get; init; } = Array.Empty<YNode>();

    public required Validation.SourceLocation Location { get; init; }

    public bool IsNull => Kind == YNodeKind.Scalar && IsPlain && (Value is null or "" or "~" or "null" or "Null" or "NULL");

    public YNode? this[string key] => Entries.FirstOrDefault(e => e.Key.Value == key).Value;

    public override string ToString() => Kind switch
    {
        YNodeKind.Scalar => Value ?? "",
        YNodeKind.Mapping => "{mapping}",
        _ => "[sequence]",
    };

    /// <summary>Converts to JSON with YAML 1.2 core-schema typing of plain scalars.</summary>
    public JsonNode? ToJson()
    {
        switch (Kind)
        {
            case YNodeKind.Mapping:
                var o = new JsonObject();
                foreach (var (k, v) in Entries) o[k.Value ?? ""] = v.ToJson();
                return o;
            case YNodeKind.Sequence:
                var a = new JsonArray();
                foreach (var i in Items) a.Add(i.ToJson());
                return a;
            default:
                if (!IsPlain) return JsonValue.Create(Value ?? "");
                if (IsNull) return null;
                return Value switch
                {
                    "true" or "True" or "TRUE" => JsonValue.Create(true),
                    "false" or "False" or "FALSE" => JsonValue.Create(false),
                    _ when long.TryParse(Value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l) => l is >= int.MinValue and <= int.MaxValue ? JsonValue.Create((int)l) : JsonValue.Create(l),
                    _ when System.Text.RegularExpressions.Regex.IsMatch(Value!, "^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
                        && double.TryParse(Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
                    _ => JsonValue.Create(Value),
                };
        }
    }
}
