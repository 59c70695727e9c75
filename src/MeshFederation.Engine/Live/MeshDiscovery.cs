using System.Text.Json.Nodes;
using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Model;

namespace MeshFederation.Engine.Live;

/// <summary>
/// Finds the control planes that already run in clusters — ServiceMeshControlPlanes (OSSM 2), Sail operator Istio
/// resources (OSSM 3) and plain istiod Deployments — and returns them as the same MeshControlPlane objects the
/// cmdlets create, so existing meshes join a pipeline (seed 002's mesh discovery).
/// </summary>
public static class MeshDiscovery
{
    public static async Task<IReadOnlyList<MeshControlPlane>> DiscoverAsync(ClusterConnections connections, IEnumerable<ClusterBinding> clusters, IMeshLog? log, CancellationToken cancellationToken)
    {
        log ??= NullMeshLog.Instance;
        var tasks = clusters.Select(c => DiscoverClusterAsync(connections, c, log, cancellationToken));
        return (await Task.WhenAll(tasks).ConfigureAwait(false)).SelectMany(x => x).ToList();
    }

    private static async Task<List<MeshControlPlane>> DiscoverClusterAsync(ClusterConnections connections, ClusterBinding cluster, IMeshLog log, CancellationToken cancellationToken)
    {
        var client = connections.For(cluster);
        var result = new List<MeshControlPlane>();
        var claimed = new HashSet<string>(StringComparer.Ordinal);

        if (await client.FindAsync("maistra.io/v2", "ServiceMeshControlPlane", cancellationToken).ConfigureAwait(false) is not null)
        {
            var smcps = await client.ListAsync("maistra.io/v2", "ServiceMeshControlPlane", null, null, cancellationToken).ConfigureAwait(false);
            var rolls = await Task.WhenAll(smcps.Select(s => client.GetAsync("maistra.io/v1", "ServiceMeshMemberRoll", Ns(s), "default", cancellationToken))).ConfigureAwait(false);
            for (var i = 0; i < smcps.Count; i++)
            {
                var s = smcps[i];
                var ns = Ns(s)!;
                claimed.Add(ns);
                var ingress = s["spec"]?["gateways"]?["additionalIngress"] as JsonObject;
                var nodePort = ingress is not null && ingress.Count > 0 && ingress.All(g => g.Value?["service"]?["type"]?.GetValue<string>() is null or "NodePort" or "ClusterIP");
                result.Add(new MeshControlPlane
                {
                    Name = s["metadata"]!["name"]!.GetValue<string>(),
                    ControlPlaneName = s["metadata"]!["name"]!.GetValue<string>(),
                    Namespace = ns,
                    Style = MeshStyle.Ossm2,
                    Provider = MeshProvider.OpenShiftServiceMesh2,
                    Discovered = true,
                    Version = s["spec"]?["version"]?.GetValue<string>() ?? "", // none set: the operator's default, left out when rendered
                    TrustDomain = s["spec"]?["security"]?["trust"]?["domain"]?.GetValue<string>() ?? "cluster.local",
                    Cluster = cluster,
                    MemberNamespaces = (rolls[i]?["spec"]?["members"] as JsonArray)?.Select(m => m!.GetValue<string>()).ToList() ?? new List<string>(),
                    GatewayExposure = nodePort ? GatewayExposure.NodePort : GatewayExposure.LoadBalancer,
                    IngressGatewayTemplate = GuessTemplate(ingress, "ingress") ?? MeshControlPlane.DefaultIngressTemplate,
                    EgressGatewayTemplate = GuessTemplate(s["spec"]?["gateways"]?["additionalEgress"] as JsonObject, "egress") ?? MeshControlPlane.DefaultEgressTemplate,
                });
                log.Verbose($"{cluster.Name}: ServiceMeshControlPlane {ns}/{result[^1].Name}");
            }
        }

        if (await client.FindAsync("sailoperator.io/v1", "Istio", cancellationToken).ConfigureAwait(false) is not null)
        {
            foreach (var istio in await client.ListAsync("sailoperator.io/v1", "Istio", null, null, cancellationToken).ConfigureAwait(false))
            {
                var ns = istio["spec"]?["namespace"]?.GetValue<string>() ?? "istio-system";
                claimed.Add(ns);
                var name = istio["metadata"]!["name"]!.GetValue<string>();
                var values = istio["spec"]?["values"];
                result.Add(new MeshControlPlane
                {
                    Name = $"{cluster.Name}-{ns}-{name}",
                    ControlPlaneName = name,
                    Namespace = ns,
                    Style = MeshStyle.MultiPrimary,
                    Provider = MeshProvider.SailOperator,
                    Discovered = true,
                    Version = istio["spec"]?["version"]?.GetValue<string>() ?? "",
                    TrustDomain = values?["meshConfig"]?["trustDomain"]?.GetValue<string>() ?? "cluster.local",
                    Cluster = cluster,
                });
                log.Verbose($"{cluster.Name}: Sail Istio {name} in {ns}");
            }
        }

        if (await client.FindAsync("apps/v1", "Deployment", cancellationToken).ConfigureAwait(false) is not null)
        {
            foreach (var d in await client.ListAsync("apps/v1", "Deployment", null, "app=istiod", cancellationToken).ConfigureAwait(false))
            {
                var ns = Ns(d)!;
                if (!claimed.Add(ns)) continue;
                var image = (d["spec"]?["template"]?["spec"]?["containers"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault()?["image"]?.GetValue<string>() ?? "";
                var tag = image.Contains(':', StringComparison.Ordinal) ? image[(image.LastIndexOf(':') + 1)..] : "";
                result.Add(new MeshControlPlane
                {
                    Name = $"{cluster.Name}-{ns}-istiod",
                    Namespace = ns,
                    Style = MeshStyle.MultiPrimary,
                    Provider = MeshProvider.Istiod,
                    Discovered = true,
                    Version = tag,
                    TrustDomain = "cluster.local",
                    Cluster = cluster,
                });
                log.Verbose($"{cluster.Name}: istiod Deployment in {ns}");
            }
        }
        return result;
    }

    private static string? Ns(JsonObject o) => o["metadata"]?["namespace"]?.GetValue<string>();

    /// <summary>Recognises the two naming conventions (ingress-&lt;peer&gt; and &lt;peer&gt;-ingress) from the gateway names.</summary>
    private static string? GuessTemplate(JsonObject? gateways, string role)
    {
        if (gateways is null || gateways.Count == 0) return null;
        var names = gateways.Select(g => g.Key).ToList();
        if (names.All(n => n.StartsWith(role + "-", StringComparison.Ordinal))) return role + "-{peer}";
        if (names.All(n => n.EndsWith("-" + role, StringComparison.Ordinal))) return "{peer}-" + role;
        return null;
    }
}
