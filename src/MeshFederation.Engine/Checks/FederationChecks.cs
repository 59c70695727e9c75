using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Checks;

/// <summary>
/// The offline checks over a federation's intended objects. Every check runs to completion and reports one result
/// per mesh or peering; failures do not stop the others. The set is not required to be valid: checks are how a
/// broken set is diagnosed. Everything shared between peerings (node ports, the peerings by pair, exports by peer) is
/// computed once per run, so the checks grow linearly with the number of peerings.
/// </summary>
public static class FederationChecks
{
    public static IReadOnlyList<MeshCheckResult> Run(FederationSet set)
    {
        if (set.ControlPlanes.Count == 0)
            throw new NoMeshFoundException(new MeshProblem(MeshErrorKind.NotFound, "meshes", null,
                $"the objects given hold no control plane (found {set.Peerings.Count} peerings, {set.Exports.Count} exports, {set.Imports.Count} imports, {set.TrafficSplits.Count} traffic splits)",
                "pipe New-MeshControlPlane objects (or Import-MeshTopology) into the checks, or give a topology with meshes"));
        var report = new CheckReport();
        var index = new Index(set);
        TrustDomains(set, report);
        foreach (var p in set.Peerings.Where(p => p.Local.Style == MeshStyle.Ossm2))
        {
            Symmetric(index, p, report);
            Endpoint(set, index, p, report);
            CaBundle(p, report);
            GatewayNames(p, report);
        }
        foreach (var e in set.Exports.Where(e => e.ControlPlane.Style == MeshStyle.Ossm2)) ExportPeered(index, e, report);
        foreach (var i in set.Imports.Where(i => i.ControlPlane.Style == MeshStyle.Ossm2))
        {
            ImportPeered(index, i, report);
            ImportResolves(index, i, report);
            ImportAsLocal(i, report);
        }
        IstioChecks.Run(set, report);
        var ossm3 = new List<MeshCheckResult>();
        Ossm3FederationChecks.RunOffline(set, ossm3);
        return ossm3.Count == 0 ? report.Results : report.Results.Concat(ossm3).ToList();
    }

    /// <summary>What the checks look up per peering, built once.</summary>
    internal sealed class Index
    {
        public Index(FederationSet set)
        {
            Set = set;
            foreach (var p in set.Peerings)
            {
                Pairs.Add((p.Local, p.Remote));
                PeerNames.Add((p.Local, p.Remote.Name));
            }
            foreach (var g in set.Exports.GroupBy(e => (e.Mesh, e.Peer))) ExportsTo[g.Key] = g.ToList();
        }

        public FederationSet Set { get; }

        /// <summary>(local, remote) control-plane objects of every peering.</summary>
        public HashSet<(MeshControlPlane, MeshControlPlane)> Pairs { get; } = new();

        /// <summary>(local control plane, peer name) of every peering.</summary>
        public HashSet<(MeshControlPlane, string)> PeerNames { get; } = new();

        /// <summary>Exports by (exporting mesh, peer).</summary>
        public Dictionary<(string Mesh, string Peer), List<MeshServiceExport>> ExportsTo { get; } = new();

        private IReadOnlyDictionary<(string, string), Proxy.GatewayNodePorts>? _nodePorts;

        /// <summary>The node ports of the NodePort meshes' gateways: allocated once per run.</summary>
        public IReadOnlyDictionary<(string, string), Proxy.GatewayNodePorts> NodePorts => _nodePorts ??= Set.NodePorts(new ProblemList());
    }

    private static void TrustDomains(FederationSet set, CheckReport report)
    {
        var byDomain = set.ControlPlanes.Where(c => c.Style == MeshStyle.Ossm2).GroupBy(c => c.TrustDomain, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.OrdinalIgnoreCase);
        foreach (var cp in set.ControlPlanes.Where(c => c.Style == MeshStyle.Ossm2))
        {
            var others = byDomain[cp.TrustDomain].Where(o => o != cp).Select(o => o.Name).ToList();
            var empty = string.IsNullOrWhiteSpace(cp.TrustDomain);
            report.Add(CheckCatalogue.DeclaredTrustDomainUnique, cp.Name, null, cp.ClusterName, !empty && others.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                empty ? "no trust domain is declared" : others.Count == 0 ? $"trust domain {cp.TrustDomain} is unique" : $"trust domain {cp.TrustDomain} is shared with {string.Join(", ", others)}",
                $"set spec.security.trust.domain to {cp.Name}.local",
                new[] { Ev.Declared(cp, Ev.Obj("ServiceMeshControlPlane", cp.Namespace, cp.ControlPlaneName), "spec.security.trust.domain", cp.TrustDomain) });
        }
    }

    private static MeshEvidence PeerEv(MeshPeering p, string field, string? value) =>
        Ev.Declared(p.Local, Ev.Obj("ServiceMeshPeer", p.Local.Namespace, p.Name), field, value, p.Source);

