using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;

namespace MeshFederation.Engine.Checks;

/// <summary>Everything read from one cluster (or its snapshot): every read with its result, time and source.</summary>
public sealed class ClusterObservation
{
    private readonly Dictionary<string, ReadResult> _reads = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    internal ClusterObservation(IClusterReader reader)
    {
        Reader = reader;
    }

    internal IClusterReader Reader { get; }

    public string Cluster => Reader.Cluster;

    public string Source => Reader.Source;

    public bool IsLive => Reader.IsLive;

    public IReadOnlyList<RemoteClusterStatus>? RemoteClusters => Reader.RemoteClusters;

    private static string Key(KindRef kind, string? ns, string? name = null, string? selector = null) => $"{kind.Group}/{kind.Kind}|{ns ?? "*"}|{name}|{selector}";

    internal void Put(KindRef kind, string? ns, ReadResult result, string? name = null, string? selector = null)
    {
        lock (_gate) _reads[Key(kind, ns, name, selector)] = result;
    }

    /// <summary>What a list of a kind in a namespace (null: all namespaces) returned, from the read that covered it.</summary>
    public ReadResult Read(KindRef kind, string? ns = null, string? selector = null)
    {
        lock (_gate)
        {
            if (_reads.TryGetValue(Key(kind, ns, null, selector), out var r)) return r;
            if (ns is not null && _reads.TryGetValue(Key(kind, null, null, selector), out var all)) return all.Where(o => Namespace(o) == ns);
        }
        return ReadResult.Failed($"{kind.Kind} objects {(ns is null ? "" : $"in {ns} ")}were not read", DateTimeOffset.UtcNow, Source);
    }

    /// <summary>What reading one object by name returned (zero or one item), from a get or from a list that covered it.</summary>
    public ReadResult ReadOne(KindRef kind, string? ns, string name)
    {
        lock (_gate)
            if (_reads.TryGetValue(Key(kind, ns, name), out var r)) return r;
        return Read(kind, ns).Where(o => Name(o) == name);
    }

    internal static string Name(JsonObject o) => o["metadata"]?["name"].S() ?? "";

    internal static string? Namespace(JsonObject o) => o["metadata"]?["namespace"].S();

    public override string ToString() => $"{Cluster} ({Source})";
}

/// <summary>
/// One OpenShift Service Mesh 2 mesh as found in a cluster: its identity is (cluster, namespace, control-plane resource
/// name); peers know it by another name (their ServiceMeshPeer's). A namespace holding federation objects but no
/// ServiceMeshControlPlane is observed too, with <see cref="ControlPlane"/> null.
/// </summary>
public sealed class ObservedMesh
{
    public required string Cluster { get; init; }

    /// <summary>The SMCP, or null when federation objects were found in a namespace without one.</summary>
    public JsonObject? ControlPlane { get; init; }

    private readonly string? _namespace;
    private readonly string? _controlPlaneName;

    public string Namespace { get => _namespace ?? ClusterObservation.Namespace(ControlPlane!) ?? ""; init => _namespace = value; }

    /// <summary>The SMCP's metadata.name.</summary>
    public string ControlPlaneName { get => _controlPlaneName ?? (ControlPlane is null ? "" : ClusterObservation.Name(ControlPlane)); init => _controlPlaneName = value; }

    /// <summary>What the cluster was read from; null for meshes built by hand (probes).</summary>
    public ClusterObservation? Observation { get; init; }

    /// <summary>The intended control plane this mesh is, when a topology or pipeline objects were given.</summary>
    public MeshControlPlane? Intended { get; internal set; }

    /// <summary>The name results are reported under: the intended mesh's name, else the SMCP's (or the namespace's).</summary>
    public string Name => Intended?.Name ?? (ControlPlane is null ? Namespace : ControlPlaneName);

    public string TrustDomain => ControlPlane?["spec"]?["security"]?["trust"]?["domain"].S() ?? "cluster.local";

