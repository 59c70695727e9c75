using System.Text.Json.Nodes;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Model;

/// <summary>A service-mesh control plane in one cluster: everything needed to render it now and to apply it later.</summary>
public sealed partial class MeshControlPlane
{
    public const string DefaultIngressTemplate = "{peer}-ingress";
    public const string DefaultEgressTemplate = "{peer}-egress";
    public const string DefaultVersion = "v2.5";

    public required string Name { get; init; }

    public required string Namespace { get; init; }

    private readonly string? _controlPlaneName;

    /// <summary>
    /// Name of the control-plane resource: the ServiceMeshControlPlane of an OSSM 2 mesh (e.g. <c>fed-export</c> in the
    /// maistra federation sample for mesh <c>mesh1</c>), the Sail <c>Istio</c> resource of the Istio styles. Defaults to
    /// the mesh <see cref="Name"/> for OSSM 2 and to <c>default</c> (the name the Sail docs and seed 003 use) for the Istio
    /// styles. Peers still know the mesh by <see cref="Name"/> (ServiceMeshPeer names, gateway names, labels).
    /// </summary>
    public string ControlPlaneName
    {
        get => _controlPlaneName ?? (Style == MeshStyle.Ossm2 ? Name : DefaultIstioResourceName);
        init => _controlPlaneName = string.IsNullOrEmpty(value) ? null : value;
    }

    /// <summary>The name the Sail operator's docs give the Istio and IstioCNI resources.</summary>
    public const string DefaultIstioResourceName = "default";

    public MeshStyle Style { get; init; } = MeshStyle.Ossm2;

    /// <summary>Istio mesh ID (values.global.meshID): the same for every cluster of a multi-primary mesh. Default: the mesh's request name.</summary>
    public string MeshId { get; init; } = "";

    /// <summary>
    /// The cluster's network (values.global.network and the istio-system label). Default <c>network-&lt;cluster&gt;</c>;
    /// for the OSSM 3 federation style <c>network-&lt;mesh&gt;</c>, the name OSSM 2 federation gave the mesh's network
    /// (the migration guide's <c>network-east-mesh</c>).
    /// </summary>
    public string Network => Cluster.Network ?? (Style == MeshStyle.Ossm3Federation ? $"network-{Name}" : $"network-{Cluster.Name}");

    /// <summary>API version of the Sail resources: sailoperator.io/v1 (default) or sailoperator.io/v1alpha1 (seed 003).</summary>
    public string SailApiVersion { get; init; } = "sailoperator.io/v1";

    /// <summary>The range ServiceEntry VIPs of a multi-mesh importer come from (seed 004: 127.255.0.0/16).</summary>
    public string VipRange { get; init; } = "127.255.0.0/16";

    /// <summary>What installs (or installed) this control plane.</summary>
    public MeshProvider Provider { get; init; } = MeshProvider.OpenShiftServiceMesh2;

    /// <summary>True when the object was read from a cluster (Get-MeshControlPlane) rather than declared.</summary>
    public bool Discovered { get; init; }

    /// <summary>
    /// Control-plane version, e.g. <c>v2.5</c> (SMCP spec.version) or <c>v1.27.3</c> (Sail spec.version). Empty: the
    /// field is left out and the operator installs its default (the maistra 2.5 federation sample does this).
    /// </summary>
    public string Version { get; init; } = DefaultVersion;

    /// <summary>The mesh's trust domain; unique per federation. Defaults to <c>&lt;name&gt;.local</c>.</summary>
    public required string TrustDomain { get; init; }

    public required ClusterBinding Cluster { get; init; }

    /// <summary>Namespaces enrolled in the ServiceMeshMemberRoll.</summary>
    public IReadOnlyList<string> MemberNamespaces { get; init; } = Array.Empty<string>();

    public GatewayExposure GatewayExposure { get; init; } = GatewayExposure.LoadBalancer;

    /// <summary>Name template of the ingress gateway this mesh creates for each peer; <c>{peer}</c> is replaced.</summary>
    public string IngressGatewayTemplate { get; init; } = DefaultIngressTemplate;

    /// <summary>Name template of the egress gateway this mesh creates for each peer; <c>{peer}</c> is replaced.</summary>
    public string EgressGatewayTemplate { get; init; } = DefaultEgressTemplate;

