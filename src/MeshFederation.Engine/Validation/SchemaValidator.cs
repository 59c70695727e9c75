using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MeshFederation.Engine.Validation;

/// <summary>One place where an object breaks its schema: the field path, the value, what is wrong and the fix.</summary>
public sealed record SchemaViolation(string Path, string? Value, string Problem, string Fix)
{
    public override string ToString() => $"{Path}{(Value is null ? "" : $" = '{Value}'")}: {Problem}. Fix: {Fix}";
}

/// <summary>
/// Validates JSON against the structural OpenAPI v3 schemas Kubernetes uses (CRD openAPIV3Schema, the Kubernetes
/// OpenAPI): type (with nullable and x-kubernetes-int-or-string), enum, required, properties, additionalProperties
/// (objects are closed where the shipped schema says additionalProperties: false), items, pattern, length, range and
/// count limits, allOf/anyOf/oneOf/not and $ref. CEL rules (x-kubernetes-validations) are not evaluated. Nulls are
/// accepted, as the API server prunes them.
/// </summary>
public sealed class SchemaValidator
{
    private static readonly ConcurrentDictionary<string, Regex?> Patterns = new(StringComparer.Ordinal);
    private readonly JsonObject _definitions;

    // Every schema object met is read once into a Compiled (its values decoded from the JSON), keyed by the object
    // itself: a schema parsed from JSON holds element-backed values that would otherwise be transcoded on every
    // lookup. Reading JSON nodes is not thread-safe (JsonObject builds its index lazily), so compiling is serialized;
    // validating with compiled schemas is safe from several threads.
    private readonly ConditionalWeakTable<JsonObject, Compiled> _compiled = new();
    private readonly object _gate = new();

    /// <summary>The lock under which schema JSON is read; others reading the same schema objects take it too.</summary>
    internal object SyncRoot => _gate;

    public SchemaValidator(JsonObject definitions) => _definitions = definitions;

    public List<SchemaViolation> Validate(JsonNode? value, JsonObject schema, string path = "")
    {
        var errors = new List<SchemaViolation>();
        Check(value, Compile(schema), new FieldPath(path), errors);
        return errors;
    }

    private List<SchemaViolation> Validate(JsonNode? value, Compiled schema, FieldPath path)
    {
        var errors = new List<SchemaViolation>();
        Check(value, schema, path, errors);
        return errors;
    }

    /// <summary>
    /// The path of the field being judged, as a stack of keys and indexes: its text (e.g. <c>spec.ports[0].name</c>) is
    /// only made when a violation names it. Judging a valid object allocates no path strings (a 200-mesh topology has
    /// millions of fields).
    /// </summary>
    private sealed class FieldPath
    {
        private readonly string _root;
        private readonly List<(string? Key, int Index)> _parts = new();
        private string? _text;

        public FieldPath(string root) => _root = root;

        public void Push(string key) { _parts.Add((key, -1)); _text = null; }

        public void Push(int index) { _parts.Add((null, index)); _text = null; }

        public void Pop() { _parts.RemoveAt(_parts.Count - 1); _text = null; }

        /// <summary>The text the path had when it was built by string joins: key after key with dots, [i] after a list.</summary>
        public override string ToString()
        {
            if (_text is not null) return _text;
            var text = _root;
            foreach (var (key, index) in _parts)
                text = key is not null ? Join(text, key) : string.Create(CultureInfo.InvariantCulture, $"{text}[{index}]");
            return _text = text;
        }
    }

    /// <summary>A schema object ($ref resolved) with its values decoded once.</summary>
    private sealed class Compiled
    {
        public Compiled[]? AllOf, AnyOf, OneOf;
        public Compiled? Not, Items, AdditionalSchema;
        public bool AdditionalClosed, IntOrString;
        public string? Type;
        public (string? Text, string Json)[]? Enum;
        public int? MinItems, MaxItems, MinLength, MaxLength, MinProperties, MaxProperties;
        public string? PatternText;
        public Regex? Pattern;
        public double? Minimum, Maximum;
        public string? MinimumText, MaximumText;
        public bool ExclusiveMinimum, ExclusiveMaximum;
        public string[]? Required;
        public string[]? NotAnyOfRequired; // the "required" of each anyOf branch of a "not" schema (its message)
        public Dictionary<string, Compiled>? Properties;
        public string[] PropertyNames = Array.Empty<string>();
        public bool Ready;
    }

