using System.Globalization;
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
/// The objects of one test cluster, kept as kube-apiserver and its controllers keep them:
/// <list type="bullet">
/// <item>every write bumps a global resourceVersion; writes that change nothing are no-ops;</item>
/// <item>server defaults (<see cref="ServerDefaults"/>, CRD schema defaults) are applied on every write;</item>
/// <item>metadata.generation starts at 1 and is bumped only when something other than metadata and status changes;</item>
/// <item>managedFields record each manager's fields: Apply entries hold what was applied, Update entries what the
/// manager changed (others lose those fields); server-side apply reports conflicts unless forced and removes fields a
/// manager stops applying;</item>
/// <item>deletion honours finalizers (deletionTimestamp, removal once the last finalizer goes) and propagation
/// (the garbage collector removes dependents named by ownerReferences after <see cref="GarbageCollectionDelay"/>);</item>
/// <item>a deleted namespace stays Terminating while its content is removed and refuses new content;</item>
/// <item>dry runs compute the same result and store nothing.</item>
/// </list>
/// </summary>
public sealed class ObjectStore : ServerDefaults.IAllocator, IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Group, string Plural, string Ns, string Name), JsonObject> _objects = new();
    private readonly CancellationTokenSource _stop = new();
    private long _resourceVersion = 100;
    private int _nextIp = 10;
    private int _nextNodePort = 30000;

    /// <summary>Called after every successful write, outside the lock (the fake operators and watches hook in here).</summary>
    public event Action<ResourceType, JsonObject, string>? Changed;

    /// <summary>How many past changes are kept for watches that start from a resourceVersion (kube-apiserver's watch cache).</summary>
    public int HistoryLimit { get; set; } = 10_000;

    private readonly object _historyGate = new();
    private readonly Queue<(long Version, ResourceType Type, JsonObject Object, string Verb)> _history = new();
    private long _historyFloor = -1;

    /// <summary>
    /// The changes after <paramref name="resourceVersion"/>, in order, as a watch from that version replays them (the
    /// watch cache): a client that lists, then watches from the list's resourceVersion, misses nothing that happened in
    /// between. Null when the version is older than the history kept (kube-apiserver answers 410 Gone, "too old resource version").
    /// </summary>
    public List<(ResourceType Type, JsonObject Object, string Verb)>? ChangesSince(long resourceVersion)
    {
        lock (_historyGate)
        {
            if (resourceVersion < _historyFloor) return null;
            return _history.Where(e => e.Version > resourceVersion).Select(e => (e.Type, e.Object, e.Verb)).ToList();
        }
    }

    /// <summary>Records a change in the history, then tells the subscribers.</summary>
    private void Notify(ResourceType t, JsonObject o, string verb)
    {
        lock (_historyGate)
        {
            _history.Enqueue((Number(o["metadata"]?["resourceVersion"]) ?? 0, t, o, verb));
            while (_history.Count > Math.Max(1, HistoryLimit)) _historyFloor = _history.Dequeue().Version;
        }
        // Each subscriber (a fake operator, a watch) on its own: one that fails (say, an operator writing into a
        // Terminating namespace) must not fail the write that notified it, nor the controller loop (namespace
        // finalization, garbage collection) that made the change — kube-apiserver's writes never depend on watchers.
        if (Changed is not { } changed) return;
        foreach (var d in changed.GetInvocationList())
        {
            try
            {
                ((Action<ResourceType, JsonObject, string>)d)(t, o, verb);
            }
            catch (Exception e) when (e is ApiError or InvalidOperationException or OperationCanceledException or ObjectDisposedException)
            {
                SubscriberFailures++;
            }
        }
    }

    /// <summary>How many times a subscriber (fake operator, watch) failed on a change; the write itself stood.</summary>
    public int SubscriberFailures { get; private set; }

    public long ResourceVersion { get { lock (_gate) return _resourceVersion; } }

    public int Count { get { lock (_gate) return _objects.Count; } }

    /// <summary>How many writes changed something (creates, updates, deletes).</summary>
    public int Writes { get; private set; }

    /// <summary>
    /// Fields this cluster's schemas lack, as "group/Kind:dotted.path" ("maistra.io/ServiceMeshControlPlane:spec.techPreview"):
    /// a cluster running an older CRD than shared/crds holds. Strict validation rejects them; other writes drop them.
    /// </summary>
    public HashSet<string> UnservedFields { get; } = new(StringComparer.Ordinal);

    /// <summary>The schema this cluster validates a kind with (shared/crds, less <see cref="UnservedFields"/>).</summary>
    public ApiSchemas.Schema? SchemaFor(ResourceType t, string version)
    {
        var schema = ApiSchemas.For(t, version);
        if (schema is null || UnservedFields.Count == 0) return schema;
        var prefix = $"{t.Group}/{t.Kind}:";
        return schema.Without(UnservedFields.Where(f => f.StartsWith(prefix, StringComparison.Ordinal)).Select(f => f[prefix.Length..]).ToList());
    }

    /// <summary>How long the namespace controller waits before it removes a deleted namespace's content.</summary>
    public TimeSpan NamespaceDeletionDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>How long the garbage collector waits before it removes the dependents of a deleted owner.</summary>
    public TimeSpan GarbageCollectionDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    private static (string, string, string, string) Key(ResourceType t, string? ns, string name) => (t.Group, t.Plural, t.Namespaced ? ns ?? "" : "", name);

    /// <summary>An integer field, whatever its JSON representation; null when absent.</summary>
    public static long? Number(JsonNode? node) =>
        node is JsonValue v && long.TryParse(v.ToJsonString().Trim('"'), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l : null;

    private static string Now() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    public JsonObject? Get(ResourceType t, string? ns, string name, string version)
    {
        lock (_gate) return _objects.TryGetValue(Key(t, ns, name), out var o) ? WithVersion(o, t, version) : null;
    }

    public List<JsonObject> List(ResourceType t, string? ns, LabelSelector? selector, string version, FieldSelector? fields = null)
    {
        lock (_gate)
            return _objects.Where(kv => kv.Key.Group == t.Group && kv.Key.Plural == t.Plural && (ns is null || kv.Key.Ns == ns))
                .Select(kv => kv.Value)
                .Where(o => (selector is null || selector.Matches(o["metadata"]?["labels"] as JsonObject)) && (fields is null || fields.Matches(o)))
                .OrderBy(o => o["metadata"]!["namespace"]?.GetValue<string>(), StringComparer.Ordinal)
                .ThenBy(o => o["metadata"]!["name"]!.GetValue<string>(), StringComparer.Ordinal)
                .Select(o => WithVersion(o, t, version)).ToList();
    }

    /// <summary>A list and the resourceVersion it is as of, read together (a watch from that version misses nothing after the list).</summary>
    public (List<JsonObject> Items, long ResourceVersion) ListAt(ResourceType t, string? ns, LabelSelector? selector, string version, FieldSelector? fields = null)
    {
        lock (_gate) return (List(t, ns, selector, version, fields), _resourceVersion);
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

    private static ResourceType TypeOf((string Group, string Plural, string Ns, string Name) key) => ResourceTypes.All.First(r => r.Group == key.Group && r.Plural == key.Plural);

    private static ApiError NotFound(ResourceType t, string name) =>
        new(HttpStatusCode.NotFound, "NotFound", $"{t.Plural}{(t.Group.Length == 0 ? "" : "." + t.Group)} \"{name}\" not found");

    /// <summary>The namespace must exist; new content is refused while it terminates.</summary>
    private void EnsureNamespace(ResourceType t, string? ns, string name)
    {
        if (!t.Namespaced) return;
        if (string.IsNullOrEmpty(ns)) throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "the namespace of the object is required");
        if (!_objects.TryGetValue(Key(ResourceTypes.Namespace, null, ns), out var nsObj))
            throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"namespaces \"{ns}\" not found");
        if (nsObj["metadata"]?["deletionTimestamp"] is not null)
            throw new ApiError(HttpStatusCode.Forbidden, "Forbidden",
                $"{t.Plural}{(t.Group.Length == 0 ? "" : "." + t.Group)} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated");
    }

    private string NextVersion() => (++_resourceVersion).ToString(CultureInfo.InvariantCulture);

    JsonNode ServerDefaults.IAllocator.ClusterIp() { lock (_gate) return JsonValue.Create($"10.96.{_nextIp / 250}.{_nextIp++ % 250 + 1}")!; }

    JsonNode ServerDefaults.IAllocator.NodePort() { lock (_gate) return JsonValue.Create(_nextNodePort++)!; }

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
        md["creationTimestamp"] ??= Now();
        obj["kind"] = t.Kind;
    }

    /// <summary>Drops what clients may not set (system metadata) from a request body.</summary>
    private static void StripSystemFields(JsonObject obj)
    {
        if (obj["metadata"] is not JsonObject md) return;
        foreach (var k in new[] { "uid", "creationTimestamp", "generation", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink" }) md.Remove(k);
    }

    private void Default(ResourceType t, JsonObject obj, JsonObject? live, string version)
    {
        ServerDefaults.Apply(t, obj, live, this);
        ApiSchemas.For(t, version)?.Default(obj);
        if (t.Kind == "Namespace")
        {
            var status = obj["status"] as JsonObject ?? new JsonObject();
            obj["status"] = status;
            status["phase"] ??= "Active";
        }
        if (t.Kind == "Service") obj["status"] ??= new JsonObject { ["loadBalancer"] = new JsonObject() };
    }

    /// <summary>Final-object validation of HTTP writes: custom resources are checked against their structural schemas (422).</summary>
    private static void Validate(ResourceType t, JsonObject obj, string version, bool statusWrite = false)
    {
        var schema = ApiSchemas.For(t, version);
        if (schema is null) return;
        // What a write cannot change is not judged by it: the status of a main-resource write (its controller's), the
        // spec of a status write.
        var judged = (JsonObject)obj.DeepClone();
        if (t.HasStatus && !statusWrite) judged.Remove("status");
        if (t.HasStatus && statusWrite) foreach (var k in judged.Select(kv => kv.Key).Where(k => k is not ("apiVersion" or "kind" or "metadata" or "status")).ToList()) judged.Remove(k);
        var errors = schema.Invalid(judged);
        if (errors.Count == 0) return;
        var name = obj["metadata"]?["name"]?.GetValue<string>();
        if (t.IsCustom)
            throw new ApiError(HttpStatusCode.UnprocessableEntity, "Invalid",
                $"{t.Kind}.{t.Group} \"{name}\" is invalid: {(errors.Count == 1 ? errors[0] : "[" + string.Join(", ", errors) + "]")}");
        throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", $"{t.Kind} in version \"{version}\" cannot be handled as a {t.Kind}: {errors[0]}");
    }

    private static bool SpecChanged(JsonObject? before, JsonObject after)
    {
        if (before is null) return true;
        static JsonObject Content(JsonObject o)
        {
            var c = (JsonObject)o.DeepClone();
            foreach (var k in new[] { "metadata", "status", "apiVersion", "kind" }) c.Remove(k);
            return c;
        }
        return !JsonNode.DeepEquals(Content(before), Content(after));
    }

    private static void Generation(ResourceType t, JsonObject? live, JsonObject obj)
    {
        if (!t.HasGeneration) return;
        var previous = ObjectStore.Number(live?["metadata"]?["generation"]) ?? 0;
        obj["metadata"]!["generation"] = previous == 0 ? 1 : SpecChanged(live, obj) ? previous + 1 : previous;
    }

    private void Fire(List<(ResourceType, JsonObject, string)> events)
    {
        foreach (var (t, o, verb) in events) Notify(t, o, verb);
    }

    // ------------------------------------------------------------------ create, update, patch

    public JsonObject Create(ResourceType t, string? ns, JsonObject body, string version, string manager, bool dryRun = false, bool validate = false)
    {
        JsonObject result;
        lock (_gate)
        {
            var name = body["metadata"]?["name"]?.GetValue<string>() ?? throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "metadata.name is required");
            if (body["metadata"]?["resourceVersion"]?.GetValue<string>() is { Length: > 0 })
                throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "resourceVersion should not be set on objects to be created");
            EnsureNamespace(t, ns, name);
            if (_objects.ContainsKey(Key(t, ns, name)))
                throw new ApiError(HttpStatusCode.Conflict, "AlreadyExists", $"{t.Plural}{(t.Group.Length == 0 ? "" : "." + t.Group)} \"{name}\" already exists");
            var obj = (JsonObject)body.DeepClone();
            StripNulls(obj);
            StripSystemFields(obj);
            if (t.HasStatus) obj.Remove("status");
            Stamp(obj, t, ns, name);
            Default(t, obj, null, version);
            Generation(t, null, obj);
            if (validate) Validate(t, obj, version);
            obj["metadata"]!["managedFields"] = ManagedAfterUpdate(t, null, obj, manager, version, subresource: null);
            if (dryRun) return WithVersion(obj, t, version);
            obj["metadata"]!["resourceVersion"] = NextVersion();
            _objects[Key(t, ns, name)] = obj;
            Writes++;
            result = WithVersion(obj, t, version);
        }
        Notify(t, result, "ADDED");
        return result;
    }

    public JsonObject Update(ResourceType t, string? ns, string name, JsonObject body, string version, bool status, string manager, bool dryRun = false, bool validate = false)
    {
        var events = new List<(ResourceType, JsonObject, string)>();
        JsonObject result;
        lock (_gate)
        {
            if (!_objects.TryGetValue(Key(t, ns, name), out var live)) throw NotFound(t, name);
            var rv = body["metadata"]?["resourceVersion"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(rv) && rv != live["metadata"]!["resourceVersion"]!.GetValue<string>())
                throw new ApiError(HttpStatusCode.Conflict, "Conflict",
                    $"Operation cannot be fulfilled on {t.Plural}{(t.Group.Length == 0 ? "" : "." + t.Group)} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
            var obj = (JsonObject)live.DeepClone();
            var clean = (JsonObject)body.DeepClone();
            StripNulls(clean);
            if (status) obj["status"] = clean["status"]?.DeepClone();
            else
            {
                foreach (var (k, v) in clean)
                    if (k is not ("metadata" or "status" or "apiVersion" or "kind")) obj[k] = v?.DeepClone();
                foreach (var k in obj.Select(kv => kv.Key).Where(k => k is not ("metadata" or "status" or "apiVersion" or "kind") && !clean.ContainsKey(k)).ToList()) obj.Remove(k);
                if (!t.HasStatus)
                {
                    if (clean["status"] is { } s) obj["status"] = s.DeepClone();
                    else obj.Remove("status");
                }
                foreach (var k in new[] { "labels", "annotations", "finalizers", "ownerReferences" })
                    if (clean["metadata"]?[k] is { } m) obj["metadata"]![k] = m.DeepClone();
                    else (obj["metadata"] as JsonObject)!.Remove(k);
                if (live["metadata"]?["deletionTimestamp"] is not null && obj["metadata"]?["finalizers"] is JsonArray added
                    && added.Any(f => !((live["metadata"]?["finalizers"] as JsonArray)?.Any(l => JsonNode.DeepEquals(l, f)) ?? false)))
                    throw new ApiError(HttpStatusCode.UnprocessableEntity, "Invalid", $"{t.Kind} \"{name}\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted");
            }
            Default(t, obj, live, version);
            if (!status) Generation(t, live, obj);
            if (validate) Validate(t, obj, version, status);
            obj["metadata"]!["managedFields"] = ManagedAfterUpdate(t, live, obj, manager, version, status ? "status" : null);
            if (Same(live, obj) && FieldSet.SameOwnership(live["metadata"]!["managedFields"]?.ToJsonString(), obj["metadata"]!["managedFields"]!.ToJsonString()))
                return WithVersion(live, t, version);
            if (dryRun) return WithVersion(obj, t, version);
            result = Commit(t, ns, name, obj, version, events);
        }
        Fire(events);
        return result;
    }

    /// <summary>Stores a changed object, or removes it when it is being deleted and its last finalizer is gone.</summary>
    private JsonObject Commit(ResourceType t, string? ns, string name, JsonObject obj, string version, List<(ResourceType, JsonObject, string)> events)
    {
        obj["metadata"]!["resourceVersion"] = NextVersion();
        Writes++;
        var result = WithVersion(obj, t, version);
        if (obj["metadata"]?["deletionTimestamp"] is not null && (obj["metadata"]?["finalizers"] as JsonArray)?.Count is null or 0
            && (t.Kind != "Namespace" || (obj["spec"]?["finalizers"] as JsonArray)?.Count is null or 0))
        {
            _objects.Remove(Key(t, ns, name));
            events.Add((t, result, "DELETED"));
            ScheduleCollection(obj);
            return result;
        }
        _objects[Key(t, ns, name)] = obj;
        events.Add((t, result, "MODIFIED"));
        return result;
    }

    /// <summary>JSON merge patch, and strategic merge patch (lists of objects merged by their patch merge key).</summary>
    public JsonObject MergePatch(ResourceType t, string? ns, string name, JsonObject patch, string version, bool status, string manager, bool strategic = false, bool dryRun = false, bool validate = false)
    {
        JsonObject current;
        lock (_gate)
        {
            if (!_objects.TryGetValue(Key(t, ns, name), out var live)) throw NotFound(t, name);
            current = (JsonObject)live.DeepClone();
        }
        var schema = strategic ? ApiSchemas.For(t, version) : null;
        Merge(current, patch, strategic, schema, new List<string>());
        if (patch["metadata"]?["resourceVersion"] is null) current["metadata"]!.AsObject().Remove("resourceVersion");
        return Update(t, ns, name, current, version, status, manager, dryRun, validate);
    }

    private static void StripNulls(JsonObject o)
    {
        foreach (var (k, v) in o.ToList())
        {
            if (v is null) o.Remove(k);
            else if (v is JsonObject child) StripNulls(child);
        }
    }

    private static void Merge(JsonObject target, JsonObject patch, bool strategic = false, ApiSchemas.Schema? schema = null, List<string>? path = null)
    {
        foreach (var (k, v) in patch)
        {
            if (strategic && k.StartsWith('$')) continue; // $setElementOrder/..., $retainKeys, $patch directives
            var here = path is null ? null : new List<string>(path) { k };
            if (v is null) target.Remove(k);
            else if (v is JsonObject po && target[k] is JsonObject to) Merge(to, po, strategic, schema, here);
            else if (strategic && v is JsonArray pa && target[k] is JsonArray ta && MergeKey(schema, here!, pa, ta) is { } key)
            {
                foreach (var item in pa.OfType<JsonObject>())
                {
                    var existing = ta.OfType<JsonObject>().FirstOrDefault(e => JsonNode.DeepEquals(e[key], item[key]));
                    if (item["$patch"]?.GetValue<string>() == "delete") { if (existing is not null) ta.Remove(existing); }
                    else if (existing is not null) Merge(existing, item, strategic, schema, null);
                    else
                    {
                        var copy = (JsonObject)item.DeepClone();
                        copy.Remove("$patch");
                        ta.Add(copy);
                    }
                }
            }
            else target[k] = v.DeepClone();
        }
    }

    private static string? MergeKey(ApiSchemas.Schema? schema, List<string> path, JsonArray patch, JsonArray live)
    {
        if (!patch.All(i => i is JsonObject) || !live.All(i => i is JsonObject)) return null;
        var listSchema = schema?.ListSchemaAt(path);
        var key = listSchema?["x-kubernetes-patch-merge-key"]?.GetValue<string>();
        if (listSchema?["x-kubernetes-patch-strategy"]?.GetValue<string>()?.Contains("merge", StringComparison.Ordinal) != true) return null;
        return key is not null && patch.OfType<JsonObject>().All(i => i.ContainsKey(key)) ? key : null;
    }

    /// <summary>Server-side apply.</summary>
    public (JsonObject Object, bool Created, bool Changed) Apply(ResourceType t, string? ns, string name, JsonObject applied, string version, string manager, bool force, bool status,
        bool dryRun = false, bool validate = false)
    {
        var events = new List<(ResourceType, JsonObject, string)>();
        JsonObject result;
        bool created, changed;
        lock (_gate)
        {
            var key = Key(t, ns, name);
            var config = (JsonObject)applied.DeepClone();
            StripNulls(config);
            var precondition = config["metadata"]?["resourceVersion"]?.GetValue<string>();
            (config["metadata"] as JsonObject)?.Remove("resourceVersion");
            StripSystemFields(config);
            if (t.HasStatus && !status) config.Remove("status");
            var subresource = status ? "status" : null;
            var appliedFields = FieldSet.Of(config, t, subresource);
            if (!_objects.TryGetValue(key, out var live))
            {
                if (!string.IsNullOrEmpty(precondition)) throw NotFound(t, name);
                EnsureNamespace(t, ns, name);
                var obj = (JsonObject)config.DeepClone();
                Stamp(obj, t, ns, name);
                Default(t, obj, null, version);
                Generation(t, null, obj);
                if (validate) Validate(t, obj, version, status);
                obj["metadata"]!["managedFields"] = new JsonArray(Entry(manager, "Apply", version, t, appliedFields, subresource));
                created = changed = true;
                if (dryRun) return (WithVersion(obj, t, version), true, true);
                obj["metadata"]!["resourceVersion"] = NextVersion();
                _objects[key] = obj;
                Writes++;
                result = WithVersion(obj, t, version);
                events.Add((t, result, "ADDED"));
            }
            else
            {
                if (!string.IsNullOrEmpty(precondition) && precondition != live["metadata"]!["resourceVersion"]!.GetValue<string>())
                    throw new ApiError(HttpStatusCode.Conflict, "Conflict", $"Operation cannot be fulfilled on {t.Plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
                var entries = (live["metadata"]!["managedFields"] as JsonArray)?.OfType<JsonObject>().Select(e => (JsonObject)e.DeepClone()).ToList() ?? new List<JsonObject>();
                bool IsMine(JsonObject e) => e["manager"]!.GetValue<string>() == manager && e["operation"]!.GetValue<string>() == "Apply" && e["subresource"]?.GetValue<string>() == subresource;
                var others = entries.Where(e => !IsMine(e)).ToList();
                var mine = entries.FirstOrDefault(IsMine);
                var previous = FieldSet.FromFieldsV1(mine?["fieldsV1"] as JsonObject);
                var ownedByOthers = new FieldSet();
                foreach (var e in others) ownedByOthers.AddRange(FieldSet.FromFieldsV1(e["fieldsV1"] as JsonObject));
                var obj = (JsonObject)live.DeepClone();
                foreach (var path in previous.Paths.Where(p => !appliedFields.Contains(p) && !ownedByOthers.Contains(p)))
                    FieldSet.Remove(obj, path);
                Merge(obj, config);
                Default(t, obj, live, version);
                if (!status) Generation(t, live, obj);

                // A conflict: applying changes a field another manager owns.
                var conflicts = new List<(JsonObject Entry, string[] Path)>();
                foreach (var e in others)
                {
                    if (e["manager"]!.GetValue<string>() == manager) continue;
                    var theirs = FieldSet.FromFieldsV1(e["fieldsV1"] as JsonObject);
                    foreach (var path in appliedFields.Paths.Where(theirs.Contains))
                        if (!JsonNode.DeepEquals(FieldSet.At(obj, path), FieldSet.At(live, path))) conflicts.Add((e, path));
                }
                if (conflicts.Count > 0 && !force)
                    throw new ApiError(HttpStatusCode.Conflict, "Conflict",
                        $"Apply failed with {conflicts.Count} conflict{(conflicts.Count == 1 ? "" : "s")}: {string.Join("; ", conflicts.Select(c => $"conflict with \"{c.Entry["manager"]}\"{(c.Entry["operation"]?.GetValue<string>() == "Update" ? " using " + c.Entry["apiVersion"] : "")}: {FieldSet.Format(c.Path)}"))}");
                foreach (var (e, path) in conflicts)
                {
                    var theirs = FieldSet.FromFieldsV1(e["fieldsV1"] as JsonObject);
                    theirs.RemoveAll(p => p.SequenceEqual(path));
                    e["fieldsV1"] = theirs.ToFieldsV1();
                }
                if (validate) Validate(t, obj, version, status);
                var newEntries = others.Where(e => (e["fieldsV1"] as JsonObject)?.Count > 0).ToList();
                if (appliedFields.Paths.Count > 0) newEntries.Insert(0, Entry(manager, "Apply", version, t, appliedFields, subresource, mine?["time"]?.GetValue<string>()));
                var oldManaged = live["metadata"]!["managedFields"]?.ToJsonString();
                obj["metadata"]!["managedFields"] = new JsonArray(newEntries.ToArray<JsonNode>());
                var contentChanged = !Same(live, obj);
                changed = contentChanged || !FieldSet.SameOwnership(oldManaged, obj["metadata"]!["managedFields"]!.ToJsonString());
                created = false;
                if (!changed) return (WithVersion(live, t, version), false, false);
                if (contentChanged && appliedFields.Paths.Count > 0) obj["metadata"]!["managedFields"]![0]!["time"] = Now();
                if (dryRun) return (WithVersion(obj, t, version), false, true);
                result = Commit(t, ns, name, obj, version, events);
            }
        }
        Fire(events);
        return (result, created, changed);
    }

    /// <summary>managedFields after an Update by <paramref name="manager"/>: it owns what it changed; others lose those fields.</summary>
    private static JsonArray ManagedAfterUpdate(ResourceType t, JsonObject? live, JsonObject obj, string manager, string version, string? subresource)
    {
        var entries = (live?["metadata"]?["managedFields"] as JsonArray)?.OfType<JsonObject>().Select(e => (JsonObject)e.DeepClone()).ToList() ?? new List<JsonObject>();
        var after = FieldSet.Of(obj, t, subresource);
        var before = live is null ? new FieldSet() : FieldSet.Of(live, t, subresource);
        var changedPaths = new FieldSet();
        foreach (var p in after.Paths.Concat(before.Paths))
            if (live is null || !JsonNode.DeepEquals(FieldSet.At(obj, p), FieldSet.At(live, p))) changedPaths.Add(p);
        if (changedPaths.Paths.Count == 0) return new JsonArray(entries.ToArray<JsonNode>());
        var apiVersion = t.Group.Length == 0 ? version : $"{t.Group}/{version}";
        bool IsMine(JsonObject e) => e["manager"]!.GetValue<string>() == manager && e["operation"]!.GetValue<string>() == "Update" && e["subresource"]?.GetValue<string>() == subresource;
        bool InScope(string[] p) => !t.HasStatus || (p[0] == "status") == (subresource == "status");
        var result = new List<JsonObject>();
        FieldSet mineFields = new();
        foreach (var e in entries)
        {
            var fields = FieldSet.FromFieldsV1(e["fieldsV1"] as JsonObject);
            if (IsMine(e)) { mineFields.AddRange(fields); continue; }
            // Only fields this write could touch (its subresource's) are taken away or dropped.
            fields.RemoveAll(p => changedPaths.Contains(p) || (InScope(p) && !after.Contains(p)));
            if (fields.Paths.Count == 0) continue;
            e["fieldsV1"] = fields.ToFieldsV1();
            result.Add(e);
        }
        mineFields.AddRange(changedPaths);
        mineFields.RemoveAll(p => !after.Contains(p));
        if (mineFields.Paths.Count > 0) result.Add(Entry(manager, "Update", version, t, mineFields, subresource));
        _ = apiVersion;
        return new JsonArray(result.ToArray<JsonNode>());
    }

    // ------------------------------------------------------------------ delete, finalizers, garbage collection, namespaces

    /// <summary>
    /// Deletes an object as the API server does: objects with finalizers, namespaces and foreground deletions get a
    /// deletionTimestamp and stay until their finalizers are gone; others go at once. Returns the object (null when it
    /// did not exist) and whether it is gone.
    /// </summary>
    public JsonObject? Delete(ResourceType t, string? ns, string name, string propagationPolicy = "Background", bool dryRun = false) =>
        DeleteWithResult(t, ns, name, propagationPolicy, dryRun).Object;

    public (JsonObject? Object, bool Gone) DeleteWithResult(ResourceType t, string? ns, string name, string propagationPolicy = "Background", bool dryRun = false)
    {
        var events = new List<(ResourceType, JsonObject, string)>();
        (JsonObject?, bool) result;
        lock (_gate)
        {
            if (!_objects.TryGetValue(Key(t, ns, name), out var live)) return (null, false);
            var obj = (JsonObject)live.DeepClone();
            var md = (JsonObject)obj["metadata"]!;
            var finalizers = md["finalizers"] as JsonArray ?? new JsonArray();
            if (propagationPolicy == "Foreground" && t.Kind != "Namespace" && !finalizers.Any(f => f?.GetValue<string>() == "foregroundDeletion"))
                finalizers.Add("foregroundDeletion");
            if (t.Kind == "Namespace" || finalizers.Count > 0)
            {
                if (md["deletionTimestamp"] is not null) return (WithVersion(live, t, "v1"), false);
                md["deletionTimestamp"] = Now();
                md["deletionGracePeriodSeconds"] = 0;
                if (finalizers.Count > 0 && finalizers.Parent is null) md["finalizers"] = finalizers;
                if (t.Kind == "Namespace") obj["status"]!["phase"] = "Terminating";
                if (dryRun) return (WithVersion(obj, t, t.Versions[0]), false);
                obj["metadata"]!["resourceVersion"] = NextVersion();
                _objects[Key(t, ns, name)] = obj;
                Writes++;
                result = (WithVersion(obj, t, t.Versions[0]), false);
                events.Add((t, result.Item1!, "MODIFIED"));
                if (t.Kind == "Namespace") Schedule(NamespaceDeletionDelay, () => FinalizeNamespace(name));
                if (propagationPolicy == "Foreground") Schedule(GarbageCollectionDelay, () => CollectForeground(t, ns, name, md["uid"]!.GetValue<string>()));
            }
            else
            {
                if (dryRun) return (WithVersion(live, t, t.Versions[0]), true);
                _objects.Remove(Key(t, ns, name));
                Writes++;
                // The deletion has its own resourceVersion (etcd's revision of the delete), as watches see it.
                var gone = WithVersion(live, t, t.Versions[0]);
                gone["metadata"]!["resourceVersion"] = NextVersion();
                result = (gone, true);
                events.Add((t, result.Item1!, "DELETED"));
                if (propagationPolicy == "Orphan") Orphan(md["uid"]!.GetValue<string>(), events);
                else ScheduleCollection(live);
            }
        }
        Fire(events);
        return result;
    }

    /// <summary>Removes an object at once, bypassing finalizers (etcdctl del; for test set-up).</summary>
    public JsonObject? Purge(ResourceType t, string? ns, string name)
    {
        JsonObject? removed;
        lock (_gate)
        {
            if (!_objects.Remove(Key(t, ns, name), out removed)) return null;
            Writes++;
            removed = (JsonObject)removed.DeepClone();
            removed["metadata"]!["resourceVersion"] = NextVersion();
            if (t.Kind == "Namespace")
                foreach (var k in _objects.Keys.Where(k => k.Ns == name).ToList()) _objects.Remove(k);
        }
        Notify(t, removed, "DELETED");
        return removed;
    }

    private void Orphan(string ownerUid, List<(ResourceType, JsonObject, string)> events)
    {
        foreach (var (key, o) in _objects.ToList())
            if (o["metadata"]?["ownerReferences"] is JsonArray refs && refs.Any(r => r?["uid"]?.GetValue<string>() == ownerUid))
            {
                var copy = (JsonObject)o.DeepClone();
                var kept = new JsonArray(refs.Where(r => r?["uid"]?.GetValue<string>() != ownerUid).Select(r => r!.DeepClone()).ToArray());
                if (kept.Count == 0) (copy["metadata"] as JsonObject)!.Remove("ownerReferences");
                else copy["metadata"]!["ownerReferences"] = kept;
                copy["metadata"]!["resourceVersion"] = NextVersion();
                _objects[key] = copy;
                events.Add((TypeOf(key), WithVersion(copy, TypeOf(key), TypeOf(key).Versions[0]), "MODIFIED"));
            }
    }

    private void ScheduleCollection(JsonObject removed)
    {
        if (removed["metadata"]?["uid"]?.GetValue<string>() is { } uid) Schedule(GarbageCollectionDelay, () => CollectDependents(uid));
    }

    /// <summary>The garbage collector: dependents whose owners are all gone are deleted (in the background).</summary>
    private void CollectDependents(string ownerUid)
    {
        List<(ResourceType T, string? Ns, string Name)> doomed;
        lock (_gate)
        {
            var uids = _objects.Values.Select(o => o["metadata"]?["uid"]?.GetValue<string>()).Where(u => u is not null).ToHashSet(StringComparer.Ordinal);
            doomed = _objects.Where(kv => kv.Value["metadata"]?["ownerReferences"] is JsonArray refs && refs.Any(r => r?["uid"]?.GetValue<string>() == ownerUid)
                                          && refs.All(r => !uids.Contains(r?["uid"]?.GetValue<string>())))
                .Select(kv => (TypeOf(kv.Key), kv.Value["metadata"]?["namespace"]?.GetValue<string>(), kv.Key.Name)).ToList();
        }
        foreach (var (t, ns, name) in doomed) DeleteWithResult(t, ns, name);
    }

    private void CollectForeground(ResourceType t, string? ns, string name, string uid)
    {
        bool dependents;
        lock (_gate) dependents = _objects.Values.Any(o => o["metadata"]?["ownerReferences"] is JsonArray refs && refs.Any(r => r?["uid"]?.GetValue<string>() == uid));
        if (dependents)
        {
            List<(ResourceType, string?, string)> list;
            lock (_gate)
                list = _objects.Where(kv => kv.Value["metadata"]?["ownerReferences"] is JsonArray refs && refs.Any(r => r?["uid"]?.GetValue<string>() == uid))
                    .Select(kv => (TypeOf(kv.Key), kv.Value["metadata"]?["namespace"]?.GetValue<string>(), kv.Key.Name)).ToList();
            foreach (var (dt, dns, dn) in list) DeleteWithResult(dt, dns, dn);
            Schedule(TimeSpan.FromMilliseconds(20), () => CollectForeground(t, ns, name, uid));
            return;
        }
        RemoveFinalizer(t, ns, name, "foregroundDeletion");
    }

    /// <summary>Removes one finalizer (as its controller would); the object goes when it was the last.</summary>
    public void RemoveFinalizer(ResourceType t, string? ns, string name, string finalizer)
    {
        var events = new List<(ResourceType, JsonObject, string)>();
        lock (_gate)
        {
            if (!_objects.TryGetValue(Key(t, ns, name), out var live) || live["metadata"]?["finalizers"] is not JsonArray f) return;
            var obj = (JsonObject)live.DeepClone();
            var kept = new JsonArray(f.Where(x => x?.GetValue<string>() != finalizer).Select(x => x!.DeepClone()).ToArray());
            if (kept.Count == f.Count) return;
            if (kept.Count == 0) (obj["metadata"] as JsonObject)!.Remove("finalizers");
            else obj["metadata"]!["finalizers"] = kept;
            Commit(t, ns, name, obj, t.Versions[0], events);
        }
        Fire(events);
    }

    /// <summary>The namespace controller: deletes a terminating namespace's content, then the namespace once it is empty.</summary>
    private void FinalizeNamespace(string ns)
    {
        List<(ResourceType T, string Name)> content;
        lock (_gate)
        {
            if (!_objects.TryGetValue(Key(ResourceTypes.Namespace, null, ns), out var nsObj) || nsObj["metadata"]?["deletionTimestamp"] is null) return;
            content = _objects.Where(kv => kv.Key.Ns == ns && TypeOf(kv.Key).Namespaced && kv.Value["metadata"]?["deletionTimestamp"] is null)
                .Select(kv => (TypeOf(kv.Key), kv.Key.Name)).ToList();
        }
        foreach (var (t, name) in content)
        {
            try
            {
                DeleteWithResult(t, ns, name);
            }
            catch (ApiError)
            {
                // Gone meanwhile, or refused for now: the next round deletes what remains (the loop must not stop here,
                // or the namespace stays Terminating for ever).
            }
        }
        var events = new List<(ResourceType, JsonObject, string)>();
        var again = false;
        lock (_gate)
        {
            if (!_objects.TryGetValue(Key(ResourceTypes.Namespace, null, ns), out var nsObj)) return;
            var remaining = _objects.Where(kv => kv.Key.Ns == ns && TypeOf(kv.Key).Namespaced).ToList();
            var obj = (JsonObject)nsObj.DeepClone();
            if (remaining.Count > 0)
            {
                var byType = remaining.GroupBy(kv => TypeOf(kv.Key)).Select(g => $"{g.Key.Plural}{(g.Key.Group.Length == 0 ? "" : "." + g.Key.Group)} has {g.Count()} resource instances");
                var finalizers = remaining.SelectMany(kv => (kv.Value["metadata"]?["finalizers"] as JsonArray)?.Select(f => f!.GetValue<string>()) ?? Enumerable.Empty<string>())
                    .GroupBy(f => f, StringComparer.Ordinal).Select(g => $"{g.Key} in {g.Count()} resource instances").ToList();
                var conditions = new JsonArray(new JsonObject
                {
                    ["type"] = "NamespaceContentRemaining", ["status"] = "True", ["reason"] = "SomeResourcesRemain",
                    ["message"] = "Some resources are remaining: " + string.Join(", ", byType),
                });
                if (finalizers.Count > 0)
                    conditions.Add(new JsonObject
                    {
                        ["type"] = "NamespaceFinalizersRemaining", ["status"] = "True", ["reason"] = "SomeFinalizersRemain",
                        ["message"] = "Some content in the namespace has finalizers remaining: " + string.Join(", ", finalizers),
                    });
                if (!JsonNode.DeepEquals(obj["status"]!["conditions"], conditions))
                {
                    obj["status"]!["conditions"] = conditions;
                    Commit(ResourceTypes.Namespace, null, ns, obj, "v1", events);
                }
                again = true;
            }
            else
            {
                // Content gone: the "kubernetes" finalizer is removed, and the namespace with it when no other remains.
                (obj["spec"] as JsonObject)?.Remove("finalizers");
                obj["metadata"]!["resourceVersion"] = NextVersion();
                Writes++;
                if ((obj["metadata"]?["finalizers"] as JsonArray)?.Count is null or 0)
                {
                    _objects.Remove(Key(ResourceTypes.Namespace, null, ns));
                    events.Add((ResourceTypes.Namespace, WithVersion(obj, ResourceTypes.Namespace, "v1"), "DELETED"));
                }
                else
                {
                    _objects[Key(ResourceTypes.Namespace, null, ns)] = obj;
                    events.Add((ResourceTypes.Namespace, WithVersion(obj, ResourceTypes.Namespace, "v1"), "MODIFIED"));
                }
            }
        }
        Fire(events);
        if (again) Schedule(TimeSpan.FromMilliseconds(25), () => FinalizeNamespace(ns));
    }

    private void Schedule(TimeSpan delay, Action action)
    {
        var token = _stop.Token;
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(delay, token).ConfigureAwait(false);
                action();
            }
            catch (OperationCanceledException)
            {
            }
            catch (ApiError)
            {
            }
        }, token);
    }

    // ------------------------------------------------------------------ writes as a controller does them

    /// <summary>Writes an object as a controller would (an Update entry in managedFields; status through the status subresource).</summary>
    public JsonObject Upsert(JsonObject obj, string manager = "test-operator")
    {
        var t = ResourceTypes.ByKind(obj["apiVersion"]!.GetValue<string>(), obj["kind"]!.GetValue<string>()) ?? throw new ArgumentException("unknown kind");
        var ns = obj["metadata"]?["namespace"]?.GetValue<string>();
        var name = obj["metadata"]!["name"]!.GetValue<string>();
        var version = obj["apiVersion"]!.GetValue<string>().Split('/').Last();
        lock (_gate)
        {
            if (t.Namespaced && !_objects.ContainsKey(Key(ResourceTypes.Namespace, null, ns!)))
            {
                var nsObj = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } };
                Stamp(nsObj, ResourceTypes.Namespace, null, ns!);
                Default(ResourceTypes.Namespace, nsObj, null, "v1");
                nsObj["metadata"]!["resourceVersion"] = NextVersion();
                _objects[Key(ResourceTypes.Namespace, null, ns!)] = nsObj;
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
        (copy["metadata"] as JsonObject)!.Remove("resourceVersion");
        // A controller's update carries what it read: metadata it does not set is kept.
        foreach (var k in new[] { "finalizers", "ownerReferences", "labels", "annotations" })
            if (copy["metadata"]![k] is null && existing["metadata"]?[k] is { } keep) copy["metadata"]![k] = keep.DeepClone();
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

    /// <summary>Writes only the status of an existing object (a controller's status update); null when the object is gone.</summary>
    public JsonObject? UpdateStatus(ResourceType t, string? ns, string name, Func<JsonObject, JsonNode?> status, string manager)
    {
        var version = t.Versions[0];
        var live = Get(t, ns, name, version);
        if (live is null) return null;
        live["status"] = status(live);
        (live["metadata"] as JsonObject)!.Remove("resourceVersion");
        try
        {
            return Update(t, ns, name, live, version, status: true, manager);
        }
        catch (ApiError e) when (e.Code == HttpStatusCode.NotFound)
        {
            return null;
        }
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

    private static JsonObject Entry(string manager, string operation, string version, ResourceType t, FieldSet fields, string? subresource = null, string? time = null)
    {
        var e = new JsonObject
        {
            ["manager"] = manager,
            ["operation"] = operation,
            ["apiVersion"] = t.Group.Length == 0 ? version : $"{t.Group}/{version}",
            ["time"] = time ?? Now(),
            ["fieldsType"] = "FieldsV1",
            ["fieldsV1"] = fields.ToFieldsV1(),
        };
        if (subresource is not null) e["subresource"] = subresource;
        return e;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}

/// <summary>The leaf fields of an object (maps recurse, lists are atomic), in managedFields' FieldsV1 form.</summary>
public sealed class FieldSet
{
    private readonly List<string[]> _paths = new();

    public IReadOnlyList<string[]> Paths => _paths;

    public bool Contains(string[] path) => _paths.Any(p => p.SequenceEqual(path));

    public void Add(string[] path)
    {
        if (!Contains(path)) _paths.Add(path);
    }

    public void AddRange(FieldSet other)
    {
        foreach (var p in other._paths) Add(p);
    }

    public void RemoveAll(Func<string[], bool> predicate) => _paths.RemoveAll(p => predicate(p));

    /// <summary>The fields of an object a manager can own: labels, annotations, finalizers, ownerReferences and content; status only for the status subresource of kinds that have one.</summary>
    public static FieldSet Of(JsonObject obj, ResourceType? t = null, string? subresource = null)
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
            if (t is not null && t.HasStatus && (k == "status") != (subresource == "status")) continue;
            if (k == "metadata")
            {
                if (subresource == "status") continue;
                foreach (var mk in new[] { "labels", "annotations" })
                    if (v?[mk] is JsonObject m) foreach (var (lk, lv) in m) Walk(lv, new List<string> { "metadata", mk, lk });
                foreach (var mk in new[] { "finalizers", "ownerReferences" })
                    if (v?[mk] is JsonArray) set._paths.Add(new[] { "metadata", mk });
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
            .OfType<JsonObject>().Select(e => $"{e["manager"]}/{e["operation"]}/{e["subresource"]}/{e["fieldsV1"]?.ToJsonString()}").Order(StringComparer.Ordinal));
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

/// <summary>Field selectors on metadata.name and metadata.namespace (=, ==, !=), as kubectl delete --wait uses them.</summary>
public sealed class FieldSelector
{
    private readonly List<(string Field, string Value, bool Equal)> _terms = new();

    public static FieldSelector Parse(string text)
    {
        var s = new FieldSelector();
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var notEqual = raw.Contains("!=", StringComparison.Ordinal);
            var parts = raw.Replace("!=", "=", StringComparison.Ordinal).Replace("==", "=", StringComparison.Ordinal).Split('=', 2);
            if (parts.Length != 2 || parts[0].Trim() is not ("metadata.name" or "metadata.namespace"))
                throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", $"field label not supported: {parts[0].Trim()}");
            s._terms.Add((parts[0].Trim(), parts[1].Trim(), !notEqual));
        }
        return s;
    }

    public bool Matches(JsonObject obj) => _terms.All(t =>
        (obj["metadata"]?[t.Field[9..]]?.GetValue<string>() == t.Value) == t.Equal);
}
