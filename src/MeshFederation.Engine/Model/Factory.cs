using System.Text.Json.Nodes;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Model;

/// <summary>What New-MeshControlPlane and a topology's <c>meshes[]</c> entry ask for.</summary>
public sealed class ControlPlaneRequest
{
    public required string Name { get; init; }

    /// <summary>Control-plane namespace; <c>&lt;name&gt;-system</c> when null.</summary>
    public string? Namespace { get; init; }

    /// <summary>Name of the SMCP / Sail Istio resource; the mesh name (OSSM 2) or <c>default</c> (Istio styles) when null.</summary>
    public string? ControlPlaneName { get; init; }

    /// <summary>One cluster: the mesh keeps its name. Several: one mesh per cluster named <c>&lt;cluster&gt;-&lt;name&gt;</c> (OCM MeshDeployment).</summary>
    public IReadOnlyList<ClusterBinding> Clusters { get; init; } = Array.Empty<ClusterBinding>();

    public MeshStyle Style { get; init; } = MeshStyle.Ossm2;

    public string? Version { get; init; }

    /// <summary>Trust domain; <c>&lt;mesh&gt;.local</c> when null (only allowed with a single cluster when set).</summary>
    public string? TrustDomain { get; init; }

    public IReadOnlyList<string> MemberNamespaces { get; init; } = Array.Empty<string>();

    public GatewayExposure GatewayExposure { get; init; } = GatewayExposure.LoadBalancer;

    public string? IngressGatewayTemplate { get; init; }

    public string? EgressGatewayTemplate { get; init; }

