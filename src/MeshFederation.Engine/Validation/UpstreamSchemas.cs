using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;

namespace MeshFederation.Engine.Validation;

/// <summary>
/// The upstream schemas of every kind the tool renders, shipped inside the engine as one Brotli-compressed JSON
/// resource (Schemas/upstream-schemas.json.br): the Maistra/OSSM 2.5 CRDs, Istio 1.27 networking CRDs, the Sail
/// operator's Istio and IstioCNI (sailoperator.io/v1 at 1.27.3 and v1alpha1 at 0.2.0), and the Kubernetes 1.33 OpenAPI
/// definitions of the core, apps, policy, autoscaling and rbac kinds. Descriptions are stripped and objects are closed
/// (additionalProperties: false) where the API server prunes unknown fields, so validation rejects them offline,
/// as kubeconform does. The bundle names its sources (repo, path, commit); tests keep it equal to shared/crds.
/// </summary>
public static class UpstreamSchemas
{
    public const string ResourceFile = "upstream-schemas.json.br";
    private const string ResourceName = "MeshFederation.Engine.Schemas." + ResourceFile;

    private static readonly Lazy<(JsonObject Bundle, SchemaValidator Validator)> Loaded = new(Load);

    /// <summary>The compressed resource as shipped.</summary>
    public static byte[] ReadEmbeddedBytes()
    {
        using var stream = typeof(UpstreamSchemas).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the engine was built without its upstream schemas ({ResourceName})");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>The bundle: <c>sources</c>, <c>kinds</c> (apiVersion/Kind → schema key), <c>schemas</c> and <c>definitions</c>.</summary>
    public static JsonObject BundleJson() => Loaded.Value.Bundle;

    /// <summary>Compresses a bundle as the build ships it (Brotli, best compression).</summary>
    public static byte[] Compress(string bundleJson)
    {
        var input = Encoding.UTF8.GetBytes(bundleJson);
        using var output = new MemoryStream();
        using (var brotli = new BrotliStream(output, CompressionLevel.SmallestSize, leaveOpen: true)) brotli.Write(input);
        return output.ToArray();
    }

    private static (JsonObject, SchemaValidator) Load()
    {
        using var compressed = new MemoryStream(ReadEmbeddedBytes());
        using var brotli = new BrotliStream(compressed, CompressionMode.Decompress);
        var bundle = JsonNode.Parse(brotli)!.AsObject();
        return (bundle, new SchemaValidator(bundle["definitions"]!.AsObject()));
    }

    /// <summary>True when a schema ships for <c>apiVersion/Kind</c> (e.g. <c>networking.istio.io/v1/ServiceEntry</c>).</summary>
    public static bool Knows(string apiVersionKind)
    {
        var bundle = Loaded.Value.Bundle;
        lock (Gate) return bundle["kinds"]![apiVersionKind] is not null;
    }

    // The bundle is a parsed JSON tree, whose objects index their properties lazily (not thread-safe): every read of it
    // is under this lock; the validator compiles the schemas it is given under its own (renders judge clusters in parallel).
    private static readonly object Gate = new();

    public static bool Knows(string apiVersion, string kind) => Knows($"{apiVersion}/{kind}");

    /// <summary>Every violation of the object's upstream schema; empty when valid. Unknown kinds are not judged (see <see cref="Knows(string)"/>).</summary>
    public static IReadOnlyList<SchemaViolation> Validate(JsonObject obj)
    {
        var apiVersion = obj["apiVersion"]?.GetValue<string>();
        var kind = obj["kind"]?.GetValue<string>();
        if (apiVersion is null || kind is null)
            return new[] { new SchemaViolation(apiVersion is null ? "apiVersion" : "kind", null, "is required", "set apiVersion and kind") };
        var (bundle, validator) = Loaded.Value;
        JsonObject schema;
        lock (Gate)
        {
            if (bundle["kinds"]![$"{apiVersion}/{kind}"] is not JsonValue key) return Array.Empty<SchemaViolation>();
            schema = bundle["schemas"]![key.GetValue<string>()]!.AsObject();
        }
        return validator.Validate(obj, schema);
    }

    /// <summary>The values a field's schema allows (e.g. the Sail Istio spec.version enum), or null when it has no enum.</summary>
    public static IReadOnlyList<string>? EnumOf(string apiVersionKind, string path)
    {
        var bundle = Loaded.Value.Bundle;
        lock (Gate)
        {
            if (bundle["kinds"]![apiVersionKind] is not JsonValue key) return null;
            JsonNode? node = bundle["schemas"]![key.GetValue<string>()];
            foreach (var part in path.Split('.'))
                node = node?["properties"]?[part];
            return (node?["enum"] as JsonArray)?.Select(v => v!.GetValue<string>()).ToList();
        }
    }
}
