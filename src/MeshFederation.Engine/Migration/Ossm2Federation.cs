using System.Text.Json.Nodes;
using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Migration;

/// <summary>
/// An OSSM 2 federation as the migration reads it: the meshes, peerings, exports and imports (as model objects), and,
/// per mesh, the ServiceMeshControlPlane and federation objects as they are (what the migration patches, deletes and
/// would restore), the services' ports and identities when read from the clusters, and how each member namespace
/// joined the mesh.
/// </summary>
public sealed class Ossm2Federation
{
    public required FederationSet Set { get; init; }

    /// <summary>True when read from clusters (the objects are the live ones), false for a topology (the objects are rendered).</summary>
    public bool Discovered { get; init; }

    /// <summary>The ServiceMeshControlPlane of each mesh, by mesh name.</summary>
    public IReadOnlyDictionary<string, JsonObject> ControlPlanes { get; init; } = new Dictionary<string, JsonObject>(StringComparer.Ordinal);

    /// <summary>The ServiceMeshPeers, ExportedServiceSets and ImportedServiceSets of each mesh, by mesh name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<JsonObject>> FederationObjects { get; init; } = new Dictionary<string, IReadOnlyList<JsonObject>>(StringComparer.Ordinal);

    /// <summary>Ports, selector and service accounts of exported services read from the clusters, by (mesh, namespace, name).</summary>
    public IReadOnlyDictionary<(string Mesh, string Namespace, string Name), Ossm3FederationLive.ServiceDetails> Services { get; init; } =
        new Dictionary<(string, string, string), Ossm3FederationLive.ServiceDetails>();

    /// <summary>Member namespaces that joined through the <c>istio-injection=enabled</c> label (ClusterWide meshes), by mesh name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> InjectionLabelled { get; init; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    /// <summary>Namespaces that already exist per cluster (live only), so steps neither create nor delete them.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> ExistingNamespaces { get; init; } = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);

    /// <summary>East-west gateway addresses already assigned (live, after the export step), by mesh name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> EastWestAddresses { get; init; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    /// <summary>What could not be read or translated, for the plan's notes.</summary>
    public IReadOnlyList<string> Notes { get; init; } = Array.Empty<string>();

