using System.Text.Json.Nodes;

namespace MeshFederation.Engine.Rendering;

/// <summary>Small helpers for building Kubernetes objects as ordered JSON trees.</summary>
public static class JsonBuilder
{
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "meshfederation";
    public const string MeshLabel = "federation.meshfederation.io/mesh";
    public const string PeerLabel = "federation.meshfederation.io/peer";

    public static JsonObject Obj(params (string Key, JsonNode? Value)[] items)
    {
        var o = new JsonObject();
        foreach (var (k, v) in items) if (v is not null) o[k] = v;
        return o;
    }

    public static JsonArray Arr(IEnumerable<JsonNode?> items)
    {
        var a = new JsonArray();
        foreach (var i in items) a.Add(i);
        return a;
    }

    public static JsonArray Strings(IEnumerable<string> items) => Arr(items.Select(s => (JsonNode?)JsonValue.Create(s)));

    public static JsonObject Metadata(string name, string? ns, string mesh, string? peer = null, IReadOnlyDictionary<string, string>? extraLabels = null)
    {
        var labels = Obj((ManagedByLabel, ManagedByValue), (MeshLabel, mesh));
        if (peer is not null) labels[PeerLabel] = peer;
        if (extraLabels is not null) foreach (var (k, v) in extraLabels) labels[k] = v;
        var md = Obj(("name", name));
        if (ns is not null) md["namespace"] = ns;
        md["labels"] = labels;
        return md;
    }

    /// <summary>
    /// Merges <paramref name="overrides"/> into <paramref name="target"/> as a JSON merge patch (RFC 7386, what
    /// <c>kubectl patch --type merge</c> does): objects merge, other values replace, <c>null</c> removes the field.
    /// </summary>
    public static void DeepMerge(JsonObject target, JsonObject overrides)
    {
        foreach (var (key, value) in overrides)
        {
            if (value is null) target.Remove(key);
            else if (value is JsonObject o && target[key] is JsonObject t) DeepMerge(t, o);
            else if (value is JsonObject fresh)
            {
                var created = new JsonObject();
                DeepMerge(created, fresh);
                target[key] = created;
            }
            else target[key] = value.DeepClone();
        }
    }
}
