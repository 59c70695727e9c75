using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Model;

/// <summary>
/// One direction of a federation: how <see cref="Local"/> sees <see cref="Remote"/>. Rendered as the
/// ServiceMeshPeer named after the remote mesh, in the local control-plane namespace, plus the local SMCP's
/// per-peer ingress and egress gateways and the remote root-certificate ConfigMap.
/// </summary>
public sealed class MeshPeering
{
    public const int DefaultDiscoveryPort = 8188;
    public const int DefaultServicePort = 15443;

    public required MeshControlPlane Local { get; init; }

    public required MeshControlPlane Remote { get; init; }

    /// <summary>Name of the ServiceMeshPeer (the remote mesh's name in this mesh).</summary>
    public string Name => Remote.Name;

    public string LocalMesh => Local.Name;

    public string RemoteMesh => Remote.Name;

    public string Cluster => Local.Cluster.Name;

    /// <summary>Addresses of the remote mesh's federation ingress for this mesh (spec.remote.addresses).</summary>
    public IReadOnlyList<string> RemoteAddresses { get; init; } = Array.Empty<string>();

    public int DiscoveryPort { get; init; } = DefaultDiscoveryPort;

    public int ServicePort { get; init; } = DefaultServicePort;

    /// <summary>Local ingress gateway that serves requests from the remote mesh.</summary>
    public string IngressGateway => Local.IngressGatewayFor(Remote.Name);

    /// <summary>Local egress gateway that sends requests to the remote mesh.</summary>
    public string EgressGateway => Local.EgressGatewayFor(Remote.Name);

    public string RemoteTrustDomain => Remote.TrustDomain;

    /// <summary>SPIFFE identity of the remote egress gateway created for this mesh.</summary>
    public string ClientId => Names.ClientId(Remote.TrustDomain, Remote.Namespace, Remote.EgressGatewayFor(Local.Name));

    /// <summary>ConfigMap in the local namespace holding the remote mesh's root certificate.</summary>
    public string CaConfigMap => Names.CaConfigMapName(Remote.Name);

    /// <summary>The remote mesh's root certificate (PEM), when known; read from the cluster when applying otherwise.</summary>
    public string? CaBundle { get; init; }

    /// <summary>Multi-primary: the remote API server and reader token for the remote secret (read live; pending offline).</summary>
    public RemoteApiAccess? RemoteApi { get; init; }

    /// <summary>
    /// Multi-primary, read live: the reader credential a remote-secret rotation put in force on the remote cluster (its
    /// token is <see cref="RemoteApi"/>'s). While set, the reader token Secret meshfed apply would make is not rendered.
    /// </summary>
    internal Rotation.RotatedReader? RotatedReader { get; init; }

    /// <summary>Network the egress gateway requests a view of; <c>network-&lt;peer&gt;</c> unless overridden.</summary>
    public string NetworkView { get; init; } = "";

    public string EffectiveNetworkView => string.IsNullOrEmpty(NetworkView) ? Names.NetworkView(Remote.Name) : NetworkView;

    /// <summary>
    /// OSSM 3 federation: the network the remote mesh's east-west gateway is known by in this mesh (the
    /// <c>topology.istio.io/network</c> label of the istio-remote Gateway and the imported WorkloadEntries' network).
    /// Default <c>&lt;remote cluster&gt;-network</c>, the migration guide's <c>west-network</c>: it must differ from this
    /// mesh's own network and, while OSSM 2 federation still runs, from the network OSSM 2 gave the peer
    /// (<c>network-&lt;peer&gt;</c>), or the federation ingress address is overwritten. <see cref="NetworkView"/> overrides it.
    /// </summary>
    public string RemoteNetwork => string.IsNullOrEmpty(NetworkView) ? $"{Remote.ClusterName}-network" : NetworkView;

    public SourceLocation? Source { get; init; }

    public override string ToString() => $"{Local.Name} -> {Remote.Name}";

    /// <summary>A copy between other control-plane objects (after node addresses were read, for example).</summary>
    public MeshPeering Rebind(MeshControlPlane local, MeshControlPlane remote) => new()
    {
        Local = local, Remote = remote, RemoteAddresses = RemoteAddresses, DiscoveryPort = DiscoveryPort, ServicePort = ServicePort,
        CaBundle = CaBundle, NetworkView = NetworkView, Source = Source, RemoteApi = RemoteApi, RotatedReader = RotatedReader,
    };

    /// <summary>A copy with values read from the clusters filled in where this peering had none.</summary>
    public MeshPeering WithResolved(IReadOnlyList<string>? remoteAddresses, string? caBundle, RemoteApiAccess? remoteApi = null) => new()
    {
        Local = Local,
        Remote = Remote,
        RemoteAddresses = RemoteAddresses.Count > 0 || remoteAddresses is null ? RemoteAddresses : remoteAddresses,
        DiscoveryPort = DiscoveryPort,
        ServicePort = ServicePort,
        CaBundle = CaBundle ?? caBundle,
        RemoteApi = RemoteApi ?? remoteApi,
        RotatedReader = RotatedReader,
        NetworkView = NetworkView,
        Source = Source,
    };