    private Compiled Compile(JsonObject schema)
    {
        if (_compiled.TryGetValue(schema, out var done) && Volatile.Read(ref done.Ready)) return done;
        lock (_gate)
        {
            var compiled = CompileLocked(schema);
            // Published only once complete: another thread may take a compiled schema without the lock.
            foreach (var c in _fresh) Volatile.Write(ref c.Ready, true);
            _fresh.Clear();
            return compiled;
        }
    }

    private readonly List<Compiled> _fresh = new();

    private Compiled CompileLocked(JsonObject raw)
    {
        if (_compiled.TryGetValue(raw, out var done)) return done;
        var c = new Compiled();
        _fresh.Add(c);
        _compiled.Add(raw, c); // before the children: recursive definitions refer to it
        var schema = Resolve(raw);
        Compiled[]? Branches(string key) => schema[key] is JsonArray a ? a.OfType<JsonObject>().Select(CompileLocked).ToArray() : null;
        c.AllOf = Branches("allOf");
        c.AnyOf = Branches("anyOf");
        c.OneOf = Branches("oneOf");
        if (schema["not"] is JsonObject not)
        {
            c.Not = CompileLocked(not);
            c.NotAnyOfRequired = (Resolve(not)["anyOf"] as JsonArray)?.OfType<JsonObject>().SelectMany(b => (b["required"] as JsonArray)?.Select(r => r!.GetValue<string>()) ?? Array.Empty<string>()).ToArray();
        }
        c.IntOrString = schema["x-kubernetes-int-or-string"] is JsonValue ios && ios.GetValueKind() == JsonValueKind.True;
        c.Type = schema["type"] is JsonValue t ? t.GetValue<string>() : null;
        c.Enum = schema["enum"] is JsonArray allowed ? allowed.Select(a => (a is JsonValue v && v.TryGetValue<string>(out var text) ? text : null, a?.ToJsonString() ?? "null")).ToArray() : null;
        c.MinItems = Int(schema, "minItems");
        c.MaxItems = Int(schema, "maxItems");
        c.MinLength = Int(schema, "minLength");
        c.MaxLength = Int(schema, "maxLength");
        c.MinProperties = Int(schema, "minProperties");
        c.MaxProperties = Int(schema, "maxProperties");
        if (schema["items"] is JsonObject items) c.Items = CompileLocked(items);
        if (schema["pattern"] is JsonValue p)
        {
            c.PatternText = p.GetValue<string>();
            c.Pattern = Pattern(c.PatternText);
        }
        if (schema["minimum"] is JsonValue min)
        {
            c.Minimum = Number(min);
            c.MinimumText = min.ToJsonString();
            c.ExclusiveMinimum = schema["exclusiveMinimum"] is JsonValue em && em.GetValueKind() == JsonValueKind.True;
        }
        if (schema["maximum"] is JsonValue max)
        {
            c.Maximum = Number(max);
            c.MaximumText = max.ToJsonString();
            c.ExclusiveMaximum = schema["exclusiveMaximum"] is JsonValue xm && xm.GetValueKind() == JsonValueKind.True;
        }
        c.Required = schema["required"] is JsonArray required ? required.Select(r => r!.GetValue<string>()).ToArray() : null;
        if (schema["properties"] is JsonObject properties)
        {
            c.PropertyNames = properties.Select(kv => kv.Key).ToArray();
            c.Properties = new Dictionary<string, Compiled>(StringComparer.Ordinal);
            foreach (var (key, ps) in properties)
                if (ps is JsonObject pso) c.Properties[key] = CompileLocked(pso);
        }
        var additional = schema["additionalProperties"];
        if (additional is JsonObject adds) c.AdditionalSchema = CompileLocked(adds);
        else c.AdditionalClosed = additional is JsonValue closed && closed.GetValueKind() == JsonValueKind.False;
        return c;
    }