    /// <summary>An OSSM 2 federation declared in a topology (or piped): its objects are the ones the topology renders.</summary>
    public static Ossm2Federation FromSet(FederationSet set)
    {
        var problems = new ProblemList();
        foreach (var cp in set.ControlPlanes.Where(c => c.Style != MeshStyle.Ossm2))
            problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{cp.Name}'.style", TopologyStyle(cp.Style),
                "is not an OpenShift Service Mesh 2 federation; only ossm2 meshes are migrated", "give the OSSM 2 federation's topology (style ossm2)", cp.Source, cp);
        if (set.ControlPlanes.Count == 0)
            problems.Add(MeshErrorKind.InvalidArgument, "meshes", null, "nothing to migrate: no control planes were given", "give an OSSM 2 topology, pipe its objects, or discover it with -Context", null);
        problems.ThrowIfAny();
        var rendered = Ossm2Renderer.Render(set);
        var docs = rendered.AllManifests.ToList();
        return new Ossm2Federation
        {
            Set = set,
            ControlPlanes = set.ControlPlanes.ToDictionary(c => c.Name, c => docs.Single(d => d.Mesh == c.Name && d.Kind == "ServiceMeshControlPlane").Content, StringComparer.Ordinal),
            FederationObjects = set.ControlPlanes.ToDictionary(c => c.Name, c => (IReadOnlyList<JsonObject>)docs
                .Where(d => d.Mesh == c.Name && d.Kind is "ServiceMeshPeer" or "ExportedServiceSet" or "ImportedServiceSet").Select(d => d.Content).ToList(), StringComparer.Ordinal),
        };
    }

    private static string TopologyStyle(MeshStyle style) => Topology.TopologyLoader.StyleName(style);

    // ------------------------------------------------------------------ discovery

    /// <summary>
    /// Reads an OSSM 2 federation from clusters: every ServiceMeshControlPlane with its ServiceMeshPeers, Exported- and
    /// ImportedServiceSets (their status names the services actually exported and imported), member roll and member
    /// namespaces, root certificate, and the ports and identities of every exported service. Meshes get the names their
    /// peers give them.
    /// </summary>
    public static async Task<Ossm2Federation> DiscoverAsync(ClusterConnections connections, IEnumerable<ClusterBinding> clusters, IMeshLog? log, CancellationToken cancellationToken)
    {
        log ??= NullMeshLog.Instance;
        var found = await Task.WhenAll(clusters.Select(c => ReadClusterAsync(connections.For(c), c, log, cancellationToken))).ConfigureAwait(false);
        var meshes = found.SelectMany(x => x).ToList();
        var notes = new List<string>();
        if (meshes.Count == 0)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, "clusters", string.Join(",", clusters.Select(c => c.Name)),
                "hold no ServiceMeshControlPlane (maistra.io/v2)", "give the contexts of the clusters the OSSM 2 federation runs in"));

        // A mesh is called what its peers call it: the name of the ServiceMeshPeer whose trust domain is the mesh's.
        foreach (var m in meshes)
        {
            var names = meshes.Where(o => o != m).SelectMany(o => o.Peers)
                .Where(p => string.Equals(p["spec"]?["security"]?["trustDomain"]?.GetValue<string>(), m.TrustDomain, StringComparison.OrdinalIgnoreCase))
                .Select(p => p["metadata"]!["name"]!.GetValue<string>()).Distinct(StringComparer.Ordinal).ToList();
            m.Name = names.Count >= 1 ? names[0] : m.SmcpName;
            if (names.Count > 1) notes.Add($"{m.Cluster.Name}: its peers call mesh {m.SmcpName} differently ({string.Join(", ", names)}); it is named {m.Name}.");
        }
        foreach (var g in meshes.GroupBy(m => m.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            foreach (var m in g) m.Name = $"{m.Cluster.Name}-{m.SmcpName}";
        Mesh? ByTrustDomain(string? td) => meshes.FirstOrDefault(m => string.Equals(m.TrustDomain, td, StringComparison.OrdinalIgnoreCase));

        var cps = new Dictionary<Mesh, MeshControlPlane>();
        foreach (var m in meshes)
        {
            var spec = m.Smcp["spec"];
            var ingress = spec?["gateways"]?["additionalIngress"] as JsonObject;
            cps[m] = new MeshControlPlane
            {
                Name = m.Name, ControlPlaneName = m.SmcpName, Namespace = m.Namespace, Style = MeshStyle.Ossm2, Provider = MeshProvider.OpenShiftServiceMesh2, Discovered = true,
                Version = spec?["version"]?.GetValue<string>() ?? "", TrustDomain = m.TrustDomain,
                Cluster = m.Cluster with { Network = spec?["cluster"]?["network"]?.GetValue<string>() ?? m.Cluster.Network },
                MemberNamespaces = m.Members, RootCertificate = m.Root,
                GatewayExposure = ingress is { Count: > 0 } && ingress.All(g => g.Value?["service"]?["type"]?.GetValue<string>() is null or "NodePort" or "ClusterIP") ? GatewayExposure.NodePort : GatewayExposure.LoadBalancer,
            };
        }

        var set = new FederationSet { Name = "ossm2-federation" };
        foreach (var cp in cps.Values) set.Add(cp);
        var services = new Dictionary<(string, string, string), Ossm3FederationLive.ServiceDetails>();
        foreach (var m in meshes)
        {
            var local = cps[m];
            MeshControlPlane? PeerNamed(string name)
            {
                var smp = m.Peers.FirstOrDefault(p => p["metadata"]!["name"]!.GetValue<string>() == name);
                var remote = ByTrustDomain(smp?["spec"]?["security"]?["trustDomain"]?.GetValue<string>());
                return remote is null ? null : cps[remote];
            }
            foreach (var smp in m.Peers)
            {
                var name = smp["metadata"]!["name"]!.GetValue<string>();
                var remote = PeerNamed(name);
                if (remote is null)
                {
                    notes.Add($"{m.Cluster.Name}: ServiceMeshPeer {m.Namespace}/{name} (trust domain {smp["spec"]?["security"]?["trustDomain"]}) names a mesh in none of the given clusters; it is not migrated.");
                    continue;
                }
                var egress = smp["spec"]?["gateways"]?["egress"]?["name"]?.GetValue<string>();
                var view = (m.Smcp["spec"]?["gateways"]?["additionalEgress"]?[egress ?? ""]?["requestedNetworkView"] as JsonArray)?.FirstOrDefault()?.GetValue<string>();
                set.Add(new MeshPeering
                {
                    Local = local, Remote = remote,
                    RemoteAddresses = (smp["spec"]?["remote"]?["addresses"] as JsonArray)?.Select(a => a!.GetValue<string>()).ToList() ?? new List<string>(),
                    DiscoveryPort = smp["spec"]?["remote"]?["discoveryPort"]?.GetValue<int>() ?? MeshPeering.DefaultDiscoveryPort,
                    ServicePort = smp["spec"]?["remote"]?["servicePort"]?.GetValue<int>() ?? MeshPeering.DefaultServicePort,
                    NetworkView = view ?? "",
                });
            }
            foreach (var ess in m.Exports)
            {
                var importer = PeerNamed(ess["metadata"]!["name"]!.GetValue<string>());
                if (importer is null) continue;
                var peerName = importer.Name;
                var statuses = (ess["status"]?["exportedServices"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
                if (statuses.Count == 0)
                {
                    foreach (var rule in (ess["spec"]?["exportRules"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                    {
                        var ns = rule["nameSelector"]?["namespace"]?.GetValue<string>();
                        var n = rule["nameSelector"]?["name"]?.GetValue<string>();
                        if (rule["type"]?.GetValue<string>() != "NameSelector" || Names.IsWildcard(ns) || Names.IsWildcard(n))
                        {
                            notes.Add($"{m.Cluster.Name}: ExportedServiceSet {m.Namespace}/{ess["metadata"]!["name"]} has a rule ({rule.ToJsonString()}) that only its status resolves to services, and it has no status; list the services in the OSSM 3 topology.");
                            continue;
                        }
                        set.Add(new MeshServiceExport
                        {
                            ControlPlane = local, Peer = peerName, Namespace = ns!, Name = n,
                            AliasNamespace = rule["nameSelector"]?["alias"]?["namespace"]?.GetValue<string>(), AliasName = rule["nameSelector"]?["alias"]?["name"]?.GetValue<string>(),
                        });
                    }
                }
                foreach (var st in statuses)
                {
                    var svc = st["localService"];
                    var (exportedName, exportedNs) = SplitHost(st["exportedName"]?.GetValue<string>());
                    var ns = svc?["namespace"]?.GetValue<string>() ?? "";
                    var n = svc?["name"]?.GetValue<string>() ?? "";
                    set.Add(new MeshServiceExport
                    {
                        ControlPlane = local, Peer = peerName, Namespace = ns, Name = n,
                        AliasNamespace = exportedNs is not null && exportedNs != ns ? exportedNs : null, AliasName = exportedName is not null && exportedName != n ? exportedName : null,
                    });
                }
            }
            foreach (var iss in m.Imports)
            {
                var exporter = PeerNamed(iss["metadata"]!["name"]!.GetValue<string>());
                if (exporter is null) continue;
                var statuses = (iss["status"]?["importedServices"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
                if (statuses.Count == 0)
                    foreach (var rule in (iss["spec"]?["importRules"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                    {
                        var sel = rule["nameSelector"];
                        set.Add(new MeshServiceImport
                        {
                            ControlPlane = local, Peer = exporter.Name, Namespace = sel?["namespace"]?.GetValue<string>() ?? "*", Name = sel?["name"]?.GetValue<string>() ?? "",
                            AliasNamespace = sel?["alias"]?["namespace"]?.GetValue<string>(), AliasName = sel?["alias"]?["name"]?.GetValue<string>(),
                            ImportAsLocal = rule["importAsLocal"]?.GetValue<bool>() ?? false, DomainSuffix = rule["domainSuffix"]?.GetValue<string>(),
                        });
                    }
                foreach (var st in statuses)
                {
                    var (exportedName, exportedNs) = SplitHost(st["exportedName"]?.GetValue<string>());
                    var svc = st["localService"];
                    var ns = svc?["namespace"]?.GetValue<string>() ?? exportedNs ?? "";
                    var n = svc?["name"]?.GetValue<string>() ?? exportedName ?? "";
                    var host = svc?["hostname"]?.GetValue<string>() ?? "";
                    var asLocal = host == $"{n}.{ns}.svc.cluster.local";
                    var suffix = asLocal || host == Names.ImportedHost(n, ns, exporter.Name, false, null) || !host.StartsWith($"{n}.{ns}.", StringComparison.Ordinal) ? null : host[$"{n}.{ns}.".Length..];
                    set.Add(new MeshServiceImport
                    {
                        ControlPlane = local, Peer = exporter.Name, Namespace = exportedNs ?? ns, Name = exportedName ?? n,
                        AliasNamespace = asLocal || ns != exportedNs ? ns : null, AliasName = n != exportedName ? n : null, ImportAsLocal = asLocal, DomainSuffix = suffix,
                    });
                }
            }
        }

        // Ports, selectors and identities of what is exported, from the exporting clusters.
        var reads = set.Exports.Where(e => !e.IsLabelSelector && !Names.IsWildcard(e.Name) && !Names.IsWildcard(e.Namespace)).DistinctBy(e => (e.Mesh, e.Namespace, e.Name))
            .Select(async e =>
            {
                try
                {
                    return (Key: (e.Mesh, e.Namespace, e.Name!), Details: await Ossm3FederationLive.ReadServiceAsync(connections.For(e.ControlPlane.Cluster), e, log, cancellationToken).ConfigureAwait(false), Note: (string?)null);
                }
                catch (MeshFederationException ex)
                {
                    return (Key: (e.Mesh, e.Namespace, e.Name!), Details: (Ossm3FederationLive.ServiceDetails?)null, Note: $"{e.Cluster}: {ex.Problems[0].Value} {ex.Problems[0].Problem}; {ex.Problems[0].Fix}.");
                }
            });
        foreach (var r in await Task.WhenAll(reads).ConfigureAwait(false))
        {
            if (r.Details is not null) services[r.Key] = r.Details;
            if (r.Note is not null) notes.Add(r.Note);
        }

        return new Ossm2Federation
        {
            Set = set,
            Discovered = true,
            ControlPlanes = meshes.ToDictionary(m => m.Name, m => m.Smcp, StringComparer.Ordinal),
            FederationObjects = meshes.ToDictionary(m => m.Name, m => (IReadOnlyList<JsonObject>)m.Peers.Concat(m.Exports).Concat(m.Imports).ToList(), StringComparer.Ordinal),
            Services = services,
            InjectionLabelled = meshes.ToDictionary(m => m.Name, m => (IReadOnlyList<string>)m.InjectionLabelled, StringComparer.Ordinal),
            ExistingNamespaces = meshes.GroupBy(m => m.Cluster.Name).ToDictionary(g => g.Key, g => g.First().Namespaces, StringComparer.Ordinal),
            EastWestAddresses = meshes.Where(m => m.EastWest.Count > 0).ToDictionary(m => m.Name, m => (IReadOnlyList<string>)m.EastWest, StringComparer.Ordinal),
            Notes = notes,
        };
    }

    /// <summary>(name, namespace) of <c>&lt;name&gt;.&lt;ns&gt;.svc.…</c>.</summary>
    private static (string? Name, string? Namespace) SplitHost(string? host)
    {
        var parts = host?.Split('.');
        return parts is { Length: >= 3 } ? (parts[0], parts[1]) : (null, null);
    }

    private sealed class Mesh
    {
        public required ClusterBinding Cluster { get; init; }
        public required JsonObject Smcp { get; init; }
        public required string SmcpName { get; init; }
        public required string Namespace { get; init; }
        public required string TrustDomain { get; init; }
        public string Name { get; set; } = "";
        public List<JsonObject> Peers { get; } = new();
        public List<JsonObject> Exports { get; } = new();
        public List<JsonObject> Imports { get; } = new();
        public List<string> Members { get; } = new();
        public List<string> InjectionLabelled { get; } = new();
        public IReadOnlySet<string> Namespaces { get; set; } = new HashSet<string>();
        public string? Root { get; set; }
        public List<string> EastWest { get; } = new();
    }

    private static async Task<List<Mesh>> ReadClusterAsync(KubeClient client, ClusterBinding cluster, IMeshLog log, CancellationToken cancellationToken)
    {
        var result = new List<Mesh>();
        if (await client.FindAsync("maistra.io/v2", "ServiceMeshControlPlane", cancellationToken).ConfigureAwait(false) is null)
        {
            log.Verbose($"{cluster.Name}: no OpenShift Service Mesh 2 (ServiceMeshControlPlane is not served)");
            return result;
        }
        var federation = await client.FindAsync("federation.maistra.io/v1", "ServiceMeshPeer", cancellationToken).ConfigureAwait(false) is not null;
        var namespaces = await client.ListAsync("v1", "Namespace", null, null, cancellationToken).ConfigureAwait(false);
        var names = namespaces.Select(n => n["metadata"]!["name"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        var eastWest = await Ossm3FederationLive.ReadEastWestAddressAsync(client, new MeshControlPlane { Name = cluster.Name, Namespace = "", TrustDomain = "", Cluster = cluster }, log, cancellationToken).ConfigureAwait(false);
        foreach (var smcp in await client.ListAsync("maistra.io/v2", "ServiceMeshControlPlane", null, null, cancellationToken).ConfigureAwait(false))
        {
            var ns = smcp["metadata"]!["namespace"]!.GetValue<string>();
            var mesh = new Mesh
            {
                Cluster = cluster, Smcp = smcp, SmcpName = smcp["metadata"]!["name"]!.GetValue<string>(), Namespace = ns,
                TrustDomain = smcp["spec"]?["security"]?["trust"]?["domain"]?.GetValue<string>() ?? "cluster.local", Namespaces = names,
            };
            if (federation)
            {
                mesh.Peers.AddRange(await client.ListAsync("federation.maistra.io/v1", "ServiceMeshPeer", ns, null, cancellationToken).ConfigureAwait(false));
                mesh.Exports.AddRange(await client.ListAsync("federation.maistra.io/v1", "ExportedServiceSet", ns, null, cancellationToken).ConfigureAwait(false));
                mesh.Imports.AddRange(await client.ListAsync("federation.maistra.io/v1", "ImportedServiceSet", ns, null, cancellationToken).ConfigureAwait(false));
            }
            // Members: the member roll, the namespaces the operator labelled as members, and (ClusterWide) injection-labelled namespaces.
            var roll = await client.GetAsync("maistra.io/v1", "ServiceMeshMemberRoll", ns, "default", cancellationToken).ConfigureAwait(false);
            var members = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var n in (roll?["spec"]?["members"] as JsonArray)?.Select(x => x!.GetValue<string>()) ?? Enumerable.Empty<string>())
                if (n != "*") members.Add(n);
            var clusterWide = smcp["spec"]?["mode"]?.GetValue<string>() == "ClusterWide";
            foreach (var n in namespaces)
            {
                var labels = n["metadata"]?["labels"];
                var name = n["metadata"]!["name"]!.GetValue<string>();
                if (name == ns) continue;
                if (labels?["maistra.io/member-of"]?.GetValue<string>() == ns) members.Add(name);
                if (clusterWide && labels?["istio-injection"]?.GetValue<string>() == "enabled")
                {
                    members.Add(name);
                    mesh.InjectionLabelled.Add(name);
                }
            }
            mesh.Members.AddRange(members);
            var cm = await client.GetAsync("v1", "ConfigMap", ns, "istio-ca-root-cert", cancellationToken).ConfigureAwait(false);
            mesh.Root = cm?["data"]?[Names.RootCertKey]?.GetValue<string>();
            mesh.EastWest.AddRange(eastWest);
            log.Verbose($"{cluster.Name}: ServiceMeshControlPlane {ns}/{mesh.SmcpName}, trust domain {mesh.TrustDomain}, {mesh.Peers.Count} peers, {mesh.Exports.Count} exported and {mesh.Imports.Count} imported service sets, members {string.Join(", ", mesh.Members)}");
            result.Add(mesh);
        }
        return result;
    }
}