    public IReadOnlyDictionary<string, IReadOnlyList<string>> IngressAddresses { get; init; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    public IReadOnlyList<string> NodeAddresses { get; init; } = Array.Empty<string>();

    public int? NodePortBase { get; init; }

    public IReadOnlyDictionary<string, string> IngressServiceAnnotations { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public string? RootCertificate { get; init; }

    public JsonObject? SpecOverrides { get; init; }

    /// <summary>Where each override was written (dotted path under spec).</summary>
    public IReadOnlyDictionary<string, SourceLocation>? SpecOverrideSources { get; init; }

    /// <summary>OSSM 2: fields merged into every per-peer federation gateway (merge-patch; null removes).</summary>
    public JsonObject? GatewayOverrides { get; init; }

    public IReadOnlyDictionary<string, SourceLocation>? GatewayOverrideSources { get; init; }

    /// <summary>OSSM 2: ingress-for / egress-for label value, the peer name (default) or the gateway name.</summary>
    public GatewayForLabel GatewayForLabel { get; init; } = GatewayForLabel.Peer;

    /// <summary>Istio styles: mesh ID; multi-primary default is the request's name (shared by its clusters), multi-mesh the mesh's own name.</summary>
    public string? MeshId { get; init; }

    /// <summary>Istio styles: sailoperator.io/v1 (default) or sailoperator.io/v1alpha1.</summary>
    public string? SailApiVersion { get; init; }

    /// <summary>Multi-mesh: the range ServiceEntry VIPs come from (default 127.255.0.0/16).</summary>
    public string? VipRange { get; init; }

    public SourceLocation? Source { get; init; }
}

/// <summary>Creates model objects the same way for cmdlets, the CLI and topology files, and validates them.</summary>
public static class Factory
{
    public static IReadOnlyList<MeshControlPlane> ControlPlanes(ControlPlaneRequest r)
    {
        var problems = new ProblemList();
        // Defaults derive from the name (namespace, trust domain, cluster); report a bad name once, not per derived field.
        if (!Names.CheckLabel(problems, "mesh.name", r.Name, r.Source)) problems.ThrowIfAny();
        if (r.ControlPlaneName is not null) Names.CheckLabel(problems, $"mesh '{r.Name}'.controlPlaneName", r.ControlPlaneName, r.Source);
        var clusters = r.Clusters.Count > 0 ? r.Clusters : new[] { new ClusterBinding(r.Name) };
        var istio = r.Style != MeshStyle.Ossm2;
        if (clusters.Count > 1 && r.TrustDomain is not null && (!istio || r.Style == MeshStyle.Ossm3Federation))
            problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{r.Name}'.trustDomain", r.TrustDomain,
                "one trust domain cannot serve several meshes; each federated mesh needs its own", "leave it unset: each mesh gets '<cluster>-<name>.local'", r.Source);
        var dup = clusters.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
            problems.Add(MeshErrorKind.Conflict, $"mesh '{r.Name}'.clusters[]", dup.Key, "is listed twice", "list each cluster once", r.Source);
        problems.ThrowIfAny();

        var result = new List<MeshControlPlane>();
        foreach (var c in clusters)
        {
            var name = clusters.Count > 1 ? $"{c.Name}-{r.Name}" : r.Name;
            var cp = new MeshControlPlane
            {
                Name = name,
                Namespace = r.Namespace ?? (istio ? "istio-system" : $"{r.Name}-system"),
                ControlPlaneName = r.ControlPlaneName ?? "",
                Style = r.Style,
                Provider = istio ? MeshProvider.SailOperator : MeshProvider.OpenShiftServiceMesh2,
                // Sail v1alpha1 (0.2.0) served up to v1.24.1, its default; v1 defaults to the version of the shipped CRD.
                Version = r.Version ?? (!istio ? MeshControlPlane.DefaultVersion
                    : r.SailApiVersion == "sailoperator.io/v1alpha1" ? MeshControlPlane.DefaultSailV1Alpha1Version : MeshControlPlane.DefaultIstioVersion),
                // Istio clusters sharing a root keep the default trust domain (seed 003); OSSM 2 meshes each need their own.
                // The OSSM 3 federation style keeps one trust domain (and root) per mesh, as OSSM 2 federation did.
                TrustDomain = r.TrustDomain ?? (istio && r.Style != MeshStyle.Ossm3Federation ? "cluster.local" : $"{name}.local"),
                MeshId = r.MeshId ?? (r.Style == MeshStyle.MultiMesh ? name : r.Name),
                SailApiVersion = r.SailApiVersion ?? "sailoperator.io/v1",
                VipRange = r.VipRange ?? "127.255.0.0/16",
                Cluster = c,
                MemberNamespaces = r.MemberNamespaces,
                GatewayExposure = r.GatewayExposure,
                IngressGatewayTemplate = r.IngressGatewayTemplate ?? MeshControlPlane.DefaultIngressTemplate,
                EgressGatewayTemplate = r.EgressGatewayTemplate ?? MeshControlPlane.DefaultEgressTemplate,
                IngressAddresses = r.IngressAddresses,
                NodeAddresses = r.NodeAddresses,
                NodePortBase = r.NodePortBase,
                IngressServiceAnnotations = r.IngressServiceAnnotations,
                RootCertificate = r.RootCertificate,
                SpecOverrides = r.SpecOverrides?.DeepClone().AsObject(),
                SpecOverrideSources = r.SpecOverrideSources ?? new Dictionary<string, SourceLocation>(StringComparer.Ordinal),
                GatewayOverrides = r.GatewayOverrides?.DeepClone().AsObject(),
                GatewayOverrideSources = r.GatewayOverrideSources ?? new Dictionary<string, SourceLocation>(StringComparer.Ordinal),
                GatewayForLabel = r.GatewayForLabel,
                Source = r.Source,
            };
            cp.Validate(problems);
            result.Add(cp);
        }
        problems.ThrowIfAny();
        return result;
    }

    /// <summary>
    /// Cluster bindings from parallel lists (New-MeshControlPlane -Cluster/-Network/-ApiServer); a context applies
    /// only to a single cluster.
    /// </summary>
    public static IReadOnlyList<ClusterBinding> Clusters(IReadOnlyList<string> names, string? context, string? kubeConfig, IReadOnlyList<string>? networks, IReadOnlyList<string>? apiServers)
    {
        var problems = new ProblemList();
        foreach (var (field, list) in new[] { ("Network", networks), ("ApiServer", apiServers) })
            if (list is not null && list.Count != names.Count)
                problems.Add(MeshErrorKind.InvalidArgument, field, string.Join(",", list),
                    $"gives {list.Count} value(s) for {names.Count} cluster(s)", $"give one {field} per -Cluster, in the same order", null);
        if (context is not null && names.Count > 1)
            problems.Add(MeshErrorKind.InvalidArgument, "Context", context, "one context cannot serve several clusters",
                "omit -Context (each cluster's context is its name) or declare the clusters one by one", null);
        foreach (var a in apiServers ?? Array.Empty<string>())
            if (!Uri.TryCreate(a, UriKind.Absolute, out var u) || u.Scheme != "https")
                problems.Add(MeshErrorKind.InvalidArgument, "ApiServer", a, "is not an https URL", "give the API server as istiod in the other clusters reaches it, e.g. https://api.cluster1.example:6443", null);
        problems.ThrowIfAny();
        return names.Select((n, i) => new ClusterBinding(n)
        {
            Context = context, KubeConfig = kubeConfig, Network = networks?[i], ApiServer = apiServers?[i],
        }).ToList();
    }

    /// <summary>A failover DestinationRule, validated.</summary>
    public static MeshFailoverPolicy Failover(MeshFailoverPolicy f) => Checked(f, f.Validate);

    /// <summary>
    /// Parses service ports written <c>name:number[:targetPort][/protocol]</c>, e.g. <c>http1:80/HTTP</c> or
    /// <c>http:8000:8080</c>. Without a protocol: HTTP for multi-mesh imports, and for exports
    /// (<paramref name="istioProtocolSelection"/>) what Istio selects from the name (<c>http</c> → HTTP, <c>grpc-x</c> → GRPC, else TCP).
    /// </summary>
    public static IReadOnlyList<ServicePortSpec> Ports(IEnumerable<string> specs, string field = "Port", bool istioProtocolSelection = false)
    {
        var problems = new ProblemList();
        var result = new List<ServicePortSpec>();
        foreach (var spec in specs)
        {
            var slash = spec.IndexOf('/', StringComparison.Ordinal);
            var head = slash < 0 ? spec : spec[..slash];
            var parts = head.Split(':');
            int number = 0, target = 0;
            var ok = parts.Length is 2 or 3 && parts[0].Length > 0
                     && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out number)
                     && (parts.Length == 2 || int.TryParse(parts[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out target));
            if (!ok || (slash >= 0 && slash == spec.Length - 1))
            {
                problems.Add(MeshErrorKind.InvalidArgument, field, spec, "is not name:number[:targetPort][/protocol]", "write ports like 'http1:80/HTTP', 'grpc:9090/GRPC' or 'http:8000:8080' (service port 8000, container port 8080)", null);
                continue;
            }
            var protocol = slash >= 0 ? spec[(slash + 1)..] : istioProtocolSelection ? ServicePortSpec.IstioProtocol(parts[0], null) : "HTTP";
            result.Add(new ServicePortSpec(parts[0], number, protocol) { TargetPort = parts.Length == 3 ? target : null });
        }
        problems.ThrowIfAny();
        return result;
    }

    /// <summary>Both directions of every pair among the given control planes (N·(N−1) peerings).</summary>
    public static IReadOnlyList<MeshPeering> Peerings(IReadOnlyList<MeshControlPlane> controlPlanes, PeeringOptions? options = null)
    {
        var problems = new ProblemList();
        if (controlPlanes.Count < 2)
            problems.Add(MeshErrorKind.InvalidArgument, "peers", string.Join(",", controlPlanes.Select(c => c.Name)),
                "federation needs at least two control planes", "give two or more control planes (pipe them into New-MeshPeer)", options?.Source);
        foreach (var g in controlPlanes.GroupBy(c => c.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, "peers", g.Key, "a mesh cannot be federated with itself (it was given twice)", "give each control plane once", options?.Source, g.Last());
        problems.ThrowIfAny();
        var result = MeshPeering.FullMesh(controlPlanes, options);
        foreach (var p in result) p.Validate(problems);
        problems.ThrowIfAny();
        return result;
    }

    /// <summary>Validates a single object and returns it, so every creator reports problems the same way.</summary>
    public static T Checked<T>(T item, Action<ProblemList> validate)
    {
        var problems = new ProblemList();
        validate(problems);
        problems.ThrowIfAny();
        return item;
    }

    public static MeshServiceExport Export(MeshServiceExport e) => Checked(e, e.Validate);

    public static MeshServiceImport Import(MeshServiceImport i) => Checked(i, i.Validate);

    public static MeshTrafficSplit TrafficSplit(MeshTrafficSplit s) => Checked(s, s.Validate);

    /// <summary>Parses "namespace/name" (either part may be "*"); a bare value is the namespace.</summary>
    public static (string? Namespace, string? Name) SplitAlias(string? alias)
    {
        if (string.IsNullOrEmpty(alias)) return (null, null);
        var i = alias.IndexOf('/', StringComparison.Ordinal);
        return i < 0 ? (alias, null) : (alias[..i], alias[(i + 1)..]);
    }
}
