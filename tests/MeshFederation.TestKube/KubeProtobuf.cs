using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace MeshFederation.TestKube;

/// <summary>
/// Decodes the Kubernetes protobuf encoding (application/vnd.kubernetes.protobuf) that kubectl 1.32 sends for the
/// objects it builds itself (kubectl create namespace/configmap/secret/serviceaccount/service/role/rolebinding/...):
/// the 4-byte magic "k8s\0", a runtime.Unknown envelope (typeMeta, raw, contentEncoding, contentType) and the raw
/// object in the field numbering of k8s.io/api's generated.proto. The kinds below are decoded into the JSON the API
/// server would have received; any other kind is answered 415 with the reason, as a server that cannot decode it would.
/// </summary>
public static class KubeProtobuf
{
    private static readonly byte[] Magic = { 0x6b, 0x38, 0x73, 0x00 };

    /// <summary>One field of a message: its JSON name and how its value is encoded.</summary>
    private sealed record Field(string Name, string Type, bool Repeated = false, bool Pointer = false);

    // Types: string, bytes (base64 in JSON), bool, int (varint), time (meta/v1 Time), map (string->string),
    // mapbytes (string->bytes), intorstring, or the name of another message below.
    private static readonly Dictionary<string, Dictionary<int, Field>> Messages = new(StringComparer.Ordinal)
    {
        ["TypeMeta"] = new() { [1] = new("apiVersion", "string"), [2] = new("kind", "string") },
        ["ObjectMeta"] = new()
        {
            [1] = new("name", "string"), [2] = new("generateName", "string"), [3] = new("namespace", "string"), [4] = new("selfLink", "string"),
            [5] = new("uid", "string"), [6] = new("resourceVersion", "string"), [7] = new("generation", "int"), [8] = new("creationTimestamp", "time"),
            [9] = new("deletionTimestamp", "time"), [10] = new("deletionGracePeriodSeconds", "int", Pointer: true), [11] = new("labels", "map"), [12] = new("annotations", "map"),
            [13] = new("ownerReferences", "OwnerReference", true), [14] = new("finalizers", "string", true), [17] = new("managedFields", "ManagedFieldsEntry", true),
        },
        ["OwnerReference"] = new()
        {
            [1] = new("kind", "string"), [3] = new("name", "string"), [4] = new("uid", "string"), [5] = new("apiVersion", "string"),
            [6] = new("controller", "bool", Pointer: true), [7] = new("blockOwnerDeletion", "bool", Pointer: true),
        },
        ["ManagedFieldsEntry"] = new()
        {
            [1] = new("manager", "string"), [2] = new("operation", "string"), [3] = new("apiVersion", "string"), [4] = new("time", "time"),
            [6] = new("fieldsType", "string"), [8] = new("subresource", "string"),
        },
        ["Namespace"] = new() { [1] = new("metadata", "ObjectMeta"), [2] = new("spec", "NamespaceSpec"), [3] = new("status", "NamespaceStatus") },
        ["NamespaceSpec"] = new() { [1] = new("finalizers", "string", true) },
        ["NamespaceStatus"] = new() { [1] = new("phase", "string") },
        ["ConfigMap"] = new() { [1] = new("metadata", "ObjectMeta"), [2] = new("data", "map"), [3] = new("binaryData", "mapbytes"), [4] = new("immutable", "bool", Pointer: true) },
        ["Secret"] = new() { [1] = new("metadata", "ObjectMeta"), [2] = new("data", "mapbytes"), [3] = new("type", "string"), [4] = new("stringData", "map"), [5] = new("immutable", "bool", Pointer: true) },
        ["ServiceAccount"] = new()
        {
            [1] = new("metadata", "ObjectMeta"), [2] = new("secrets", "ObjectReference", true), [3] = new("imagePullSecrets", "LocalObjectReference", true),
            [4] = new("automountServiceAccountToken", "bool", Pointer: true),
        },
        ["ObjectReference"] = new()
        {
            [1] = new("kind", "string"), [2] = new("namespace", "string"), [3] = new("name", "string"), [4] = new("uid", "string"),
            [5] = new("apiVersion", "string"), [6] = new("resourceVersion", "string"), [7] = new("fieldPath", "string"),
        },
        ["LocalObjectReference"] = new() { [1] = new("name", "string") },
        ["Service"] = new() { [1] = new("metadata", "ObjectMeta"), [2] = new("spec", "ServiceSpec"), [3] = new("status", "ServiceStatus") },
        ["ServiceSpec"] = new()
        {
            [1] = new("ports", "ServicePort", true), [2] = new("selector", "map"), [3] = new("clusterIP", "string"), [4] = new("type", "string"),
            [5] = new("externalIPs", "string", true), [7] = new("sessionAffinity", "string"), [8] = new("loadBalancerIP", "string"),
            [9] = new("loadBalancerSourceRanges", "string", true), [10] = new("externalName", "string"), [11] = new("externalTrafficPolicy", "string"),
            [12] = new("healthCheckNodePort", "int"), [13] = new("publishNotReadyAddresses", "bool"), [17] = new("ipFamilyPolicy", "string", Pointer: true),
            [18] = new("clusterIPs", "string", true), [19] = new("ipFamilies", "string", true), [20] = new("allocateLoadBalancerNodePorts", "bool", Pointer: true),
            [21] = new("loadBalancerClass", "string", Pointer: true), [22] = new("internalTrafficPolicy", "string", Pointer: true),
        },
        ["ServicePort"] = new()
        {
            [1] = new("name", "string"), [2] = new("protocol", "string"), [3] = new("port", "int"), [4] = new("targetPort", "intorstring"),
            [5] = new("nodePort", "int"), [6] = new("appProtocol", "string"),
        },
        ["ServiceStatus"] = new(),
        ["IntOrString"] = new() { [1] = new("type", "int"), [2] = new("intVal", "int"), [3] = new("strVal", "string") },
        ["Role"] = new() { [1] = new("metadata", "ObjectMeta"), [2] = new("rules", "PolicyRule", true) },
        ["ClusterRole"] = new() { [1] = new("metadata", "ObjectMeta"), [2] = new("rules", "PolicyRule", true) },
        ["PolicyRule"] = new()
        {
            [1] = new("verbs", "string", true), [2] = new("apiGroups", "string", true), [3] = new("resources", "string", true),
            [4] = new("resourceNames", "string", true), [5] = new("nonResourceURLs", "string", true),
        },
        ["RoleBinding"] = new() { [1] = new("metadata", "ObjectMeta"), [2] = new("subjects", "Subject", true), [3] = new("roleRef", "RoleRef") },
        ["ClusterRoleBinding"] = new() { [1] = new("metadata", "ObjectMeta"), [2] = new("subjects", "Subject", true), [3] = new("roleRef", "RoleRef") },
        ["Subject"] = new() { [1] = new("kind", "string"), [2] = new("apiGroup", "string"), [3] = new("name", "string"), [4] = new("namespace", "string") },
        ["RoleRef"] = new() { [1] = new("apiGroup", "string"), [2] = new("kind", "string"), [3] = new("name", "string") },
        // kubectl auth can-i (k8s.io/api/authorization/v1).
        ["SelfSubjectAccessReview"] = new() { [1] = new("metadata", "ObjectMeta"), [2] = new("spec", "SelfSubjectAccessReviewSpec") },
        ["SelfSubjectAccessReviewSpec"] = new() { [1] = new("resourceAttributes", "ResourceAttributes"), [2] = new("nonResourceAttributes", "NonResourceAttributes") },
        ["ResourceAttributes"] = new()
        {
            [1] = new("namespace", "string"), [2] = new("verb", "string"), [3] = new("group", "string"), [4] = new("version", "string"),
            [5] = new("resource", "string"), [6] = new("subresource", "string"), [7] = new("name", "string"),
        },
        ["NonResourceAttributes"] = new() { [1] = new("path", "string"), [2] = new("verb", "string") },
    };