    /// <summary>A copy carrying the reader credential a rotation put in force (and its token as <see cref="RemoteApi"/>).</summary>
    internal MeshPeering WithRotatedReader(Rotation.RotatedReader? reader) => reader is null ? this : new()
    {
        Local = Local, Remote = Remote, RemoteAddresses = RemoteAddresses, DiscoveryPort = DiscoveryPort, ServicePort = ServicePort,
        CaBundle = CaBundle, NetworkView = NetworkView, Source = Source, RemoteApi = RemoteApi, RotatedReader = reader,
    };

    public void Validate(ProblemList problems)
    {
        var field = $"peering '{Local.Name}->{Remote.Name}'";
        if (string.Equals(Local.Name, Remote.Name, StringComparison.Ordinal))
            problems.Add(MeshErrorKind.Conflict, $"{field}.remote", Remote.Name, "a mesh cannot be federated with itself",
                "peer it with a different mesh", Source, this);
        Names.CheckPort(problems, $"{field}.discoveryPort", DiscoveryPort, Source);
        Names.CheckPort(problems, $"{field}.servicePort", ServicePort, Source);
        if (DiscoveryPort == ServicePort)
            problems.Add(MeshErrorKind.Conflict, $"{field}.servicePort", ServicePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "equals the discovery port", "use 15443 for services and 8188 for discovery", Source, this);
        foreach (var a in RemoteAddresses)
            if (!MeshControlPlane.IsHostOrIp(a))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.remoteAddresses[]", a, "is not an IP address or DNS name",
                    $"give the address of {Remote.Name}'s federation ingress", Source, this);
        if (!string.IsNullOrEmpty(NetworkView)) Names.CheckLabel(problems, $"{field}.networkView", NetworkView, Source);
        if (CaBundle is not null && !CaBundle.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.caBundle", CaBundle.Length > 40 ? CaBundle[..40] + "..." : CaBundle,
                "is not a PEM certificate", $"pass the content of {Remote.Name}'s istio-ca-root-cert ConfigMap (key root-cert.pem)", Source, this);
        if (CaBundle is not null && CaBundle.Contains("PRIVATE KEY", StringComparison.Ordinal))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.caBundle", "(redacted)",
                "contains a private key; only the public root certificate belongs here", "pass root-cert.pem only", Source, this);
    }

    /// <summary>Both directions of a pair.</summary>
    public static IReadOnlyList<MeshPeering> Pair(MeshControlPlane a, MeshControlPlane b, PeeringOptions? options = null)
    {
        options ??= new PeeringOptions();
        return new[] { Create(a, b, options), Create(b, a, options) };
    }

    /// <summary>The full mesh over N control planes: N·(N−1) peerings, in a stable order.</summary>
    public static IReadOnlyList<MeshPeering> FullMesh(IEnumerable<MeshControlPlane> controlPlanes, PeeringOptions? options = null)
    {
        options ??= new PeeringOptions();
        var list = controlPlanes.ToList();
        var result = new List<MeshPeering>();
        for (var i = 0; i < list.Count; i++)
            for (var j = i + 1; j < list.Count; j++)
            {
                result.Add(Create(list[i], list[j], options));
                result.Add(Create(list[j], list[i], options));
            }
        return result;
    }

    private static MeshPeering Create(MeshControlPlane local, MeshControlPlane remote, PeeringOptions o) => new()
    {
        Local = local,
        Remote = remote,
        RemoteAddresses = remote.IngressAddressesFor(local.Name),
        DiscoveryPort = o.DiscoveryPort,
        ServicePort = o.ServicePort,
        CaBundle = o.CaBundles.TryGetValue(remote.Name, out var pem) ? pem : remote.RootCertificate,
        NetworkView = o.NetworkViews.TryGetValue(remote.Name, out var nv) ? nv : "",
        Source = o.Source,
    };
}

/// <summary>Settings shared by the peerings created together.</summary>
public sealed class PeeringOptions
{
    public int DiscoveryPort { get; init; } = MeshPeering.DefaultDiscoveryPort;

    public int ServicePort { get; init; } = MeshPeering.DefaultServicePort;

    /// <summary>Root certificates by mesh name (PEM of that mesh's istio-ca-root-cert).</summary>
    public IReadOnlyDictionary<string, string> CaBundles { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Network-view overrides by remote mesh name.</summary>
    public IReadOnlyDictionary<string, string> NetworkViews { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public SourceLocation? Source { get; init; }
}