    public List<JsonObject> Peers { get; } = new();

    public List<JsonObject> Exports { get; } = new();

    public List<JsonObject> Imports { get; } = new();

    public string Key => $"{Cluster}|{Namespace}|{ControlPlaneName}";

    internal static string NameOf(JsonObject o) => ClusterObservation.Name(o);

    public override string ToString() => ControlPlane is null ? $"namespace {Namespace} in {Cluster} (no ServiceMeshControlPlane)" : $"{ControlPlaneName} ({Namespace} in {Cluster})";
}

/// <summary>One Istio control plane (a Sail operator Istio resource) as found in a cluster.</summary>
public sealed class ObservedIstio
{
    public required string Cluster { get; init; }

    public required JsonObject Istio { get; init; }

    public required ClusterObservation Observation { get; init; }

    public MeshControlPlane? Intended { get; internal set; }

    public string ResourceName => ClusterObservation.Name(Istio);

    public string Namespace => Istio["spec"]?["namespace"].S() is { Length: > 0 } ns ? ns : "istio-system";

    private JsonNode? Global => Istio["spec"]?["values"]?["global"];

    public string? MeshId => Global?["meshID"].S();

    /// <summary>values.global.multiCluster.clusterName: the cluster's ID in endpoints and in other clusters' remote secrets.</summary>
    public string? ClusterName => Global?["multiCluster"]?["clusterName"].S();

    public string? Network => Global?["network"].S();

    /// <summary>The cluster ID other clusters' remote secrets must use: clusterName, else the cluster's name here.</summary>
    public string ClusterId => string.IsNullOrEmpty(ClusterName) ? Cluster : ClusterName!;

    /// <summary>The name results are reported under: the intended mesh's name, else the mesh ID, else the resource's name.</summary>
    public string Name => Intended?.Name ?? (string.IsNullOrEmpty(MeshId) ? ResourceName : MeshId!);

    public override string ToString() => $"Istio {ResourceName} ({Namespace} in {Cluster})";
}

/// <summary>What the checks observed: every cluster's reads and the control planes found in them.</summary>
public sealed class Observation
{
    public required IReadOnlyList<ClusterObservation> Clusters { get; init; }

    public required IReadOnlyList<ObservedMesh> Meshes { get; init; }

    public required IReadOnlyList<ObservedIstio> IstioControlPlanes { get; init; }

    private const string IstiodSelector = "app=istiod";
    internal const string RemoteSecretSelector = "istio/multiCluster=true";

    /// <summary>
    /// Reads what the checks need, every cluster in parallel, in three rounds of parallel requests: the control planes
    /// and federation objects cluster-wide; then the control-plane namespaces (ConfigMaps, Services, istiod pods; for
    /// Istio the namespace, cacerts, remote secrets and the Istio networking objects); then the Services named by
    /// failover rules. A read that fails is kept with its reason.
    /// </summary>
    public static async Task<Observation> ObserveAsync(IEnumerable<IClusterReader> readers, CancellationToken cancellationToken)
    {
        var perCluster = await Task.WhenAll(readers.Select(r => ObserveClusterAsync(r, cancellationToken))).ConfigureAwait(false);
        return new Observation
        {
            Clusters = perCluster.Select(x => x.Cluster).ToList(),
            Meshes = perCluster.SelectMany(x => x.Meshes).ToList(),
            IstioControlPlanes = perCluster.SelectMany(x => x.Istios).ToList(),
        };
    }

