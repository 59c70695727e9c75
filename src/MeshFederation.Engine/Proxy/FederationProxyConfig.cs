using MeshFederation.Engine.Model;

namespace MeshFederation.Engine.Proxy;

/// <summary>Where the proxy listens: one host for every cluster, or one address per cluster.</summary>
public enum ProxyMode
{
    /// <summary>Seed 000's PROXY_HOST: clusters on one host, one haproxy, distinct frontend ports.</summary>
    SharedHost,
    /// <summary>Seed 000's MESH1_ADDRESS/MESH2_ADDRESS: each cluster reached at its own address.</summary>
    PerCluster,
}

/// <summary>Which federation port of a gateway an entry forwards.</summary>
public enum FederationPortKind
{
    Discovery,
    Service,
}

/// <summary>
/// One forwarded port: peers reach <see cref="TargetMesh"/>'s ingress gateway for <see cref="PeerMesh"/> at
/// <see cref="FrontendAddress"/>:<see cref="FrontendPort"/>, and the proxy forwards raw TCP to every node on <see cref="NodePort"/>.
/// </summary>
public sealed record ProxyPortMapping(
    string TargetMesh,
    string PeerMesh,
    string Gateway,
    FederationPortKind Kind,
    int GatewayPort,
    int NodePort,
    string FrontendAddress,
    int FrontendPort,
    IReadOnlyList<string> Backends)
{
    /// <summary>haproxy section name: <c>fed-&lt;target&gt;-for-&lt;peer&gt;-&lt;kind&gt;</c>.</summary>
    public string SectionName => $"fed-{TargetMesh}-for-{PeerMesh}-{Kind.ToString().ToLowerInvariant()}";
}

/// <summary>The bare-metal federation proxy: the port map the ServiceMeshPeers point at, and the haproxy configuration.</summary>
public sealed class FederationProxyConfig
{
    public required ProxyMode Mode { get; init; }

    /// <summary>The proxy host (SharedHost mode).</summary>
    public string? ProxyHost { get; init; }

    /// <summary>Frontend address per mesh (PerCluster mode).</summary>
    public IReadOnlyDictionary<string, string> ClusterAddresses { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public required IReadOnlyList<ProxyPortMapping> PortMap { get; init; }

    /// <summary>The haproxy configuration text (federation.cfg).</summary>
    public required string HaproxyConfig { get; init; }

    /// <summary>The NodePort Services that expose each federation ingress gateway on the node ports of the port map.</summary>
    public IReadOnlyList<Rendering.RenderedManifest> NodePortServices { get; init; } = Array.Empty<Rendering.RenderedManifest>();

    /// <summary>The settings the configuration was built with.</summary>
    public ProxyOptions Options { get; init; } = new();

    /// <summary>The node ports the proxy forwards to, by (mesh, peer): allocated, or read from the clusters.</summary>
    public IReadOnlyDictionary<(string Mesh, string Peer), GatewayNodePorts> NodePorts { get; init; } = new Dictionary<(string Mesh, string Peer), GatewayNodePorts>();

    /// <summary>The firewall-cmd commands seed 000 runs for the libvirt zone, as text; never executed.</summary>
    public required IReadOnlyList<string> FirewallCommands { get; init; }

    /// <summary>The meshes this proxy serves.</summary>
    public IReadOnlyList<string> Meshes => PortMap.Select(p => p.TargetMesh).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>The mapping a peer in <paramref name="localMesh"/> uses to reach <paramref name="remoteMesh"/>.</summary>
    public ProxyPortMapping? Find(string remoteMesh, string localMesh, FederationPortKind kind)
    {
        // Indexed on first use: checks and renders look up every peering, and a full mesh has N·(N−1) of them.
        _index ??= PortMap.GroupBy(p => (p.TargetMesh, p.PeerMesh, p.Kind)).ToDictionary(g => g.Key, g => g.First());
        return _index.GetValueOrDefault((remoteMesh, localMesh, kind));
    }

    private Dictionary<(string, string, FederationPortKind), ProxyPortMapping>? _index;

    public override string ToString() => $"{Mode} proxy for {string.Join(", ", Meshes)} ({PortMap.Count} ports)";
}
