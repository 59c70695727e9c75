using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Engine.Checks;

/// <summary>A kind the checks read: its group, the versions tried in order, and its plural (for kubectl commands in fixes).</summary>
public sealed record KindRef(string Group, string Kind, string Plural, params string[] Versions)
{
    public string ApiVersion(string version) => Group.Length == 0 ? version : $"{Group}/{version}";

    public override string ToString() => Kind;

    public static readonly KindRef Node = new("", "Node", "nodes", "v1");
    public static readonly KindRef Namespace = new("", "Namespace", "namespaces", "v1");
    public static readonly KindRef ConfigMap = new("", "ConfigMap", "configmaps", "v1");
    public static readonly KindRef Service = new("", "Service", "services", "v1");
    public static readonly KindRef Pod = new("", "Pod", "pods", "v1");
    public static readonly KindRef Secret = new("", "Secret", "secrets", "v1");
    public static readonly KindRef Smcp = new("maistra.io", "ServiceMeshControlPlane", "servicemeshcontrolplanes", "v2");
    public static readonly KindRef Smp = new("federation.maistra.io", "ServiceMeshPeer", "servicemeshpeers", "v1");
    public static readonly KindRef Ess = new("federation.maistra.io", "ExportedServiceSet", "exportedservicesets", "v1");
    public static readonly KindRef Iss = new("federation.maistra.io", "ImportedServiceSet", "importedservicesets", "v1");
    public static readonly KindRef Istio = new("sailoperator.io", "Istio", "istios", "v1", "v1alpha1");
    public static readonly KindRef IstioCni = new("sailoperator.io", "IstioCNI", "istiocnis", "v1", "v1alpha1");
    public static readonly KindRef Gateway = new("networking.istio.io", "Gateway", "gateways.networking.istio.io", "v1", "v1beta1", "v1alpha3");
    public static readonly KindRef ServiceEntry = new("networking.istio.io", "ServiceEntry", "serviceentries", "v1", "v1beta1", "v1alpha3");
    public static readonly KindRef DestinationRule = new("networking.istio.io", "DestinationRule", "destinationrules", "v1", "v1beta1", "v1alpha3");
}

/// <summary>What one read of a cluster returned: the objects, or why they could not be read; with when and from where.</summary>
public sealed class ReadResult
{
    private ReadResult(IReadOnlyList<JsonObject> items, string? unreadable, string? note, DateTimeOffset at, string source)
    {
        Items = items;
        Unreadable = unreadable;
        Note = note;
        At = at;
        Source = source;
    }

    /// <summary>The objects read (empty when unreadable).</summary>
    public IReadOnlyList<JsonObject> Items { get; }

    /// <summary>Why the objects could not be read; null when they were.</summary>
    public string? Unreadable { get; }

    /// <summary>A remark about a successful read, e.g. that the API is not served (so there are none).</summary>
    public string? Note { get; }

    public bool Ok => Unreadable is null;

    /// <summary>When the objects were read (or saved, for a snapshot).</summary>
    public DateTimeOffset At { get; }

    /// <summary>Where they were read: the API server or the snapshot folder.</summary>
    public string Source { get; }

    public static ReadResult Read(IReadOnlyList<JsonObject> items, DateTimeOffset at, string source, string? note = null) => new(items, null, note, at, source);

    public static ReadResult Failed(string why, DateTimeOffset at, string source) => new(Array.Empty<JsonObject>(), why, null, at, source);

    public ReadResult Where(Func<JsonObject, bool> keep) => Ok ? new ReadResult(Items.Where(keep).ToList(), null, Note, At, Source) : this;

    public override string ToString() => Ok ? $"{Items.Count} object(s){(Note is null ? "" : $" ({Note})")}" : $"unreadable: {Unreadable}";
}

/// <summary>One row of <c>istioctl remote-clusters</c>: a cluster istiod knows, its secret, its sync status and the istiod pod.</summary>
public sealed record RemoteClusterStatus(string Cluster, string? Secret, string Status, string? Istiod, string File);

/// <summary>Where the checks read a cluster's objects from: a live API server or a saved snapshot.</summary>
public interface IClusterReader
{
    string Cluster { get; }

