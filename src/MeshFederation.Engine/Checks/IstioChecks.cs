using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Checks;

/// <summary>
/// Offline checks of the Istio styles: one shared root (seeds 003 and 004 both need it), a network per multi-primary
/// cluster, remote secrets both ways, exports a peered cluster can reach, gateway addresses and VIPs for .global
/// ServiceEntries, and imports that resolve. Linear in peerings: lookups go through sets built once.
/// </summary>
internal static class IstioChecks
{
    public static void Run(FederationSet set, CheckReport report)
    {
        var istio = set.ControlPlanes.Where(c => c.Style is MeshStyle.MultiPrimary or MeshStyle.MultiMesh).ToList();
        if (istio.Count == 0) return;
        var pairs = set.Peerings.Select(p => (p.Local, p.Remote)).ToHashSet();
        SharedRoot(set, istio, report);
        foreach (var g in istio.Where(c => c.Style == MeshStyle.MultiPrimary).GroupBy(c => c.MeshId, StringComparer.Ordinal))
        {
            var byNetwork = g.GroupBy(c => c.Network, StringComparer.Ordinal).ToDictionary(n => n.Key, n => n.ToList(), StringComparer.Ordinal);
            foreach (var cp in g)
            {
                var same = byNetwork[cp.Network].Where(o => o != cp).Select(o => o.Name).ToList();
                report.Add(CheckCatalogue.DeclaredNetworkDistinct, cp.Name, null, cp.ClusterName, same.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                    same.Count == 0 ? $"{cp.ClusterName} is alone on network {cp.Network} in mesh {cp.MeshId}" : $"{cp.ClusterName} shares network {cp.Network} with {string.Join(", ", same)}",
                    "give each cluster its own network (clusters[].network, -Network)",
                    new[] { Ev.Declared(cp, "Istio default", "spec.values.global.network", cp.Network) });
            }
        }
        foreach (var p in set.Peerings.Where(p => p.Local.Style == MeshStyle.MultiPrimary))
        {
            var back = pairs.Contains((p.Remote, p.Local));
            var secret = Ev.Obj("Secret", p.Local.Namespace, IstioRenderer.RemoteSecretName(p.Remote.ClusterName));
            report.Add(CheckCatalogue.DeclaredRemoteSecretBothWays, p.Local.Name, p.Remote.Name, p.Local.ClusterName, back ? CheckStatus.Pass : CheckStatus.Fail,
                back ? $"{p.Local.ClusterName} and {p.Remote.ClusterName} are peered both ways, so each gets a remote secret for the other" : $"{p.Remote.ClusterName} is not peered back with {p.Local.ClusterName}: it gets no remote secret for it",
                "peer the control planes in both directions (New-MeshPeer, peerings: all)",
                new[] { Ev.Declared(p.Local, secret, null, "declared"), Ev.Declared(p.Remote, Ev.Obj("Secret", p.Remote.Namespace, IstioRenderer.RemoteSecretName(p.Local.ClusterName)), null, back ? "declared" : "not declared") });
            var known = p.RemoteApi is not null;
            report.Add(CheckCatalogue.DeclaredRemoteSecretReady, p.Local.Name, p.Remote.Name, p.Local.ClusterName, known ? CheckStatus.Pass : CheckStatus.Warn,
                known ? $"remote secret for {p.Remote.ClusterName} points at {p.RemoteApi!.Server}" : $"the API server and reader token of {p.Remote.ClusterName} are not known offline",
                "apply live (meshfed apply, Sync-MeshFederation): the token is read from the remote cluster once issued; then check live (--live / -Live)",
                new[] { Ev.Declared(p.Local, secret, "server", known ? p.RemoteApi!.Server : "(not known)") });
        }
        foreach (var i in set.Imports.Where(i => i.ControlPlane.Style == MeshStyle.MultiPrimary))
            report.Add(CheckCatalogue.DeclaredImportNotNeeded, i.Mesh, i.Peer, i.Cluster, CheckStatus.Warn,
                $"import {i} has no effect in a multi-primary mesh",
                $"export the service from {i.Peer} instead (its cross-network Gateway passes it through)",
                new[] { Ev.Declared(i.ControlPlane, $"import {i}", null, "declared", i.Source) });
        MultiMeshImports(set, report, intentOnly: false);
        foreach (var e in set.Exports.Where(e => e.ControlPlane.Style is MeshStyle.MultiPrimary or MeshStyle.MultiMesh))
        {
            var importer = istio.FirstOrDefault(c => c.Name == e.Peer);
            var peered = importer is not null && pairs.Contains((importer, e.ControlPlane));
            var hosts = IstioRenderer.ExposedHosts(set, e.ControlPlane);
            report.Add(CheckCatalogue.DeclaredExportExposed, e.Mesh, e.Peer, e.Cluster, peered ? CheckStatus.Pass : CheckStatus.Fail,
                peered ? $"{e.Namespace}/{e.Name ?? "(by label)"} is passed through {e.ControlPlane.ClusterName}'s east-west gateway on 15443, which {e.Peer} is peered with"
                : $"{e.Peer} {(importer is null ? "is not an Istio control plane of this federation" : $"is not peered with {e.Mesh}")}: nothing routes it to {e.ControlPlane.ClusterName}'s east-west gateway",
                $"peer {e.Peer} with {e.Mesh} (New-MeshPeer), or export to a peer",
                new[] { Ev.Declared(e.ControlPlane, Ev.Obj("Gateway", e.ControlPlane.Namespace, IstioRenderer.CrossNetworkGateway), "spec.servers[0].hosts", string.Join(", ", hosts), e.Source) });
        }
    }

