using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MeshFederation.Yaml;

/// <summary>
/// Writes a JSON tree as the YAML text YamlDotNet's emitter gives for it (as <see cref="YamlDotNetBridge"/> drives it),
/// without the general emitter's per-scalar analysis, for the shapes renders produce: a non-empty mapping at the root,
/// block mappings and sequences, printable ASCII scalars, and literal blocks of plain lines (certificates).
/// </summary>
/// <remarks>
/// Anything outside those shapes (non-ASCII or control characters, quotes and backslashes, a sequence directly in a
/// sequence, a multi-line key, blank or indented first lines in a literal, trailing blanks, ...) makes
/// <see cref="TryWrite"/> decline the whole document, which the bridge then gives to YamlDotNet; so the output is the
/// same text either way (checked by YamlBridgeTests against YamlDotNet on renders and on generated documents).
/// </remarks>
internal static class PlainYamlWriter
{
    /// <summary>Appends "---\n" and the document to <paramref name="sb"/>, or returns false (and leaves it partly written).</summary>
    public static bool TryWrite(JsonNode? document, StringBuilder sb)
    {
        if (document is not JsonObject root || root.Count == 0) return false;
        sb.Append("---\n");
        return Mapping(root, 0, inline: false, sb);
    }

    private static bool Mapping(JsonObject o, int indent, bool inline, StringBuilder sb)
    {
        var first = true;
        foreach (var (key, value) in o)
        {
            if (!(first && inline)) sb.Append(' ', indent);
            first = false;
            if (!SingleLine(key, sb)) return false;
            sb.Append(':');
            switch (value)
            {
                case JsonObject { Count: > 0 } child:
                    sb.Append('\n');
                    if (!Mapping(child, indent + 2, inline: false, sb)) return false;
                    break;
                case JsonArray { Count: > 0 } items:
                    sb.Append('\n');
                    if (!Sequence(items, indent, sb)) return false;
                    break;
                default:
                    sb.Append(' ');
                    if (!Scalar(value, indent + 2, sb)) return false;
                    break;
            }
        }
        return true;
    }

    private static bool Sequence(JsonArray a, int indent, StringBuilder sb)
    {
        foreach (var item in a)
        {
            sb.Append(' ', indent).Append("- ");
            switch (item)
            {
                case JsonObject { Count: > 0 } child:
                    if (!Mapping(child, indent + 2, inline: true, sb)) return false;
                    break;
                case JsonArray { Count: > 0 }:
                    return false;
                default:
                    if (!Scalar(item, indent + 2, sb)) return false;
                    break;
            }
        }
        return true;
    }

    /// <summary>A value after "key: " or "- ": empty collections in flow style, scalars plain, quoted or literal.</summary>
    private static bool Scalar(JsonNode? node, int blockIndent, StringBuilder sb)
    {
        switch (node)
        {
            case null: sb.Append("null\n"); return true;
            case JsonObject: sb.Append("{}\n"); return true;
            case JsonArray: sb.Append("[]\n"); return true;
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case JsonValueKind.String:
                        var s = v.GetValue<string>();
                        if (s.Contains('\n', StringComparison.Ordinal)) return Literal(s, blockIndent, sb);
                        if (!SingleLine(s, sb)) return false;
                        sb.Append('\n');
                        return true;
                    case JsonValueKind.True: sb.Append("true\n"); return true;
                    case JsonValueKind.False: sb.Append("false\n"); return true;
                    case JsonValueKind.Number: sb.Append(v.ToJsonString()).Append('\n'); return true;
                    default: sb.Append("null\n"); return true;
                }
            default: return false;
        }
    }

    /// <summary>A single-line string: plain unless the bridge's quoting rules ask for double quotes.</summary>
    private static bool SingleLine(string s, StringBuilder sb)
    {
        foreach (var c in s)
            if (c < ' ' || c > '~' || c == '"' || c == '\\') return false;
        if (s.Length == 0 || YamlDotNetBridge.MustQuote(s))
        {
            sb.Append('"').Append(s).Append('"');
            return true;
        }
        // Plain text YamlDotNet would still not write plain: a document marker at the start.
        if (s.StartsWith("...", StringComparison.Ordinal)) return false;
        sb.Append(s);
        return true;
    }

    /// <summary>"|" (or "|-" without a final line break) and the lines indented; only lines YamlDotNet keeps as they are.</summary>
    private static bool Literal(string s, int indent, StringBuilder sb)
    {
        var body = s.EndsWith('\n') ? s[..^1] : s;
        if (body.Length == 0 || body[0] == ' ') return false;
        var start = 0;
        var lines = 0;
        for (var i = 0; i <= body.Length; i++)
        {
            if (i < body.Length && body[i] != '\n')
            {
                var c = body[i];
                if (c < ' ' || c > '~') return false;
                continue;
            }
            if (i == start || body[i - 1] == ' ') return false; // blank lines and trailing blanks: declined
            lines++;
            start = i + 1;
        }
        sb.Append(s.EndsWith('\n') ? "|\n" : "|-\n");
        start = 0;
        for (var i = 0; i <= body.Length; i++)
        {
            if (i < body.Length && body[i] != '\n') continue;
            sb.Append(' ', indent).Append(body, start, i - start).Append('\n');
            start = i + 1;
        }
        return lines > 0;
    }
}
