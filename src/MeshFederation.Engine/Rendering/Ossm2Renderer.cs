using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Proxy;
using MeshFederation.Engine.Validation;
using static MeshFederation.Engine.Rendering.JsonBuilder;

namespace MeshFederation.Engine.Rendering;

/// <summary>
/// Renders a federation. OSSM 2 federation (federation.maistra.io/v1, maistra.io/v2) from a validated <see cref="FederationSet"/>:
/// per cluster and in apply order the control-plane namespace, the peers' root-certificate ConfigMaps, the SMCP with
/// one ingress and one egress gateway per peer, the member roll, the ServiceMeshPeers, the Exported- and
/// ImportedServiceSets named after their peers, and the traffic-split VirtualServices. Control planes of the Istio
/// styles render through <see cref="IstioRenderer"/>.
/// </summary>
public static class Ossm2Renderer
{
    public const int OrderNamespace = 0;
    public const int OrderCaConfigMap = 10;
    public const int OrderControlPlane = 20;
    public const int OrderMemberRoll = 30;
    public const int OrderPeer = 40;
    public const int OrderExports = 50;
    public const int OrderImports = 60;
    public const int OrderRoutes = 70;

    /// <summary>Renders one object on its own, with the control planes it depends on.</summary>
    public static RenderResult RenderObject(object item) => Render(FederationSet.From(new[] { item }));

    public static RenderResult Render(FederationSet set) => Render(set, offlineComplete: true, parallelism: 1);

    /// <summary>
    /// Renders everything the set would render and judges each object by its upstream schema, throwing every problem
    /// with the field path and, for topologies, the file and line. Values that are only read live (node addresses of a
    /// pending proxy) are not required here: this is what validation (meshfed validate, Import-MeshTopology) runs.
    /// </summary>
    public static void Validate(FederationSet set) => Validate(set, Math.Min(Environment.ProcessorCount, 4));

    /// <summary><see cref="Validate(FederationSet)"/> on this many threads (1: one control plane after another).</summary>
    internal static void Validate(FederationSet set, int parallelism) => Render(set, offlineComplete: false, parallelism);

    /// <summary>
    /// <see cref="Validate(FederationSet)"/> of a set whose own rules were just checked without a problem (the topology
    /// loader's last step): the set's rules, a scan of every peering, are not run a second time.
    /// </summary>
    internal static void ValidateChecked(FederationSet set) => Render(set, offlineComplete: false, Math.Min(Environment.ProcessorCount, 4), setChecked: true);

    /// <summary>What every control plane's rendering shares: node ports, the proxy, peerings by mesh.</summary>
    private sealed class RenderContext
    {
        public required FederationSet Set { get; init; }
        public required Dictionary<(string Mesh, string Peer), GatewayNodePorts> NodePorts { get; init; }
        public FederationProxyConfig? Proxy { get; init; }
        public required ILookup<MeshControlPlane, MeshPeering> ByLocal { get; init; }
        public required HashSet<(MeshControlPlane Local, MeshControlPlane Remote)> Peered { get; init; }
        public IReadOnlyList<FederatedService>? Federated { get; set; }
        public required List<string> Warnings { get; init; }
        public required Dictionary<string, string> ExtraFiles { get; init; }
    }

    private static RenderContext Prepare(FederationSet set, bool offlineComplete, bool setChecked = false)
    {
        if (!setChecked) set.EnsureValid();
        var problems = new ProblemList();
        if (offlineComplete && set.PendingProxy is not null && set.ProxyConfigs.Count == 0)
            foreach (var cp in set.ControlPlanes.Where(c => c.GatewayExposure == GatewayExposure.NodePort && c.NodeAddresses.Count == 0))
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{cp.Name}'.nodeAddresses", "",
                    "the federation proxy needs the cluster's node addresses, which are not known offline",
                    "list them under nodeAddresses, or apply live (meshfed apply, Sync-MeshFederation) or run meshfed proxy --from-cluster, which read them", cp.Source, cp);
        problems.ThrowIfAny();
        var nodePorts = set.NodePorts(problems).ToDictionary(kv => kv.Key, kv => kv.Value);
        problems.ThrowIfAny();
        foreach (var x in set.ProxyConfigs) foreach (var (key, ports) in x.NodePorts) nodePorts[key] = ports;