    private static async Task<(ClusterObservation Cluster, List<ObservedMesh> Meshes, List<ObservedIstio> Istios)> ObserveClusterAsync(IClusterReader r, CancellationToken ct)
    {
        var c = new ClusterObservation(r);
        async Task<ReadResult> List(KindRef kind, string? ns = null, string? selector = null)
        {
            var result = await r.ListAsync(kind, ns, selector, ct).ConfigureAwait(false);
            c.Put(kind, ns, result, selector: selector);
            return result;
        }
        async Task Get(KindRef kind, string? ns, string name) => c.Put(kind, ns, await r.GetAsync(kind, ns, name, ct).ConfigureAwait(false), name);

        // Round 1: what makes a mesh, cluster-wide.
        var smcps = List(KindRef.Smcp);
        var smps = List(KindRef.Smp);
        var esss = List(KindRef.Ess);
        var isss = List(KindRef.Iss);
        var nodes = List(KindRef.Node);
        var istios = List(KindRef.Istio);
        var cnis = List(KindRef.IstioCni);
        await Task.WhenAll(smcps, smps, esss, isss, nodes, istios, cnis).ConfigureAwait(false);

        var meshes = smcps.Result.Items.Select(o => new ObservedMesh { Cluster = r.Cluster, ControlPlane = o, Observation = c }).ToList();
        var byNamespace = meshes.GroupBy(m => m.Namespace, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        ObservedMesh MeshIn(string? ns)
        {
            ns ??= "";
            if (byNamespace.TryGetValue(ns, out var m)) return m;
            // Federation objects without a control plane in their namespace: observed as an incomplete mesh.
            m = new ObservedMesh { Cluster = r.Cluster, ControlPlane = null, Namespace = ns, ControlPlaneName = "", Observation = c };
            byNamespace[ns] = m;
            meshes.Add(m);
            return m;
        }
        foreach (var o in smps.Result.Items) MeshIn(ClusterObservation.Namespace(o)).Peers.Add(o);
        foreach (var o in esss.Result.Items) MeshIn(ClusterObservation.Namespace(o)).Exports.Add(o);
        foreach (var o in isss.Result.Items) MeshIn(ClusterObservation.Namespace(o)).Imports.Add(o);
        var istioPlanes = istios.Result.Items.Select(o => new ObservedIstio { Cluster = r.Cluster, Istio = o, Observation = c }).ToList();

        // Round 2: the control-plane namespaces, and the Istio objects where Istio runs.
        var round2 = new List<Task>();
        foreach (var ns in meshes.Select(m => m.Namespace).Distinct(StringComparer.Ordinal))
        {
            round2.Add(Get(KindRef.Namespace, null, ns)); // a Terminating namespace takes the mesh with it
            round2.Add(List(KindRef.ConfigMap, ns));
            round2.Add(List(KindRef.Service, ns));
            round2.Add(List(KindRef.Pod, ns, IstiodSelector));
        }
        foreach (var ns in istioPlanes.Select(i => i.Namespace).Distinct(StringComparer.Ordinal))
        {
            round2.Add(Get(KindRef.Namespace, null, ns));
            round2.Add(Get(KindRef.ConfigMap, ns, "istio-ca-root-cert"));
            round2.Add(Get(KindRef.Secret, ns, "cacerts"));
            round2.Add(List(KindRef.Secret, ns, RemoteSecretSelector));
            round2.Add(List(KindRef.Service, ns));
        }
        Task<ReadResult>? rules = null;
        if (istioPlanes.Count > 0)
        {
            rules = List(KindRef.DestinationRule);
            round2.Add(rules);
            round2.Add(List(KindRef.Gateway));
            round2.Add(List(KindRef.ServiceEntry));
        }
        await Task.WhenAll(round2).ConfigureAwait(false);

        // Round 3: the Services failover rules name.
        if (rules is not null)
        {
            var hosts = rules.Result.Items.Where(IstioObservedChecks.IsFailoverRule)
                .Select(dr => IstioObservedChecks.ServiceOfHost(dr["spec"]?["host"].S(), ClusterObservation.Namespace(dr)))
                .Where(h => h is not null).Select(h => h!.Value).Distinct().ToList();
            await Task.WhenAll(hosts.Select(h => Get(KindRef.Service, h.Namespace, h.Name))).ConfigureAwait(false);
        }
        return (c, meshes, istioPlanes);
    }
}