    private JsonObject Resolve(JsonObject schema)
    {
        var guard = 0;
        while (schema["$ref"] is JsonValue r && guard++ < 32)
        {
            var name = r.GetValue<string>();
            const string prefix = "#/definitions/";
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || _definitions[name[prefix.Length..]] is not JsonObject target) break;
            if (schema.Count == 1) schema = target;
            else
            {
                // $ref with siblings: the siblings apply too.
                var merged = new JsonObject();
                foreach (var (k, v) in target) merged[k] = v?.DeepClone();
                foreach (var (k, v) in schema) if (k != "$ref") merged[k] = v?.DeepClone();
                schema = merged;
            }
        }
        return schema;
    }

    private void Check(JsonNode? value, Compiled schema, FieldPath path, List<SchemaViolation> errors)
    {
        if (value is null) return;

        if (schema.AllOf is { } all)
            foreach (var s in all) Check(value, s, path, errors);
        if (schema.AnyOf is { } any && !any.Any(s => Validate(value, s, path).Count == 0))
            errors.AddRange(Best(value, any, path));
        if (schema.OneOf is { } one)
        {
            var matching = one.Where(s => Validate(value, s, path).Count == 0).ToList();
            if (matching.Count == 0) errors.AddRange(Best(value, one, path));
            else if (matching.Count > 1)
            {
                var fields = matching.SelectMany(s => s.Required ?? Array.Empty<string>()).Distinct().ToList();
                errors.Add(new SchemaViolation(path.ToString(), null,
                    fields.Count > 1 ? $"sets {string.Join(" and ", fields)}, which exclude each other" : "matches more than one alternative of its schema",
                    fields.Count > 1 ? $"keep one of {string.Join(", ", fields)}" : "remove the fields that make it ambiguous"));
            }
        }
        if (schema.Not is { } not && Validate(value, not, path).Count == 0)
        {
            var fields = schema.NotAnyOfRequired;
            errors.Add(new SchemaViolation(path.ToString(), null, fields is { Length: > 0 } ? $"may not set {string.Join(" or ", fields)} here" : "is not allowed here",
                "remove it, see the upstream schema"));
        }

        if (!TypeMatches(value, schema, out var wanted))
        {
            errors.Add(new SchemaViolation(path.ToString(), Show(value), $"is {Describe(value)}; the schema wants {wanted}", $"write {wanted}"));
            return;
        }

        if (schema.Enum is { } allowed && !allowed.Any(a => EnumEquals(a, value)))
        {
            var values = allowed.Select(a => a.Text ?? a.Json).ToList();
            errors.Add(new SchemaViolation(path.ToString(), Show(value), "is not one of the values the schema takes",
                "use one of: " + string.Join(", ", values.Take(20)) + (values.Count > 20 ? $", ... ({values.Count} in all)" : "")));
        }

        switch (value)
        {
            case JsonObject obj:
                CheckObject(obj, schema, path, errors);
                break;
            case JsonArray arr:
                if (schema.MinItems is { } minItems && arr.Count < minItems)
                    errors.Add(new SchemaViolation(path.ToString(), null, $"has {arr.Count} item(s); at least {minItems} are required", $"give at least {minItems}"));
                if (schema.MaxItems is { } maxItems && arr.Count > maxItems)
                    errors.Add(new SchemaViolation(path.ToString(), null, $"has {arr.Count} items; at most {maxItems} are allowed", $"give at most {maxItems}"));
                if (schema.Items is { } items)
                    for (var i = 0; i < arr.Count; i++)
                    {
                        path.Push(i);
                        Check(arr[i], items, path, errors);
                        path.Pop();
                    }
                break;
            case JsonValue v when v.TryGetValue<string>(out var s):
                if (schema.MinLength is { } minLength && s.Length < minLength)
                    errors.Add(new SchemaViolation(path.ToString(), s, $"is shorter than {minLength} characters", $"give at least {minLength} characters"));
                if (schema.MaxLength is { } maxLength && s.Length > maxLength)
                    errors.Add(new SchemaViolation(path.ToString(), Show(value), $"is longer than {maxLength} characters", $"give at most {maxLength} characters"));
                if (schema.Pattern is { } regex && !regex.IsMatch(s))
                    errors.Add(new SchemaViolation(path.ToString(), s, $"does not match the pattern {schema.PatternText}", "give a value of that form"));
                break;
            case JsonValue v when Kind(v) == JsonValueKind.Number:
                if (schema.Minimum is null && schema.Maximum is null) break;
                var d = Number(v);
                if (schema.Minimum is { } min)
                {
                    var exclusive = schema.ExclusiveMinimum;
                    if (exclusive ? d <= min : d < min)
                        errors.Add(new SchemaViolation(path.ToString(), Show(value), $"is below the minimum {(exclusive ? "(exclusive) " : "")}{schema.MinimumText}", $"use a value of at least {schema.MinimumText}"));
                }
                if (schema.Maximum is { } max)
                {
                    var exclusive = schema.ExclusiveMaximum;
                    if (exclusive ? d >= max : d > max)
                        errors.Add(new SchemaViolation(path.ToString(), Show(value), $"is above the maximum {(exclusive ? "(exclusive) " : "")}{schema.MaximumText}", $"use a value of at most {schema.MaximumText}"));
                }
                break;
        }
    }

    private void CheckObject(JsonObject obj, Compiled schema, FieldPath path, List<SchemaViolation> errors)
    {
        if (schema.Required is { } required)
            foreach (var r in required)
                if (!obj.ContainsKey(r) || obj[r] is null)
                    errors.Add(new SchemaViolation(Join(path.ToString(), r), null, "is required", $"set {r}"));
        if (schema.MinProperties is { } minP && obj.Count < minP)
            errors.Add(new SchemaViolation(path.ToString(), null, $"has {obj.Count} field(s); at least {minP} are required", $"give at least {minP}"));
        if (schema.MaxProperties is { } maxP && obj.Count > maxP)
            errors.Add(new SchemaViolation(path.ToString(), null, $"has {obj.Count} fields; at most {maxP} are allowed", $"give at most {maxP}"));
        foreach (var (key, child) in obj)
        {
            if (schema.Properties is { } properties && properties.TryGetValue(key, out var ps)) CheckField(child, ps, key, path, errors);
            else if (schema.AdditionalSchema is { } adds) CheckField(child, adds, key, path, errors);
            else if (schema.AdditionalClosed)
            {
                var known = schema.PropertyNames;
                var best = known.OrderBy(k => Distance(k, key)).FirstOrDefault();
                var fix = best is not null && Distance(best, key) <= Math.Max(2, key.Length / 3) ? $"did you mean '{best}'?"
                    : known.Length == 0 ? "remove it: this object takes no fields"
                    : $"remove it; the fields here are: {string.Join(", ", known.Take(30))}{(known.Length > 30 ? ", ..." : "")}";
                errors.Add(new SchemaViolation(Join(path.ToString(), key), null, "is not a field of the upstream schema (unknown fields are rejected)", fix));
            }
        }
    }

    private void CheckField(JsonNode? child, Compiled schema, string key, FieldPath path, List<SchemaViolation> errors)
    {
        if (child is null) return; // nulls are accepted (pruned by the API server)
        path.Push(key);
        Check(child, schema, path, errors);
        path.Pop();
    }

    /// <summary>The errors of the alternative that comes closest, so the path points at the real mistake.</summary>
    private IEnumerable<SchemaViolation> Best(JsonNode value, Compiled[] branches, FieldPath path)
    {
        var results = branches.Select(s => Validate(value, s, path)).ToList();
        // Alternatives that differ only by type (int-or-string, quantities) are reported as one type error.
        var types = branches.Select(s => s.Type).ToList();
        if (types.All(t => t is not null) && results.All(r => r.Count == 1 && r[0].Path == path.ToString() && r[0].Problem.Contains("the schema wants", StringComparison.Ordinal)))
            return new[] { new SchemaViolation(path.ToString(), Show(value), $"is {Describe(value)}; the schema wants {string.Join(" or ", types.Select(Article))}", $"write {string.Join(" or ", types.Select(Article))}") };
        return results.OrderBy(r => r.Count).First();
    }

    private static bool TypeMatches(JsonNode value, Compiled schema, out string wanted)
    {
        wanted = "";
        if (schema.IntOrString)
        {
            wanted = "an integer or a string";
            return value is JsonValue v && (Kind(v) == JsonValueKind.String || IsInteger(v));
        }
        if (schema.Type is not { } type) return true;
        wanted = Article(type);
        return type switch
        {
            "object" => value is JsonObject,
            "array" => value is JsonArray,
            "string" => value is JsonValue s && Kind(s) == JsonValueKind.String,
            "boolean" => value is JsonValue b && Kind(b) is JsonValueKind.True or JsonValueKind.False,
            "integer" => value is JsonValue i && IsInteger(i),
            "number" => value is JsonValue n && Kind(n) == JsonValueKind.Number,
            _ => true,
        };
    }

    private static string Article(string? type) => type switch
    {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "boolean" => "true or false",
        "integer" => "an integer",
        "number" => "a number",
        _ => type ?? "a value",
    };

    /// <summary>
    /// The kind of a JSON value. <c>JsonNode.GetValueKind()</c> of a value made in code (not parsed) serializes
    /// it and parses the text again on System.Text.Json 8 (what the engine runs on in PowerShell 7.4 and the native
    /// meshfed): rendered objects hold millions of such values. Values of other types than those read here take it.
    /// </summary>
    internal static JsonValueKind Kind(JsonValue v)
    {
        if (v.TryGetValue<JsonElement>(out var element)) return element.ValueKind;
        if (v.TryGetValue<string>(out _)) return JsonValueKind.String;
        if (v.TryGetValue<bool>(out var flag)) return flag ? JsonValueKind.True : JsonValueKind.False;
        if (v.TryGetValue<int>(out _) || v.TryGetValue<long>(out _)) return JsonValueKind.Number;
        return v.GetValueKind();
    }

    private static bool IsInteger(JsonValue v) =>
        Kind(v) == JsonValueKind.Number && (v.TryGetValue<int>(out _) || v.TryGetValue<long>(out _) || double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && Math.Floor(d) == d);

    private static string Describe(JsonNode value) => value switch
    {
        JsonObject => "a mapping",
        JsonArray => "a list",
        JsonValue v => Kind(v) switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => IsInteger(v) ? "an integer" : "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "a value",
        },
        _ => "a value",
    };

    internal static string? Show(JsonNode? value) => value switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s.Length > 80 ? s[..77] + "..." : s,
        JsonValue v => v.ToJsonString(),
        _ => value.ToJsonString() is { Length: > 80 } long_ ? long_[..77] + "..." : value.ToJsonString(),
    };

    private static bool EnumEquals((string? Text, string Json) allowed, JsonNode value) =>
        allowed.Text is not null && value is JsonValue v && v.TryGetValue<string>(out var s)
            ? string.Equals(allowed.Text, s, StringComparison.Ordinal)
            : string.Equals(allowed.Json, value.ToJsonString(), StringComparison.Ordinal);

    private static int? Int(JsonObject schema, string key) => schema[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? (int)Number(v) : null;

    private static double Number(JsonValue v) => double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    private static Regex? Pattern(string pattern) => Patterns.GetOrAdd(pattern, p =>
    {
        try
        {
            return new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException)
        {
            return null; // an ECMA construct .NET does not take: not judged
        }
    });

    /// <summary>Case-insensitive edit distance, for "did you mean" fixes.</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
