using System.Text.Json.Nodes;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Engine.Checks;

/// <summary>Where the checks read a cluster's objects from: a live API server or a saved snapshot.</summary>
public interface IClusterReader
{
    string Cluster { get; }

    /// <summary>Objects of a kind (any served version of its group), cluster-wide or in one namespace; empty when the kind is not served.</summary>
    Task<IReadOnlyList<JsonObject>> ListAsync(string apiVersion, string kind, string? ns, CancellationToken cancellationToken);
}

/// <summary>Reads a live cluster through a <see cref="KubeClient"/>.</summary>
public sealed class LiveClusterReader : IClusterReader
{
    private readonly KubeClient _client;

    public LiveClusterReader(string cluster, KubeClient client)
    {
        Cluster = cluster;
        _client = client;
    }

    public string Cluster { get; }

    public async Task<IReadOnlyList<JsonObject>> ListAsync(string apiVersion, string kind, string? ns, CancellationToken cancellationToken) =>
        await _client.FindAsync(apiVersion, kind, cancellationToken).ConfigureAwait(false) is null
            ? Array.Empty<JsonObject>()
            : await _client.ListAsync(apiVersion, kind, ns, null, cancellationToken).ConfigureAwait(false);
}

/// <summary>
/// Reads objects saved with <c>kubectl get ... -o yaml</c>: single objects, multi-document files and <c>kind: List</c>.
/// A snapshot folder holds one sub-folder per cluster (its name is the cluster's); files directly in it belong to a
/// cluster named after the folder.
/// </summary>
public sealed class SnapshotClusterReader : IClusterReader
{
    private readonly List<JsonObject> _objects;

    public SnapshotClusterReader(string cluster, IEnumerable<JsonObject> objects)
    {
        Cluster = cluster;
        _objects = objects.ToList();
    }

    public string Cluster { get; }

    public int Count => _objects.Count;

    public Task<IReadOnlyList<JsonObject>> ListAsync(string apiVersion, string kind, string? ns, CancellationToken cancellationToken)
    {
        var group = KubeClient.Split(apiVersion).Group;
        IReadOnlyList<JsonObject> result = _objects.Where(o =>
                o["kind"]?.GetValue<string>() == kind
                && KubeClient.Split(o["apiVersion"]?.GetValue<string>() ?? "").Group == group
                && (ns is null || o["metadata"]?["namespace"]?.GetValue<string>() == ns))
            .ToList();
        return Task.FromResult(result);
    }

    /// <summary>Loads a snapshot folder: one reader per cluster.</summary>
    public static IReadOnlyList<SnapshotClusterReader> Load(string directory, IYamlBridge yaml)
    {
        if (!Directory.Exists(directory))
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Io, "snapshot", directory, "is not a folder",
                "save the objects with 'kubectl get smcp,servicemeshpeer,exportedserviceset,importedserviceset,configmap,service,pod,node -A -o yaml > DIR/<cluster>/objects.yaml'"));
        var readers = new List<SnapshotClusterReader>();
        var top = ReadFiles(Directory.GetFiles(directory).Where(IsYaml), yaml);
        if (top.Count > 0) readers.Add(new SnapshotClusterReader(Path.GetFileName(Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar)), top));
        foreach (var sub in Directory.GetDirectories(directory).Order(StringComparer.Ordinal))
        {
            var objects = ReadFiles(Directory.GetFiles(sub, "*", SearchOption.AllDirectories).Where(IsYaml), yaml);
            if (objects.Count > 0) readers.Add(new SnapshotClusterReader(Path.GetFileName(sub), objects));
        }
        if (readers.Count == 0)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, "snapshot", directory, "holds no Kubernetes objects (*.yaml, *.yml, *.json)",
                "save them with kubectl get ... -o yaml into DIR/<cluster>/"));
        return readers;
    }

    private static bool IsYaml(string f) => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

    private static List<JsonObject> ReadFiles(IEnumerable<string> files, IYamlBridge yaml)
    {
        var result = new List<JsonObject>();
        foreach (var f in files.Order(StringComparer.Ordinal))
            foreach (var doc in yaml.Parse(IO.InputFile.ReadText(f, "snapshot", IO.InputFile.MaxSnapshotBytes, "save the objects with kubectl get ... -o yaml"), f))
            {
                if (doc.ToJson() is not JsonObject o) continue;
                if (o["kind"]?.GetValue<string>() is { } k && k.EndsWith("List", StringComparison.Ordinal) && o["items"] is JsonArray items)
                {
                    // kind: List (kubectl get -o yaml of several objects) or a typed list (ConfigMapList, ...).
                    var itemKind = k == "List" ? null : k[..^4];
                    foreach (var item in items.OfType<JsonObject>())
                    {
                        var copy = (JsonObject)item.DeepClone();
                        copy["apiVersion"] ??= o["apiVersion"]?.DeepClone();
                        if (itemKind is not null) copy["kind"] ??= itemKind;
                        result.Add(copy);
                    }
                }
                else if (o["kind"] is not null) result.Add(o);
            }
        return result;
    }
}
