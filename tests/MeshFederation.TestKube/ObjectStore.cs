using System.Net;
using System.Text.Json.Nodes;

namespace MeshFederation.TestKube;

/// <summary>An API error the server answers with a Status object.</summary>
public sealed class ApiError : Exception
{
    public ApiError(HttpStatusCode code, string reason, string message) : base(message)
    {
        Code = code;
        Reason = reason;
    }

    public ApiError() : base("error") { }

    public ApiError(string message) : base(message) { }

    public ApiError(string message, Exception inner) : base(message, inner) { }

    public HttpStatusCode Code { get; }

    public string Reason { get; } = "InternalError";
}

/// <summary>
/// The objects of one test cluster. Writes bump a global resourceVersion; server-side apply tracks each manager's
/// fields in managedFields, reports conflicts with other managers unless forced, removes fields a manager stops
/// applying, and leaves the object (and its resourceVersion) untouched when nothing changes.
/// </summary>
public sealed class ObjectStore
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Group, string Plural, string Ns, string Name), JsonObject> _objects = new();
    private long _resourceVersion = 100;

    /// <summary>Called after every successful write, outside the lock (the fake operators hook in here).</summary>
    public event Action<ResourceType, JsonObject, string>? Changed;

    public long ResourceVersion { get { lock (_gate) return _resourceVersion; } }

    public int Count { get { lock (_gate) return _objects.Count; } }

    /// <summary>How many writes changed something (creates, updates, deletes).</summary>
    public int Writes { get; private set; }

    private static (string, string, string, string) Key(ResourceType t, string? ns, string name) => (t.Group, t.Plural, t.Namespaced ? ns ?? "" : "", name);

    public JsonObject? Get(ResourceType t, string? ns, string name, string version)
    {
        lock (_gate) return _objects.TryGetValue(Key(t, ns, name), out var o) ? WithVersion(o, t, version) : null;
    }

    public List<JsonObject> List(ResourceType t, string? ns, LabelSelector? selector, string version)
    {
        lock (_gate)
            return _objects.Where(kv => kv.Key.Group == t.Group && kv.Key.Plural == t.Plural && (ns is null || kv.Key.Ns == ns))
                .Select(kv => kv.Value)
                .Where(o => selector is null || selector.Matches(o["metadata"]?["labels"] as JsonObject))
                .OrderBy(o => o["metadata"]!["namespace"]?.GetValue<string>(), StringComparer.Ordinal)
                .ThenBy(o => o["metadata"]!["name"]!.GetValue<string>(), StringComparer.Ordinal)
                .Select(o => WithVersion(o, t, version)).ToList();
    }

    public IEnumerable<JsonObject> All()
    {
        lock (_gate) return _objects.Values.Select(o => (JsonObject)o.DeepClone()).ToList();
    }

    private static JsonObject WithVersion(JsonObject o, ResourceType t, string version)
    {
        var copy = (JsonObject)o.DeepClone();
        copy["apiVersion"] = t.Group.Length == 0 ? version : $"{t.Group}/{version}";
        return copy;
    }

    private void EnsureNamespace(ResourceType t, string? ns)
    {
        if (!t.Namespaced) return;
        if (string.IsNullOrEmpty(ns)) throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "the namespace of the object is required");
        var nsType = ResourceTypes.All[0];
        if (!_objects.ContainsKey(Key(nsType, null, ns)))
            throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"namespaces \"{ns}\" not found");
    }

    private string NextVersion() => (++_resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Groups whose objects carry metadata.generation (custom resources and workloads), as kube-apiserver sets it.</summary>
    private static readonly HashSet<string> GenerationGroups = new(StringComparer.Ordinal)
    {
        "apps", "policy", "autoscaling", "maistra.io", "federation.maistra.io", "sailoperator.io", "networking.istio.io", "security.istio.io",
    };

    /// <summary>metadata.generation goes up when anything but metadata and status changes.</summary>
    private static void BumpGeneration(ResourceType t, JsonObject live, JsonObject obj)
    {
        if (!GenerationGroups.Contains(t.Group)) return;
        static bool Spec(string k) => k is not ("metadata" or "status" or "apiVersion" or "kind");
        var changed = live.Where(kv => Spec(kv.Key)).Any(kv => !JsonNode.DeepEquals(kv.Value, obj[kv.Key])) || obj.Any(kv => Spec(kv.Key) && !live.ContainsKey(kv.Key));
        var generation = live["metadata"]?["generation"] is JsonValue v && v.TryGetValue<long>(out var g) ? g : 1;
        obj["metadata"]!["generation"] = changed ? generation + 1 : generation;
    }

    private static void Stamp(JsonObject obj, ResourceType t, string? ns, string name)
    {
        var md = obj["metadata"] as JsonObject ?? new JsonObject();
        obj["metadata"] = md;
        md["name"] = name;
        if (t.Namespaced) md["namespace"] = ns;
        else md.Remove("namespace");
        md["uid"] ??= Guid.NewGuid().ToString();
        md["creationTimestamp"] ??= DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        if (GenerationGroups.Contains(t.Group)) md["generation"] ??= 1;
        obj["kind"] = t.Kind;
    }

    public JsonObject Create(ResourceType t, string? ns, JsonObject body, string version, string manager)
    {
        JsonObject result;
        lock (_gate)
        {
            var name = body["metadata"]?["name"]?.GetValue<string>() ?? throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "metadata.name is required");
            EnsureNamespace(t, ns);
            if (_objects.ContainsKey(Key(t, ns, name)))
                throw new ApiError(HttpStatusCode.Conflict, "AlreadyExists", $"{t.Plural}.{t.Group} \"{name}\" already exists");
            var obj = (JsonObject)body.DeepClone();
            StripNulls(obj);
            if (t.HasStatus) obj.Remove("status");
            Stamp(obj, t, ns, name);
            obj["metadata"]!["resourceVersion"] = NextVersion();
            obj["metadata"]!["managedFields"] = new JsonArray(Entry(manager, "Update", version, t, FieldSet.Of(obj)));
            _objects[Key(t, ns, name)] = obj;
            Writes++;
            result = WithVersion(obj, t, version);
        }
        Changed?.Invoke(t, result, "ADDED");
        return result;
    }

    public JsonObject Update(ResourceType t, string? ns, string name, JsonObject body, string version, bool status, string manager)
    {
        JsonObject result;
        lock (_gate)
        {
            if (!_objects.TryGetValue(Key(t, ns, name), out var live))
                throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"{t.Plural}.{t.Group} \"{name}\" not found");
            var rv = body["metadata"]?["resourceVersion"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(rv) && rv != live["metadata"]!["resourceVersion"]!.GetValue<string>())
                throw new ApiError(HttpStatusCode.Conflict, "Conflict",
                    $"Operation cannot be fulfilled on {t.Plural}.{t.Group} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
            var obj = (JsonObject)live.DeepClone();
            if (status) obj["status"] = body["status"]?.DeepClone();
            else
            {
                foreach (var (k, v) in body)
                    if (k is not ("metadata" or "status" or "apiVersion" or "kind")) obj[k] = v?.DeepClone();
                foreach (var k in obj.Select(kv => kv.Key).Where(k => k is not ("metadata" or "status" or "apiVersion" or "kind") && !body.ContainsKey(k)).ToList()) obj.Remove(k);
                if (!t.HasStatus && body["status"] is { } s) obj["status"] = s.DeepClone();
                foreach (var k in new[] { "labels", "annotations" })
                    if (body["metadata"]?[k] is { } m) obj["metadata"]![k] = m.DeepClone();
                    else (obj["metadata"] as JsonObject)!.Remove(k);
            }
            if (Same(live, obj)) return WithVersion(live, t, version);
            if (!status) BumpGeneration(t, live, obj);
            obj["metadata"]!["resourceVersion"] = NextVersion();
            _objects[Key(t, ns, name)] = obj;
            Writes++;
            result = WithVersion(obj, t, version);
        }
        Changed?.Invoke(t, result, "MODIFIED");
        return result;
    }

    /// <summary>JSON merge patch (and strategic merge patch, treated the same here).</summary>
    public JsonObject MergePatch(ResourceType t, string? ns, string name, JsonObject patch, string version, bool status, string manager)
    {
        JsonObject current;
        lock (_gate)
        {
            if (!_objects.TryGetValue(Key(t, ns, name), out var live))
                throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"{t.Plural}.{t.Group} \"{name}\" not found");
            current = (JsonObject)live.DeepClone();
        }
        Merge(current, patch);
        current["metadata"]!.AsObject().Remove("resourceVersion");
        return Update(t, ns, name, current, version, status, manager);
    }

    private static void StripNulls(JsonObject o)
    {
        foreach (var (k, v) in o.ToList())
        {
            if (v is null) o.Remove(k);
            else if (v is JsonObject child) StripNulls(child);
        }
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (k, v) in patch)
        {
            if (v is null) target.Remove(k);
            else if (v is JsonObject po && target[k] is JsonObject to) Merge(to, po);
            else target[k] = v.DeepClone();
        }
    }

    /// <summary>Server-side apply.</summary>
    public (JsonObject Object, bool Created, bool Changed) Apply(ResourceType t, string? ns, string name, JsonObject applied, string version, string manager, bool force, bool status)
    {
        JsonObject result;
        bool created, changed;
        lock (_gate)
        {
            var key = Key(t, ns, name);
            var config = (JsonObject)applied.DeepClone();
            StripNulls(config);
            if (t.HasStatus && !status) config.Remove("status");
            var appliedFields = FieldSet.Of(config);
            if (!_objects.TryGetValue(key, out var live))
            {
                EnsureNamespace(t, ns);
                var obj = (JsonObject)config.DeepClone();
                Stamp(obj, t, ns, name);
                obj["metadata"]!["resourceVersion"] = NextVersion();
                obj["metadata"]!["managedFields"] = new JsonArray(Entry(manager, "Apply", version, t, appliedFields));
                _objects[key] = obj;
                Writes++;
                created = changed = true;
                result = WithVersion(obj, t, version);
            }
            else
            {
                var entries = (live["metadata"]!["managedFields"] as JsonArray)?.OfType<JsonObject>().Select(e => (JsonObject)e.DeepClone()).ToList() ?? new List<JsonObject>();
                var others = entries.Where(e => e["manager"]!.GetValue<string>() != manager || e["operation"]!.GetValue<string>() != "Apply").ToList();
                var conflicts = new List<string>();
                foreach (var e in others)
                {
                    var theirs = FieldSet.FromFieldsV1(e["fieldsV1"] as JsonObject);
                    foreach (var path in appliedFields.Paths.Where(theirs.Contains))
                        if (!JsonNode.DeepEquals(FieldSet.At(config, path), FieldSet.At(live, path)))
                            conflicts.Add($"conflict with \"{e["manager"]}\": {FieldSet.Format(path)}");
                }
                if (conflicts.Count > 0 && !force)
                    throw new ApiError(HttpStatusCode.Conflict, "Conflict", $"Apply failed with {conflicts.Count} conflict{(conflicts.Count == 1 ? "" : "s")}: {string.Join("; ", conflicts)}");
                if (force)
                    foreach (var e in others)
                    {
                        var theirs = FieldSet.FromFieldsV1(e["fieldsV1"] as JsonObject);
                        theirs.RemoveAll(appliedFields.Contains);
                        e["fieldsV1"] = theirs.ToFieldsV1();
                    }
                var mine = entries.FirstOrDefault(e => e["manager"]!.GetValue<string>() == manager && e["operation"]!.GetValue<string>() == "Apply");
                var previous = FieldSet.FromFieldsV1(mine?["fieldsV1"] as JsonObject);
                var ownedByOthers = new FieldSet();
                foreach (var e in others) ownedByOthers.AddRange(FieldSet.FromFieldsV1(e["fieldsV1"] as JsonObject));
                var obj = (JsonObject)live.DeepClone();
                foreach (var path in previous.Paths.Where(p => !appliedFields.Contains(p) && !ownedByOthers.Contains(p)))
                    FieldSet.Remove(obj, path);
                Merge(obj, config);
                var newEntries = others.Where(e => (e["fieldsV1"] as JsonObject)?.Count > 0).ToList();
                newEntries.Insert(0, Entry(manager, "Apply", version, t, appliedFields, mine?["time"]?.GetValue<string>()));
                var oldManaged = live["metadata"]!["managedFields"]?.ToJsonString();
                obj["metadata"]!["managedFields"] = new JsonArray(newEntries.ToArray<JsonNode>());
                changed = !Same(live, obj) || !FieldSet.SameOwnership(oldManaged, obj["metadata"]!["managedFields"]!.ToJsonString());
                created = false;
                if (changed)
                {
                    if (!Same(live, obj)) obj["metadata"]!["managedFields"]![0]!["time"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
                    if (!status) BumpGeneration(t, live, obj);
                    obj["metadata"]!["resourceVersion"] = NextVersion();
                    _objects[key] = obj;
                    Writes++;
                    result = WithVersion(obj, t, version);
                }
                else result = WithVersion(live, t, version);
            }
        }
        if (changed) Changed?.Invoke(t, result, created ? "ADDED" : "MODIFIED");
        return (result, created, changed);
    }

    public JsonObject? Delete(ResourceType t, string? ns, string name)
    {
        JsonObject? removed;
        var cascade = new List<(ResourceType, JsonObject)>();
        lock (_gate)
        {
            if (!_objects.Remove(Key(t, ns, name), out removed)) return null;
            Writes++;
            if (t.Kind == "Namespace")
                foreach (var k in _objects.Keys.Where(k => k.Ns == name).ToList())
                {
                    cascade.Add((ResourceTypes.All.First(r => r.Group == k.Group && r.Plural == k.Plural), _objects[k]));
                    _objects.Remove(k);
                }
        }
        Changed?.Invoke(t, removed, "DELETED");
        foreach (var (ct, o) in cascade) Changed?.Invoke(ct, o, "DELETED");
        return removed;
    }

    /// <summary>Writes an object as a controller would (no managedFields bookkeeping beyond an Update entry).</summary>
    public JsonObject Upsert(JsonObject obj, string manager = "test-operator")
    {
        var t = ResourceTypes.ByKind(obj["apiVersion"]!.GetValue<string>(), obj["kind"]!.GetValue<string>()) ?? throw new ArgumentException("unknown kind");
        var ns = obj["metadata"]?["namespace"]?.GetValue<string>();
        var name = obj["metadata"]!["name"]!.GetValue<string>();
        var version = obj["apiVersion"]!.GetValue<string>().Split('/').Last();
        lock (_gate)
        {
            if (t.Namespaced && !_objects.ContainsKey(Key(ResourceTypes.All[0], null, ns!)))
            {
                var nsObj = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } };
                Stamp(nsObj, ResourceTypes.All[0], null, ns!);
                nsObj["metadata"]!["resourceVersion"] = NextVersion();
                _objects[Key(ResourceTypes.All[0], null, ns!)] = nsObj;
            }
        }
        var existing = Get(t, ns, name, version);
        if (existing is null)
        {
            var created = Create(t, ns, obj, version, manager);
            if (t.HasStatus && obj["status"] is { } st)
            {
                var withStatus = (JsonObject)created.DeepClone();
                withStatus["status"] = st.DeepClone();
                return Update(t, ns, name, withStatus, version, status: true, manager);
            }
            return created;
        }
        var copy = (JsonObject)obj.DeepClone();
        copy["metadata"]!["resourceVersion"] = null;
        (copy["metadata"] as JsonObject)!.Remove("resourceVersion");
        var updated = Update(t, ns, name, copy, version, status: false, manager);
        if (t.HasStatus && obj["status"] is { } s)
        {
            var withStatus = (JsonObject)updated.DeepClone();
            withStatus["status"] = s.DeepClone();
            (withStatus["metadata"] as JsonObject)!.Remove("resourceVersion");
            return Update(t, ns, name, withStatus, version, status: true, manager);
        }
        return updated;
    }

    private static bool Same(JsonObject a, JsonObject b)
    {
        static JsonObject Strip(JsonObject o)
        {
            var c = (JsonObject)o.DeepClone();
            var md = (JsonObject)c["metadata"]!;
            md.Remove("resourceVersion");
            md.Remove("managedFields");
            c.Remove("apiVersion");
            return c;
        }
        return JsonNode.DeepEquals(Strip(a), Strip(b));
    }

    private static JsonObject Entry(string manager, string operation, string version, ResourceType t, FieldSet fields, string? time = null) => new()
    {
        ["manager"] = manager,
        ["operation"] = operation,
        ["apiVersion"] = t.Group.Length == 0 ? version : $"{t.Group}/{version}",
        ["time"] = time ?? DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        ["fieldsType"] = "FieldsV1",
        ["fieldsV1"] = fields.ToFieldsV1(),
    };
}

