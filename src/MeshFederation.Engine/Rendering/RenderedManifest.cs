using System.Text.Json.Nodes;

namespace MeshFederation.Engine.Rendering;

/// <summary>One Kubernetes object to apply, with its place in the apply order.</summary>
public sealed class RenderedManifest
{
    public required string Cluster { get; init; }

    public required string ApiVersion { get; init; }

    public required string Kind { get; init; }

    public string? Namespace { get; init; }

    public required string Name { get; init; }

    /// <summary>Apply order: namespaces, CA material, control planes, member rolls, peers, exports, imports, routes.</summary>
    public required int Order { get; init; }

    /// <summary>The mesh the object belongs to.</summary>
    public required string Mesh { get; init; }

    /// <summary>The full object (apiVersion, kind, metadata, spec/data).</summary>
    /// <remarks>Internal so hosts never show System.Text.Json nodes (with their Parent/Root cycles): <see cref="GetContent"/> gives a copy.</remarks>
    internal JsonObject Content { get; init; } = null!;

    /// <summary>A copy of the full object (apiVersion, kind, metadata, spec/data).</summary>
    public JsonObject GetContent() => (JsonObject)Content.DeepClone();

    /// <summary>True for Secrets holding private keys or tokens: never shown, written 0600.</summary>
    public bool Sensitive { get; init; }

    /// <summary>
    /// OSSM 3 federation: the migration guide's step the object belongs to (<c>control-plane</c>, <c>export</c> or
    /// <c>import</c>); null for the other styles.
    /// </summary>
    public string? Phase { get; init; }

    /// <summary>Where the object was declared (topology file and line), for problems found in it.</summary>
    public Validation.SourceLocation? Source { get; init; }

    /// <summary>Where fields of the object were written, by dotted path (e.g. <c>spec.tracing</c> from a mesh's overrides).</summary>
    internal IReadOnlyDictionary<string, Validation.SourceLocation>? FieldSources { get; init; }

    /// <summary>The most precise known source of a field path.</summary>
    internal Validation.SourceLocation? SourceOf(string path)
    {
        if (FieldSources is { Count: > 0 })
            for (var p = path; p.Length > 0; p = p.LastIndexOf('.') is var i and > 0 ? p[..i] : "")
                if (FieldSources.TryGetValue(p, out var at)) return at;
        return Source;
    }

    public string Reference => Namespace is null ? $"{Kind}/{Name}" : $"{Kind} {Namespace}/{Name}";

    public override string ToString() => $"{Cluster}: {Reference}";
}

/// <summary>Every object for one cluster, in apply order: one multi-document YAML file.</summary>
public sealed class ClusterManifests
{
    public required string Cluster { get; init; }

    public required IReadOnlyList<RenderedManifest> Documents { get; init; }

    /// <summary>The multi-document YAML text (filled by <see cref="ManifestEmitter"/>); Secret values with keys or tokens are redacted.</summary>
    public string Yaml { get; init; } = "";

    /// <summary>The YAML written to the manifest file, Secret values included.</summary>
    internal string FullYaml { get; init; } = "";

    public string FileName => Cluster + ".yaml";

    /// <summary>True when the file holds private keys or tokens (cacerts, remote secrets): it is written 0600.</summary>
    public bool Sensitive => Documents.Any(d => d.Sensitive);

    public override string ToString() => $"{Cluster}: {Documents.Count} objects";
}

/// <summary>Something that cannot be known offline and is read from a cluster when applying.</summary>
public sealed record PendingItem(string Cluster, string Mesh, string What, string HowToGet)
{
    /// <summary>
    /// True when the object <see cref="What"/> names (<c>Kind namespace/name field</c>) must wait for the value: the live
    /// plan applies it once the value can be read, not before.
    /// </summary>
    public bool Defers { get; init; }

    public override string ToString() => $"{Cluster} ({Mesh}): {What} — {HowToGet}";
}

/// <summary>Everything one render produced.</summary>
public sealed class RenderResult
{
    public required string Name { get; init; }

    public required IReadOnlyList<ClusterManifests> Clusters { get; init; }

    public IReadOnlyList<PendingItem> Pending { get; init; } = Array.Empty<PendingItem>();

    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary>Extra files (e.g. <c>proxy/federation.cfg</c>), relative path to content.</summary>
    public IReadOnlyDictionary<string, string> ExtraFiles { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public IEnumerable<RenderedManifest> AllManifests => Clusters.SelectMany(c => c.Documents);
}

/// <summary>
/// A render produced one cluster at a time (<see cref="Ossm2Renderer.RenderByCluster"/>): enumerate
/// <see cref="Clusters()"/> once; the problems the schemas found are thrown at its end, and <see cref="Pending"/> and
/// <see cref="Warnings"/> are complete then.
/// </summary>
public sealed class StreamedRender
{
    private readonly Func<IClusterJob> _produce;
    private readonly List<PendingItem> _pending = new();
    private readonly List<string> _warnings = new();
    private bool _started;

