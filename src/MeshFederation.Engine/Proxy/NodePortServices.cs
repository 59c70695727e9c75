using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using static MeshFederation.Engine.Rendering.JsonBuilder;

namespace MeshFederation.Engine.Proxy;

/// <summary>
/// The NodePort Services of seed 000: one per federation ingress gateway of a NodePort mesh, selecting the gateway's
/// pods by <c>service.istio.io/canonical-name</c> (the label the SMCP gateway deployment sets to the gateway name and
/// istiod selects on), with the discovery and service ports on fixed node ports.
/// </summary>
public static class NodePortServices
{
    public const int Order = 25;

    public static string ServiceName(string gateway) => gateway + "-nodeport";

    public static RenderedManifest For(MeshControlPlane cp, string peer, int discoveryPort, int servicePort, GatewayNodePorts ports)
    {
        var gateway = cp.IngressGatewayFor(peer);
        var name = ServiceName(gateway);
        var obj = Obj(
            ("apiVersion", "v1"), ("kind", "Service"),
            ("metadata", Metadata(name, cp.Namespace, cp.Name, peer, new Dictionary<string, string>(StringComparer.Ordinal) { ["federation.maistra.io/ingress-for"] = cp.ForLabelValue(gateway, peer) })),
            ("spec", Obj(
                ("type", "NodePort"),
                ("selector", Obj(("service.istio.io/canonical-name", gateway))),
                ("ports", Arr(new JsonNode[]
                {
                    Obj(("name", "tls"), ("protocol", "TCP"), ("port", servicePort), ("targetPort", servicePort), ("nodePort", ports.Service)),
                    Obj(("name", "https-discovery"), ("protocol", "TCP"), ("port", discoveryPort), ("targetPort", discoveryPort), ("nodePort", ports.Discovery)),
                })))));
        return new RenderedManifest
        {
            Cluster = cp.ClusterName, Mesh = cp.Name, Order = Order, ApiVersion = "v1", Kind = "Service",
            Namespace = cp.Namespace, Name = name, Content = obj,
        };
    }

    /// <summary>Every NodePort Service of the NodePort meshes among <paramref name="peerings"/>.</summary>
    public static IReadOnlyList<RenderedManifest> ForPeerings(IEnumerable<MeshPeering> peerings, IReadOnlyDictionary<(string Mesh, string Peer), GatewayNodePorts> nodePorts) =>
        peerings.Where(p => p.Local.GatewayExposure == GatewayExposure.NodePort && nodePorts.ContainsKey((p.Local.Name, p.Remote.Name)))
            .OrderBy(p => p.Local.Name, StringComparer.Ordinal).ThenBy(p => p.Remote.Name, StringComparer.Ordinal)
            .Select(p => For(p.Local, p.Remote.Name, p.DiscoveryPort, p.ServicePort, nodePorts[(p.Local.Name, p.Remote.Name)]))
            .ToList();
}