    /// <summary>The API server or the snapshot folder, for evidence.</summary>
    string Source { get; }

    /// <summary>True for a live cluster (the checks may also connect elsewhere from here, e.g. with remote secrets).</summary>
    bool IsLive { get; }

    /// <summary>Objects of a kind (the first served version), cluster-wide or in one namespace, optionally by label selector.</summary>
    Task<ReadResult> ListAsync(KindRef kind, string? ns, string? labelSelector, CancellationToken cancellationToken);

    /// <summary>One object by name: a read with zero or one item.</summary>
    Task<ReadResult> GetAsync(KindRef kind, string? ns, string name, CancellationToken cancellationToken);

    /// <summary><c>istioctl remote-clusters</c> output saved with a snapshot; null when there is none.</summary>
    IReadOnlyList<RemoteClusterStatus>? RemoteClusters { get; }
}

/// <summary>Reads a live cluster through a <see cref="KubeClient"/>. A read that fails is reported with its reason, never thrown.</summary>
public sealed class LiveClusterReader : IClusterReader
{
    private readonly KubeClient _client;

    public LiveClusterReader(string cluster, KubeClient client)
    {
        Cluster = cluster;
        _client = client;
    }

    public string Cluster { get; }

    public string Source => _client.Context.Server.ToString().TrimEnd('/');

    public bool IsLive => true;

    public IReadOnlyList<RemoteClusterStatus>? RemoteClusters => null;

    /// <summary>The first version of the kind the server serves; null when none is.</summary>
    private async Task<string?> ServedAsync(KindRef kind, CancellationToken cancellationToken)
    {
        foreach (var v in kind.Versions)
            if (await _client.FindAsync(kind.ApiVersion(v), kind.Kind, cancellationToken).ConfigureAwait(false) is not null) return kind.ApiVersion(v);
        return null;
    }

    public Task<ReadResult> ListAsync(KindRef kind, string? ns, string? labelSelector, CancellationToken cancellationToken) =>
        ReadAsync(kind, async apiVersion => await _client.ListAsync(apiVersion, kind.Kind, ns, labelSelector, cancellationToken).ConfigureAwait(false), cancellationToken);

    public Task<ReadResult> GetAsync(KindRef kind, string? ns, string name, CancellationToken cancellationToken) =>
        ReadAsync(kind, async apiVersion => await _client.GetAsync(apiVersion, kind.Kind, ns, name, cancellationToken).ConfigureAwait(false) is { } o
            ? new[] { o } : Array.Empty<JsonObject>(), cancellationToken);

    private async Task<ReadResult> ReadAsync(KindRef kind, Func<string, Task<IReadOnlyList<JsonObject>>> read, CancellationToken cancellationToken)
    {
        try
        {
            var apiVersion = await ServedAsync(kind, cancellationToken).ConfigureAwait(false);
            if (apiVersion is null)
                return ReadResult.Read(Array.Empty<JsonObject>(), DateTimeOffset.UtcNow, Source, $"the {(kind.Group.Length == 0 ? "core" : kind.Group)} API of {kind.Kind} is not served");
            var items = await read(apiVersion).ConfigureAwait(false);
            return ReadResult.Read(items, DateTimeOffset.UtcNow, Source);
        }
        catch (KubeApiException e)
        {
            return ReadResult.Failed(Describe(e), DateTimeOffset.UtcNow, Source);
        }
    }

    internal static string Describe(KubeApiException e) =>
        e.StatusCode switch
        {
            System.Net.HttpStatusCode.Forbidden => $"forbidden: {e.ApiMessage}",
            System.Net.HttpStatusCode.Unauthorized => "unauthorized: the credentials were rejected",
            0 => e.Message,
            _ => $"{(int)e.StatusCode} {e.Reason}: {e.ApiMessage}",
        };
}

