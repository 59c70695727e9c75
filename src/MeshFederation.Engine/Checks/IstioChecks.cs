using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Checks;

/// <summary>
/// Offline checks of the Istio styles: one shared root (seeds 003 and 004 both need it), a network per multi-primary
/// cluster, remote secrets both ways, gateway addresses and VIPs for .global ServiceEntries, and imports that resolve.
/// </summary>
internal static class IstioChecks
{
    public static void Run(FederationSet set, List<MeshCheckResult> results)
    {
        var istio = set.ControlPlanes.Where(c => c.Style is MeshStyle.MultiPrimary or MeshStyle.MultiMesh).ToList();
        if (istio.Count == 0) return;
        SharedRoot(set, istio, results);
        foreach (var g in istio.Where(c => c.Style == MeshStyle.MultiPrimary).GroupBy(c => c.MeshId, StringComparer.Ordinal))
            foreach (var cp in g)
            {
                var same = g.Where(o => o != cp && o.Network == cp.Network).Select(o => o.Name).ToList();
                results.Add(FederationChecks.Result(cp.Name, null, "ISTIO.NetworkDistinct", same.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                    same.Count == 0 ? $"{cp.ClusterName} is alone on network {cp.Network} in mesh {cp.MeshId}" : $"{cp.ClusterName} shares network {cp.Network} with {string.Join(", ", same)}",
                    "In a multi-network mesh, istiod sends traffic for endpoints on another network to that network's east-west gateway; two clusters on one network would be dialled pod to pod.",
                    "give each cluster its own network (clusters[].network, -Network)", $"Istio default spec.values.global.network={cp.Network}"));
            }
        foreach (var p in set.Peerings.Where(p => p.Local.Style == MeshStyle.MultiPrimary))
        {
            var back = set.Peerings.Any(o => o.Local == p.Remote && o.Remote == p.Local);
            results.Add(FederationChecks.Result(p.Local.Name, p.Remote.Name, "ISTIO.RemoteSecretBothWays", back ? CheckStatus.Pass : CheckStatus.Fail,
                back ? $"{p.Local.ClusterName} and {p.Remote.ClusterName} hold remote secrets for each other" : $"{p.Remote.ClusterName} has no remote secret for {p.Local.ClusterName}",
                "Multi-primary: every istiod watches every other cluster's API server; one direction missing means that cluster never sees the other's endpoints.",
                "peer the control planes in both directions (New-MeshPeer, peerings: all)", $"Secret {p.Local.Namespace}/{IstioRenderer.RemoteSecretName(p.Remote.ClusterName)}"));
            var known = p.RemoteApi is not null;
            results.Add(FederationChecks.Result(p.Local.Name, p.Remote.Name, "ISTIO.RemoteSecretReady", known ? CheckStatus.Pass : CheckStatus.Warn,
                known ? $"remote secret for {p.Remote.ClusterName} points at {p.RemoteApi!.Server}" : $"the API server and reader token of {p.Remote.ClusterName} are not known offline",
                "The remote secret is a kubeconfig with the remote API server and a reader token (istioctl create-remote-secret); istiod cannot read the remote cluster without it.",
                "apply live (meshfed apply, Sync-MeshFederation): the token is read from the remote cluster once issued",
                $"Secret {p.Local.Namespace}/{IstioRenderer.RemoteSecretName(p.Remote.ClusterName)}"));
        }
        foreach (var i in set.Imports.Where(i => i.ControlPlane.Style == MeshStyle.MultiPrimary))
            results.Add(FederationChecks.Result(i.Mesh, i.Peer, "ISTIO.ImportNotNeeded", CheckStatus.Warn,
                $"import {i} has no effect in a multi-primary mesh",
                "Multi-primary clusters discover each other's endpoints through remote secrets; exposure is what the cross-network Gateway lists.",
                $"export the service from {i.Peer} instead (its cross-network Gateway passes it through)"));
        foreach (var e in set.Exports.Where(e => e.ControlPlane.Style is MeshStyle.MultiPrimary or MeshStyle.MultiMesh))
            results.Add(FederationChecks.Result(e.Mesh, e.Peer, "ISTIO.ExportExposed", CheckStatus.Pass,
                $"{e.Namespace}/{e.Name} is passed through {e.ControlPlane.ClusterName}'s east-west gateway on 15443",
                "The cross-network Gateway (AUTO_PASSTHROUGH) lists the hosts other networks may reach.", "",
                $"Gateway {e.ControlPlane.Namespace}/{IstioRenderer.CrossNetworkGateway} hosts {string.Join(", ", IstioRenderer.ExposedHosts(set, e.ControlPlane))}"));
        MultiMeshImports(set, results);
    }