/// <summary>The leaf fields of an object (maps recurse, lists are atomic), in managedFields' FieldsV1 form.</summary>
public sealed class FieldSet
{
    private readonly List<string[]> _paths = new();

    public IReadOnlyList<string[]> Paths => _paths;

    public bool Contains(string[] path) => _paths.Any(p => p.SequenceEqual(path));

    public void AddRange(FieldSet other)
    {
        foreach (var p in other._paths) if (!Contains(p)) _paths.Add(p);
    }

    public void RemoveAll(Func<string[], bool> predicate) => _paths.RemoveAll(p => predicate(p));

    public static FieldSet Of(JsonObject obj)
    {
        var set = new FieldSet();
        void Walk(JsonNode? n, List<string> path)
        {
            if (n is JsonObject o && o.Count > 0)
                foreach (var (k, v) in o) Walk(v, new List<string>(path) { k });
            else set._paths.Add(path.ToArray());
        }
        foreach (var (k, v) in obj)
        {
            if (k is "apiVersion" or "kind") continue;
            if (k == "metadata")
            {
                foreach (var mk in new[] { "labels", "annotations" })
                    if (v?[mk] is JsonObject m) foreach (var (lk, lv) in m) Walk(lv, new List<string> { "metadata", mk, lk });
                continue;
            }
            Walk(v, new List<string> { k });
        }
        return set;
    }