/// <summary>
/// Reads objects saved with <c>kubectl get ... -o yaml</c>: single objects, multi-document files and <c>kind: List</c>.
/// A snapshot folder holds one sub-folder per cluster (its name is the cluster's); files directly in it belong to a
/// cluster named after the folder. A kind no file holds is reported unreadable (it was not saved), never as "none".
/// Besides YAML and JSON, a file may hold <c>istioctl remote-clusters</c> output (sync evidence); any other file is an
/// error that names it, so nothing is skipped silently. Markdown notes and hidden files are ignored.
/// </summary>
public sealed partial class SnapshotClusterReader : IClusterReader
{
    private readonly List<JsonObject> _objects;
    private readonly HashSet<string> _kinds;
    private readonly DateTimeOffset _at;

    public SnapshotClusterReader(string cluster, IEnumerable<JsonObject> objects, DateTimeOffset? savedAt = null, string? source = null,
        IReadOnlyList<RemoteClusterStatus>? remoteClusters = null)
    {
        Cluster = cluster;
        _objects = objects.ToList();
        _kinds = _objects.Select(o => KindKey(Group(o), o["kind"].S() ?? "")).ToHashSet(StringComparer.Ordinal);
        // Kinds saved together: whoever saved a ServiceMeshControlPlane or a federation object saved the federation
        // kinds with it (kubectl get smcp,servicemeshpeers,exportedservicesets,importedservicesets), so a kind of that
        // bundle with no object means none, not "not saved".
        if (_objects.Any(o => Group(o) is "maistra.io" or "federation.maistra.io"))
            foreach (var k in new[] { KindRef.Smcp, KindRef.Smp, KindRef.Ess, KindRef.Iss }) _kinds.Add(KindKey(k.Group, k.Kind));
        _at = savedAt ?? DateTimeOffset.UtcNow;
        Source = source ?? $"snapshot of {cluster}";
        RemoteClusters = remoteClusters;
    }

    public string Cluster { get; }

    public string Source { get; }

    public bool IsLive => false;

    public int Count => _objects.Count;

    public IReadOnlyList<RemoteClusterStatus>? RemoteClusters { get; }

    private static string Group(JsonObject o) => KubeClient.Split(o["apiVersion"].S() ?? "").Group;

    private static string KindKey(string group, string kind) => group + "/" + kind;

    public Task<ReadResult> ListAsync(KindRef kind, string? ns, string? labelSelector, CancellationToken cancellationToken)
    {
        if (!_kinds.Contains(KindKey(kind.Group, kind.Kind)))
            return Task.FromResult(ReadResult.Failed(
                $"the snapshot holds no {kind.Kind} objects (save them with kubectl get {kind.Plural} {(ns is null ? "-A" : "-n " + ns)} -o yaml)", _at, Source));
        var selector = ParseSelector(labelSelector);
        IReadOnlyList<JsonObject> items = _objects.Where(o =>
                o["kind"].S() == kind.Kind && Group(o) == kind.Group
                && (ns is null || o["metadata"]?["namespace"].S() == ns)
                && selector.All(kv => o["metadata"]?["labels"]?[kv.Key].S() == kv.Value))
            .ToList();
        return Task.FromResult(ReadResult.Read(items, _at, Source));
    }

    public async Task<ReadResult> GetAsync(KindRef kind, string? ns, string name, CancellationToken cancellationToken) =>
        (await ListAsync(kind, ns, null, cancellationToken).ConfigureAwait(false)).Where(o => o["metadata"]?["name"].S() == name);

    private static List<KeyValuePair<string, string>> ParseSelector(string? selector) =>
        string.IsNullOrEmpty(selector) ? new List<KeyValuePair<string, string>>()
        : selector.Split(',').Select(p => p.Split('=', 2)).Select(p => new KeyValuePair<string, string>(p[0].Trim(), p.Length > 1 ? p[1].Trim() : "")).ToList();

    private const string SaveHint = "kubectl get smcp,servicemeshpeers,exportedservicesets,importedservicesets,configmaps,services,pods,nodes -A -o yaml > DIR/<cluster>/objects.yaml"
        + " (for the Istio styles: istios,istiocnis,namespaces,secrets,gateways,serviceentries,destinationrules)";