    /// <summary>
    /// Addresses at which peers reach this mesh's federation ingress, keyed by peer name; the key <c>*</c> applies to
    /// every peer without its own entry. Empty offline means "read it from the cluster when applying".
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> IngressAddresses { get; init; } =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    /// <summary>Node addresses of the cluster (NodePort exposure): the backends of a federation proxy.</summary>
    public IReadOnlyList<string> NodeAddresses { get; init; } = Array.Empty<string>();

    /// <summary>First node port of this mesh's federation ingress gateways (NodePort exposure); allocated when null.</summary>
    public int? NodePortBase { get; init; }

    /// <summary>Annotations for the federation ingress Services, e.g. the AWS NLB annotation.</summary>
    public IReadOnlyDictionary<string, string> IngressServiceAnnotations { get; init; } =
        new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>This mesh's root certificate (PEM of its istio-ca-root-cert), when known offline; peers trust it.</summary>
    public string? RootCertificate { get; init; }

    /// <summary>
    /// Extra SMCP (or Sail Istio) spec fields merged over what is rendered (e.g. runtime defaults), with JSON merge-patch
    /// semantics (RFC 7386): mappings merge, other values replace, <c>null</c> removes a rendered field.
    /// </summary>
    /// <remarks>Internal so hosts never show System.Text.Json nodes: <see cref="GetSpecOverrides"/> gives a copy.</remarks>
    internal JsonObject? SpecOverrides { get; init; }

    /// <summary>A copy of the extra SMCP spec fields, or null.</summary>
    public JsonObject? GetSpecOverrides() => (JsonObject?)SpecOverrides?.DeepClone();