    public JsonObject ToFieldsV1()
    {
        var root = new JsonObject();
        foreach (var p in _paths)
        {
            var cur = root;
            foreach (var seg in p)
            {
                if (cur["f:" + seg] is not JsonObject next) cur["f:" + seg] = next = new JsonObject();
                cur = next;
            }
        }
        return root;
    }

    public static FieldSet FromFieldsV1(JsonObject? fields)
    {
        var set = new FieldSet();
        void Walk(JsonObject o, List<string> path)
        {
            if (o.Count == 0 && path.Count > 0) { set._paths.Add(path.ToArray()); return; }
            foreach (var (k, v) in o)
                if (k.StartsWith("f:", StringComparison.Ordinal) && v is JsonObject c) Walk(c, new List<string>(path) { k[2..] });
        }
        if (fields is not null) Walk(fields, new List<string>());
        return set;
    }

    public static JsonNode? At(JsonObject obj, string[] path)
    {
        JsonNode? cur = obj;
        foreach (var seg in path) cur = cur is JsonObject o ? o[seg] : null;
        return cur;
    }

    public static void Remove(JsonObject obj, string[] path)
    {
        var parents = new List<JsonObject> { obj };
        JsonObject? cur = obj;
        for (var i = 0; i < path.Length - 1 && cur is not null; i++)
        {
            cur = cur[path[i]] as JsonObject;
            if (cur is not null) parents.Add(cur);
        }
        if (cur is null || parents.Count != path.Length) return;
        cur.Remove(path[^1]);
        // Drop maps left empty by the removal.
        for (var i = parents.Count - 1; i > 0; i--)
            if (parents[i].Count == 0) parents[i - 1].Remove(path[i - 1]);
    }