    /// <summary>Loads a snapshot folder: one reader per cluster. <paramref name="takenAt"/> is when it was saved (default: the files' times).</summary>
    public static IReadOnlyList<SnapshotClusterReader> Load(string directory, IYamlBridge yaml, DateTimeOffset? takenAt = null)
    {
        if (!Directory.Exists(directory))
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Io, "snapshot", directory, "is not a folder", $"save the objects with '{SaveHint}'"));
        var problems = new ProblemList();
        var readers = new List<SnapshotClusterReader>();
        var full = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        var topFiles = Directory.GetFiles(directory).Where(Wanted).Order(StringComparer.Ordinal).ToList();
        if (topFiles.Count > 0) readers.AddRange(ReadCluster(Path.GetFileName(full), topFiles, directory, yaml, takenAt, problems));
        foreach (var sub in Directory.GetDirectories(directory).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal))
        {
            var files = Directory.GetFiles(sub, "*", SearchOption.AllDirectories).Where(Wanted).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0)
            {
                problems.Add(MeshErrorKind.InvalidData, "snapshot", sub, "holds no files: its cluster would be left out of the checks",
                    $"save the cluster's objects there ('{SaveHint}') or remove the folder");
                continue;
            }
            readers.AddRange(ReadCluster(Path.GetFileName(sub), files, directory, yaml, takenAt, problems));
        }
        problems.ThrowIfAny();
        if (readers.Count == 0)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, "snapshot", directory, "holds no Kubernetes objects (*.yaml, *.yml, *.json)",
                $"save them with '{SaveHint}'"));
        return readers;
    }

    private static bool Wanted(string file)
    {
        var name = Path.GetFileName(file);
        return !name.StartsWith('.') && !name.EndsWith(".md", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsYaml(string f) => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<SnapshotClusterReader> ReadCluster(string cluster, List<string> files, string root, IYamlBridge yaml, DateTimeOffset? takenAt, ProblemList problems)
    {
        var objects = new List<JsonObject>();
        List<RemoteClusterStatus>? remote = null;
        var before = problems.Items.Count;
        foreach (var f in files)
        {
            string text;
            try
            {
                // Bounded, regular files only, valid UTF-8 (the hardening rules of every input file).
                text = IO.InputFile.ReadText(f, "snapshot file", IO.InputFile.MaxSnapshotBytes, "save the objects with kubectl get ... -o yaml");
            }
            catch (MeshFederationException ex)
            {
                problems.AddRange(ex.Problems);
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add(MeshErrorKind.Io, "snapshot file", f, $"could not be read: {e.Message}", "check the file's permissions");
                continue;
            }
            var rel = Path.GetRelativePath(root, f);
            if (RemoteClustersOutput(text, f) is { } rows)
            {
                (remote ??= new List<RemoteClusterStatus>()).AddRange(rows);
                continue;
            }
            if (LooksLikeTable(text))
            {
                problems.Add(MeshErrorKind.InvalidData, "snapshot file", rel,
                    $"holds '{FirstLine(text)}...': table text as 'oc get' or 'kubectl get' print it, not the objects the checks need",
                    $"save the objects with -o yaml, e.g. '{SaveHint}'");
                continue;
            }
            if (!IsYaml(f))
            {
                problems.Add(MeshErrorKind.InvalidData, "snapshot file", rel, "is neither Kubernetes objects (*.yaml, *.yml, *.json) nor 'istioctl remote-clusters' output",
                    $"save the objects with -o yaml ('{SaveHint}'), or move the file out of the snapshot folder");
                continue;
            }
            try
            {
                foreach (var doc in yaml.Parse(text, f))
                    AddDocument(doc.ToJson(), rel, objects, problems);
            }
            catch (MeshFederationException ex)
            {
                problems.AddRange(ex.Problems);
            }
        }
        if (problems.Items.Count > before) yield break;
        if (objects.Count == 0 && remote is null)
        {
            problems.Add(MeshErrorKind.InvalidData, "snapshot", Path.GetRelativePath(root, Path.GetDirectoryName(files[0])!),
                "holds no Kubernetes objects: its cluster would be left out of the checks", $"save them with '{SaveHint}'");
            yield break;
        }
        var savedAt = takenAt ?? files.Select(f => new DateTimeOffset(File.GetLastWriteTimeUtc(f), TimeSpan.Zero)).Max();
        yield return new SnapshotClusterReader(cluster, objects, savedAt, Path.GetFullPath(Path.GetDirectoryName(files[0])!), remote);
    }

    private static void AddDocument(JsonNode? node, string file, List<JsonObject> into, ProblemList problems)
    {
        switch (node)
        {
            case null:
                return;
            case JsonObject o when o["kind"].S() is { } k && k.EndsWith("List", StringComparison.Ordinal) && o["items"] is JsonArray items:
                // kind: List (kubectl get -o yaml of several objects) or a typed list (ConfigMapList, ...).
                var itemKind = k == "List" ? null : k[..^4];
                foreach (var item in items)
                {
                    if (item is not JsonObject io) continue;
                    var copy = (JsonObject)io.DeepClone();
                    copy["apiVersion"] ??= o["apiVersion"]?.DeepClone();
                    if (itemKind is not null) copy["kind"] ??= itemKind;
                    AddDocument(copy, file, into, problems);
                }
                return;
            case JsonObject o when o["kind"] is JsonValue && o["apiVersion"] is JsonValue && (o["metadata"]?["name"]) is JsonValue:
                into.Add(o);
                return;
            case JsonObject o:
                problems.Add(MeshErrorKind.InvalidData, "snapshot file", file,
                    $"holds a document that is not a Kubernetes object (no {(o["kind"] is null ? "kind" : o["apiVersion"] is null ? "apiVersion" : "metadata.name")}; keys: {string.Join(", ", o.Select(kv => kv.Key).Take(5))}), e.g. the output of jq or -o jsonpath",
                    $"save whole objects with -o yaml, e.g. '{SaveHint}'");
                return;
            default:
                problems.Add(MeshErrorKind.InvalidData, "snapshot file", file, "holds text or a list, not Kubernetes objects",
                    $"save the objects with -o yaml, e.g. '{SaveHint}'");
                return;
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
        return line.Length > 60 ? line[..60] : line;
    }

    /// <summary>The header row 'oc get' / 'kubectl get' print: NAME (or NAMESPACE NAME) then more upper-case columns.</summary>
    private static bool LooksLikeTable(string text) => TableHeader().IsMatch(text.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.Trim().Length > 0 && !l.StartsWith('#')) ?? "");

    [GeneratedRegex(@"^\s*(NAMESPACE\s{2,})?NAME\s{2,}[A-Z][A-Z0-9-]*(\s{2,}[A-Z][A-Z0-9 -]*)*\s*$")]
    private static partial Regex TableHeader();

    /// <summary>
    /// Parses <c>istioctl remote-clusters</c> output as the Istio documentation prints it (an optional '$ istioctl ...'
    /// line, then NAME SECRET STATUS ISTIOD columns); null when the text is not that.
    /// </summary>
    internal static List<RemoteClusterStatus>? RemoteClustersOutput(string text, string file)
    {
        var lines = text.Replace("\r", "", StringComparison.Ordinal).Split('\n').Where(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('$') && !l.TrimStart().StartsWith('#')).ToList();
        if (lines.Count == 0) return null;
        var header = lines[0];
        int Col(string name) => Regex.Match(header, $@"(^|\s){name}(\s|$)") is { Success: true } m ? m.Index + (m.Value[0] == ' ' || m.Value[0] == '\t' ? 1 : 0) : -1;
        int name = Col("NAME"), secret = Col("SECRET"), status = Col("STATUS"), istiod = Col("ISTIOD");
        if (name != 0 || secret < 0 || status < secret || istiod < status) return null;
        string Cut(string l, int from, int to) => from >= l.Length ? "" : l[from..Math.Min(l.Length, to)].Trim();
        return lines.Skip(1).Select(l => new RemoteClusterStatus(Cut(l, 0, secret), Cut(l, secret, status) is { Length: > 0 } s ? s : null,
                Cut(l, status, istiod), Cut(l, istiod, int.MaxValue) is { Length: > 0 } i ? i : null, file))
            .Where(r => r.Cluster.Length > 0).ToList();
    }
}
