using MeshFederation.Engine.Proxy;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Model;

/// <summary>
/// Everything that renders together: control planes, peerings, exports, imports, traffic splits and a proxy.
/// Built from pipeline objects or a topology file; validates the cross-object rules (duplicates, trust domains,
/// references) before anything is rendered.
/// </summary>
public sealed class FederationSet
{
    private readonly List<MeshControlPlane> _controlPlanes = new();
    private readonly List<MeshPeering> _peerings = new();
    private readonly List<MeshServiceExport> _exports = new();
    private readonly List<MeshServiceImport> _imports = new();
    private readonly List<MeshTrafficSplit> _splits = new();
    private readonly List<FederationProxyConfig> _proxies = new();
    private readonly List<MeshFailoverPolicy> _failovers = new();
    private readonly List<ClusterCaMaterial> _caMaterial = new();

    public IReadOnlyList<MeshControlPlane> ControlPlanes => _controlPlanes;

    public IReadOnlyList<MeshPeering> Peerings => _peerings;

    public IReadOnlyList<MeshServiceExport> Exports => _exports;

    public IReadOnlyList<MeshServiceImport> Imports => _imports;

    public IReadOnlyList<MeshTrafficSplit> TrafficSplits => _splits;

    public IReadOnlyList<FederationProxyConfig> ProxyConfigs => _proxies;

    public IReadOnlyList<MeshFailoverPolicy> FailoverPolicies => _failovers;

    /// <summary>cacerts material per cluster (Istio styles).</summary>
    public IReadOnlyList<ClusterCaMaterial> CaMaterial => _caMaterial;

    /// <summary>
    /// A proxy declared without the node addresses it needs: built when they are read from the clusters (live apply,
    /// meshfed proxy --from-cluster); rendering offline reports what is missing.
    /// </summary>
    public ProxyOptions? PendingProxy { get; set; }

    /// <summary>A name for the set (the topology's metadata.name), used in summaries.</summary>
    public string Name { get; set; } = "federation";

    public static FederationSet From(IEnumerable<object> objects)
    {
        var set = new FederationSet();
        foreach (var o in objects) set.Add(o);
        return set;
    }