    private static void Symmetric(Index index, MeshPeering p, CheckReport report)
    {
        var self = p.Local == p.Remote || p.Local.Name == p.Remote.Name;
        var back = !self && index.Pairs.Contains((p.Remote, p.Local));
        report.Add(CheckCatalogue.DeclaredPeerBothSides, p.Local.Name, p.Remote.Name, p.Local.ClusterName, back ? CheckStatus.Pass : CheckStatus.Fail,
            self ? $"{p.Local.Name} is peered with itself" : back ? "ServiceMeshPeer exists on both sides" : $"{p.Remote.Name} has no ServiceMeshPeer for {p.Local.Name}",
            back ? "" : $"create both directions (New-MeshPeer -ControlPlane {p.Local.Name},{p.Remote.Name})",
            new[] { PeerEv(p, "metadata.name", p.Name), Ev.Declared(p.Remote, Ev.Obj("ServiceMeshPeer", p.Remote.Namespace, p.Local.Name), null, back ? "declared" : "not declared") });
    }

    private static void Endpoint(FederationSet set, Index index, MeshPeering p, CheckReport report)
    {
        var (addresses, d, s) = Ossm2Renderer.RemoteEndpoint(p, index.NodePorts, set.ProxyConfigs.FirstOrDefault());
        var ok = addresses.Count > 0;
        var endpoint = ok ? $"{(addresses.Count == 1 ? addresses[0] : string.Join(", ", addresses))} (discovery {d}, service {s})" : "(not known)";
        report.Add(CheckCatalogue.DeclaredPeerAddressKnown, p.Local.Name, p.Remote.Name, p.Local.ClusterName, ok ? CheckStatus.Pass : CheckStatus.Warn,
            ok ? $"{p.Remote.Name} is reached at {endpoint}" : $"the address of {p.Remote.Name}'s ingress for {p.Local.Name} is not known offline",
            ok ? "" : $"give {p.Remote.Name} ingressAddresses for {p.Local.Name}, or apply live so it is read from the LoadBalancer status",
            new[] { PeerEv(p, "spec.remote", endpoint) });
        if (p.Remote.GatewayExposure == GatewayExposure.NodePort && set.ProxyConfigs.Count == 0 && p.RemoteAddresses.Count == 0 && p.Remote.NodeAddresses.Count == 0)
            report.Add(CheckCatalogue.DeclaredNodePortReachable, p.Local.Name, p.Remote.Name, p.Local.ClusterName, CheckStatus.Fail,
                $"{p.Remote.Name} exposes NodePort gateways but neither node addresses nor a proxy are known",
                "list the remote cluster's nodeAddresses or add a federation proxy (New-FederationProxyConfig)",
                new[] { Ev.Declared(p.Remote, $"mesh {p.Remote.Name}", "nodeAddresses", "(none)") });
    }