    /// <summary>Checks of the declaration that have no counterpart in a cluster's state; also run with live and snapshot checks.</summary>
    public static void RunIntentOnly(FederationSet set, CheckReport report)
    {
        foreach (var i in set.Imports.Where(i => i.ControlPlane.Style == MeshStyle.MultiPrimary))
            report.Add(CheckCatalogue.DeclaredImportNotNeeded, i.Mesh, i.Peer, i.Cluster, CheckStatus.Warn,
                $"import {i} has no effect in a multi-primary mesh",
                $"export the service from {i.Peer} instead (its cross-network Gateway passes it through)",
                new[] { Ev.Declared(i.ControlPlane, $"import {i}", null, "declared", i.Source) });
        MultiMeshImports(set, report, intentOnly: true);
    }

    private static void SharedRoot(FederationSet set, List<MeshControlPlane> istio, CheckReport report)
    {
        var joined = set.Peerings.SelectMany(p => new[] { p.Local, p.Remote }).Where(c => c.Style is MeshStyle.MultiPrimary or MeshStyle.MultiMesh).ToHashSet();
        var material = set.CaMaterial.GroupBy(m => m.Cluster, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        var roots = istio.Where(joined.Contains).Select(c => (Cp: c, Ca: material.GetValueOrDefault(c.ClusterName))).ToList();
        var first = roots.Select(r => r.Ca).FirstOrDefault(ca => ca is not null);
        var firstRoots = Ev.Certificates(first?.RootCertPem);
        foreach (var (cp, ca) in roots)
        {
            var mine = Ev.Certificates(ca?.RootCertPem);
            var status = ca is null ? CheckStatus.Warn : mine.Count > 0 && mine.Any(firstRoots.Contains) ? CheckStatus.Pass : CheckStatus.Fail;
            report.Add(CheckCatalogue.DeclaredSharedRoot, cp.Name, null, cp.ClusterName, status,
                status == CheckStatus.Pass ? $"{cp.ClusterName}'s intermediate chains to the shared root"
                : status == CheckStatus.Warn ? $"no cacerts for {cp.ClusterName} in this set"
                : $"{cp.ClusterName}'s cacerts has another root than the other clusters",
                $"issue every cluster's intermediate under one root: New-MeshCertificateAuthority -Cluster {string.Join(", ", roots.Select(r => r.Cp.ClusterName))} (or meshfed ca)",
                new[] { Ev.Declared(cp, Ev.Obj("Secret", cp.Namespace, IstioRenderer.CaSecret), "root-cert.pem", ca is null ? "(none)" : Ev.Bundle(mine)) });
        }
    }

    /// <summary>Multi-mesh imports: VIPs and gateway addresses as declared (offline only), and whether the peer exports what is imported.</summary>
    private static void MultiMeshImports(FederationSet set, CheckReport report, bool intentOnly)
    {
        var peerings = set.Peerings.GroupBy(p => (p.Local, p.Remote.Name)).ToDictionary(g => g.Key, g => g.First());
        var exports = set.Exports.GroupBy(e => (e.Mesh, e.Peer)).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var g in set.Imports.Where(i => i.ControlPlane.Style == MeshStyle.MultiMesh).GroupBy(i => i.ControlPlane))
        {
            var cp = g.Key;
            if (!intentOnly) VipUnique(cp, g, report);
            foreach (var i in g)
            {
                var peering = peerings.GetValueOrDefault((cp, i.Peer));
                var addresses = peering?.RemoteAddresses ?? Array.Empty<string>();
                if (!intentOnly)
                {
                    report.Add(CheckCatalogue.DeclaredGatewayAddressKnown, cp.Name, i.Peer, cp.ClusterName, addresses.Count > 0 ? CheckStatus.Pass : CheckStatus.Warn,
                    addresses.Count > 0 ? $"{i.LocalHost} is reached at {string.Join(",", addresses)}:15443" : $"the gateway address of {i.Peer} is not known offline",
                    $"give {i.Peer} ingressAddresses, or apply live so the east-west gateway's LoadBalancer address is read",
                    new[] { Ev.Declared(cp, Ev.Obj("ServiceEntry", i.ServiceEntryNamespace, i.ServiceEntryName), "spec.endpoints", addresses.Count > 0 ? string.Join(", ", addresses) : "(not known)", i.Source) });
                }
                var candidates = exports.GetValueOrDefault((i.Peer, i.Mesh)) ?? new List<MeshServiceExport>();
                var exported = candidates.FirstOrDefault(e => (Names.IsWildcard(e.Namespace) || e.Namespace == i.Namespace) && (e.IsLabelSelector || Names.IsWildcard(e.Name) || e.Name == i.Name));
                report.Add(CheckCatalogue.DeclaredGlobalImportResolves, cp.Name, i.Peer, cp.ClusterName, exported is not null ? CheckStatus.Pass : CheckStatus.Fail,
                    exported is not null ? $"{i.Peer} exposes {i.Namespace}/{i.Name}" : $"{i.Peer} exports nothing to {i.Mesh} that matches {i.Namespace}/{i.Name}",
                    $"export {i.Namespace}/{i.Name} from {i.Peer} to {i.Mesh}",
                    new[] { exported is not null ? Ev.Declared(exported.ControlPlane, $"export {exported}", null, "declared", exported.Source)
                        : Ev.Declared(cp, $"exports from {i.Peer} to {i.Mesh}", null, candidates.Count == 0 ? "none" : string.Join(", ", candidates), i.Source) });
            }
        }
    }

    private static void VipUnique(MeshControlPlane cp, IEnumerable<MeshServiceImport> imports, CheckReport report)
    {
        try
        {
            var vips = IstioRenderer.Vips(cp, imports); // pinned VIPs as given, the others from the range (as rendered)
            report.Add(CheckCatalogue.DeclaredVipUnique, cp.Name, null, cp.ClusterName, vips.Count > 0 ? CheckStatus.Pass : CheckStatus.Warn,
                vips.Count > 0 ? $"{vips.Count} .global host(s) have distinct VIPs from {cp.VipRange}" : "no import names a single .global host",
                "import services by name", vips.Select(kv => Ev.Declared(cp, $"ServiceEntry for {kv.Key}", "spec.addresses", kv.Value)).DefaultIfEmpty(Ev.Declared(cp, $"mesh {cp.Name}", "vipRange", cp.VipRange)).ToList());
        }
        catch (MeshFederationException ex)
        {
            report.Add(CheckCatalogue.DeclaredVipUnique, cp.Name, null, cp.ClusterName, CheckStatus.Fail, ex.Problems[0].Problem, ex.Problems[0].Fix,
                new[] { Ev.Declared(cp, $"mesh {cp.Name}", "vipRange", cp.VipRange) });
        }
    }
}