    /// <summary>The kinds whose protobuf this server decodes (top-level messages).</summary>
    public static IReadOnlyCollection<string> Kinds { get; } = new[] { "Namespace", "ConfigMap", "Secret", "ServiceAccount", "Service", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "SelfSubjectAccessReview" };

    public static bool IsProtobuf(string? contentType) => contentType is not null && contentType.StartsWith("application/vnd.kubernetes.protobuf", StringComparison.Ordinal);

    /// <summary>Decodes one enveloped object into its JSON form (apiVersion and kind from the envelope).</summary>
    public static JsonObject Decode(ReadOnlySpan<byte> body)
    {
        if (body.Length < 4 || !body[..4].SequenceEqual(Magic))
            throw Unsupported("the protobuf body does not start with the Kubernetes magic number (k8s\\0)");
        var envelope = new Reader(body[4..].ToArray());
        string apiVersion = "", kind = "";
        byte[]? raw = null;
        while (!envelope.End)
        {
            var (field, wire) = envelope.Tag();
            if (field == 1 && wire == 2)
            {
                var tm = new Reader(envelope.Bytes());
                while (!tm.End)
                {
                    var (f, w) = tm.Tag();
                    if (f == 1 && w == 2) apiVersion = Encoding.UTF8.GetString(tm.Bytes());
                    else if (f == 2 && w == 2) kind = Encoding.UTF8.GetString(tm.Bytes());
                    else tm.Skip(w);
                }
            }
            else if (field == 2 && wire == 2) raw = envelope.Bytes();
            else if (field == 3 && wire == 2 && envelope.Bytes() is { Length: > 0 } enc)
                throw Unsupported($"content encoding '{Encoding.UTF8.GetString(enc)}' is not supported");
            else if (field != 3) envelope.Skip(wire);
        }
        if (raw is null || kind.Length == 0) throw Unsupported("the protobuf envelope holds no typed object");
        if (!Kinds.Contains(kind))
            throw Unsupported($"this test server decodes protobuf for {string.Join(", ", Kinds)} only, not {kind}; send it as JSON (kubectl apply -f)");
        var obj = Message(new Reader(raw), kind);
        var result = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind };
        foreach (var (k, v) in obj.ToList())
        {
            obj.Remove(k);
            result[k] = v;
        }
        return result;
    }

    private static ApiError Unsupported(string message) => new(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", message);

    private static JsonObject Message(Reader r, string type)
    {
        var fields = Messages[type];
        var o = new JsonObject();
        while (!r.End)
        {
            var (number, wire) = r.Tag();
            if (!fields.TryGetValue(number, out var f))
            {
                r.Skip(wire);
                continue;
            }
            JsonNode? value = f.Type switch
            {
                "string" => Encoding.UTF8.GetString(r.Bytes()),
                "bytes" => Convert.ToBase64String(r.Bytes()),
                "bool" => r.Varint() != 0,
                "int" => (long)r.Varint(),
                "time" => Time(new Reader(r.Bytes())),
                "intorstring" => IntOrString(new Reader(r.Bytes())),
                "map" or "mapbytes" => null,
                _ => Message(new Reader(r.Bytes()), f.Type),
            };
            if (f.Type is "map" or "mapbytes")
            {
                var entry = new Reader(r.Bytes());
                string key = "";
                JsonNode? val = "";
                while (!entry.End)
                {
                    var (ef, ew) = entry.Tag();
                    if (ef == 1 && ew == 2) key = Encoding.UTF8.GetString(entry.Bytes());
                    else if (ef == 2 && ew == 2) val = f.Type == "map" ? Encoding.UTF8.GetString(entry.Bytes()) : Convert.ToBase64String(entry.Bytes());
                    else entry.Skip(ew);
                }
                if (o[f.Name] is not JsonObject map) o[f.Name] = map = new JsonObject();
                map[key] = val;
                continue;
            }
            if (value is null) continue;
            // Go's JSON omits empty values (omitempty); gogo protobuf writes them. Pointer fields are written only when set.
            if (!f.Repeated && !f.Pointer && value is JsonValue jv
                && ((jv.TryGetValue<string>(out var str) && str.Length == 0) || (jv.TryGetValue<long>(out var num) && num == 0) || (jv.TryGetValue<bool>(out var flag) && !flag)))
                continue;
            if (f.Repeated)
            {
                if (o[f.Name] is not JsonArray list) o[f.Name] = list = new JsonArray();
                list.Add(value);
            }
            else o[f.Name] = value;
        }
        // Empty nested messages (an unset status, a spec without fields) are omitted, as in JSON.
        foreach (var (k, v) in o.ToList()) if (v is JsonObject child && child.Count == 0 && k is "status" or "spec" or "metadata") o.Remove(k);
        return o;
    }

    private static JsonNode? Time(Reader r)
    {
        long seconds = 0;
        while (!r.End)
        {
            var (f, w) = r.Tag();
            if (f == 1 && w == 0) seconds = (long)r.Varint();
            else r.Skip(w);
        }
        // Go's zero time (year 1) marks an unset timestamp.
        if (seconds <= -62135596800 || seconds == 0) return null;
        return DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static JsonNode IntOrString(Reader r)
    {
        long type = 0, i = 0;
        var s = "";
        while (!r.End)
        {
            var (f, w) = r.Tag();
            if (f == 1 && w == 0) type = (long)r.Varint();
            else if (f == 2 && w == 0) i = (long)r.Varint();
            else if (f == 3 && w == 2) s = Encoding.UTF8.GetString(r.Bytes());
            else r.Skip(w);
        }
        return type == 1 ? JsonValue.Create(s)! : JsonValue.Create(i)!;
    }

    /// <summary>Protocol buffers wire format: varints, length-delimited fields, fixed 32 and 64 bit.</summary>
    private sealed class Reader
    {
        private readonly byte[] _data;
        private int _pos;

        public Reader(byte[] data) => _data = data;

        public bool End => _pos >= _data.Length;

        public ulong Varint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= _data.Length) throw Unsupported("truncated protobuf varint");
                var b = _data[_pos++];
                result |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0) return result;
            }
            throw Unsupported("malformed protobuf varint");
        }

        public (int Field, int Wire) Tag()
        {
            var tag = Varint();
            return ((int)(tag >> 3), (int)(tag & 7));
        }

        public byte[] Bytes()
        {
            var length = (int)Varint();
            if (length < 0 || _pos + length > _data.Length) throw Unsupported("truncated protobuf field");
            var bytes = _data.AsSpan(_pos, length).ToArray();
            _pos += length;
            return bytes;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: _pos += 8; break;
                case 2: Bytes(); break;
                case 5: _pos += 4; break;
                default: throw Unsupported($"unsupported protobuf wire type {wire}");
            }
        }
    }
}