    private static void CaBundle(MeshPeering p, CheckReport report)
    {
        var certificates = string.IsNullOrEmpty(p.CaBundle) ? null : Ev.Certificates(p.CaBundle);
        var ok = certificates is { Count: > 0 };
        report.Add(CheckCatalogue.DeclaredPeerRootCertificate, p.Local.Name, p.Remote.Name, p.Local.ClusterName, ok ? CheckStatus.Pass : CheckStatus.Warn,
            ok ? $"root certificate of {p.Remote.Name} is known (ConfigMap {p.CaConfigMap})" : $"root certificate of {p.Remote.Name} is not known offline",
            $"pass {p.Remote.Name}'s istio-ca-root-cert (rootCertificate), or apply live so it is copied (then check live: --live, -Live)",
            new[] { Ev.Declared(p.Local, Ev.Obj("ConfigMap", p.Local.Namespace, p.CaConfigMap), "data.root-cert.pem", ok ? Ev.Bundle(certificates!) : "(not known)", p.Source) });
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<MeshControlPlane, string> SmcpNames = new();

    /// <summary>"ServiceMeshControlPlane ns/name", formatted once per control plane.</summary>
    private static string SmcpObj(MeshControlPlane cp) => SmcpNames.GetValue(cp, c => Ev.Obj("ServiceMeshControlPlane", c.Namespace, c.ControlPlaneName));

    private static void GatewayNames(MeshPeering p, CheckReport report)
    {
        var ingress = p.IngressGateway;
        var egress = p.EgressGateway;
        static bool Bad(string n) => !Names.IsDns1123Label(n) || n.Length + "-service-account".Length > 63;
        var bad = Bad(ingress) || Bad(egress) ? new[] { ingress, egress }.Where(Bad).ToList() : new List<string>(0);
        report.Add(CheckCatalogue.DeclaredGatewayNames, p.Local.Name, p.Remote.Name, p.Local.ClusterName, bad.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
            bad.Count == 0 ? $"gateways {ingress} and {egress} have valid names" : $"gateway names too long or invalid: {string.Join(", ", bad.Select(b => $"'{b}'"))}",
            "shorten the mesh names or the gateway name templates",
            new[] { Ev.Declared(p.Local, SmcpObj(p.Local), "spec.gateways", $"additionalIngress.{ingress}, additionalEgress.{egress}") });
    }

    private static void ExportPeered(Index index, MeshServiceExport e, CheckReport report)
    {
        var ok = index.PeerNames.Contains((e.ControlPlane, e.Peer));
        report.Add(CheckCatalogue.DeclaredExportPeered, e.Mesh, e.Peer, e.Cluster, ok ? CheckStatus.Pass : CheckStatus.Fail,
            ok ? $"export {e} goes to a peer" : $"export {e} names {e.Peer}, which is not a peer of {e.Mesh}",
            $"peer {e.Mesh} with {e.Peer}, or export to an existing peer",
            new[] { Ev.Declared(e.ControlPlane, Ev.Obj("ExportedServiceSet", e.ControlPlane.Namespace, e.Peer), "metadata.name", e.Peer, e.Source) });
    }

    private static void ImportPeered(Index index, MeshServiceImport i, CheckReport report)
    {
        var ok = index.PeerNames.Contains((i.ControlPlane, i.Peer));
        report.Add(CheckCatalogue.DeclaredImportPeered, i.Mesh, i.Peer, i.Cluster, ok ? CheckStatus.Pass : CheckStatus.Fail,
            ok ? $"import {i} comes from a peer" : $"import {i} names {i.Peer}, which is not a peer of {i.Mesh}",
            $"peer {i.Mesh} with {i.Peer}, or import from an existing peer",
            new[] { Ev.Declared(i.ControlPlane, Ev.Obj("ImportedServiceSet", i.ControlPlane.Namespace, i.Peer), "metadata.name", i.Peer, i.Source) });
    }

    /// <summary>An intended import must match something the peer exports to this mesh (first match wins on both sides).</summary>
    private static void ImportResolves(Index index, MeshServiceImport i, CheckReport report)
    {
        var exports = index.ExportsTo.GetValueOrDefault((i.Peer, i.Mesh)) ?? new List<MeshServiceExport>();
        static bool Match(string pattern, string? value) => Names.IsWildcard(pattern) || value is null || Names.IsWildcard(value) || pattern == value;
        var match = exports.FirstOrDefault(e => !e.IsLabelSelector && Match(i.Namespace, e.ExportedNamespace) && Match(i.Name, e.ExportedName));
        var selector = exports.Any(e => e.IsLabelSelector && Match(i.Namespace, e.ExportedNamespace));
        var status = match is not null ? CheckStatus.Pass : selector ? CheckStatus.Warn : CheckStatus.Fail;
        var host = i.LocalHost ?? $"*.{i.LocalNamespace}";
        report.Add(CheckCatalogue.DeclaredImportResolves, i.Mesh, i.Peer, i.Cluster, status,
            status == CheckStatus.Pass ? $"{i.Namespace}/{i.Name} from {i.Peer} resolves to {host}"
            : status == CheckStatus.Warn ? $"{i.Namespace}/{i.Name} may be exported by a label selector of {i.Peer}; only the cluster can tell"
            : $"{i.Peer} exports nothing to {i.Mesh} that matches {i.Namespace}/{i.Name}",
            $"export the service from {i.Peer} to {i.Mesh}, or match its exported (aliased) namespace and name",
            new[]
            {
                Ev.Declared(i.ControlPlane, Ev.Obj("ImportedServiceSet", i.ControlPlane.Namespace, i.Peer), "importRules", $"{i.Namespace}/{i.Name}", i.Source),
                match is not null ? Ev.Declared(match.ControlPlane, Ev.Obj("ExportedServiceSet", match.ControlPlane.Namespace, match.Peer), "exportRules", $"exported as {match.ExportedHost ?? $"{match.ExportedNamespace}/{match.ExportedName}"}", match.Source)
                    : new MeshEvidence { Object = $"exports from {i.Peer} to {i.Mesh}", Value = exports.Count == 0 ? "none" : string.Join(", ", exports), Source = "pipeline objects" },
            });
    }

    private static void ImportAsLocal(MeshServiceImport i, CheckReport report)
    {
        if (!i.ImportAsLocal) return;
        var ok = !Names.IsWildcard(i.AliasNamespace);
        report.Add(CheckCatalogue.DeclaredImportAsLocalAlias, i.Mesh, i.Peer, i.Cluster, ok ? CheckStatus.Pass : CheckStatus.Fail,
            ok ? $"importAsLocal rule for {i.Namespace}/{i.Name} has alias namespace {i.AliasNamespace}" : $"importAsLocal rule for {i.Namespace}/{i.Name} has no fixed alias namespace",
            "set the alias namespace to the local namespace the service should join",
            new[] { Ev.Declared(i.ControlPlane, Ev.Obj("ImportedServiceSet", i.ControlPlane.Namespace, i.Peer), "importRules[].nameSelector.alias.namespace", i.AliasNamespace ?? "(not set)", i.Source) });
    }
}
