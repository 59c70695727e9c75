using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using MeshFederation.Yaml;

namespace MeshFederation.TestKube;

/// <summary>
/// The schemas the test API server validates and defaults with, as the real one does: the upstream CRDs (structural
/// schemas: unknown fields pruned or, with fieldValidation=Strict, rejected; types, enums and required fields checked;
/// defaults applied) and the Kubernetes OpenAPI v3 documents for the built-in kinds, all read from shared/crds.
/// </summary>
public static class ApiSchemas
{
    private static readonly Lazy<string?> Directory = new(Locate);
    private static readonly Lazy<Dictionary<string, JsonObject>> Crds = new(LoadCrds);
    private static readonly ConcurrentDictionary<string, JsonObject> CoreDocs = new(StringComparer.Ordinal);
    private static readonly Lazy<JsonObject?> ObjectMetaDoc = new(() => CoreDoc("", "v1"));

    /// <summary>shared/crds: $MESHFED_SHARED/crds, else the first shared/crds found walking up from this assembly.</summary>
    public static string? CrdsDirectory => Directory.Value;

    private static string? Locate()
    {
        if (Environment.GetEnvironmentVariable("MESHFED_SHARED") is { Length: > 0 } env && System.IO.Directory.Exists(Path.Combine(env, "crds")))
            return Path.GetFullPath(Path.Combine(env, "crds"));
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
            if (System.IO.Directory.Exists(Path.Combine(dir, "shared", "crds"))) return Path.Combine(dir, "shared", "crds");
        return null;
    }

    private static readonly ConcurrentDictionary<(string, string, string), Schema?> Found = new();

    /// <summary>The schema of a kind at a version, or null when shared/crds has none (then nothing is validated).</summary>
    public static Schema? For(ResourceType t, string version) => Found.GetOrAdd((t.Group, t.Kind, version), _ => Lookup(t, version));

    private static Schema? Lookup(ResourceType t, string version)
    {
        if (CrdsDirectory is null) return null;
        if (t.IsCustom)
        {
            if (!Crds.Value.TryGetValue($"{t.Group}/{version}/{t.Kind}", out var crd)) return null;
            return new Schema(crd, null, isCrd: true);
        }
        var doc = CoreDoc(t.Group, version);
        if (doc?["components"]?["schemas"] is not JsonObject schemas) return null;
        foreach (var (_, s) in schemas)
            if (s?["x-kubernetes-group-version-kind"] is JsonArray gvks
                && gvks.Any(g => g?["group"]?.GetValue<string>() == t.Group && g["version"]?.GetValue<string>() == version && g["kind"]?.GetValue<string>() == t.Kind))
                return new Schema((JsonObject)s, schemas, isCrd: false);
        return null;
    }

    private static JsonObject? CoreDoc(string group, string version)
    {
        var file = group.Length == 0 ? $"api__{version}_openapi.json" : $"apis__{group}__{version}_openapi.json";
        var path = Path.Combine(CrdsDirectory ?? "", "kubernetes-openapi-v3", file);
        if (!File.Exists(path)) return null;
        return CoreDocs.GetOrAdd(file, _ => JsonNode.Parse(File.ReadAllText(path))!.AsObject());
    }

    private static Dictionary<string, JsonObject> LoadCrds()
    {
        var result = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        var bridge = new YamlDotNetBridge();
        // The OSSM 2.5 operator's copies are what clusters run; the Sail operator's v1 and v1alpha1; Istio 1.27.
        foreach (var dir in new[] { "maistra-istio-operator", "istio", "sail-operator", "sail-operator-v1alpha1", "ocm-api", "argocd" })
        {
            var full = Path.Combine(CrdsDirectory!, dir);
            if (!System.IO.Directory.Exists(full)) continue;
            foreach (var file in System.IO.Directory.GetFiles(full, "*.yaml").Order(StringComparer.Ordinal))
                foreach (var node in bridge.Parse(File.ReadAllText(file), file))
                {
                    if (node.ToJson() is not JsonObject doc || doc["kind"]?.GetValue<string>() != "CustomResourceDefinition") continue;
                    var group = doc["spec"]!["group"]!.GetValue<string>();
                    var kind = doc["spec"]!["names"]!["kind"]!.GetValue<string>();
                    foreach (var v in doc["spec"]!["versions"]!.AsArray())
                        if (v?["schema"]?["openAPIV3Schema"] is JsonObject schema)
                            result.TryAdd($"{group}/{v["name"]!.GetValue<string>()}/{kind}", schema);
                }
        }
        return result;
    }