    private static void SharedRoot(FederationSet set, List<MeshControlPlane> istio, List<MeshCheckResult> results)
    {
        var joined = istio.Where(c => set.Peerings.Any(p => p.Local == c || p.Remote == c)).ToList();
        var roots = joined.Select(c => (Cp: c, Ca: set.CaMaterial.FirstOrDefault(m => m.Cluster == c.ClusterName))).ToList();
        var first = roots.FirstOrDefault(r => r.Ca is not null).Ca?.RootCertPem;
        foreach (var (cp, ca) in roots)
        {
            var status = ca is null ? CheckStatus.Warn : ca.RootCertPem.Contains(FirstCertificate(first!), StringComparison.Ordinal) ? CheckStatus.Pass : CheckStatus.Fail;
            results.Add(FederationChecks.Result(cp.Name, null, "ISTIO.SharedRoot", status,
                status == CheckStatus.Pass ? $"{cp.ClusterName}'s intermediate chains to the shared root"
                : status == CheckStatus.Warn ? $"no cacerts for {cp.ClusterName} in this set"
                : $"{cp.ClusterName}'s cacerts has another root than the other clusters",
                "Workloads in different clusters trust each other only when every cluster's intermediate CA comes from one root (the OCM addon's Complete trust).",
                $"issue every cluster's intermediate under one root: New-MeshCertificateAuthority -Cluster {string.Join(", ", joined.Select(c => c.ClusterName))} (or meshfed ca)",
                $"Secret {cp.Namespace}/{IstioRenderer.CaSecret}"));
        }
    }

    private static string FirstCertificate(string pem)
    {
        const string end = "-----END CERTIFICATE-----";
        var i = pem.IndexOf(end, StringComparison.Ordinal);
        return i < 0 ? pem : pem[..(i + end.Length)];
    }

    private static void MultiMeshImports(FederationSet set, List<MeshCheckResult> results)
    {
        foreach (var g in set.Imports.Where(i => i.ControlPlane.Style == MeshStyle.MultiMesh).GroupBy(i => i.ControlPlane))
        {
            var cp = g.Key;
            try
            {
                var vips = IstioRenderer.Vips(cp, g); // pinned VIPs as given, the others from the range (as rendered)
                results.Add(FederationChecks.Result(cp.Name, null, "ISTIO.VipUnique", CheckStatus.Pass,
                    $"{vips.Count} .global host(s) have distinct VIPs from {cp.VipRange}",
                    "Every .global host needs its own address in the importing cluster; sidecars capture traffic by that address.", "",
                    vips.Select(kv => $"{kv.Key}={kv.Value}").ToArray()));
            }
            catch (MeshFederationException ex)
            {
                results.Add(FederationChecks.Result(cp.Name, null, "ISTIO.VipUnique", CheckStatus.Fail, ex.Problems[0].Problem,
                    "Every .global host needs its own address in the importing cluster.", ex.Problems[0].Fix));
            }
            foreach (var i in g)
            {
                var peering = set.Peerings.FirstOrDefault(p => p.Local == cp && p.Remote.Name == i.Peer);
                var addresses = peering?.RemoteAddresses ?? Array.Empty<string>();
                results.Add(FederationChecks.Result(cp.Name, i.Peer, "ISTIO.GatewayAddressKnown", addresses.Count > 0 ? CheckStatus.Pass : CheckStatus.Warn,
                    addresses.Count > 0 ? $"{i.LocalHost} is reached at {string.Join(",", addresses)}:15443" : $"the gateway address of {i.Peer} is not known offline",
                    "The ServiceEntry's endpoints are the remote gateway's address on 15443; without them the host does not resolve to anything.",
                    $"give {i.Peer} ingressAddresses, or apply live so the east-west gateway's LoadBalancer address is read",
                    $"ServiceEntry {i.ServiceEntryNamespace}/{i.ServiceEntryName}"));
                var exported = set.Exports.Any(e => e.Mesh == i.Peer && e.Peer == i.Mesh && (Names.IsWildcard(e.Namespace) || e.Namespace == i.Namespace) && (e.IsLabelSelector || Names.IsWildcard(e.Name) || e.Name == i.Name));
                results.Add(FederationChecks.Result(cp.Name, i.Peer, "ISTIO.ImportResolves", exported ? CheckStatus.Pass : CheckStatus.Fail,
                    exported ? $"{i.Peer} exposes {i.Namespace}/{i.Name}" : $"{i.Peer} exports nothing to {i.Mesh} that matches {i.Namespace}/{i.Name}",
                    "The remote gateway passes through only the hosts its mesh exposes.",
                    $"export {i.Namespace}/{i.Name} from {i.Peer} to {i.Mesh}"));
            }
        }
    }
}
