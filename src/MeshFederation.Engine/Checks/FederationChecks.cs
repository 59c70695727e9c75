using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Checks;

/// <summary>
/// The offline checks over a federation's intended objects. Every check runs to completion and reports one result
/// per mesh or peering; failures do not stop the others. The set is not required to be valid: checks are how a
/// broken set is diagnosed.
/// </summary>
public static class FederationChecks
{
    public static IReadOnlyList<MeshCheckResult> Run(FederationSet set)
    {
        var results = new List<MeshCheckResult>();
        TrustDomains(set, results);
        foreach (var p in set.Peerings.Where(p => p.Local.Style == MeshStyle.Ossm2))
        {
            Symmetric(set, p, results);
            Endpoint(set, p, results);
            CaBundle(p, results);
            GatewayNames(p, results);
        }
        foreach (var e in set.Exports.Where(e => e.ControlPlane.Style == MeshStyle.Ossm2)) ExportPeered(set, e, results);
        foreach (var i in set.Imports.Where(i => i.ControlPlane.Style == MeshStyle.Ossm2))
        {
            ImportPeered(set, i, results);
            ImportResolves(set, i, results);
            ImportAsLocal(i, results);
        }
        IstioChecks.Run(set, results);
        Ossm3FederationChecks.RunOffline(set, results);
        return results;
    }

    internal static MeshCheckResult Result(string mesh, string? peer, string id, CheckStatus status, string message, string why, string fix, params string[] evidence) =>
        R(mesh, peer, id, status, message, why, fix, evidence);

    private static MeshCheckResult R(string mesh, string? peer, string id, CheckStatus status, string message, string why, string fix, params string[] evidence) =>
        new() { Mesh = mesh, Peer = peer, CheckId = id, Status = status, Message = message, Why = why, Fix = status == CheckStatus.Pass ? "" : fix, Evidence = evidence };

    private static void TrustDomains(FederationSet set, List<MeshCheckResult> results)
    {
        foreach (var cp in set.ControlPlanes.Where(c => c.Style == MeshStyle.Ossm2))
        {
            var others = set.ControlPlanes.Where(o => o != cp && o.Style == MeshStyle.Ossm2 && string.Equals(o.TrustDomain, cp.TrustDomain, StringComparison.OrdinalIgnoreCase)).Select(o => o.Name).ToList();
            results.Add(R(cp.Name, null, "OSSM2.TrustDomainUnique", others.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                others.Count == 0 ? $"trust domain {cp.TrustDomain} is unique" : $"trust domain {cp.TrustDomain} is shared with {string.Join(", ", others)}",
                "Federated meshes authenticate each other's gateways by SPIFFE identity; two meshes with one trust domain cannot be told apart.",
                $"set spec.security.trust.domain to {cp.Name}.local", $"ServiceMeshControlPlane {cp.Namespace}/{cp.Name} spec.security.trust.domain={cp.TrustDomain}"));
        }
    }

    private static void Symmetric(FederationSet set, MeshPeering p, List<MeshCheckResult> results)
    {
        var back = set.Peerings.Any(o => o.Local.Name == p.Remote.Name && o.Remote.Name == p.Local.Name);
        results.Add(R(p.Local.Name, p.Remote.Name, "OSSM2.PeerBothSides", back ? CheckStatus.Pass : CheckStatus.Fail,
            back ? $"ServiceMeshPeer exists on both sides" : $"{p.Remote.Name} has no ServiceMeshPeer for {p.Local.Name}",
            "Peering is pairwise and symmetric: each mesh needs a ServiceMeshPeer for the other, or discovery never connects.",
            $"create both directions (New-MeshPeer -ControlPlane {p.Local.Name},{p.Remote.Name})",
            $"ServiceMeshPeer {p.Local.Namespace}/{p.Name} in {p.Local.ClusterName}"));
    }

    private static void Endpoint(FederationSet set, MeshPeering p, List<MeshCheckResult> results)
    {
        var problems = new ProblemList();
        var (addresses, d, s) = Ossm2Renderer.RemoteEndpoint(p, set.NodePorts(problems), set.ProxyConfigs.FirstOrDefault());
        var ok = addresses.Count > 0;
        results.Add(R(p.Local.Name, p.Remote.Name, "OSSM2.PeerAddressKnown", ok ? CheckStatus.Pass : CheckStatus.Warn,
            ok ? $"{p.Remote.Name} is reached at {string.Join(",", addresses)} (discovery {d}, service {s})" : $"the address of {p.Remote.Name}'s ingress for {p.Local.Name} is not known offline",
            "ServiceMeshPeer spec.remote.addresses must point at the remote federation ingress gateway, or discovery cannot connect.",
            $"give {p.Remote.Name} ingressAddresses for {p.Local.Name}, or apply live so it is read from the LoadBalancer status",
            $"ServiceMeshPeer {p.Local.Namespace}/{p.Name} spec.remote"));
        if (p.Remote.GatewayExposure == GatewayExposure.NodePort && set.ProxyConfigs.Count == 0 && p.RemoteAddresses.Count == 0 && p.Remote.NodeAddresses.Count == 0)
            results.Add(R(p.Local.Name, p.Remote.Name, "OSSM2.NodePortReachable", CheckStatus.Fail,
                $"{p.Remote.Name} exposes NodePort gateways but neither node addresses nor a proxy are known",
                "With NodePort, peers connect to node IPs and node ports, usually through haproxy.",
                "list the remote cluster's nodeAddresses or add a federation proxy (New-FederationProxyConfig)"));
    }

