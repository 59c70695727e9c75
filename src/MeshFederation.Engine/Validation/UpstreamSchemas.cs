using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
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

    // Start-up matters (meshfed is a short-lived process): the decompressed bundle (~850 KB of JSON, 40% of it the Argo
    // CD ApplicationSet schema) is only indexed at first use; each kind's schema is parsed when an object of that kind
    // is first judged. The whole bundle is parsed only for BundleJson().
    private static readonly Lazy<Index> Indexed = new(() => new Index(Decompress()));
    private static readonly Lazy<JsonObject> Whole = new(() => JsonNode.Parse(Indexed.Value.Json.Span)!.AsObject());

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
    public static JsonObject BundleJson() => Whole.Value;

    /// <summary>Compresses a bundle as the build ships it (Brotli, best compression).</summary>
    public static byte[] Compress(string bundleJson)
    {
        var input = Encoding.UTF8.GetBytes(bundleJson);
        using var output = new MemoryStream();
        using (var brotli = new BrotliStream(output, CompressionLevel.SmallestSize, leaveOpen: true)) brotli.Write(input);
        return output.ToArray();
    }

    private static ReadOnlyMemory<byte> Decompress()
    {
        // Straight into one buffer (no stream copies, not zeroed first): the bundle compresses about 45:1.
        var compressed = ReadEmbeddedBytes();
        var json = GC.AllocateUninitializedArray<byte>(Math.Max(compressed.Length * 64, 1 << 20));
        int written;
        while (!BrotliDecoder.TryDecompress(compressed, json, out written))
        {
            if (json.Length >= 1 << 30) throw new InvalidOperationException("the upstream schema bundle does not decompress");
            json = GC.AllocateUninitializedArray<byte>(json.Length * 2);
        }
        return json.AsMemory(0, written);
    }

    /// <summary>True when a schema ships for <c>apiVersion/Kind</c> (e.g. <c>networking.istio.io/v1/ServiceEntry</c>).</summary>
    public static bool Knows(string apiVersionKind) => Indexed.Value.Kinds.ContainsKey(apiVersionKind);

    public static bool Knows(string apiVersion, string kind) => Knows($"{apiVersion}/{kind}");

    /// <summary>Every violation of the object's upstream schema; empty when valid. Unknown kinds are not judged (see <see cref="Knows(string)"/>).</summary>
    public static IReadOnlyList<SchemaViolation> Validate(JsonObject obj)
    {
        var apiVersion = obj["apiVersion"]?.GetValue<string>();
        var kind = obj["kind"]?.GetValue<string>();
        if (apiVersion is null || kind is null)
            return new[] { new SchemaViolation(apiVersion is null ? "apiVersion" : "kind", null, "is required", "set apiVersion and kind") };
        var index = Indexed.Value;
        if (!index.Kinds.TryGetValue($"{apiVersion}/{kind}", out var key)) return Array.Empty<SchemaViolation>();
        return index.Validator.Validate(obj, index.Schema(key));
    }

    /// <summary>The values a field's schema allows (e.g. the Sail Istio spec.version enum), or null when it has no enum.</summary>
    public static IReadOnlyList<string>? EnumOf(string apiVersionKind, string path)
    {
        var index = Indexed.Value;
        if (!index.Kinds.TryGetValue(apiVersionKind, out var key)) return null;
        JsonNode? node = index.Schema(key);
        // JSON nodes index their properties lazily (not thread-safe); the validator reads the same schema objects
        // from render threads under its lock, so this walk takes it too.
        lock (index.Validator.SyncRoot)
        {
            foreach (var part in path.Split('.'))
                node = node?["properties"]?[part];
            return (node?["enum"] as JsonArray)?.Select(v => v!.GetValue<string>()).ToList();
        }
    }

    /// <summary>
    /// The bundle's <c>kinds</c> map and the definitions, parsed; every schema found (one forward scan of the JSON,
    /// nothing allocated per token) and parsed on first use.
    /// </summary>
    private sealed class Index
    {
        private readonly Dictionary<string, (int Start, int Length)> _schemaSpans = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, JsonObject> _schemas = new(StringComparer.Ordinal);

        public Index(ReadOnlyMemory<byte> json)
        {
            Json = json;
            JsonObject? definitions = null;
            var reader = new Utf8JsonReader(json.Span, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var section = reader.GetString();
                Expect(reader.Read());
                switch (section)
                {
                    case "kinds":
                        Expect(reader.TokenType == JsonTokenType.StartObject);
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            var kind = reader.GetString()!;
                            Expect(reader.Read() && reader.TokenType == JsonTokenType.String);
                            Kinds[kind] = reader.GetString()!;
                        }
                        break;
                    case "schemas":
                        Expect(reader.TokenType == JsonTokenType.StartObject);
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            var key = reader.GetString()!;
                            Expect(reader.Read());
                            var start = (int)reader.TokenStartIndex;
                            reader.Skip();
                            _schemaSpans[key] = (start, (int)reader.BytesConsumed - start);
                        }
                        break;
                    case "definitions":
                        {
                            var start = (int)reader.TokenStartIndex;
                            reader.Skip();
                            definitions = JsonNode.Parse(json.Span[start..(int)reader.BytesConsumed])!.AsObject();
                            break;
                        }
                    default:
                        reader.Skip();
                        break;
                }
            }
            Validator = new SchemaValidator(definitions ?? throw new InvalidOperationException("the upstream schema bundle has no definitions"));
        }

        /// <summary>The decompressed bundle (UTF-8 JSON).</summary>
        public ReadOnlyMemory<byte> Json { get; }

        /// <summary>apiVersion/Kind → schema key.</summary>
        public Dictionary<string, string> Kinds { get; } = new(StringComparer.Ordinal);

        public SchemaValidator Validator { get; }

        public JsonObject Schema(string key) => _schemas.GetOrAdd(key, k =>
            _schemaSpans.TryGetValue(k, out var span)
                ? JsonNode.Parse(Json.Span.Slice(span.Start, span.Length))!.AsObject()
                : throw new InvalidOperationException($"the upstream schema bundle names schema '{k}' but does not hold it"));

        private static void Expect(bool condition)
        {
            if (!condition) throw new InvalidOperationException("the upstream schema bundle is not the expected JSON object");
        }
    }
}