    /// <summary>A resolved view of one kind's schema.</summary>
    public sealed class Schema
    {
        private readonly JsonObject _root;
        private readonly JsonObject? _components;
        private readonly bool _isCrd;
        private readonly IReadOnlyCollection<string> _unserved;

        internal Schema(JsonObject root, JsonObject? components, bool isCrd, IReadOnlyCollection<string>? unserved = null)
        {
            _root = root;
            _components = components;
            _isCrd = isCrd;
            _unserved = unserved ?? Array.Empty<string>();
        }

        /// <summary>
        /// This schema without some fields (dotted paths, list items unnamed: "spec.runtime.defaults.container.imagePullPolicy"),
        /// as an older CRD than the one in shared/crds would be.
        /// </summary>
        public Schema Without(IReadOnlyCollection<string> fields) => fields.Count == 0 ? this : new Schema(_root, _components, _isCrd, fields);

        private bool Unserved(List<Segment> path, string key) =>
            _unserved.Count > 0 && _unserved.Contains(string.Join('.', path.Where(p => p.Field is not null).Select(p => p.Field).Append(key)));

        private JsonObject Resolve(JsonObject s)
        {
            for (var i = 0; i < 8; i++)
            {
                if (s["$ref"]?.GetValue<string>() is { } r) s = Lookup(r);
                else if (s["properties"] is null && s["type"] is null && s["allOf"] is JsonArray { Count: 1 } all && all[0] is JsonObject only && only["$ref"] is not null) s = Lookup(only["$ref"]!.GetValue<string>());
                else break;
            }
            return s;
        }

        private JsonObject Lookup(string reference)
        {
            var name = reference[(reference.LastIndexOf('/') + 1)..];
            if (_components?[name] is JsonObject found) return found;
            if (ObjectMetaDoc.Value?["components"]?["schemas"]?[name] is JsonObject meta) return meta;
            return new JsonObject { ["x-kubernetes-preserve-unknown-fields"] = true };
        }

        private JsonObject ObjectMeta() => ObjectMetaDoc.Value?["components"]?["schemas"]?["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"] as JsonObject
                                           ?? new JsonObject { ["x-kubernetes-preserve-unknown-fields"] = true };

        /// <summary>The schema of a property of an object schema (metadata is always ObjectMeta), or null when unknown.</summary>
        private JsonObject? Child(JsonObject s, string key, bool atRoot)
        {
            if (atRoot && key == "metadata") return ObjectMeta();
            if (atRoot && key is "apiVersion" or "kind") return new JsonObject { ["type"] = "string" };
            if (s["properties"]?[key] is JsonObject p) return Resolve(p);
            if (s["additionalProperties"] is JsonObject ap) return Resolve(ap);
            if (s["additionalProperties"] is JsonValue v && v.GetValue<bool>()) return new JsonObject { ["x-kubernetes-preserve-unknown-fields"] = true };
            if (Preserves(s)) return new JsonObject { ["x-kubernetes-preserve-unknown-fields"] = true };
            return null;
        }