    internal StreamedRender(string name, IReadOnlyList<string> clusterNames, IReadOnlyDictionary<string, string> extraFiles, Func<IClusterJob> produce)
    {
        Name = name;
        ClusterNames = clusterNames;
        ExtraFiles = extraFiles;
        _produce = produce;
    }

    public string Name { get; }

    /// <summary>Every cluster that may get a file (a cluster whose meshes render nothing is skipped), in file order.</summary>
    public IReadOnlyList<string> ClusterNames { get; }

    /// <summary>Extra files (the federation proxy's), known before any cluster is rendered.</summary>
    public IReadOnlyDictionary<string, string> ExtraFiles { get; }

    public IReadOnlyList<PendingItem> Pending => _pending;

    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>The clusters, rendered one by one as they are enumerated; only once.</summary>
    public IEnumerable<ClusterManifests> Clusters() => Clusters(c => c, 1).Select(x => x.Cluster);

    /// <summary>
    /// The clusters in file order, each with <paramref name="then"/> applied to it (e.g. its YAML text); only once. With
    /// <paramref name="parallelism"/> above 1, that many clusters are rendered (and <paramref name="then"/> run) at once
    /// on the thread pool, at most twice as many kept ahead of the consumer, so memory stays that of a few clusters;
    /// the order, and an exception's place in it, are those of the sequential run. Problems the schemas found are
    /// thrown once every cluster has been yielded.
    /// </summary>
    public IEnumerable<(ClusterManifests Cluster, T Value)> Clusters<T>(Func<ClusterManifests, T> then, int parallelism)
    {
        ArgumentNullException.ThrowIfNull(then);
        if (_started) throw new InvalidOperationException("a render stream is enumerated once");
        _started = true;
        return Run(_produce(), then, parallelism);
    }

    private IEnumerable<(ClusterManifests Cluster, T Value)> Run<T>(IClusterJob job, Func<ClusterManifests, T> then, int parallelism)
    {
        var count = ClusterNames.Count;
        if (parallelism <= 1)
        {
            for (var i = 0; i < count; i++)
                if (job.Render(i) is { } c) yield return (c, then(c));
        }
        else
        {
            // Dedicated threads hand results over under a monitor (no thread-pool or wait spinning, which on a busy
            // machine burns the CPU time the other threads need); at most 2 x parallelism clusters are held ahead.
            var results = new (bool Done, ClusterManifests? Cluster, T? Value, System.Runtime.ExceptionServices.ExceptionDispatchInfo? Error)[count];
            var gate = new object();
            int next = 0, consumed = 0;
            var stop = false;
            void Work()
            {
                while (true)
                {
                    int i;
                    lock (gate)
                    {
                        while (!stop && next < count && next - consumed >= parallelism * 2) Monitor.Wait(gate);
                        if (stop || next >= count) return;
                        i = next++;
                    }
                    (bool, ClusterManifests?, T?, System.Runtime.ExceptionServices.ExceptionDispatchInfo?) r;
                    try
                    {
                        r = job.Render(i) is { } c ? (true, c, then(c), null) : (true, null, default, null);
                    }
                    catch (Exception ex)
                    {
                        r = (true, null, default, System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex));
                    }
                    lock (gate)
                    {
                        results[i] = r;
                        Monitor.PulseAll(gate);
                    }
                }
            }
            var threads = Enumerable.Range(0, parallelism).Select(_ => new Thread(Work) { IsBackground = true, Name = "meshfed render" }).ToList();
            foreach (var t in threads) t.Start();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    (bool Done, ClusterManifests? Cluster, T? Value, System.Runtime.ExceptionServices.ExceptionDispatchInfo? Error) r;
                    lock (gate)
                    {
                        while (!results[i].Done) Monitor.Wait(gate);
                        r = results[i];
                        results[i] = default;
                        consumed = i + 1;
                        Monitor.PulseAll(gate);
                    }
                    r.Error?.Throw();
                    if (r.Cluster is not null) yield return (r.Cluster, r.Value!);
                }
            }
            finally
            {
                // Stopped early (an exception, or the consumer gave up): let what was started finish before returning.
                lock (gate)
                {
                    stop = true;
                    Monitor.PulseAll(gate);
                }
                foreach (var t in threads) t.Join();
            }
        }
        job.Finish(_pending, _warnings);
    }
}

/// <summary>The clusters of one streamed render: each rendered on its own (thread-safe), then the render finished.</summary>
internal interface IClusterJob
{
    ClusterManifests? Render(int clusterIndex);

    /// <summary>After every cluster: collects pending items and warnings, throws the problems found.</summary>
    void Finish(List<PendingItem> pending, List<string> warnings);
}
