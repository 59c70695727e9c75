using System.Collections.Concurrent;
using System.Globalization;
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

    public SchemaValidator(JsonObject definitions) => _definitions = definitions;

    public List<SchemaViolation> Validate(JsonNode? value, JsonObject schema, string path = "")
    {
        var errors = new List<SchemaViolation>();
        Check(value, schema, path, errors);
        return errors;
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

    private void Check(JsonNode? value, JsonObject schema, string path, List<SchemaViolation> errors)
    {
        schema = Resolve(schema);
        if (value is null) return;

        if (schema["allOf"] is JsonArray all)
            foreach (var s in all.OfType<JsonObject>()) Check(value, s, path, errors);
        if (schema["anyOf"] is JsonArray any && !any.OfType<JsonObject>().Any(s => Validate(value, s, path).Count == 0))
            errors.AddRange(Best(value, any, path));
        if (schema["oneOf"] is JsonArray one)
        {
            var branches = one.OfType<JsonObject>().ToList();
            var matching = branches.Where(s => Validate(value, s, path).Count == 0).ToList();
            if (matching.Count == 0) errors.AddRange(Best(value, one, path));
            else if (matching.Count > 1)
            {
                var fields = matching.SelectMany(s => (Resolve(s)["required"] as JsonArray)?.Select(r => r!.GetValue<string>()) ?? Array.Empty<string>()).Distinct().ToList();
                errors.Add(new SchemaViolation(path, null,
                    fields.Count > 1 ? $"sets {string.Join(" and ", fields)}, which exclude each other" : "matches more than one alternative of its schema",
                    fields.Count > 1 ? $"keep one of {string.Join(", ", fields)}" : "remove the fields that make it ambiguous"));
            }
        }
        if (schema["not"] is JsonObject not && Validate(value, not, path).Count == 0)
        {
            var fields = (Resolve(not)["anyOf"] as JsonArray)?.OfType<JsonObject>().SelectMany(s => (s["required"] as JsonArray)?.Select(r => r!.GetValue<string>()) ?? Array.Empty<string>()).ToList();
            errors.Add(new SchemaViolation(path, null, fields is { Count: > 0 } ? $"may not set {string.Join(" or ", fields)} here" : "is not allowed here",
                "remove it, see the upstream schema"));
        }

        if (!TypeMatches(value, schema, out var wanted))
        {
            errors.Add(new SchemaViolation(path, Show(value), $"is {Describe(value)}; the schema wants {wanted}", $"write {wanted}"));
            return;
        }

        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonEquals(a, value)))
        {
            var values = allowed.Select(a => a is JsonValue v && v.TryGetValue<string>(out var s) ? s : a?.ToJsonString() ?? "null").ToList();
            errors.Add(new SchemaViolation(path, Show(value), "is not one of the values the schema takes",
                "use one of: " + string.Join(", ", values.Take(20)) + (values.Count > 20 ? $", ... ({values.Count} in all)" : "")));
        }

        switch (value)
        {
            case JsonObject obj:
                CheckObject(obj, schema, path, errors);
                break;
            case JsonArray arr:
                if (Int(schema, "minItems") is { } minItems && arr.Count < minItems)
                    errors.Add(new SchemaViolation(path, null, $"has {arr.Count} item(s); at least {minItems} are required", $"give at least {minItems}"));
                if (Int(schema, "maxItems") is { } maxItems && arr.Count > maxItems)
                    errors.Add(new SchemaViolation(path, null, $"has {arr.Count} items; at most {maxItems} are allowed", $"give at most {maxItems}"));
                if (schema["items"] is JsonObject items)
                    for (var i = 0; i < arr.Count; i++) Check(arr[i], items, $"{path}[{i}]", errors);
                break;
            case JsonValue v when v.TryGetValue<string>(out var s):
                if (Int(schema, "minLength") is { } minLength && s.Length < minLength)
                    errors.Add(new SchemaViolation(path, s, $"is shorter than {minLength} characters", $"give at least {minLength} characters"));
                if (Int(schema, "maxLength") is { } maxLength && s.Length > maxLength)
                    errors.Add(new SchemaViolation(path, Show(value), $"is longer than {maxLength} characters", $"give at most {maxLength} characters"));
                if (schema["pattern"] is JsonValue p && Pattern(p.GetValue<string>()) is { } regex && !regex.IsMatch(s))
                    errors.Add(new SchemaViolation(path, s, $"does not match the pattern {p.GetValue<string>()}", "give a value of that form"));
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number:
                var d = Number(v);
                if (schema["minimum"] is JsonValue min)
                {
                    var exclusive = schema["exclusiveMinimum"] is JsonValue em && em.GetValueKind() == JsonValueKind.True;
                    if (exclusive ? d <= Number(min) : d < Number(min))
                        errors.Add(new SchemaViolation(path, Show(value), $"is below the minimum {(exclusive ? "(exclusive) " : "")}{min.ToJsonString()}", $"use a value of at least {min.ToJsonString()}"));
                }
                if (schema["maximum"] is JsonValue max)
                {
                    var exclusive = schema["exclusiveMaximum"] is JsonValue xm && xm.GetValueKind() == JsonValueKind.True;
                    if (exclusive ? d >= Number(max) : d > Number(max))
                        errors.Add(new SchemaViolation(path, Show(value), $"is above the maximum {(exclusive ? "(exclusive) " : "")}{max.ToJsonString()}", $"use a value of at most {max.ToJsonString()}"));
                }
                break;
        }
    }

    private void CheckObject(JsonObject obj, JsonObject schema, string path, List<SchemaViolation> errors)
    {
        if (schema["required"] is JsonArray required)
            foreach (var r in required.Select(r => r!.GetValue<string>()))
                if (!obj.ContainsKey(r) || obj[r] is null)
                    errors.Add(new SchemaViolation(Join(path, r), null, "is required", $"set {r}"));
        if (Int(schema, "minProperties") is { } minP && obj.Count < minP)
            errors.Add(new SchemaViolation(path, null, $"has {obj.Count} field(s); at least {minP} are required", $"give at least {minP}"));
        if (Int(schema, "maxProperties") is { } maxP && obj.Count > maxP)
            errors.Add(new SchemaViolation(path, null, $"has {obj.Count} fields; at most {maxP} are allowed", $"give at most {maxP}"));
        var properties = schema["properties"] as JsonObject;
        var additional = schema["additionalProperties"];
        foreach (var (key, child) in obj)
        {
            var childPath = Join(path, key);
            if (properties?[key] is JsonObject ps) Check(child, ps, childPath, errors);
            else if (additional is JsonObject adds) Check(child, adds, childPath, errors);
            else if (additional is JsonValue closed && closed.GetValueKind() == JsonValueKind.False)
            {
                var known = properties?.Select(p => p.Key).ToList() ?? new List<string>();
                var best = known.OrderBy(k => Distance(k, key)).FirstOrDefault();
                var fix = best is not null && Distance(best, key) <= Math.Max(2, key.Length / 3) ? $"did you mean '{best}'?"
                    : known.Count == 0 ? "remove it: this object takes no fields"
                    : $"remove it; the fields here are: {string.Join(", ", known.Take(30))}{(known.Count > 30 ? ", ..." : "")}";
                errors.Add(new SchemaViolation(childPath, null, "is not a field of the upstream schema (unknown fields are rejected)", fix));
            }
        }
    }

    /// <summary>The errors of the alternative that comes closest, so the path points at the real mistake.</summary>
    private IEnumerable<SchemaViolation> Best(JsonNode value, JsonArray branches, string path)
    {
        var results = branches.OfType<JsonObject>().Select(s => Validate(value, s, path)).ToList();
        // Alternatives that differ only by type (int-or-string, quantities) are reported as one type error.
        var types = branches.OfType<JsonObject>().Select(s => Resolve(s)["type"]?.GetValue<string>()).ToList();
        if (types.All(t => t is not null) && results.All(r => r.Count == 1 && r[0].Path == path && r[0].Problem.Contains("the schema wants", StringComparison.Ordinal)))
            return new[] { new SchemaViolation(path, Show(value), $"is {Describe(value)}; the schema wants {string.Join(" or ", types.Select(Article))}", $"write {string.Join(" or ", types.Select(Article))}") };
        return results.OrderBy(r => r.Count).First();
    }

    private static bool TypeMatches(JsonNode value, JsonObject schema, out string wanted)
    {
        wanted = "";
        var intOrString = schema["x-kubernetes-int-or-string"] is JsonValue ios && ios.GetValueKind() == JsonValueKind.True;
        if (intOrString)
        {
            wanted = "an integer or a string";
            return value is JsonValue v && (v.GetValueKind() == JsonValueKind.String || IsInteger(v));
        }
        if (schema["type"] is not JsonValue t) return true;
        var type = t.GetValue<string>();
        wanted = Article(type);
        return type switch
        {
            "object" => value is JsonObject,
            "array" => value is JsonArray,
            "string" => value is JsonValue s && s.GetValueKind() == JsonValueKind.String,
            "boolean" => value is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
            "integer" => value is JsonValue i && IsInteger(i),
            "number" => value is JsonValue n && n.GetValueKind() == JsonValueKind.Number,
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

    private static bool IsInteger(JsonValue v) =>
        v.GetValueKind() == JsonValueKind.Number && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && Math.Floor(d) == d;

    private static string Describe(JsonNode value) => value switch
    {
        JsonObject => "a mapping",
        JsonArray => "a list",
        JsonValue v => v.GetValueKind() switch
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

    private static bool JsonEquals(JsonNode? a, JsonNode? b) =>
        a is JsonValue va && b is JsonValue vb && va.TryGetValue<string>(out var sa) && vb.TryGetValue<string>(out var sb)
            ? string.Equals(sa, sb, StringComparison.Ordinal)
            : string.Equals(a?.ToJsonString(), b?.ToJsonString(), StringComparison.Ordinal);

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