        /// <summary>Keeps unknown fields: marked so, or (built-in kinds only) an object schema that declares no fields.</summary>
        private bool Preserves(JsonObject s) =>
            s["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true
            || (!_isCrd && s["properties"] is null && s["additionalProperties"] is null && s["type"]?.GetValue<string>() is null or "object" && s["items"] is null);

        /// <summary>A list's map keys (x-kubernetes-list-map-keys, else the strategic merge key), for naming items in paths.</summary>
        public IReadOnlyList<string> ListKeys(JsonObject listSchema) =>
            listSchema["x-kubernetes-list-map-keys"] is JsonArray keys ? keys.Select(k => k!.GetValue<string>()).ToList()
            : listSchema["x-kubernetes-patch-merge-key"]?.GetValue<string>() is { } key ? new[] { key } : Array.Empty<string>();

        /// <summary>Fields the schema does not declare, as path segment lists.</summary>
        public List<List<Segment>> UnknownFields(JsonObject obj)
        {
            var found = new List<List<Segment>>();
            Walk(obj, Resolve(_root), new List<Segment>(), atRoot: true, (node, schema, path) =>
            {
                if (node is not JsonObject o || schema is null) return;
                foreach (var (k, _) in o)
                    if (Child(schema, k, path.Count == 0) is null || Unserved(path, k)) found.Add(new List<Segment>(path) { new(k, null) });
            });
            return found;
        }

        /// <summary>Removes the fields the schema does not declare (what the server does without Strict validation).</summary>
        public void Prune(JsonObject obj)
        {
            Walk(obj, Resolve(_root), new List<Segment>(), atRoot: true, (node, schema, path) =>
            {
                if (node is not JsonObject o || schema is null) return;
                foreach (var k in o.Select(kv => kv.Key).ToList())
                    if (Child(schema, k, path.Count == 0) is null || Unserved(path, k)) o.Remove(k);
            });
        }

        /// <summary>Applies the schema's defaults (structural-schema defaulting of custom resources).</summary>
        public void Default(JsonObject obj)
        {
            if (!_isCrd) return;
            Walk(obj, Resolve(_root), new List<Segment>(), atRoot: true, (node, schema, path) =>
            {
                if (node is not JsonObject o || schema?["properties"] is not JsonObject props) return;
                foreach (var (k, p) in props)
                    if (!o.ContainsKey(k) && p?["default"] is { } d && !(path.Count == 0 && k == "metadata")) o[k] = d.DeepClone();
            }, before: true);
        }

        /// <summary>Type, enum and required-field errors, as "path: message".</summary>
        public List<string> Invalid(JsonObject obj)
        {
            var errors = new List<string>();
            Check(obj, Resolve(_root), new List<Segment>(), atRoot: true, errors);
            return errors;
        }

        private void Check(JsonNode? node, JsonObject schema, List<Segment> path, bool atRoot, List<string> errors)
        {
            if (errors.Count > 20) return;
            var where = Segment.Format(path, ssa: false);
            if (node is null)
            {
                if (schema["nullable"]?.GetValue<bool>() != true && !atRoot && _isCrd) errors.Add($"{where}: Invalid value: \"null\": {where} in body must be of type {schema["type"]?.GetValue<string>() ?? "object"}: \"null\"");
                return;
            }
            var type = schema["type"]?.GetValue<string>();
            var intOrString = schema["x-kubernetes-int-or-string"]?.GetValue<bool>() == true || schema["format"]?.GetValue<string>() == "int-or-string";
            var oneOfTypes = (schema["oneOf"] as JsonArray)?.Select(x => x?["type"]?.GetValue<string>()).Where(x => x is not null).ToList();
            string Actual()
            {
                switch (node.GetValueKind())
                {
                    case System.Text.Json.JsonValueKind.Object: return "object";
                    case System.Text.Json.JsonValueKind.Array: return "array";
                    case System.Text.Json.JsonValueKind.String: return "string";
                    case System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False: return "boolean";
                    default: return long.TryParse(node.ToJsonString(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _) ? "integer" : "number";
                }
            }
            var actual = Actual();
            bool Accepts(string t) => t == actual || (t == "number" && actual == "integer")
                                      || (t == "integer" && actual == "number" && double.TryParse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture, out var d) && Math.Floor(d) == d);
            if (intOrString) { if (actual is not ("integer" or "string")) errors.Add($"{where}: Invalid value: \"{actual}\": {where} in body must be of type integer or string: \"{actual}\""); return; }
            if (oneOfTypes is { Count: > 0 } && type is null) { if (!oneOfTypes.Any(t => Accepts(t!))) errors.Add($"{where}: Invalid value: \"{actual}\": {where} in body must be of type {string.Join(" or ", oneOfTypes)}: \"{actual}\""); return; }
            if (type is not null && !Accepts(type))
            {
                errors.Add($"{where}: Invalid value: \"{actual}\": {where} in body must be of type {type}: \"{actual}\"");
                return;
            }
            if (_isCrd && schema["enum"] is JsonArray en && node is JsonValue && !en.Any(e => JsonNode.DeepEquals(e, node)))
                errors.Add($"{where}: Unsupported value: {node.ToJsonString()}: supported values: {string.Join(", ", en.Select(e => e!.ToJsonString()))}");
            if (node is JsonObject o)
            {
                if (_isCrd && schema["required"] is JsonArray req)
                    foreach (var r in req.Select(x => x!.GetValue<string>()))
                        if (!o.ContainsKey(r)) errors.Add($"{Segment.Format(new List<Segment>(path) { new(r, null) }, ssa: false)}: Required value");
                foreach (var (k, v) in o)
                {
                    var child = Child(schema, k, atRoot);
                    if (child is null || (atRoot && k == "metadata")) continue;
                    Check(v, child, new List<Segment>(path) { new(k, null) }, false, errors);
                }
            }
            else if (node is JsonArray a && schema["items"] is JsonObject items)
            {
                var itemSchema = Resolve(items);
                for (var i = 0; i < a.Count; i++) Check(a[i], itemSchema, new List<Segment>(path) { new(null, Item(a[i], schema, i), i) }, false, errors);
            }
        }

        private string Item(JsonNode? item, JsonObject listSchema, int index)
        {
            var keys = ListKeys(listSchema);
            if (keys.Count > 0 && item is JsonObject io && keys.All(io.ContainsKey))
                return string.Join(",", keys.Select(k => $"{k}={io[k]!.ToJsonString()}"));
            return index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        private void Walk(JsonNode? node, JsonObject? schema, List<Segment> path, bool atRoot, Action<JsonNode?, JsonObject?, List<Segment>> visit, bool before = false)
        {
            if (schema is null || node is null) return;
            if (schema["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true && schema["properties"] is null) return;
            if (before) visit(node, schema, path);
            if (node is JsonObject o)
            {
                foreach (var (k, v) in o.ToList())
                {
                    var child = Child(schema, k, atRoot);
                    if (child is not null) Walk(v, child, new List<Segment>(path) { new(k, null) }, false, visit, before);
                }
            }
            else if (node is JsonArray a && schema["items"] is JsonObject items)
            {
                var itemSchema = Resolve(items);
                for (var i = 0; i < a.Count; i++) Walk(a[i], itemSchema, new List<Segment>(path) { new(null, Item(a[i], schema, i), i) }, false, visit, before);
            }
            if (!before) visit(node, schema, path);
        }

        /// <summary>The schema of a list at a path (for strategic merge patch keys), or null.</summary>
        public JsonObject? ListSchemaAt(IReadOnlyList<string> path)
        {
            JsonObject? s = Resolve(_root);
            for (var i = 0; i < path.Count && s is not null; i++)
            {
                s = Child(s, path[i], i == 0);
                if (s is not null && i < path.Count - 1 && s["items"] is JsonObject items && s["type"]?.GetValue<string>() == "array") s = Resolve(items);
            }
            return s?["type"]?.GetValue<string>() == "array" ? s : null;
        }
    }

    /// <summary>A path segment: a field name, or a list item (its map keys, or its index).</summary>
    public sealed record Segment(string? Field, string? Item, int Index = -1)
    {
        /// <summary>Server-side apply style (.spec.ports[port=80,protocol="TCP"].x) or decoding style (spec.ports[0].x).</summary>
        public static string Format(IReadOnlyList<Segment> path, bool ssa)
        {
            var sb = new System.Text.StringBuilder();
            foreach (var s in path)
            {
                if (s.Field is not null) sb.Append(sb.Length > 0 || ssa ? "." : "").Append(s.Field);
                else sb.Append('[').Append(ssa || s.Index < 0 ? s.Item : s.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(']');
            }
            return sb.ToString();
        }
    }
}