    /// <summary>Adds a model object (and the control planes it depends on). Unknown objects are rejected.</summary>
    public void Add(object item)
    {
        switch (item)
        {
            case MeshControlPlane cp: AddControlPlane(cp); break;
            case MeshPeering p: AddControlPlane(p.Local); AddControlPlane(p.Remote); AddOnce(_peerings, p); break;
            case MeshServiceExport e: AddControlPlane(e.ControlPlane); AddOnce(_exports, e); break;
            case MeshServiceImport i: AddControlPlane(i.ControlPlane); AddOnce(_imports, i); break;
            case MeshTrafficSplit s: AddControlPlane(s.ControlPlane); AddOnce(_splits, s); break;
            case FederationProxyConfig x: AddOnce(_proxies, x); break;
            case MeshFailoverPolicy f: AddControlPlane(f.ControlPlane); AddOnce(_failovers, f); break;
            case ClusterCaMaterial m: _caMaterial.RemoveAll(x => x.Cluster == m.Cluster); _caMaterial.Add(m); break;
            case Pki.MeshCertificateAuthority ca: foreach (var c in ca.Clusters) Add(ClusterCaMaterial.From(c)); break;
            case FederationSet other:
                foreach (var o in other.AllObjects()) Add(o);
                Name = other.Name;
                PendingProxy ??= other.PendingProxy;
                break;
            case IEnumerable<object> many: foreach (var o in many) Add(o); break;
            default:
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "InputObject", item?.GetType().Name ?? "null",
                    "is not a MeshFederation object", "pipe control planes, peerings, exports, imports, traffic splits or proxy configurations"));
        }
    }

    /// <summary>
    /// The existing files federation objects were read from (topology files): inputs that writers never overwrite.
    /// </summary>
    public static IReadOnlyList<string> SourceFiles(IEnumerable<object> items) =>
        items.Select(o => o switch
        {
            MeshControlPlane c => c.Source?.File,
            MeshPeering p => p.Source?.File,
            MeshServiceExport e => e.Source?.File,
            MeshServiceImport i => i.Source?.File,
            MeshTrafficSplit t => t.Source?.File,
            MeshFailoverPolicy f => f.Source?.File,
            _ => null,
        }).OfType<string>().Where(File.Exists).Distinct(StringComparer.Ordinal).ToList();

    public IEnumerable<object> AllObjects() =>
        _controlPlanes.Cast<object>().Concat(_peerings).Concat(_exports).Concat(_imports).Concat(_splits).Concat(_proxies).Concat(_failovers).Concat(_caMaterial);

    private readonly HashSet<object> _added = new(ReferenceEqualityComparer.Instance);

    /// <summary>Adds an object once (by reference), in constant time: sets of 200 meshes all peered hold 39,800 peerings.</summary>
    private void AddOnce<T>(List<T> list, T item) where T : class
    {
        if (_added.Add(item)) list.Add(item);
    }

    private void AddControlPlane(MeshControlPlane cp) => AddOnce(_controlPlanes, cp);

    public MeshControlPlane? FindControlPlane(string name) => _controlPlanes.FirstOrDefault(c => c.Name == name);

    /// <summary>Node ports of the NodePort meshes' ingress gateways.</summary>
    public IReadOnlyDictionary<(string Mesh, string Peer), GatewayNodePorts> NodePorts(ProblemList problems) =>
        NodePortAllocator.Allocate(_controlPlanes, _peerings, problems);

    /// <summary>Every problem in the set: each object's own rules and the rules between objects.</summary>
    public IReadOnlyList<MeshProblem> Validate()
    {
        var problems = new ProblemList();
        foreach (var cp in _controlPlanes) cp.Validate(problems);
        foreach (var p in _peerings) p.Validate(problems);
        foreach (var e in _exports) e.Validate(problems);
        foreach (var i in _imports) i.Validate(problems);
        foreach (var s in _splits) s.Validate(problems);
        foreach (var f in _failovers) f.Validate(problems);
        foreach (var p in _peerings.Where(p => p.Local.Style != p.Remote.Style))
            problems.Add(MeshErrorKind.Conflict, $"peering '{p}'", $"{p.Local.Style}/{p.Remote.Style}", "peers meshes of different federation styles",
                "peer OSSM 2 meshes with OSSM 2 meshes and Istio meshes with Istio meshes of the same style", p.Source, p);
        foreach (var p in _peerings.Where(p => p.Local.Style == MeshStyle.MultiPrimary && p.Remote.Style == MeshStyle.MultiPrimary && p.Local.MeshId != p.Remote.MeshId))
            problems.Add(MeshErrorKind.Conflict, $"peering '{p}'.meshId", $"{p.Local.MeshId}/{p.Remote.MeshId}", "multi-primary clusters must share one mesh ID",
                "give both control planes the same meshId", p.Source, p);

        foreach (var g in _controlPlanes.Where(c => c.Style != MeshStyle.Ossm2).GroupBy(c => c.ClusterName, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"mesh '{g.Last().Name}'.cluster", g.Key,
                $"already runs Istio control plane {g.First().Name}; the Sail operator's Istio and IstioCNI resources are cluster-wide and named default",
                "give each Istio-style mesh its own cluster", g.Last().Source, g.Last());
        foreach (var g in _controlPlanes.Where(c => c.Style == MeshStyle.MultiPrimary).GroupBy(c => c.MeshId, StringComparer.Ordinal))
            foreach (var n in g.GroupBy(c => c.Network, StringComparer.Ordinal).Where(n => n.Count() > 1))
                problems.Add(MeshErrorKind.Conflict, $"mesh '{n.Last().Name}'.network", n.Key,
                    $"is also the network of {n.First().Name}; multi-network clusters each need their own network (east-west traffic goes through the gateways)",
                    $"set clusters[].network, e.g. network-{n.Last().ClusterName}", n.Last().Source, n.Last());
        foreach (var g in _controlPlanes.Where(c => c.Style == MeshStyle.MultiMesh).GroupBy(c => c.MeshId, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"mesh '{g.Last().Name}'.meshId", g.Key, $"is also the mesh ID of {g.First().Name}; multi-mesh federation joins independent meshes, each with its own ID",
                "leave meshId unset (each mesh gets its own name) or use the multi-primary style for one mesh over several clusters", g.Last().Source, g.Last());
        foreach (var g in _controlPlanes.GroupBy(c => c.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, "mesh.name", g.Key, $"is declared {g.Count()} times with different settings",
                "give every mesh a unique name, or reuse the same control-plane object", g.Last().Source, g.Last());
        foreach (var g in _controlPlanes.Where(c => c.Style == MeshStyle.Ossm2).GroupBy(c => c.TrustDomain, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"mesh '{g.Last().Name}'.trustDomain", g.Key,
                $"is also the trust domain of {string.Join(", ", g.Take(g.Count() - 1).Select(c => c.Name))}; each federated mesh needs its own",
                $"use '{g.Last().Name}.local'", g.Last().Source, g.Last());
        foreach (var g in _controlPlanes.GroupBy(c => (c.Cluster.Name, c.Namespace)).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"mesh '{g.Last().Name}'.namespace", g.Key.Namespace,
                $"already holds control plane {g.First().Name} in cluster {g.Key.Name}", "use one control-plane namespace per mesh", g.Last().Source, g.Last());

        foreach (var g in _peerings.GroupBy(p => (p.Local.Name, p.Remote.Name)).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"mesh '{g.Key.Item1}'.peers", g.Key.Item2, "is peered twice",
                "declare each pair once (New-MeshPeer creates both directions)", g.Last().Source, g.Last());

        var peered = _peerings.Select(p => (p.Local.Name, p.Remote.Name)).ToHashSet();
        // A mesh rendered with some of its peerings must export and import only to those; a fragment rendered on its own
        // (an export piped alone into ConvertTo-MeshManifest) renders with a warning instead.
        var hasPeerings = _peerings.Select(p => p.Local.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var e in _exports)
            if (!peered.Contains((e.ControlPlane.Name, e.Peer)) && hasPeerings.Contains(e.ControlPlane.Name) && e.Peer != e.ControlPlane.Name)
                problems.Add(MeshErrorKind.NotFound, $"export '{e}'.to", e.Peer, $"{e.ControlPlane.Name} has no peering with {e.Peer}",
                    $"peer {e.ControlPlane.Name} with {e.Peer} (New-MeshPeer) or export to a mesh it is peered with", e.Source, e);
        foreach (var g in _exports.Where(e => e.ExportedHost is not null).GroupBy(e => (e.ControlPlane.Name, e.ExportedHost)).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"export '{g.Last()}'.alias", g.Key.ExportedHost,
                $"two exports to {g.Last().Peer} publish the same name", "give each exported service its own alias", g.Last().Source, g.Last());

        foreach (var i in _imports)
            if (!peered.Contains((i.ControlPlane.Name, i.Peer)) && hasPeerings.Contains(i.ControlPlane.Name) && i.Peer != i.ControlPlane.Name)
                problems.Add(MeshErrorKind.NotFound, $"import '{i}'.from", i.Peer, $"{i.ControlPlane.Name} has no peering with {i.Peer}",
                    $"peer {i.ControlPlane.Name} with {i.Peer} (New-MeshPeer) or import from a mesh it is peered with", i.Source, i);
        foreach (var g in _imports.Where(i => i.LocalHost is not null && !i.ImportAsLocal).GroupBy(i => (i.ControlPlane.Name, i.LocalHost)).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"import '{g.Last()}'.alias", g.Key.LocalHost,
                "two imports give the same local host", "give each imported service its own alias", g.Last().Source, g.Last());
        foreach (var g in _imports.GroupBy(i => (i.ControlPlane.Name, i.Peer)))
        {
            var localities = g.Where(i => i.Locality is not null).Select(i => i.Locality!).Distinct().ToList();
            if (localities.Count > 1)
                problems.Add(MeshErrorKind.Conflict, $"import '{g.Last()}'.locality", string.Join(" vs ", localities),
                    $"imports from {g.Key.Peer} into {g.Key.Item1} share one ImportedServiceSet, which has one locality", "give them the same locality", g.Last().Source, g.Last());
            foreach (var d in g.GroupBy(i => (i.Namespace, i.Name)).Where(d => d.Count() > 1))
                problems.Add(MeshErrorKind.Conflict, $"import '{d.Last()}'", $"{d.Key.Namespace}/{d.Key.Name}",
                    "the same exported service is imported twice from one peer; only the first rule would ever match", "keep one import rule per exported service", d.Last().Source, d.Last());
        }
        var serviceEntries = _imports.Where(i => i.ControlPlane.Style == MeshStyle.MultiMesh).ToList();
        foreach (var g in serviceEntries.GroupBy(i => (i.Cluster, i.ServiceEntryNamespace, i.ServiceEntryName)).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"import '{g.Last()}'.serviceEntry.name", $"{g.Key.ServiceEntryNamespace}/{g.Key.ServiceEntryName}",
                $"is also the ServiceEntry of {g.First()} in cluster {g.Key.Cluster}", "give each import its own ServiceEntry name", g.Last().Source, g.Last());
        foreach (var g in serviceEntries.Where(i => i.ServiceEntry.Address is not null && i.LocalHost is not null)
                     .GroupBy(i => (i.Cluster, i.ServiceEntry.Address)).Where(g => g.Select(i => i.LocalHost).Distinct().Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"import '{g.Last()}'.serviceEntry.address", g.Key.Address,
                $"is also the VIP of {g.First().LocalHost} in cluster {g.Key.Cluster}; each .global host needs its own address", "pin another address, or leave it out to allocate one", g.Last().Source, g.Last());
        foreach (var g in _splits.GroupBy(s => (s.Cluster, s.Namespace, s.Name)).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"trafficSplit '{g.Key.Namespace}/{g.Key.Name}'", g.Key.Cluster, "is declared twice in one cluster", "give each traffic split a unique name", g.Last().Source, g.Last());
        foreach (var x in _proxies)
            foreach (var m in x.Meshes)
                if (FindControlPlane(m) is null)
                    problems.Add(MeshErrorKind.NotFound, "proxy.meshes[]", m, "the proxy serves a mesh that is not in the set", "include that mesh's control plane", null, x);

        Ossm3FederationRules.Validate(this, problems);
        NodePorts(problems);
        return problems.Items;
    }

    public void EnsureValid()
    {
        var problems = Validate();
        if (problems.Count > 0) throw new MeshFederationException(problems);
    }
}
