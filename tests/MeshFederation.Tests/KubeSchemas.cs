using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using MeshFederation.Yaml;
using NJsonSchema;

namespace MeshFederation.Tests;

/// <summary>
/// The schema judge: the upstream CRDs and the Kubernetes OpenAPI in shared/crds, turned into JSON Schemas that an
/// independent validator (NJsonSchema) applies with unknown fields rejected — objects are closed unless marked
/// x-kubernetes-preserve-unknown-fields, as the API server prunes them.
/// </summary>
internal static class KubeSchemas
{
    private static readonly Lazy<Dictionary<string, JsonObject>> CrdSchemaJson = new(LoadCrds);
    private static readonly Lazy<Dictionary<string, (JsonObject Doc, string Definition)>> CoreSchemaJson = new(LoadCore);
    private static readonly ConcurrentDictionary<string, JsonSchema> Compiled = new();

    /// <summary>Validates one object; returns the problems (empty when valid).</summary>
    public static IReadOnlyList<string> Validate(JsonObject obj)
    {
        var apiVersion = obj["apiVersion"]?.GetValue<string>() ?? throw new ArgumentException("apiVersion missing");
        var kind = obj["kind"]?.GetValue<string>() ?? throw new ArgumentException("kind missing");
        var key = $"{apiVersion}/{kind}";
        var errors = new List<string>();
        if (CrdSchemaJson.Value.ContainsKey(key))
        {
            var schema = Compiled.GetOrAdd(key, k => JsonSchema.FromJsonAsync(CrdSchemaJson.Value[k].ToJsonString()).GetAwaiter().GetResult());
            var body = (JsonObject)obj.DeepClone();
            var metadata = body["metadata"];
            body["metadata"] = new JsonObject();
            errors.AddRange(Flatten(schema.Validate(body.ToJsonString())).Select(e => $"{key} {e.Path}: {e.Kind}"));
            var meta = CoreSchema("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
            errors.AddRange(Flatten(meta.Validate(metadata?.ToJsonString() ?? "{}")).Select(e => $"{key} metadata{e.Path.TrimStart('#')}: {e.Kind}"));
        }
        else if (CoreSchemaJson.Value.TryGetValue(key, out var core))
        {
            var schema = CoreSchema(core.Definition);
            errors.AddRange(Flatten(schema.Validate(obj.ToJsonString())).Select(e => $"{key} {e.Path}: {e.Kind}"));
        }
        else throw new InvalidOperationException($"no schema for {key} in shared/crds");
        return errors;
    }

    /// <summary>Leaf errors with their full paths (NJsonSchema nests errors of anyOf/oneOf and child schemas).</summary>
    private static IEnumerable<NJsonSchema.Validation.ValidationError> Flatten(IEnumerable<NJsonSchema.Validation.ValidationError> errors)
    {
        foreach (var e in errors)
        {
            if (e is NJsonSchema.Validation.ChildSchemaValidationError child && child.Errors.Count > 0)
            {
                yield return e;
                foreach (var inner in Flatten(child.Errors.SelectMany(kv => kv.Value))) yield return inner;
            }
            else yield return e;
        }
    }

    public static bool Knows(string apiVersion, string kind) =>
        CrdSchemaJson.Value.ContainsKey($"{apiVersion}/{kind}") || CoreSchemaJson.Value.ContainsKey($"{apiVersion}/{kind}");

    private static JsonSchema CoreSchema(string definition) =>
        Compiled.GetOrAdd("core:" + definition, _ =>
        {
            var (doc, _) = CoreSchemaJson.Value.Values.First(v => v.Doc["definitions"]!.AsObject().ContainsKey(definition));
            var defs = doc["definitions"]!.AsObject();
            var root = defs[definition]!.DeepClone().AsObject();
            root["definitions"] = defs.DeepClone();
            return JsonSchema.FromJsonAsync(root.ToJsonString()).GetAwaiter().GetResult();
        });

    private static Dictionary<string, JsonObject> LoadCrds()
    {
        var bridge = new YamlDotNetBridge();
        var result = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        // maistra-api carries descriptions but the same schemas as the operator copies; the operator copies are what
        // OSSM 2.5 installs, so they win where both exist.
        foreach (var dir in new[] { "maistra-api", "maistra-istio-operator", "istio", "sail-operator", "sail-operator-v1alpha1", "ocm-multicluster-mesh", "gateway-api" })
            foreach (var file in Directory.GetFiles(Path.Combine(Paths.Crds, dir), "*.yaml").Order())
                foreach (var node in bridge.Parse(File.ReadAllText(file), file))
                {
                    var doc = node.ToJson() as JsonObject;
                    if (doc?["kind"]?.GetValue<string>() != "CustomResourceDefinition") continue;
                    var group = doc["spec"]!["group"]!.GetValue<string>();
                    var kind = doc["spec"]!["names"]!["kind"]!.GetValue<string>();
                    foreach (var v in doc["spec"]!["versions"]!.AsArray())
                    {
                        if (v!["served"]?.GetValue<bool>() == false) continue;
                        var schema = v["schema"]?["openAPIV3Schema"]?.DeepClone() as JsonObject;
                        if (schema is null) continue;
                        var props = schema["properties"] as JsonObject ?? new JsonObject();
                        schema["properties"] = props;
                        props["apiVersion"] = new JsonObject { ["type"] = "string" };
                        props["kind"] = new JsonObject { ["type"] = "string" };
                        props["metadata"] = new JsonObject { ["type"] = "object" };
                        schema.Remove("x-kubernetes-preserve-unknown-fields");
                        Close(schema, isCrd: true);
                        result[$"{group}/{v["name"]!.GetValue<string>()}/{kind}"] = schema;
                    }
                }
        return result;
    }

    private static Dictionary<string, (JsonObject, string)> LoadCore()
    {
        var result = new Dictionary<string, (JsonObject, string)>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Path.Combine(Paths.Crds, "kubernetes-openapi-v3"), "*.json").Order())
        {
            var doc = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            var schemas = doc["components"]!["schemas"]!.AsObject();
            var defs = new JsonObject();
            foreach (var (name, schema) in schemas)
            {
                var s = schema!.DeepClone().AsObject();
                RewriteRefs(s);
                Close(s, isCrd: false);
                defs[name] = s;
            }
            var wrapper = new JsonObject { ["definitions"] = defs };
            foreach (var (name, schema) in schemas)
                if (schema!["x-kubernetes-group-version-kind"] is JsonArray gvks)
                    foreach (var gvk in gvks)
                    {
                        var g = gvk!["group"]!.GetValue<string>();
                        var apiVersion = g.Length == 0 ? gvk["version"]!.GetValue<string>() : $"{g}/{gvk["version"]!.GetValue<string>()}";
                        result[$"{apiVersion}/{gvk["kind"]!.GetValue<string>()}"] = (wrapper, name);
                    }
        }
        return result;
    }

    /// <summary>OpenAPI v3 component references as JSON Schema definitions references.</summary>
    internal static void RewriteRefs(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["$ref"] is JsonValue r && r.GetValue<string>().StartsWith("#/components/schemas/", StringComparison.Ordinal))
                    o["$ref"] = "#/definitions/" + r.GetValue<string>()["#/components/schemas/".Length..];
                foreach (var (_, v) in o.ToList()) RewriteRefs(v);
                break;
            case JsonArray a:
                foreach (var v in a) RewriteRefs(v);
                break;
        }
    }

    /// <summary>
    /// Closes objects (additionalProperties: false) unless they preserve unknown fields; maps nullable and int-or-string.
    /// Alternatives (allOf/anyOf/oneOf/not) only constrain, as the API server prunes by the enclosing properties, so
    /// nothing under them is closed.
    /// </summary>
    private static void Close(JsonObject s, bool isCrd, bool inBranch = false)
    {
        if (s["x-kubernetes-int-or-string"]?.GetValue<bool>() == true && s["anyOf"] is null && s["type"] is null)
            s["type"] = new JsonArray("integer", "string");
        if (s["nullable"]?.GetValue<bool>() == true && s["type"] is JsonValue t)
            s["type"] = new JsonArray(t.GetValue<string>(), "null");
        var preserve = s["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;
        var isObject = s["type"] is JsonValue tv && tv.GetValue<string>() == "object";
        if (!inBranch && !preserve && s["additionalProperties"] is null && (s["properties"] is not null || (isCrd && isObject)))
            s["additionalProperties"] = false;
        // Formats like int32/int64/byte are OpenAPI hints, not JSON Schema assertions.
        if (s["format"] is JsonValue f && f.GetValue<string>() is "int32" or "int64" or "byte" or "double" or "int-or-string" or "date-time")
            s.Remove("format");
        foreach (var key in new[] { "properties", "patternProperties", "definitions" })
            if (s[key] is JsonObject props)
                foreach (var (_, v) in props) if (v is JsonObject child) Close(child, isCrd, inBranch && key != "definitions");
        foreach (var key in new[] { "items", "additionalProperties" })
            if (s[key] is JsonObject child) Close(child, isCrd, inBranch);
        if (s["not"] is JsonObject negated) Close(negated, isCrd, inBranch: true);
        foreach (var key in new[] { "allOf", "anyOf", "oneOf" })
            if (s[key] is JsonArray arr)
                foreach (var v in arr) if (v is JsonObject child) Close(child, isCrd, inBranch: true);
    }
}
