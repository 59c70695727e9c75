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
/// <remarks>
/// Parsing is bounded: no exception but <see cref="MeshFederationException"/> leaves <see cref="Parse"/>; nesting is
/// limited to <see cref="MaxDepth"/> levels, the text to <see cref="MaxTextLength"/> characters, and aliases may add at
/// most <see cref="MaxAliasExpansion"/> nodes to what the text itself holds (so an alias bomb is refused before anything
/// expands it). Merge keys (<c>&lt;&lt;</c>) follow the YAML merge-key type; duplicate keys are rejected in every mapping,
/// as Kubernetes' own YAML reader does.
/// </remarks>
public sealed partial class YamlDotNetBridge : IYamlBridge
{
    /// <summary>Deepest nesting of mappings and sequences accepted.</summary>
    public const int MaxDepth = 200;

    /// <summary>Largest text accepted (characters); files are capped earlier, by their readers.</summary>
    public const int MaxTextLength = 64 * 1024 * 1024;

    /// <summary>Nodes that aliases may add to a document beyond the nodes written in it.</summary>
    public const long MaxAliasExpansion = 100_000;

    public IReadOnlyList<YNode> Parse(string text, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        sourceName ??= "(yaml)";
        if (text.Length > MaxTextLength)
            throw Problem("yaml", $"{text.Length} characters", $"is too large to parse (the limit is {MaxTextLength / (1024 * 1024)} Mi characters)",
                "split the input or remove what it does not need", new SourceLocation(sourceName, 1, 1));
        var state = new ReadState(sourceName);
        var docs = new List<YNode>();
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            while (parser.TryConsume<DocumentStart>(out _))
            {
                state.StartDocument();
                var node = ReadNode(parser, state, 0);
                parser.Consume<DocumentEnd>();
                if (!(node.Kind == YNodeKind.Scalar && node.IsNull)) docs.Add(node);
            }
            parser.Consume<StreamEnd>();
        }
        catch (MeshFederationException)
        {
            throw;
        }
        catch (YamlException ex) when ((ex.InnerException ?? ex).Message.Contains("flow", StringComparison.Ordinal) && (UnclosedFlow(text, sourceName) ?? (state.OpenFlow.Count > 0 ? state.OpenFlow.Peek() : null)) is { } open)
        {
            // YamlDotNet notices an unclosed '[' or '{' on a later line: name the line where it was opened.
            throw Problem("yaml", null, $"is not valid YAML: the '[' or '{{' opened here is not closed ({Clean((ex.InnerException ?? ex).Message).TrimEnd('.')})",
                "close it (']' or '}'), or write the list in block style ('- item' lines)", open);
        }
        catch (YamlException ex)
        {
            var inner = ex.InnerException is YamlException ie ? ie : ex;
            throw Problem("yaml", null, $"is not valid YAML: {Clean(inner.Message)}",
                "fix the YAML syntax at that line (indentation, ':' after keys, matching quotes and brackets)",
                new SourceLocation(sourceName, Math.Max(1, (int)inner.Start.Line), Math.Max(1, (int)inner.Start.Column)));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // YamlDotNet's scanner throws InvalidOperationException (and has thrown others) on some malformed texts, such
            // as an unclosed '[' followed by more lines: report it as what it is, at the last position read.
            if ((UnclosedFlow(text, sourceName) ?? (state.OpenFlow.Count > 0 ? state.OpenFlow.Peek() : null)) is { } open)
                throw Problem("yaml", null, "is not valid YAML: the '[' or '{' opened here is not closed",
                    "close it (']' or '}'), or write the list in block style ('- item' lines)", open);
            throw Problem("yaml", null, "is not valid YAML: the parser stopped after this point (an unclosed quote or bracket is the usual cause)",
                "close every '[', '{' and quote that is opened", state.Last);
        }
        return docs;
    }

    /// <summary>
    /// Where the first '[' or '{' that starts a flow collection and is never closed was opened: a lexical scan that knows
    /// quotes, comments and where a node may start, used only to point at the cause of a parse error.
    /// </summary>
    internal static SourceLocation? UnclosedFlow(string text, string source)
    {
        var open = new List<(char Close, int Line, int Column)>();
        int line = 1, column = 0;
        var nodeStart = true; // at a place where a node may begin (start of line, after ': ', '- ', '[', '{', ',')
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            column++;
            if (c == '\n') { line++; column = 0; nodeStart = true; continue; }
            if (c == '#' && (i == 0 || char.IsWhiteSpace(text[i - 1])))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                continue;
            }
            if ((c == '"' || c == '\'') && nodeStart)
            {
                // A quoted scalar: skip it (a backslash escapes in double quotes, '' in single quotes).
                for (i++; i < text.Length; i++)
                {
                    column++;
                    if (text[i] == '\n') { line++; column = 0; }
                    else if (c == '"' && text[i] == '\\') { i++; column++; }
                    else if (text[i] == c)
                    {
                        if (c == '\'' && i + 1 < text.Length && text[i + 1] == '\'') { i++; column++; continue; }
                        break;
                    }
                }
                nodeStart = false;
                continue;
            }
            if ((c == '[' || c == '{') && (nodeStart || open.Count > 0))
            {
                open.Add((c == '[' ? ']' : '}', line, column));
                nodeStart = true;
                continue;
            }
            if ((c == ']' || c == '}') && open.Count > 0)
            {
                if (open[^1].Close == c) open.RemoveAt(open.Count - 1);
                nodeStart = false;
                continue;
            }
            if (char.IsWhiteSpace(c)) continue;
            if (c == ',' && open.Count > 0) { nodeStart = true; continue; }
            if ((c == ':' || c == '-' || c == '?') && (i + 1 >= text.Length || char.IsWhiteSpace(text[i + 1]) || (open.Count > 0 && c == ':'))) { nodeStart = true; continue; }
            nodeStart = false;
        }
        return open.Count == 0 ? null : new SourceLocation(source, open[0].Line, open[0].Column);
    }

    private static MeshFederationException Problem(string field, string? value, string problem, string fix, SourceLocation at) =>
        new(new MeshProblem(MeshErrorKind.InvalidData, field, value, problem, fix) { Location = at });

    private static string Clean(string message)
    {
        var i = message.IndexOf("): ", StringComparison.Ordinal);
        return i >= 0 && message.StartsWith('(') ? message[(i + 3)..] : message;
    }

    /// <summary>What one parse keeps track of: anchors, the expanded size of every node, and the last position read.</summary>
    private sealed class ReadState
    {
        public ReadState(string source)
        {
            Source = source;
            Last = new SourceLocation(source, 1, 1);
        }

        public string Source { get; }

        public SourceLocation Last { get; set; }

        public Dictionary<string, YNode> Anchors { get; } = new(StringComparer.Ordinal);

        /// <summary>Flow collections ('[', '{') opened and not yet closed, innermost on top.</summary>
        public Stack<SourceLocation> OpenFlow { get; } = new();

        /// <summary>Nodes written in the document, and the nodes they stand for once aliases are expanded.</summary>
        public long Written { get; set; }

        public long Expanded { get; set; }

        /// <summary>Expanded size of each node that an alias can refer to (anchored nodes and their children).</summary>
        public Dictionary<YNode, long> Weight { get; } = new(ReferenceEqualityComparer.Instance);

        public void StartDocument()
        {
            Anchors.Clear();
            Weight.Clear();
            OpenFlow.Clear();
            Written = 0;
            Expanded = 0;
        }
    }

    private static YNode ReadNode(IParser parser, ReadState state, int depth)
    {
        var current = parser.Current!;
        var at = new SourceLocation(state.Source, Math.Max(1, (int)current.Start.Line), Math.Max(1, (int)current.Start.Column));
        state.Last = at;
        if (depth > MaxDepth)
            throw Problem("yaml", null, $"nests deeper than {MaxDepth} levels", "flatten the structure; a topology needs a few levels only", at);
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (!state.Anchors.TryGetValue(alias.Value.Value, out var target))
                throw Problem("yaml", "*" + alias.Value.Value, "refers to an anchor that is not defined before it", "define the anchor (&name) first", at);
            state.Expanded += state.Weight.TryGetValue(target, out var w) ? w : 1;
            if (state.Expanded - state.Written > MaxAliasExpansion)
                throw Problem("yaml", "*" + alias.Value.Value,
                    $"expands the document by more than {MaxAliasExpansion:N0} nodes through aliases (an alias bomb, or 'billion laughs')",
                    "write the values out, or use fewer and smaller aliases", at);
            return target;
        }
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            var plain = scalar.Style == ScalarStyle.Plain;
            if (!scalar.Tag.IsEmpty)
            {
                plain = scalar.Tag.Value switch
                {
                    "tag:yaml.org,2002:str" => false,
                    "tag:yaml.org,2002:int" or "tag:yaml.org,2002:float" or "tag:yaml.org,2002:bool" or "tag:yaml.org,2002:null" => true,
                    "!" => false,
                    _ => throw Problem("yaml", scalar.Tag.Value, "is a YAML tag that is not supported here", "remove the tag; write the value plainly", at),
                };
            }
            var node = new YNode { Kind = YNodeKind.Scalar, Value = scalar.Value, IsPlain = plain, Location = at };
            Count(state, node, 1, scalar.Anchor);
            return node;
        }
        // A flow collection is marked open before it is consumed: the scanner reads ahead, and an unclosed '[' fails there.
        var flow = current is SequenceStart { Style: SequenceStyle.Flow } or MappingStart { Style: MappingStyle.Flow };
        if (flow) state.OpenFlow.Push(at);
        if (parser.TryConsume<SequenceStart>(out var seqStart))
        {
            CheckCollectionTag(seqStart.Tag, "tag:yaml.org,2002:seq", at);
            var items = new List<YNode>();
            var before = state.Expanded;
            while (!parser.TryConsume<SequenceEnd>(out _)) items.Add(ReadNode(parser, state, depth + 1));
            if (flow) state.OpenFlow.Pop();
            var node = new YNode { Kind = YNodeKind.Sequence, Items = items, Location = at };
            Count(state, node, 1 + (state.Expanded - before), seqStart.Anchor);
            return node;
        }
        if (parser.TryConsume<MappingStart>(out var mapStart))
        {
            CheckCollectionTag(mapStart.Tag, "tag:yaml.org,2002:map", at);
            var before = state.Expanded;
            var entries = ReadMapping(parser, state, depth, at);
            if (flow) state.OpenFlow.Pop();
            var node = new YNode { Kind = YNodeKind.Mapping, Entries = entries, Location = at };
            Count(state, node, 1 + (state.Expanded - before), mapStart.Anchor);
            return node;
        }
        throw Problem("yaml", parser.Current?.GetType().Name, "unexpected YAML event", "check the file's structure", at);
    }

    private static void CheckCollectionTag(TagName tag, string allowed, SourceLocation at)
    {
        if (!tag.IsEmpty && tag.Value != allowed && tag.Value != "!")
            throw Problem("yaml", tag.Value, "is a YAML tag that is not supported here", "remove the tag", at);
    }

    /// <summary>Counts a node as written once, and records its expanded size when an alias may refer to it.</summary>
    private static void Count(ReadState state, YNode node, long weight, AnchorName anchor)
    {
        state.Written++;
        state.Expanded++;
        if (!anchor.IsEmpty)
        {
            state.Anchors[anchor.Value] = node;
            state.Weight[node] = weight;
        }
    }

    /// <summary>
    /// Reads a mapping's entries. Explicit keys must be unique. A plain <c>&lt;&lt;</c> key merges the entries of a mapping
    /// (or of each mapping of a list, earlier ones winning) in its place, except keys the mapping sets itself.
    /// </summary>
    private static List<KeyValuePair<YNode, YNode>> ReadMapping(IParser parser, ReadState state, int depth, SourceLocation at)
    {
        var explicitEntries = new List<(KeyValuePair<YNode, YNode> Entry, List<YNode>? Merge)>();
        var seen = new Dictionary<string, YNode>(StringComparer.Ordinal);
        YNode? mergeKey = null;
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var key = ReadNode(parser, state, depth + 1);
            if (key.Kind != YNodeKind.Scalar)
                throw Problem("yaml", key.ToString(), "a mapping key must be a plain value", "use a plain key", key.Location);
            var value = ReadNode(parser, state, depth + 1);
            if (key.Value == "<<" && key.IsPlain)
            {
                if (mergeKey is not null)
                    throw Problem("yaml", "<<", $"appears twice in one mapping (first at line {mergeKey.Location.Line})",
                        "merge several mappings with one key: '<<: [*first, *second]'", key.Location);
                mergeKey = key;
                var sources = value.Kind switch
                {
                    YNodeKind.Mapping => new List<YNode> { value },
                    YNodeKind.Sequence when value.Items.All(i => i.Kind == YNodeKind.Mapping) => value.Items.ToList(),
                    _ => throw Problem("yaml", "<<", "the merge key takes a mapping or a list of mappings",
                        "merge an anchored mapping ('<<: *defaults') or a list of them ('<<: [*a, *b]')", key.Location),
                };
                explicitEntries.Add((new KeyValuePair<YNode, YNode>(key, value), sources));
                continue;
            }
            var name = key.Value ?? "";
            if (seen.TryGetValue(name, out var first))
                throw Problem(name.Length == 0 ? "yaml" : name, name, $"appears twice in one mapping (first at line {first.Location.Line})",
                    "keep one of them: YAML mappings cannot repeat a key", key.Location);
            seen[name] = key;
            explicitEntries.Add((new KeyValuePair<YNode, YNode>(key, value), null));
        }
        var result = new List<KeyValuePair<YNode, YNode>>(explicitEntries.Count);
        foreach (var (entry, merge) in explicitEntries)
        {
            if (merge is null)
            {
                result.Add(entry);
                continue;
            }
            foreach (var source in merge)
                foreach (var e in source.Entries)
                {
                    var name = e.Key.Value ?? "";
                    if (seen.ContainsKey(name)) continue; // explicit keys, and earlier merged mappings, win
                    seen[name] = e.Key;
                    result.Add(e);
                }
        }
        return result;
    }

    public string Emit(IEnumerable<JsonNode> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var sb = new StringBuilder();
        using (var writer = new StringWriter(sb, CultureInfo.InvariantCulture)) Emit(documents, writer);
        return sb.ToString();
    }

    public void Emit(IEnumerable<JsonNode> documents, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(writer);
        // Each document is written by PlainYamlWriter when it has only the shapes renders produce (the same text
        // YamlDotNet gives, without its per-scalar analysis), else by YamlDotNet on its own.
        var sb = new StringBuilder();
        foreach (var doc in documents)
        {
            sb.Clear();
            if (PlainYamlWriter.TryWrite(doc, sb)) writer.Write(sb);
            else EmitWithYamlDotNet(new[] { doc }, writer);
        }
    }

    /// <summary>The documents through YamlDotNet's emitter alone (what <see cref="Emit(IEnumerable{JsonNode}, TextWriter)"/> must equal).</summary>
    internal static void EmitWithYamlDotNet(IEnumerable<JsonNode> documents, TextWriter writer)
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
        else if (s.Length == 0 || MustQuote(s)) style = ScalarStyle.DoubleQuoted;
        else style = ScalarStyle.Any;
        emitter.Emit(new Scalar(null, null, s, style, style is ScalarStyle.Any or ScalarStyle.Plain, style is not (ScalarStyle.Any or ScalarStyle.Plain)));
    }

    /// <summary>A single-line string a YAML reader would type otherwise or misread plain: written double-quoted.</summary>
    internal static bool MustQuote(string s)
    {
        if (s.Length == 0) return false;
        // The regular expressions below decide; these ASCII-only shortcuts only skip them where they cannot match.
        var first = s[0];
        // AmbiguousPlain matches only whole words (at most 5 letters) when the text starts with a letter.
        var ambiguous = ("yYnNtTfFoO".Contains(first, StringComparison.Ordinal) && s.Length <= 5) || "~+-.".Contains(first, StringComparison.Ordinal) || char.IsDigit(first);
        return (!IsQuietAscii(s) && NeedsQuotes().IsMatch(s)) || (ambiguous && AmbiguousPlain().IsMatch(s));
    }

    /// <summary>Only ASCII letters, digits and characters that NeedsQuotes cannot match on (no blanks, no ':' or '#'), and a first character it does not match.</summary>
    private static bool IsQuietAscii(string s)
    {
        if ("-?:,[]{}#&*!|>'\"%@`".Contains(s[0], StringComparison.Ordinal)) return false;
        foreach (var c in s)
            if (c <= ' ' || c > '~' || c == ':' || c == '#') return false;
        return true;
    }

    // Booleans of YAML 1.1 (y, yes, on, ...) and 1.2, nulls, numbers (incl. octal, hex, sexagesimal-looking, .inf/.nan), timestamps.
    [GeneratedRegex(@"^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~|[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o?[0-7_]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?|\d{4}-\d\d?-\d\d?([Tt ].*)?)$")]
    private static partial Regex AmbiguousPlain();

    // Leading indicators, ": " / " #" inside, or surrounding blanks need quotes.
    [GeneratedRegex(@"^[\s\-?:,\[\]{}#&*!|>'""%@`]|: |\s#|:$|\s$")]
    private static partial Regex NeedsQuotes();
}
