using System.Globalization;
using System.Text;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Proxy;

/// <summary>Inputs of a federation proxy beyond the peerings themselves.</summary>
public sealed record ProxyOptions
{
    public ProxyMode Mode { get; init; } = ProxyMode.SharedHost;

    /// <summary>The proxy host address (SharedHost mode).</summary>
    public string? ProxyHost { get; init; }

    /// <summary>Address per mesh name (PerCluster mode).</summary>
    public IReadOnlyDictionary<string, string> ClusterAddresses { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>firewalld zone of the generated commands (seed 000 uses libvirt).</summary>
    public string FirewallZone { get; init; } = "libvirt";

    /// <summary>Seconds of idle time before a federation connection is closed (discovery watches are long-lived).</summary>
    public int IdleTimeoutSeconds { get; init; } = 3600;

    /// <summary>haproxy's global maxconn; it needs about twice as many file descriptors (ulimit -n).</summary>
    public int MaxConnections { get; init; } = 4096;

    /// <summary>Milliseconds between health checks of each backend node.</summary>
    public int HealthCheckIntervalMs { get; init; } = 2000;

    /// <summary>Failed checks before a node is taken out of rotation.</summary>
    public int HealthCheckFall { get; init; } = 3;

    /// <summary>Successful checks before a node is put back.</summary>
    public int HealthCheckRise { get; init; } = 2;

    /// <summary>Node ports read from the clusters' NodePort Services, by (mesh, peer); they win over allocated ones.</summary>
    public IReadOnlyDictionary<(string Mesh, string Peer), GatewayNodePorts> NodePortOverrides { get; init; } =
        new Dictionary<(string Mesh, string Peer), GatewayNodePorts>();

    public SourceLocation? Source { get; init; }
}

/// <summary>Builds seed 000's haproxy configuration and port map from NodePort peerings.</summary>
public static class ProxyBuilder
{
    public static FederationProxyConfig Build(IEnumerable<MeshPeering> peerings, ProxyOptions options)
    {
        var problems = new ProblemList();
        var list = peerings.ToList();
        var cps = list.SelectMany(p => new[] { p.Local, p.Remote }).DistinctBy(c => c.Name).ToList();
        if (list.Count == 0)
            problems.Add(MeshErrorKind.InvalidArgument, "proxy.peerings", "", "no peerings were given", "pipe the output of New-MeshPeer, or list peerings in the topology", options.Source);
        foreach (var cp in cps)
        {
            if (cp.Style != MeshStyle.Ossm2)
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{cp.Name}'.style", cp.Style.ToString(),
                    "the federation proxy fronts the per-peer gateways of OSSM 2 meshes; an Istio-style mesh is reached at its east-west gateway's node port",
                    "leave it out of the proxy: its peers' ServiceEntries point at its nodes and east-west node port", cp.Source ?? options.Source, cp);
            else if (cp.GatewayExposure != GatewayExposure.NodePort)
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{cp.Name}'.gateways.exposure", cp.GatewayExposure.ToString(),
                    "a LoadBalancer gateway where the proxy needs NodePort", "set the mesh's gateway exposure to NodePort, or leave it out of the proxy", cp.Source ?? options.Source, cp);
            else if (cp.NodeAddresses.Count == 0)
                problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{cp.Name}'.nodeAddresses", "",
                    "a NodePort mesh behind the proxy needs its node addresses (the proxy's backends)", "list the cluster's node IPs (kubectl get nodes -o wide)", cp.Source ?? options.Source, cp);
        }
        switch (options.Mode)
        {
            case ProxyMode.SharedHost when string.IsNullOrWhiteSpace(options.ProxyHost):
                problems.Add(MeshErrorKind.InvalidArgument, "proxy.host", options.ProxyHost ?? "", "is required in SharedHost mode (seed 000's PROXY_HOST)", "give the address of the host running haproxy", options.Source);
                break;
            case ProxyMode.SharedHost when !MeshControlPlane.IsHostOrIp(options.ProxyHost!):
                problems.Add(MeshErrorKind.InvalidArgument, "proxy.host", options.ProxyHost, "is not an IP address or DNS name", "give the address of the host running haproxy", options.Source);
                break;
            case ProxyMode.PerCluster:
                foreach (var cp in cps)
                    if (!options.ClusterAddresses.TryGetValue(cp.Name, out var a) || string.IsNullOrWhiteSpace(a))
                        problems.Add(MeshErrorKind.InvalidArgument, $"proxy.addresses[{cp.Name}]", "", "is required in PerCluster mode (seed 000's MESH1_ADDRESS/MESH2_ADDRESS)", $"give the address where {cp.Name}'s gateways are reached", options.Source);
                    else if (!MeshControlPlane.IsHostOrIp(a))
                        problems.Add(MeshErrorKind.InvalidArgument, $"proxy.addresses[{cp.Name}]", a, "is not an IP address or DNS name", "give an IP address or host name", options.Source);
                break;
        }
        if (!Names.IsFirewalldZone(options.FirewallZone))
            problems.Add(MeshErrorKind.InvalidArgument, "proxy.firewallZone", options.FirewallZone,
                "is not a firewalld zone name (letters, digits, '_' and '-', at most 17 characters)", "use the zone of the proxy host's interface, e.g. libvirt or public (firewall-cmd --get-zones)", options.Source);
        if (options.IdleTimeoutSeconds is < 1 or > 86400)
            problems.Add(MeshErrorKind.InvalidArgument, "proxy.idleTimeoutSeconds", options.IdleTimeoutSeconds.ToString(CultureInfo.InvariantCulture), "is out of range", "use 1 to 86400 seconds", options.Source);
        if (options.MaxConnections is < 1 or > 1000000)
            problems.Add(MeshErrorKind.InvalidArgument, "proxy.maxConnections", options.MaxConnections.ToString(CultureInfo.InvariantCulture), "is out of range", "use 1 to 1000000 (haproxy needs about twice as many file descriptors)", options.Source);
        if (options.HealthCheckIntervalMs is < 100 or > 600000)
            problems.Add(MeshErrorKind.InvalidArgument, "proxy.healthCheckIntervalMs", options.HealthCheckIntervalMs.ToString(CultureInfo.InvariantCulture), "is out of range", "use 100 to 600000 milliseconds", options.Source);
        if (options.HealthCheckFall is < 1 or > 100)
            problems.Add(MeshErrorKind.InvalidArgument, "proxy.healthCheckFall", options.HealthCheckFall.ToString(CultureInfo.InvariantCulture), "is out of range", "use 1 to 100 failed checks", options.Source);
        if (options.HealthCheckRise is < 1 or > 100)
            problems.Add(MeshErrorKind.InvalidArgument, "proxy.healthCheckRise", options.HealthCheckRise.ToString(CultureInfo.InvariantCulture), "is out of range", "use 1 to 100 successful checks", options.Source);
        problems.ThrowIfAny();

        var nodePorts = NodePortAllocator.Allocate(cps, list, problems).ToDictionary(kv => kv.Key, kv => kv.Value);
        problems.ThrowIfAny();
        foreach (var (key, ports) in options.NodePortOverrides) nodePorts[key] = ports;

        var map = new List<ProxyPortMapping>();
        var used = new HashSet<(string, int)>();
        var spare = 40000;
        int Frontend(string address, int nodePort)
        {
            // The frontend listens on the node port unless another cluster's gateway took it on this address
            // (clusters can assign the same node port); then the next spare port is used, and the peers point there.
            if (used.Add((address, nodePort))) return nodePort;
            while (!used.Add((address, spare))) spare++;
            return spare;
        }
        foreach (var p in list.OrderBy(p => p.Local.Name, StringComparer.Ordinal).ThenBy(p => p.Remote.Name, StringComparer.Ordinal))
        {
            // p.Local's ingress gateway for p.Remote is what p.Remote's ServiceMeshPeer points at.
            var ports = nodePorts[(p.Local.Name, p.Remote.Name)];
            var address = options.Mode == ProxyMode.SharedHost ? options.ProxyHost! : options.ClusterAddresses[p.Local.Name];
            map.Add(new ProxyPortMapping(p.Local.Name, p.Remote.Name, p.IngressGateway, FederationPortKind.Discovery, p.DiscoveryPort, ports.Discovery, address, Frontend(address, ports.Discovery), p.Local.NodeAddresses));
            map.Add(new ProxyPortMapping(p.Local.Name, p.Remote.Name, p.IngressGateway, FederationPortKind.Service, p.ServicePort, ports.Service, address, Frontend(address, ports.Service), p.Local.NodeAddresses));
        }
        var clash = map.GroupBy(m => (m.FrontendAddress, m.FrontendPort)).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            problems.Add(MeshErrorKind.Conflict, "proxy.frontends", $"{clash.Key.FrontendAddress}:{clash.Key.FrontendPort}",
                $"is used by {string.Join(" and ", clash.Select(c => c.SectionName))}", "give the meshes distinct nodePortBase values", options.Source);
        problems.ThrowIfAny();

        return new FederationProxyConfig
        {
            Mode = options.Mode,
            ProxyHost = options.ProxyHost,
            ClusterAddresses = options.ClusterAddresses,
            PortMap = map,
            HaproxyConfig = WriteHaproxy(map, options),
            NodePortServices = NodePortServices.ForPeerings(list, nodePorts),
            NodePorts = nodePorts,
            Options = options,
            FirewallCommands = FirewallCommands(map, options.FirewallZone),
        };
    }

    /// <summary>TCP passthrough only (no TLS termination): discovery is HTTPS and service traffic is mTLS end to end.</summary>
    public static string WriteHaproxy(IReadOnlyList<ProxyPortMapping> map, ProxyOptions options)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# Generated by MeshFederation: service-mesh federation proxy (raw TCP passthrough, no TLS termination).");
        sb.AppendLine(inv, $"# Mode: {options.Mode}. One frontend per mesh, peer and port; backends are every node on the gateway's node port.");
        sb.AppendLine("global");
        sb.AppendLine(inv, $"    maxconn {options.MaxConnections}");
        sb.AppendLine();
        sb.AppendLine("defaults");
        sb.AppendLine("    mode tcp");
        sb.AppendLine("    option dontlognull");
        sb.AppendLine("    timeout connect 5s");
        sb.AppendLine(inv, $"    timeout client {options.IdleTimeoutSeconds}s");
        sb.AppendLine(inv, $"    timeout server {options.IdleTimeoutSeconds}s");
        sb.AppendLine("    timeout check 3s");
        sb.AppendLine(inv, $"    default-server inter {options.HealthCheckIntervalMs}ms fall {options.HealthCheckFall} rise {options.HealthCheckRise}");
        foreach (var m in map)
        {
            sb.AppendLine();
            sb.AppendLine(inv, $"# {m.TargetMesh} ingress '{m.Gateway}' for peer {m.PeerMesh}: {m.Kind.ToString().ToLowerInvariant()} port {m.GatewayPort} -> node port {m.NodePort}");
            sb.AppendLine(inv, $"frontend {m.SectionName}");
            sb.AppendLine(inv, $"    bind {FormatAddress(m.FrontendAddress)}:{m.FrontendPort}");
            sb.AppendLine(inv, $"    default_backend {m.SectionName}");
            sb.AppendLine();
            sb.AppendLine(inv, $"backend {m.SectionName}");
            sb.AppendLine("    balance roundrobin");
            sb.AppendLine("    option tcp-check");
            for (var i = 0; i < m.Backends.Count; i++)
                sb.AppendLine(inv, $"    server {m.TargetMesh}-node{i + 1} {FormatAddress(m.Backends[i])}:{m.NodePort} check");
        }
        return sb.ToString();
    }

    private static string FormatAddress(string a) =>
        System.Net.IPAddress.TryParse(a, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{a}]" : a;

    /// <summary>The firewall-cmd lines (text, never run). The zone is validated by <see cref="Build"/> and shell-quoted here as well.</summary>
    public static IReadOnlyList<string> FirewallCommands(IReadOnlyList<ProxyPortMapping> map, string zone)
    {
        if (!Names.IsFirewalldZone(zone))
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "proxy.firewallZone", zone,
                "is not a firewalld zone name (letters, digits, '_' and '-', at most 17 characters)", "use the zone of the proxy host's interface, e.g. libvirt"));
        var cmds = map.Select(m => m.FrontendPort).Distinct().Order()
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"firewall-cmd {Shell.Quote("--zone=" + zone)} --add-port={p}/tcp --permanent"))
            .ToList();
        cmds.Add("firewall-cmd --reload");
        return cmds;
    }
}
