using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace MeshFederation.Yaml;

/// <summary>The YamlDotNet implementation of the engine's <see cref="IYamlBridge"/>.</summary>
public sealed partial class YamlDotNetBridge : IYamlBridge
{
    public IReadOnlyList<YNode> Parse(string text, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        var docs = new List<YNode>();
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            while (parser.TryConsume<DocumentStart>(out _))
            {
                var anchors = new Dictionary<string, YNode>(StringComparer.Ordinal);
                var node = ReadNode(parser, sourceName, anchors);
                parser.Consume<DocumentEnd>();
                if (!(node.Kind == YNodeKind.Scalar && node.IsNull)) docs.Add(node);
            }
            parser.Consume<StreamEnd>();
        }
        catch (YamlException ex)
        {
            var inner = ex.InnerException is YamlException ie ? ie : ex;
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, "yaml", null,
                $"is not valid YAML: {Clean(inner.Message)}", "fix the YAML syntax at that line (indentation, ':' after keys, matching quotes)")
            {
                Location = new SourceLocation(sourceName, (int)inner.Start.Line, (int)inner.Start.Column),
            });
        }
        return docs;
    }

    private static string Clean(string message)
    {
        var i = message.IndexOf("): ", StringComparison.Ordinal);
        return i >= 0 && message.StartsWith('(') ? message[(i + 3)..] : message;
    }

    private static YNode ReadNode(IParser parser, string source, Dictionary<string, YNode> anchors)
    {
        var at = new SourceLocation(source, (int)parser.Current!.Start.Line, (int)parser.Current.Start.Column);
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (anchors.TryGetValue(alias.Value.Value, out var target)) return target;
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, "yaml", "*" + alias.Value.Value,
                "refers to an anchor that is not defined before it", "define the anchor (&name) first") { Location = at });
        }
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            var node = new YNode { Kind = YNodeKind.Scalar, Value = scalar.Value, IsPlain = scalar.Style == ScalarStyle.Plain, Location = at };
            if (!scalar.Anchor.IsEmpty) anchors[scalar.Anchor.Value] = node;
            return node;
        }
        if (parser.TryConsume<SequenceStart>(out var seqStart))
        {
            var items = new List<YNode>();
            while (!parser.TryConsume<SequenceEnd>(out _)) items.Add(ReadNode(parser, source, anchors));
            var node = new YNode { Kind = YNodeKind.Sequence, Items = items, Location = at };
            if (!seqStart.Anchor.IsEmpty) anchors[seqStart.Anchor.Value] = node;
            return node;
        }
        if (parser.TryConsume<MappingStart>(out var mapStart))
        {
            var entries = new List<KeyValuePair<YNode, YNode>>();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var key = ReadNode(parser, source, anchors);
                if (key.Kind != YNodeKind.Scalar)
                    throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, "yaml", key.ToString(),
                        "a mapping key must be a plain value", "use a plain key") { Location = key.Location });
                var value = ReadNode(parser, source, anchors);
                if (key.Value == "<<" && key.IsPlain && value.Kind == YNodeKind.Mapping) entries.AddRange(value.Entries);
                else entries.Add(new KeyValuePair<YNode, YNode>(key, value));
            }
            var node = new YNode { Kind = YNodeKind.Mapping, Entries = entries, Location = at };
            if (!mapStart.Anchor.IsEmpty) anchors[mapStart.Anchor.Value] = node;
            return node;
        }
        throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, "yaml", parser.Current?.GetType().Name,
            "unexpected YAML event", "check the file's structure") { Location = at });
    }

    public string Emit(IEnumerable<JsonNode> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var sb = new StringBuilder();
        using (var writer = new StringWriter(sb, CultureInfo.InvariantCulture))
        {
            var emitter = new Emitter(writer, new EmitterSettings(bestIndent: 2, bestWidth: int.MaxValue, isCanonical: false, maxSimpleKeyLength: 1024, skipAnchorName: false, indentSequences: false));
            emitter.Emit(new StreamStart());
            foreach (var doc in documents)
            {
                emitter.Emit(new DocumentStart(null, null, isImplicit: false));
                Write(emitter, doc);
                emitter.Emit(new DocumentEnd(isImplicit: true));
            }
            emitter.Emit(new StreamEnd());
        }
        return sb.ToString();
    }

    private static void Write(IEmitter emitter, JsonNode? node)
    {
        switch (node)
        {
            case null:
                emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                break;
            case JsonObject o:
                emitter.Emit(new MappingStart(null, null, true, MappingStyle.Block));
                foreach (var (k, v) in o)
                {
                    WriteString(emitter, k);
                    Write(emitter, v);
                }
                emitter.Emit(new MappingEnd());
                break;
            case JsonArray a:
                emitter.Emit(new SequenceStart(null, null, true, a.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var i in a) Write(emitter, i);
                emitter.Emit(new SequenceEnd());
                break;
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case JsonValueKind.String: WriteString(emitter, v.GetValue<string>()); break;
                    case JsonValueKind.True: emitter.Emit(new Scalar(null, null, "true", ScalarStyle.Plain, true, false)); break;
                    case JsonValueKind.False: emitter.Emit(new Scalar(null, null, "false", ScalarStyle.Plain, true, false)); break;
                    case JsonValueKind.Number: emitter.Emit(new Scalar(null, null, v.ToJsonString(), ScalarStyle.Plain, true, false)); break;
                    default: emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false)); break;
                }
                break;
        }
    }

    /// <summary>Strings that a YAML 1.1 or 1.2 reader (kubectl's included) would type differently are quoted.</summary>
    private static void WriteString(IEmitter emitter, string s)
    {
        ScalarStyle style;
        if (s.Contains('\n', StringComparison.Ordinal)) style = ScalarStyle.Literal;
        else if (s.Length == 0 || NeedsQuotes().IsMatch(s) || AmbiguousPlain().IsMatch(s)) style = ScalarStyle.DoubleQuoted;
        else style = ScalarStyle.Any;
        emitter.Emit(new Scalar(null, null, s, style, style is ScalarStyle.Any or ScalarStyle.Plain, style is not (ScalarStyle.Any or ScalarStyle.Plain)));
    }

    // Booleans of YAML 1.1 (y, yes, on, ...) and 1.2, nulls, numbers (incl. octal, hex, sexagesimal-looking, .inf/.nan), timestamps.
    [GeneratedRegex(@"^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~|[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o?[0-7_]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?|\d{4}-\d\d?-\d\d?([Tt ].*)?)$")]
    private static partial Regex AmbiguousPlain();

    // Leading indicators, ": " / " #" inside, or surrounding blanks need quotes.
    [GeneratedRegex(@"^[\s\-?:,\[\]{}#&*!|>'""%@`]|: |\s#|:$|\s$")]
    private static partial Regex NeedsQuotes();
}
