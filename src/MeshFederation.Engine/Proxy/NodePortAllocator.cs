using MeshFederation.Engine.Model;

namespace MeshFederation.Engine.Proxy;

/// <summary>The node ports of one federation ingress gateway.</summary>
public sealed record GatewayNodePorts(string Mesh, string Peer, int Discovery, int Service);

/// <summary>
/// Assigns node ports to the federation ingress gateways of NodePort meshes: two per peer (discovery, service),
/// from the mesh's <see cref="MeshControlPlane.NodePortBase"/> or, when unset, from a block of
/// <see cref="BlockSize"/> ports per mesh starting at <see cref="DefaultBase"/> in mesh-name order. Ports are unique
/// across all clusters, so one proxy host can listen on all of them without clashes.
/// </summary>
public static class NodePortAllocator
{
    /// <summary>
    /// The key of an Istio-style mesh's east-west gateway: one node port (its tls port, 15443, at the mesh's base) that
    /// every peer reaches, instead of a pair per peer.
    /// </summary>
    public static (string Mesh, string Peer) EastWestKey(MeshControlPlane cp) => (cp.Name, "");

    public const int DefaultBase = 31000;
    public const int BlockSize = 50;
    public const int RangeMin = 30000;
    public const int RangeMax = 32767;

    public static IReadOnlyDictionary<(string Mesh, string Peer), GatewayNodePorts> Allocate(
        IEnumerable<MeshControlPlane> controlPlanes, IEnumerable<MeshPeering> peerings, Validation.ProblemList problems)
    {
        var result = new Dictionary<(string, string), GatewayNodePorts>();
        var nodePortMeshes = controlPlanes.Where(c => c.GatewayExposure == GatewayExposure.NodePort)
            .OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        // Peering is symmetric: a mesh has an ingress gateway for every mesh it peers with, in either direction.
        var peersOf = peerings.SelectMany(p => new[] { (Mesh: p.Local.Name, Peer: p.Remote.Name), (Mesh: p.Remote.Name, Peer: p.Local.Name) })
            .GroupBy(x => x.Mesh, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(x => x.Peer).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        var owner = new Dictionary<int, string>();
        for (var i = 0; i < nodePortMeshes.Count; i++)
        {
            var cp = nodePortMeshes[i];
            var start = cp.NodePortBase ?? DefaultBase + (i * BlockSize);
            if (cp.Style != MeshStyle.Ossm2)
            {
                if (owner.TryGetValue(start, out var holder))
                    problems.Add(Validation.MeshErrorKind.Conflict, $"mesh '{cp.Name}'.gateways.nodePortBase", start.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        $"node port {start} is already used by {holder}", $"give the meshes node-port bases at least {BlockSize} apart", cp.Source, cp);
                else owner[start] = $"{cp.Name}/east-west";
                result[EastWestKey(cp)] = new GatewayNodePorts(cp.Name, "", 0, start);
                continue;
            }
            if (!peersOf.TryGetValue(cp.Name, out var peers)) continue;
            for (var j = 0; j < peers.Count; j++)
            {
                var d = start + (2 * j);
                var s = d + 1;
                foreach (var port in new[] { d, s })
                {
                    if (port > RangeMax)
                        problems.Add(Validation.MeshErrorKind.InvalidArgument, $"mesh '{cp.Name}'.gateways.nodePortBase", start.ToString(System.Globalization.CultureInfo.InvariantCulture),
                            $"leaves no room for {peers.Count} peers (node port {port} is above {RangeMax})", "choose a lower nodePortBase", cp.Source, cp);
                    else if (owner.TryGetValue(port, out var other))
                        problems.Add(Validation.MeshErrorKind.Conflict, $"mesh '{cp.Name}'.gateways.nodePortBase", start.ToString(System.Globalization.CultureInfo.InvariantCulture),
                            $"node port {port} is already used by {other}", $"give the meshes node-port bases at least {BlockSize} apart", cp.Source, cp);
                    else owner[port] = $"{cp.Name}/{peers[j]}";
                }
                result[(cp.Name, peers[j])] = new GatewayNodePorts(cp.Name, peers[j], d, s);
            }
        }
        return result;
    }
}
