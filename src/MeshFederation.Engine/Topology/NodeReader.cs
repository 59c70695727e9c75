using System.Globalization;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Engine.Topology;

/// <summary>Reads one YAML mapping strictly: typed fields, every problem with file and line, unknown keys rejected.</summary>
internal sealed class NodeReader
{
    private readonly YNode _node;
    private readonly string _path;
    private readonly ProblemList _problems;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public NodeReader(YNode node, string path, ProblemList problems)
    {
        _node = node;
        _path = path;
        _problems = problems;
        if (node.Kind != YNodeKind.Mapping)
            problems.Add(MeshErrorKind.InvalidData, path, node.ToString(), "must be a mapping (key: value pairs)", "indent the fields under this key", node.Location);
    }

    public SourceLocation Location => _node.Location;

    public string Path => _path;

    public YNode? Node(string key)
    {
        _known.Add(key);
        if (_node.Kind != YNodeKind.Mapping) return null;
        var v = _node[key];
        return v is null || v.IsNull ? null : v;
    }

    public bool Has(string key) => Node(key) is not null;

    public SourceLocation At(string key) => Node(key)?.Location ?? _node.Location;

    public string? Str(string key, bool required = false, string? fix = null)
    {
        var v = Node(key);
        if (v is null)
        {
            // Not a mapping at all: that is reported once, not again for each required key.
            if (required && _node.Kind == YNodeKind.Mapping) _problems.Add(MeshErrorKind.InvalidData, $"{_path}.{key}", null, "is required", fix ?? $"add '{key}:'", _node.Location);
            return null;
        }
        if (v.Kind != YNodeKind.Scalar)
        {
            _problems.Add(MeshErrorKind.InvalidData, $"{_path}.{key}", v.ToString(), "must be a single value", $"write '{key}: <value>'", v.Location);
            return null;
        }
        return v.Value;
    }

    public int? Int(string key)
    {
        var s = Str(key);
        if (s is null) return null;
        if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)) return i;
        _problems.Add(MeshErrorKind.InvalidData, $"{_path}.{key}", s, "is not a whole number", $"write a number, e.g. '{key}: 8188'", At(key));
        return null;
    }

    public bool? Bool(string key)
    {
        var s = Str(key);
        if (s is null) return null;
        if (s is "true" or "True" or "TRUE") return true;
        if (s is "false" or "False" or "FALSE") return false;
        _problems.Add(MeshErrorKind.InvalidData, $"{_path}.{key}", s, "is not true or false", $"write '{key}: true' or '{key}: false'", At(key));
        return null;
    }

    public TEnum? Enum<TEnum>(string key, IReadOnlyDictionary<string, TEnum>? aliases = null) where TEnum : struct, System.Enum
    {
        var s = Str(key);
        if (s is null) return null;
        if (aliases is not null && aliases.TryGetValue(s.ToLowerInvariant(), out var a)) return a;
        // One name exactly (case aside): Enum.TryParse would also take "LoadBalancer, NodePort" and numbers.
        if (System.Enum.GetNames<TEnum>().FirstOrDefault(n => string.Equals(n, s, StringComparison.OrdinalIgnoreCase)) is { } name)
            return System.Enum.Parse<TEnum>(name);
        var valid = aliases is not null ? string.Join(", ", aliases.Keys) : string.Join(", ", System.Enum.GetNames<TEnum>());
        _problems.Add(MeshErrorKind.InvalidArgument, $"{_path}.{key}", s, $"is not a known {key}", $"use one of: {valid}", At(key));
        return null;
    }

    public List<string> StrList(string key)
    {
        var v = Node(key);
        var result = new List<string>();
        if (v is null) return result;
        if (v.Kind == YNodeKind.Scalar) { result.Add(v.Value ?? ""); return result; }
        if (v.Kind != YNodeKind.Sequence)
        {
            _problems.Add(MeshErrorKind.InvalidData, $"{_path}.{key}", v.ToString(), "must be a list", $"write '{key}: [a, b]'", v.Location);
            return result;
        }
        foreach (var i in v.Items)
        {
            if (i.Kind != YNodeKind.Scalar)
                _problems.Add(MeshErrorKind.InvalidData, $"{_path}.{key}[]", i.ToString(), "must be a single value", "list plain values", i.Location);
            else result.Add(i.Value ?? "");
        }
        return result;
    }

    public Dictionary<string, string> StrMap(string key)
    {
        var v = Node(key);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (v is null) return result;
        if (v.Kind != YNodeKind.Mapping)
        {
            _problems.Add(MeshErrorKind.InvalidData, $"{_path}.{key}", v.ToString(), "must be a mapping", $"write '{key}: {{key: value}}'", v.Location);
            return result;
        }
        foreach (var (k, val) in v.Entries)
        {
            if (val.Kind != YNodeKind.Scalar)
                _problems.Add(MeshErrorKind.InvalidData, $"{_path}.{key}.{k.Value}", val.ToString(), "must be a single value", "write 'key: value'", val.Location);
            else result[k.Value ?? ""] = val.Value ?? "";
        }
        return result;
    }

    public IEnumerable<NodeReader> Objects(string key)
    {
        var v = Node(key);
        if (v is null) yield break;
        if (v.Kind != YNodeKind.Sequence)
        {
            _problems.Add(MeshErrorKind.InvalidData, $"{_path}.{key}", v.ToString(), "must be a list", $"write each entry as '- ...' under '{key}:'", v.Location);
            yield break;
        }
        for (var i = 0; i < v.Items.Count; i++) yield return new NodeReader(v.Items[i], $"{_path}.{key}[{i}]", _problems);
    }

    public NodeReader? Object(string key)
    {
        var v = Node(key);
        return v is null ? null : new NodeReader(v, $"{_path}.{key}", _problems);
    }

    /// <summary>Reports every key that was never asked for, with a "did you mean".</summary>
    public void RejectUnknown()
    {
        if (_node.Kind != YNodeKind.Mapping) return;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, _) in _node.Entries)
        {
            var key = k.Value ?? "";
            if (!seen.Add(key))
                _problems.Add(MeshErrorKind.InvalidData, $"{_path}.{key}", key, "appears twice", "keep one of them", k.Location);
            if (_known.Contains(key)) continue;
            var best = _known.OrderBy(c => Distance(c, key)).FirstOrDefault();
            var fix = best is not null && Distance(best, key) <= Math.Max(2, key.Length / 3)
                ? $"did you mean '{best}'?" : $"remove it; known keys here: {string.Join(", ", _known.Order(StringComparer.Ordinal))}";
            _problems.Add(MeshErrorKind.InvalidData, $"{_path}.{key}", key, "is not a known field", fix, k.Location);
        }
    }

    private static int Distance(string a, string b) => SchemaValidator.Distance(a, b);
}