    private static void CaBundle(MeshPeering p, List<MeshCheckResult> results)
    {
        var ok = p.CaBundle is not null;
        results.Add(R(p.Local.Name, p.Remote.Name, "OSSM2.PeerRootCertificate", ok ? CheckStatus.Pass : CheckStatus.Warn,
            ok ? $"root certificate of {p.Remote.Name} is known (ConfigMap {p.CaConfigMap})" : $"root certificate of {p.Remote.Name} is not known offline",
            "The peer's root certificate validates the remote gateways' certificates; without ConfigMap <peer>-ca-root-cert discovery fails TLS.",
            $"pass {p.Remote.Name}'s istio-ca-root-cert (rootCertificate), or apply live so it is copied",
            $"ConfigMap {p.Local.Namespace}/{p.CaConfigMap}"));
    }

    private static void GatewayNames(MeshPeering p, List<MeshCheckResult> results)
    {
        var bad = new[] { p.IngressGateway, p.EgressGateway }.Where(n => !Names.IsDns1123Label(n) || n.Length + "-service-account".Length > 63).ToList();
        results.Add(R(p.Local.Name, p.Remote.Name, "OSSM2.GatewayNames", bad.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
            bad.Count == 0 ? $"gateways {p.IngressGateway} and {p.EgressGateway} have valid names" : $"gateway names too long or invalid: {string.Join(", ", bad)}",
            "Gateway names become Deployment, Service and ServiceAccount ('<name>-service-account') names, which are limited to 63 characters.",
            "shorten the mesh names or the gateway name templates"));
    }

    private static void ExportPeered(FederationSet set, MeshServiceExport e, List<MeshCheckResult> results)
    {
        var ok = set.Peerings.Any(p => p.Local == e.ControlPlane && p.Remote.Name == e.Peer);
        results.Add(R(e.Mesh, e.Peer, "OSSM2.ExportPeered", ok ? CheckStatus.Pass : CheckStatus.Fail,
            ok ? $"export {e} goes to a peer" : $"export {e} names {e.Peer}, which is not a peer of {e.Mesh}",
            "An ExportedServiceSet must be named after a ServiceMeshPeer, or nothing is exported.",
            $"peer {e.Mesh} with {e.Peer}, or export to an existing peer", $"ExportedServiceSet {e.ControlPlane.Namespace}/{e.Peer}"));
    }

    private static void ImportPeered(FederationSet set, MeshServiceImport i, List<MeshCheckResult> results)
    {
        var ok = set.Peerings.Any(p => p.Local == i.ControlPlane && p.Remote.Name == i.Peer);
        results.Add(R(i.Mesh, i.Peer, "OSSM2.ImportPeered", ok ? CheckStatus.Pass : CheckStatus.Fail,
            ok ? $"import {i} comes from a peer" : $"import {i} names {i.Peer}, which is not a peer of {i.Mesh}",
            "An ImportedServiceSet must be named after a ServiceMeshPeer, or nothing is imported.",
            $"peer {i.Mesh} with {i.Peer}, or import from an existing peer", $"ImportedServiceSet {i.ControlPlane.Namespace}/{i.Peer}"));
    }

    /// <summary>An intended import must match something the peer exports to this mesh (first match wins on both sides).</summary>
    private static void ImportResolves(FederationSet set, MeshServiceImport i, List<MeshCheckResult> results)
    {
        var exports = set.Exports.Where(e => e.Mesh == i.Peer && e.Peer == i.Mesh).ToList();
        static bool Match(string pattern, string? value) => Names.IsWildcard(pattern) || value is null || Names.IsWildcard(value) || pattern == value;
        var match = exports.FirstOrDefault(e => !e.IsLabelSelector && Match(i.Namespace, e.ExportedNamespace) && Match(i.Name, e.ExportedName));
        var selector = exports.Any(e => e.IsLabelSelector && Match(i.Namespace, e.ExportedNamespace));
        var status = match is not null ? CheckStatus.Pass : selector ? CheckStatus.Warn : CheckStatus.Fail;
        var host = i.LocalHost ?? $"*.{i.LocalNamespace}";
        results.Add(R(i.Mesh, i.Peer, "OSSM2.ImportResolves", status,
            status == CheckStatus.Pass ? $"{i.Namespace}/{i.Name} from {i.Peer} resolves to {host}"
            : status == CheckStatus.Warn ? $"{i.Namespace}/{i.Name} may be exported by a label selector of {i.Peer}; only the cluster can tell"
            : $"{i.Peer} exports nothing to {i.Mesh} that matches {i.Namespace}/{i.Name}",
            "Imports match the exported namespace and name (after the exporter's alias); an import with no matching export stays empty.",
            $"export the service from {i.Peer} to {i.Mesh}, or match its exported (aliased) namespace and name",
            match?.ExportedHost is { } eh ? $"exported as {eh}" : $"{exports.Count} exports from {i.Peer} to {i.Mesh}"));
    }

    private static void ImportAsLocal(MeshServiceImport i, List<MeshCheckResult> results)
    {
        if (!i.ImportAsLocal) return;
        var ok = !Names.IsWildcard(i.AliasNamespace);
        results.Add(R(i.Mesh, i.Peer, "OSSM2.ImportAsLocalAlias", ok ? CheckStatus.Pass : CheckStatus.Fail,
            ok ? $"importAsLocal rule for {i.Namespace}/{i.Name} has alias namespace {i.AliasNamespace}" : $"importAsLocal rule for {i.Namespace}/{i.Name} has no fixed alias namespace",
            "OSSM silently skips an importAsLocal rule whose nameSelector.alias.namespace is empty or '*' (only istiod's log says so).",
            "set the alias namespace to the local namespace the service should join"));
    }
}