        var warnings = new List<string>();
        var proxy = set.ProxyConfigs.FirstOrDefault();
        if (set.ProxyConfigs.Count > 1) warnings.Add($"{set.ProxyConfigs.Count} proxy configurations were given; the first one is used for peer addresses.");

        var extra = new Dictionary<string, string>(StringComparer.Ordinal);
        if (proxy is not null)
        {
            extra["proxy/federation.cfg"] = proxy.HaproxyConfig;
            extra["proxy/firewall-commands.txt"] = string.Join('\n', proxy.FirewallCommands) + "\n";
        }
        return new RenderContext
        {
            Set = set, NodePorts = nodePorts, Proxy = proxy, Warnings = warnings, ExtraFiles = extra,
            ByLocal = set.Peerings.ToLookup(p => p.Local),
            Peered = set.Peerings.Select(p => (p.Local, p.Remote)).ToHashSet(),
        };
    }

    private static RenderResult Render(FederationSet set, bool offlineComplete, int parallelism, bool setChecked = false)
    {
        var ctx = Prepare(set, offlineComplete, setChecked);
        var problems = new ProblemList();
        var docs = new List<RenderedManifest>();
        var pending = new List<PendingItem>();
        if (!offlineComplete)
        {
            // Validation: each control plane's objects are rendered, judged and dropped (memory stays that of one mesh
            // per core), on every core; the pending items, warnings and problems are put back in control-plane order,
            // and an exception is the one the first control plane to fail would have thrown alone, so the outcome is
            // the same as one after another.
            var cps = set.ControlPlanes;
            var pendingBy = new List<PendingItem>[cps.Count];
            var warningsBy = new List<string>[cps.Count];
            var problemsBy = new ProblemList[cps.Count];
            ParallelWork.For(cps.Count, parallelism, i =>
            {
                var mine = new List<RenderedManifest>();
                RenderControlPlane(ctx, cps[i], mine, pendingBy[i] = new List<PendingItem>(), warningsBy[i] = new List<string>());
                JudgeBySchemas(mine, problemsBy[i] = new ProblemList());
            });
            for (var i = 0; i < cps.Count; i++)
            {
                pending.AddRange(pendingBy[i]);
                ctx.Warnings.AddRange(warningsBy[i]);
                problems.AddRange(problemsBy[i].Items);
            }
            problems.ThrowIfAny();
            return new RenderResult { Name = set.Name, Clusters = Array.Empty<ClusterManifests>(), Pending = pending, Warnings = ctx.Warnings, ExtraFiles = ctx.ExtraFiles };
        }
        foreach (var cp in set.ControlPlanes) RenderControlPlane(ctx, cp, docs, pending, ctx.Warnings);
        JudgeBySchemas(docs, problems);
        problems.ThrowIfAny();

        var clusters = docs.GroupBy(d => d.Cluster, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ClusterManifests { Cluster = g.Key, Documents = g.OrderBy(d => d.Order).ToList() })
            .ToList();
        return new RenderResult { Name = set.Name, Clusters = clusters, Pending = pending, Warnings = ctx.Warnings, ExtraFiles = ctx.ExtraFiles };
    }

    /// <summary>
    /// Renders cluster by cluster, for writing each cluster's file before the next is rendered (a large federation never
    /// holds every document at once). <see cref="StreamedRender.Clusters"/> yields the clusters in the order
    /// <see cref="Render(FederationSet)"/> returns them, with the same documents; once every cluster has been yielded it
    /// throws every problem the upstream schemas found (callers write into a new folder that is dropped then).
    /// <see cref="StreamedRender.Pending"/> and <see cref="StreamedRender.Warnings"/> are complete after that.
    /// </summary>
    public static StreamedRender RenderByCluster(FederationSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        var ctx = Prepare(set, offlineComplete: true);
        var clusters = set.ControlPlanes.Select(c => c.ClusterName).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new StreamedRender(set.Name, clusters, ctx.ExtraFiles, () => new ClusterJob(ctx, clusters));
    }

    /// <summary>
    /// One streamed render's clusters: each rendered and judged on its own (from any thread; clusters share nothing but
    /// the read-only context), the pending items, warnings and problems put back in control-plane order at the end (as
    /// Render has them).
    /// </summary>
    private sealed class ClusterJob : IClusterJob
    {
        private readonly RenderContext _ctx;
        private readonly IReadOnlyList<string> _clusters;
        private readonly Dictionary<string, List<(MeshControlPlane Cp, int Index)>> _byCluster;
        private readonly List<PendingItem>[] _pendingBy;
        private readonly List<string>[] _warningsBy;
        private readonly ProblemList[] _problemsBy;

        public ClusterJob(RenderContext ctx, IReadOnlyList<string> clusters)
        {
            _ctx = ctx;
            _clusters = clusters;
            var cps = ctx.Set.ControlPlanes;
            _byCluster = cps.Select((c, i) => (c, i)).GroupBy(x => x.c.ClusterName, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            _pendingBy = new List<PendingItem>[cps.Count];
            _warningsBy = new List<string>[cps.Count];
            _problemsBy = new ProblemList[cps.Count];
        }

        public ClusterManifests? Render(int clusterIndex)
        {
            var cluster = _clusters[clusterIndex];
            var docs = new List<RenderedManifest>();
            foreach (var (cp, i) in _byCluster[cluster])
            {
                var before = docs.Count;
                RenderControlPlane(_ctx, cp, docs, _pendingBy[i] = new List<PendingItem>(), _warningsBy[i] = new List<string>());
                JudgeBySchemas(docs.Skip(before), _problemsBy[i] = new ProblemList());
            }
            return docs.Count == 0 ? null : new ClusterManifests { Cluster = cluster, Documents = docs.OrderBy(d => d.Order).ToList() };
        }

        public void Finish(List<PendingItem> pending, List<string> warnings)
        {
            warnings.AddRange(_ctx.Warnings);
            for (var i = 0; i < _pendingBy.Length; i++)
            {
                if (_pendingBy[i] is { } p) pending.AddRange(p);
                if (_warningsBy[i] is { } w) warnings.AddRange(w);
            }
            var problems = new ProblemList();
            foreach (var list in _problemsBy) if (list is not null) foreach (var p in list.Items) problems.Add(p);
            problems.ThrowIfAny();
        }
    }

    private static void RenderControlPlane(RenderContext ctx, MeshControlPlane cp, List<RenderedManifest> docs, List<PendingItem> pending, List<string> warnings)
    {
        var set = ctx.Set;
        if (cp.Style == MeshStyle.Ossm3Federation)
        {
            IReadOnlyList<FederatedService> federated;
            lock (ctx) federated = ctx.Federated ??= Ossm3Federation.Services(set); // clusters may render in parallel
            Ossm3FederationRenderer.Render(set, cp, federated, docs, pending, warnings);
            return;
        }
        if (cp.Style != MeshStyle.Ossm2)
        {
            IstioRenderer.Render(set, cp, docs, pending, warnings, ctx.NodePorts);
            return;
        }
        var peerings = (ctx.ByLocal[cp] ?? Enumerable.Empty<MeshPeering>()).OrderBy(p => p.Remote.Name, StringComparer.Ordinal).ToList();
        docs.Add(Make(cp, OrderNamespace, "v1", "Namespace", null, cp.Namespace, Obj(
            ("apiVersion", "v1"), ("kind", "Namespace"), ("metadata", Metadata(cp.Namespace, null, cp.Name)))));

        foreach (var p in peerings)
        {
            if (p.CaBundle is not null)
                docs.Add(Make(cp, OrderCaConfigMap, "v1", "ConfigMap", cp.Namespace, p.CaConfigMap, Obj(
                    ("apiVersion", "v1"), ("kind", "ConfigMap"),
                    ("metadata", Metadata(p.CaConfigMap, cp.Namespace, cp.Name, p.Remote.Name)),
                    ("data", Obj((Names.RootCertKey, p.CaBundle))))));
            else
                pending.Add(new PendingItem(cp.ClusterName, cp.Name, $"ConfigMap {cp.Namespace}/{p.CaConfigMap} (root certificate of {p.Remote.Name})",
                    $"kubectl --context {Shell.Quote(p.Remote.Cluster.Context ?? p.Remote.ClusterName)} -n {p.Remote.Namespace} get configmap istio-ca-root-cert -o jsonpath='{{.data.root-cert\\.pem}}'"));
        }

        docs.Add(Make(cp, OrderControlPlane, "maistra.io/v2", "ServiceMeshControlPlane", cp.Namespace, cp.ControlPlaneName, ControlPlane(cp, peerings),
            fieldSources: ControlPlaneSources(cp, peerings)));
        docs.AddRange(NodePortServices.ForPeerings(peerings, ctx.NodePorts));

        if (cp.MemberNamespaces.Count > 0)
            docs.Add(Make(cp, OrderMemberRoll, "maistra.io/v1", "ServiceMeshMemberRoll", cp.Namespace, "default", Obj(
                ("apiVersion", "maistra.io/v1"), ("kind", "ServiceMeshMemberRoll"),
                ("metadata", Metadata("default", cp.Namespace, cp.Name)),
                ("spec", Obj(("members", Strings(cp.MemberNamespaces)))))));

        foreach (var p in peerings)
            docs.Add(Make(cp, OrderPeer, "federation.maistra.io/v1", "ServiceMeshPeer", cp.Namespace, p.Name, Peer(p, ctx.NodePorts, ctx.Proxy, pending), p.Source ?? cp.Source));

        foreach (var g in set.Exports.Where(e => e.ControlPlane == cp).GroupBy(e => e.Peer, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            docs.Add(Make(cp, OrderExports, "federation.maistra.io/v1", "ExportedServiceSet", cp.Namespace, g.Key, Obj(
                ("apiVersion", "federation.maistra.io/v1"), ("kind", "ExportedServiceSet"),
                ("metadata", Metadata(g.Key, cp.Namespace, cp.Name, g.Key)),
                ("spec", Obj(("exportRules", Arr(g.Select(ExportRule)))))), g.First().Source));

        foreach (var g in set.Imports.Where(i => i.ControlPlane == cp).GroupBy(i => i.Peer, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var spec = new JsonObject();
            if (g.Select(i => i.Locality).FirstOrDefault(l => l is not null) is { } loc)
                spec["locality"] = Obj(("region", loc.Region), ("zone", loc.Zone), ("subzone", loc.Subzone));
            spec["importRules"] = Arr(g.Select(ImportRule));
            docs.Add(Make(cp, OrderImports, "federation.maistra.io/v1", "ImportedServiceSet", cp.Namespace, g.Key, Obj(
                ("apiVersion", "federation.maistra.io/v1"), ("kind", "ImportedServiceSet"),
                ("metadata", Metadata(g.Key, cp.Namespace, cp.Name, g.Key)),
                ("spec", spec)), g.First().Source));
        }

        // Locality failover of imported services (OpenShift docs: importAsLocal + locality + this DestinationRule).
        foreach (var f in set.FailoverPolicies.Where(f => f.ControlPlane == cp))
            docs.Add(Make(cp, OrderRoutes, f.ApiVersion, "DestinationRule", f.Namespace, f.Name, DestinationRule(f), f.Source));
        foreach (var s in set.TrafficSplits.Where(s => s.ControlPlane == cp))
            docs.Add(Make(cp, OrderRoutes, s.ApiVersion, "VirtualService", s.Namespace, s.Name, VirtualService(s), s.Source));

        foreach (var e in set.Exports.Where(e => e.ControlPlane == cp && !peerings.Any(p => p.Remote.Name == e.Peer)).Select(e => e.Peer).Distinct())
            warnings.Add($"{cp.Name} exports to {e} without a peering in this render; the ExportedServiceSet only takes effect once ServiceMeshPeer {e} exists.");
        foreach (var i in set.Imports.Where(i => i.ControlPlane == cp && !peerings.Any(p => p.Remote.Name == i.Peer)).Select(i => i.Peer).Distinct())
            warnings.Add($"{cp.Name} imports from {i} without a peering in this render; the ImportedServiceSet only takes effect once ServiceMeshPeer {i} exists.");
        foreach (var p in peerings)
            if (!ctx.Peered.Contains((p.Remote, p.Local)))
                warnings.Add($"{p.Local.Name} peers with {p.Remote.Name} but {p.Remote.Name} has no peering back; federation needs a ServiceMeshPeer on both sides (New-MeshPeer creates both).");
    }

    private static RenderedManifest Make(MeshControlPlane cp, int order, string apiVersion, string kind, string? ns, string name, JsonObject obj, SourceLocation? source = null,
        IReadOnlyDictionary<string, SourceLocation>? fieldSources = null) => new()
    {
        Cluster = cp.ClusterName,
        Mesh = cp.Name,
        Order = order,
        ApiVersion = apiVersion,
        Kind = kind,
        Namespace = ns,
        Name = name,
        Content = obj,
        Source = source ?? cp.Source,
        FieldSources = fieldSources,
    };

    /// <summary>Every object against its upstream schema (shipped with the engine): unknown fields, types, enums, required fields.</summary>
    private static void JudgeBySchemas(IEnumerable<RenderedManifest> docs, ProblemList problems)
    {
        foreach (var d in docs)
            foreach (var v in UpstreamSchemas.Validate(d.Content))
                problems.Add(new MeshProblem(MeshErrorKind.InvalidData, $"{d.Kind} {(d.Namespace is null ? "" : d.Namespace + "/")}{d.Name} {v.Path}",
                    d.Sensitive && v.Value is not null ? "(not shown: the object holds a key or token)" : v.Value,
                    $"{v.Problem} ({d.ApiVersion} {d.Kind} schema)", v.Fix) { Location = d.SourceOf(v.Path), Target = d });
    }

    /// <summary>Where the SMCP's overridden fields were written: spec overrides, and the gateway overrides under each federation gateway.</summary>
    private static Dictionary<string, SourceLocation> ControlPlaneSources(MeshControlPlane cp, IReadOnlyList<MeshPeering> peerings)
    {
        var map = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        foreach (var (path, at) in cp.SpecOverrideSources) map["spec." + path] = at;
        foreach (var p in peerings)
            foreach (var (path, at) in cp.GatewayOverrideSources)
            {
                map.TryAdd($"spec.gateways.additionalIngress.{p.IngressGateway}.{path}", at);
                map.TryAdd($"spec.gateways.additionalEgress.{p.EgressGateway}.{path}", at);
            }
        return map;
    }

    private static JsonObject ControlPlane(MeshControlPlane cp, IReadOnlyList<MeshPeering> peerings)
    {
        var spec = new JsonObject();
        if (cp.Version.Length > 0) spec["version"] = cp.Version;
        if (peerings.Count > 0)
        {
            var egress = new JsonObject();
            var ingress = new JsonObject();
            foreach (var p in peerings)
            {
                egress[p.EgressGateway] = Obj(
                    ("enabled", true),
                    ("requestedNetworkView", Strings(new[] { p.EffectiveNetworkView })),
                    ("routerMode", "sni-dnat"),
                    ("service", Obj(
                        ("metadata", Obj(("labels", Obj(("federation.maistra.io/egress-for", cp.ForLabelValue(p.EgressGateway, p.Remote.Name)))))),
                        ("ports", Arr(new JsonNode[]
                        {
                            Obj(("port", p.ServicePort), ("name", "tls")),
                            Obj(("port", p.DiscoveryPort), ("name", "http-discovery")),
                        })))));

                var serviceMetadata = Obj(("labels", Obj(("federation.maistra.io/ingress-for", cp.ForLabelValue(p.IngressGateway, p.Remote.Name)))));
                if (cp.IngressServiceAnnotations.Count > 0)
                    serviceMetadata["annotations"] = Obj(cp.IngressServiceAnnotations.Select(kv => (kv.Key, (JsonNode?)kv.Value)).ToArray());
                // NodePort meshes keep the gateway Service internal and expose it through a separate NodePort Service
                // (seed 000), so node ports are fixed and known to the proxy before anything is applied.
                ingress[p.IngressGateway] = Obj(
                    ("enabled", true),
                    ("routerMode", "sni-dnat"),
                    ("service", Obj(
                        ("type", cp.GatewayExposure == GatewayExposure.LoadBalancer ? "LoadBalancer" : null),
                        ("metadata", serviceMetadata),
                        ("ports", Arr(new JsonNode[]
                        {
                            Obj(("port", p.ServicePort), ("name", "tls")),
                            Obj(("port", p.DiscoveryPort), ("name", "https-discovery")),
                        })))));
                if (cp.GatewayOverrides is not null)
                {
                    DeepMerge(egress[p.EgressGateway]!.AsObject(), cp.GatewayOverrides);
                    DeepMerge(ingress[p.IngressGateway]!.AsObject(), cp.GatewayOverrides);
                }
            }
            spec["gateways"] = Obj(("additionalEgress", egress), ("additionalIngress", ingress));
        }
        spec["security"] = Obj(("trust", Obj(("domain", cp.TrustDomain))));
        if (cp.SpecOverrides is not null) DeepMerge(spec, cp.SpecOverrides);
        return Obj(("apiVersion", "maistra.io/v2"), ("kind", "ServiceMeshControlPlane"),
            ("metadata", Metadata(cp.ControlPlaneName, cp.Namespace, cp.Name)), ("spec", spec));
    }

    /// <summary>Where the local mesh reaches the remote one: through the proxy, at node ports, or at the remote ingress addresses.</summary>
    public static (IReadOnlyList<string> Addresses, int DiscoveryPort, int ServicePort) RemoteEndpoint(
        MeshPeering p, IReadOnlyDictionary<(string, string), GatewayNodePorts> nodePorts, FederationProxyConfig? proxy)
    {
        if (proxy?.Find(p.Remote.Name, p.Local.Name, FederationPortKind.Discovery) is { } d
            && proxy.Find(p.Remote.Name, p.Local.Name, FederationPortKind.Service) is { } s)
            return (new[] { d.FrontendAddress }, d.FrontendPort, s.FrontendPort);
        if (p.Remote.GatewayExposure == GatewayExposure.NodePort && nodePorts.TryGetValue((p.Remote.Name, p.Local.Name), out var np))
            return (p.RemoteAddresses.Count > 0 ? p.RemoteAddresses : p.Remote.NodeAddresses, np.Discovery, np.Service);
        return (p.RemoteAddresses, p.DiscoveryPort, p.ServicePort);
    }

    private static JsonObject Peer(MeshPeering p, IReadOnlyDictionary<(string, string), GatewayNodePorts> nodePorts, FederationProxyConfig? proxy, List<PendingItem> pending)
    {
        var (addresses, discoveryPort, servicePort) = RemoteEndpoint(p, nodePorts, proxy);
        var remote = new JsonObject();
        if (addresses.Count > 0) remote["addresses"] = Strings(addresses);
        else pending.Add(new PendingItem(p.Local.ClusterName, p.Local.Name, $"ServiceMeshPeer {p.Local.Namespace}/{p.Name} spec.remote.addresses",
            $"kubectl --context {Shell.Quote(p.Remote.Cluster.Context ?? p.Remote.ClusterName)} -n {p.Remote.Namespace} get svc {p.Remote.IngressGatewayFor(p.Local.Name)} -o jsonpath='{{.status.loadBalancer.ingress[*].ip}}'"));
        remote["discoveryPort"] = discoveryPort;
        remote["servicePort"] = servicePort;
        return Obj(("apiVersion", "federation.maistra.io/v1"), ("kind", "ServiceMeshPeer"),
            ("metadata", Metadata(p.Name, p.Local.Namespace, p.Local.Name, p.Remote.Name)),
            ("spec", Obj(
                ("remote", remote),
                ("gateways", Obj(("ingress", Obj(("name", p.IngressGateway))), ("egress", Obj(("name", p.EgressGateway))))),
                ("security", Obj(
                    ("trustDomain", p.RemoteTrustDomain),
                    ("clientID", p.ClientId),
                    ("certificateChain", Obj(("kind", "ConfigMap"), ("name", p.CaConfigMap))))))));
    }

    private static JsonNode ExportRule(MeshServiceExport e)
    {
        JsonObject? alias = e.AliasNamespace is null && e.AliasName is null ? null
            : Obj(("namespace", e.AliasNamespace), ("name", e.AliasName));
        if (e.IsLabelSelector)
        {
            var selector = new JsonObject();
            if (e.LabelSelector is { Count: > 0 } labels) selector["matchLabels"] = Obj(labels.Select(kv => (kv.Key, (JsonNode?)kv.Value)).ToArray());
            if (e.MatchExpressions.Count > 0)
                selector["matchExpressions"] = Arr(e.MatchExpressions.Select(x => (JsonNode?)Obj(("key", x.Key), ("operator", x.Operator),
                    ("values", x.Values.Count > 0 ? Strings(x.Values) : null))));
            var sel = Obj(("namespace", e.Namespace), ("selector", selector));
            // Tried in order, first match wins (maistra/api); a namespace alias moves every other match (the OSSM docs' form).
            var aliases = e.Aliases.Select(a => (JsonNode?)Obj(("namespace", a.Namespace), ("name", a.Name),
                ("alias", Obj(("namespace", a.AliasNamespace), ("name", a.AliasName))))).ToList();
            if (e.AliasNamespace is not null)
                aliases.Add(Obj(("namespace", "*"), ("name", "*"), ("alias", Obj(("namespace", e.AliasNamespace)))));
            if (aliases.Count > 0) sel["aliases"] = Arr(aliases);
            return Obj(("type", "LabelSelector"), ("labelSelector", sel));
        }
        return Obj(("type", "NameSelector"), ("nameSelector", Obj(("namespace", e.Namespace), ("name", e.Name), ("alias", alias))));
    }

    private static JsonNode ImportRule(MeshServiceImport i)
    {
        JsonObject? alias = i.AliasNamespace is null && i.AliasName is null ? null
            : Obj(("namespace", i.AliasNamespace), ("name", i.AliasName));
        return Obj(("type", "NameSelector"), ("importAsLocal", i.ImportAsLocal), ("domainSuffix", i.DomainSuffix),
            ("nameSelector", Obj(("namespace", i.Namespace), ("name", i.Name.Length == 0 ? null : i.Name), ("alias", alias))));
    }

    internal static JsonObject VirtualService(MeshTrafficSplit s)
    {
        JsonObject Destination(string host, int? weight)
        {
            var d = Obj(("host", host));
            if (s.Port is { } port) d["port"] = Obj(("number", port));
            return Obj(("destination", d), ("weight", weight));
        }

        var http = new JsonObject();
        if (s.Matches.Count > 0)
            http["match"] = Arr(s.Matches.Select(m => (JsonNode?)Obj(("uri", Obj((m.Kind.ToString().ToLowerInvariant(), m.Value))))));
        if (s.RewriteAuthority is not null || s.RewriteUri is not null)
            http["rewrite"] = Obj(("authority", s.RewriteAuthority), ("uri", s.RewriteUri));
        // A single destination takes all traffic and is written without a weight, as seed 000's passthrough does.
        http["route"] = s.RemoteOnly ? Arr(new JsonNode[] { Destination(s.RemoteHost, null) })
            : Arr(new JsonNode[] { Destination(s.LocalHost, s.LocalWeight), Destination(s.RemoteHost, s.RemoteWeight) });
        var spec = new JsonObject();
        if (s.Gateways.Count > 0) spec["gateways"] = Strings(s.Gateways);
        spec["hosts"] = Strings(s.Hosts.Count > 0 ? s.Hosts : new[] { s.LocalHost });
        spec["http"] = Arr(new JsonNode[] { http });
        return Obj(("apiVersion", s.ApiVersion), ("kind", "VirtualService"),
            ("metadata", Metadata(s.Name, s.Namespace, s.ControlPlane.Name)), ("spec", spec));
    }

    /// <summary>
    /// The locality failover DestinationRule (seed 003, the OpenShift docs, istio.io's failover task): failover from one
    /// region to another, the outlierDetection failover needs, and optionally connectionPool and loadBalancer.simple.
    /// </summary>
    internal static JsonObject DestinationRule(MeshFailoverPolicy f)
    {
        var loadBalancer = new JsonObject();
        if (f.LoadBalancer is not null) loadBalancer["simple"] = f.LoadBalancer;
        loadBalancer["localityLbSetting"] = Obj(
            ("enabled", true),
            ("failover", Arr(new JsonNode[] { Obj(("from", f.FromRegion), ("to", f.ToRegion)) })));
        var trafficPolicy = new JsonObject();
        if (f.ConnectionPool is not null) trafficPolicy["connectionPool"] = JsonNode.Parse(f.ConnectionPool);
        trafficPolicy["loadBalancer"] = loadBalancer;
        trafficPolicy["outlierDetection"] = Obj(
            ("consecutive5xxErrors", f.Consecutive5xxErrors),
            ("interval", f.Interval),
            ("baseEjectionTime", f.BaseEjectionTime));
        return Obj(
            ("apiVersion", f.ApiVersion), ("kind", "DestinationRule"),
            ("metadata", Metadata(f.Name, f.Namespace, f.ControlPlane.Name)),
            ("spec", Obj(("host", f.Host), ("trafficPolicy", trafficPolicy))));
    }
}