    /// <summary>Where each overridden field was written (dotted path under spec, e.g. <c>tracing.type</c>), for problems with file and line.</summary>
    public IReadOnlyDictionary<string, SourceLocation> SpecOverrideSources { get; init; } = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);

    /// <summary>
    /// Fields merged (merge-patch, null removes) into every federation gateway this OSSM 2 mesh renders for its peers,
    /// ingress and egress: e.g. <c>runtime</c> resources, or <c>routerMode: null</c> as the maistra sample leaves it out.
    /// </summary>
    /// <remarks>Internal so hosts never show System.Text.Json nodes: <see cref="GetGatewayOverrides"/> gives a copy.</remarks>
    internal JsonObject? GatewayOverrides { get; init; }

    /// <summary>A copy of the gateway overrides, or null.</summary>
    public JsonObject? GetGatewayOverrides() => (JsonObject?)GatewayOverrides?.DeepClone();

    /// <summary>Where each gateway override was written (dotted path under the gateway).</summary>
    public IReadOnlyDictionary<string, SourceLocation> GatewayOverrideSources { get; init; } = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);

    /// <summary>
    /// Value of the <c>federation.maistra.io/ingress-for</c> / <c>egress-for</c> Service labels: the peer name (the maistra
    /// sample and the OCM addon) or the gateway name (the OpenShift docs, seed 001).
    /// </summary>
    public GatewayForLabel GatewayForLabel { get; init; } = GatewayForLabel.Peer;

    /// <summary>The ingress-for / egress-for label value of a peer's gateway.</summary>
    public string ForLabelValue(string gateway, string peer) => GatewayForLabel == GatewayForLabel.Gateway ? gateway : peer;

    /// <summary>Where the control plane was declared, when it came from a topology file.</summary>
    public SourceLocation? Source { get; init; }

    public string ClusterName => Cluster.Name;

    /// <summary>The gateway peers reach: the per-peer federation ingress (OSSM 2) or the east-west gateway (Istio styles).</summary>
    public string IngressGatewayFor(string peer) => Style == MeshStyle.Ossm2 ? Names.ApplyTemplate(IngressGatewayTemplate, peer) : EastWestGatewayName;

    /// <summary>Name of the east-west gateway's Deployment and Service (gen-eastwest-gateway.sh).</summary>
    public const string EastWestGatewayName = "istio-eastwestgateway";

    /// <summary>Default control-plane version of the Istio styles (the Sail operator's default at 1.27.3).</summary>
    public const string DefaultIstioVersion = "v1.27.3";

    /// <summary>Default version of sailoperator.io/v1alpha1 (Sail 0.2.0, the last release serving it).</summary>
    public const string DefaultSailV1Alpha1Version = "v1.24.1";

    public string EgressGatewayFor(string peer) => Names.ApplyTemplate(EgressGatewayTemplate, peer);

    /// <summary>The addresses a given peer should use to reach this mesh; empty when not known offline.</summary>
    public IReadOnlyList<string> IngressAddressesFor(string peer) =>
        IngressAddresses.TryGetValue(peer, out var a) ? a
        : IngressAddresses.TryGetValue("*", out var any) ? any
        : Array.Empty<string>();

    // Null-safe: PowerShell builds instances from hashtables without the required members, then prints them.
    public override string ToString() => $"{Name} ({Namespace} in {Cluster?.Name})";

    /// <summary>A copy with node addresses read from the cluster.</summary>
    public MeshControlPlane WithNodeAddresses(IReadOnlyList<string> nodeAddresses) => new()
    {
        Name = Name, Namespace = Namespace, ControlPlaneName = _controlPlaneName ?? "", Style = Style, Provider = Provider, Discovered = Discovered, Version = Version,
        TrustDomain = TrustDomain, Cluster = Cluster, MemberNamespaces = MemberNamespaces, GatewayExposure = GatewayExposure,
        IngressGatewayTemplate = IngressGatewayTemplate, EgressGatewayTemplate = EgressGatewayTemplate, IngressAddresses = IngressAddresses,
        NodeAddresses = nodeAddresses, NodePortBase = NodePortBase, IngressServiceAnnotations = IngressServiceAnnotations,
        MeshId = MeshId, SailApiVersion = SailApiVersion, VipRange = VipRange,
        RootCertificate = RootCertificate, SpecOverrides = SpecOverrides, SpecOverrideSources = SpecOverrideSources,
        GatewayOverrides = GatewayOverrides, GatewayOverrideSources = GatewayOverrideSources, GatewayForLabel = GatewayForLabel, Source = Source,
    };

    /// <summary>Validates this control plane alone; cross-object rules live in <see cref="FederationSet"/>.</summary>
    public void Validate(ProblemList problems)
    {
        var at = Source;
        Names.CheckLabel(problems, "mesh.name", Name, at);
        Names.CheckLabel(problems, $"mesh '{Name}'.namespace", Namespace, at);
        if (_controlPlaneName is not null) Names.CheckLabel(problems, $"mesh '{Name}'.controlPlaneName", _controlPlaneName, at);
        Names.CheckLabel(problems, $"mesh '{Name}'.cluster", Cluster.Name, at);
        if (!Names.IsDns1123Subdomain(TrustDomain))
            problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.trustDomain", TrustDomain,
                "is not a valid trust domain (a DNS name)", $"use '{Names.Suggest(Name)}.local'", at);
        if (Style != MeshStyle.Ossm2)
        {
            // The versions the Sail CRD of the chosen API version takes (its spec.version enum, shipped with the engine).
            var versions = SailApiVersion is "sailoperator.io/v1" or "sailoperator.io/v1alpha1" ? UpstreamSchemas.EnumOf($"{SailApiVersion}/Istio", "spec.version") : null;
            if (Version.Length > 0 && (versions is null ? !IstioVersionPattern().IsMatch(Version) : !versions.Contains(Version, StringComparer.Ordinal)))
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.version", Version,
                    versions is null ? "is not an Istio version the Sail operator takes"
                    : $"is not a version the Sail {SailApiVersion} CRD takes (spec.version enum)" + (IstioVersionPattern().IsMatch(Version) && SailApiVersion == "sailoperator.io/v1alpha1" ? "; sailoperator.io/v1 serves newer versions" : ""),
                    versions is null ? "use a version such as v1.27.3 or v1.27-latest" : $"use one of: {string.Join(", ", versions)}", at);
            if (!Names.IsDns1123Label(Network))
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.network", Network, "is not a DNS-1123 label", "use a network name such as network1", at);
            if (SailApiVersion is not ("sailoperator.io/v1" or "sailoperator.io/v1alpha1"))
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.sailApiVersion", SailApiVersion, "is not a Sail operator API version", "use sailoperator.io/v1 or sailoperator.io/v1alpha1", at);
            if (string.IsNullOrEmpty(MeshId) || !Names.IsDns1123Label(MeshId))
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.meshId", MeshId, "is not a DNS-1123 label", "use the mesh's name, e.g. mesh1", at);
            if (Style == MeshStyle.MultiMesh && !Rendering.VipAllocator.TryParse(VipRange, out _, out _))
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.vipRange", VipRange, "is not an IPv4 CIDR range", "use a range such as 127.255.0.0/16 or 240.0.0.0/16", at);
        }
        else if (Version.Length > 0 && !VersionPattern().IsMatch(Version))
            problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.version", Version,
                "is not an OpenShift Service Mesh 2 version with federation (v2.1, which introduced it, to v2.6, the last 2.x)",
                "use a version from v2.1 to v2.6 such as v2.5, or an empty version to leave spec.version to the operator", at);
        foreach (var m in MemberNamespaces) Names.CheckLabel(problems, $"mesh '{Name}'.members[]", m, at);
        if (MemberNamespaces.Contains(Namespace, StringComparer.Ordinal))
            problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.members[]", Namespace,
                "is the control-plane namespace; it cannot also be a member", "remove it from the member list", at);
        var dup = MemberNamespaces.GroupBy(m => m, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
            problems.Add(MeshErrorKind.Conflict, $"mesh '{Name}'.members[]", dup.Key, "is listed twice", "list each member namespace once", at);
        foreach (var (field, template) in new[] { ("ingressGateway", IngressGatewayTemplate), ("egressGateway", EgressGatewayTemplate) })
        {
            if (!template.Contains("{peer}", StringComparison.Ordinal))
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.gateways.{field}", template,
                    "must contain {peer} so each peer gets its own gateway", "use '{peer}-ingress' / '{peer}-egress' or 'ingress-{peer}' / 'egress-{peer}'", at);
            else if (!Names.IsDns1123Label(Names.ApplyTemplate(template, "peer")))
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.gateways.{field}", template,
                    "does not give a DNS-1123 label", "use lower-case letters, digits and '-' around {peer}", at);
        }
        if (Style == MeshStyle.Ossm3Federation && GatewayExposure == GatewayExposure.NodePort)
            problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.exposure", "NodePort",
                "the OSSM 3 federation style exposes its east-west gateway (a Gateway API Gateway) through the LoadBalancer Service Istio creates for it",
                "use exposure LoadBalancer (the default) and give ingressAddresses when the address is not read from the cluster", at);
        if (Style != MeshStyle.Ossm2 && GatewayOverrides is { Count: > 0 })
            problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.gateways.overrides", string.Join(",", GatewayOverrides.Select(kv => kv.Key)),
                "applies to the per-peer federation gateways of OSSM 2 meshes; Istio-style meshes have one east-west gateway", "remove it, or use overrides for the Istio resource", at);
        if (string.Equals(IngressGatewayTemplate, EgressGatewayTemplate, StringComparison.Ordinal))
            problems.Add(MeshErrorKind.Conflict, $"mesh '{Name}'.gateways", IngressGatewayTemplate,
                "ingress and egress gateways would get the same name", "give them different templates", at);
        foreach (var (peer, addrs) in IngressAddresses)
            foreach (var a in addrs)
                if (!IsHostOrIp(a))
                    problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.ingressAddresses[{peer}]", a,
                        "is not an IP address or DNS name", "give the address peers use to reach this mesh's federation ingress", at);
        if (RootCertificate is not null && (!RootCertificate.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal) || RootCertificate.Contains("PRIVATE KEY", StringComparison.Ordinal)))
            problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.rootCertificate", "(not shown)",
                "is not a PEM certificate without a private key", "give the content of istio-ca-root-cert (key root-cert.pem) only", at);
        if (NodePortBase is { } npb) Names.CheckPort(problems, $"mesh '{Name}'.gateways.nodePortBase", npb, at, 30000, 32767);
        foreach (var a in NodeAddresses)
            if (!IsHostOrIp(a))
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{Name}'.nodeAddresses[]", a,
                    "is not an IP address or DNS name", "list the cluster nodes' addresses", at);
    }

    internal static bool IsHostOrIp(string value) => Names.IsHostOrIp(value);

    [System.Text.RegularExpressions.GeneratedRegex("^v2\\.[1-6]$")]
    private static partial System.Text.RegularExpressions.Regex VersionPattern();

    [System.Text.RegularExpressions.GeneratedRegex("^v1\\.[0-9]{1,2}(\\.[0-9]{1,3}|-latest)$")]
    private static partial System.Text.RegularExpressions.Regex IstioVersionPattern();
}