    public static string Format(string[] path) => "." + string.Join('.', path);

    public static bool SameOwnership(string? a, string? b)
    {
        static string Normalize(string? s) => s is null ? "" : string.Join("|", (JsonNode.Parse(s) as JsonArray ?? new JsonArray())
            .OfType<JsonObject>().Select(e => $"{e["manager"]}/{e["operation"]}/{e["fieldsV1"]?.ToJsonString()}").Order(StringComparer.Ordinal));
        return Normalize(a) == Normalize(b);
    }
}

/// <summary>Kubernetes label selectors: equality (=, ==, !=) and set-based (in, notin, exists, !key).</summary>
public sealed class LabelSelector
{
    private readonly List<Func<JsonObject?, bool>> _terms = new();

    public static LabelSelector Parse(string text)
    {
        var s = new LabelSelector();
        foreach (var raw in SplitTerms(text))
        {
            var term = raw.Trim();
            if (term.Length == 0) continue;
            var m = System.Text.RegularExpressions.Regex.Match(term, @"^(?<k>[^\s!=]+)\s+(?<op>in|notin)\s+\((?<v>[^)]*)\)$");
            if (m.Success)
            {
                var key = m.Groups["k"].Value;
                var values = m.Groups["v"].Value.Split(',').Select(v => v.Trim()).ToHashSet(StringComparer.Ordinal);
                var notIn = m.Groups["op"].Value == "notin";
                s._terms.Add(l => { var v = l?[key]?.GetValue<string>(); return notIn ? v is null || !values.Contains(v) : v is not null && values.Contains(v); });
            }
            else if (term.StartsWith('!')) { var k = term[1..]; s._terms.Add(l => l?[k] is null); }
            else if (term.Contains("!=", StringComparison.Ordinal)) { var p = term.Split("!=", 2); s._terms.Add(l => l?[p[0].Trim()]?.GetValue<string>() != p[1].Trim()); }
            else if (term.Contains('=', StringComparison.Ordinal)) { var p = term.Replace("==", "=", StringComparison.Ordinal).Split('=', 2); s._terms.Add(l => l?[p[0].Trim()]?.GetValue<string>() == p[1].Trim()); }
            else { var k = term; s._terms.Add(l => l?[k] is not null); }
        }
        return s;
    }

    private static IEnumerable<string> SplitTerms(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '(') depth++;
            else if (text[i] == ')') depth--;
            else if (text[i] == ',' && depth == 0) { yield return text[start..i]; start = i + 1; }
        }
        yield return text[start..];
    }

    public bool Matches(JsonObject? labels) => _terms.All(t => t(labels));
}
