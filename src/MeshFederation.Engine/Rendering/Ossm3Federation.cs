using System.Security.Cryptography;
using System.Text;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Rendering;

/// <summary>
/// One service an OSSM 3 federation carries from an exporting mesh to an importing mesh: an export matched by an import
/// rule, as OSSM 2 federation matched an ImportedServiceSet rule against the peer's exported names (first rule wins).
/// The importing mesh's clients keep the OSSM 2 host name (<c>&lt;name&gt;.&lt;ns&gt;.svc.&lt;peer&gt;-imports.local</c>,
/// the cluster-local name for imports as local, or a domain suffix), so they need no change.
/// </summary>
public sealed class FederatedService
{
    public required MeshServiceExport Export { get; init; }

    public required MeshServiceImport Import { get; init; }

    public MeshControlPlane Exporter => Export.ControlPlane;

    public MeshControlPlane Importer => Import.ControlPlane;

    /// <summary>The host the importing mesh's clients call.</summary>
    public required string Host { get; init; }

    public required string LocalNamespace { get; init; }

    public required string LocalName { get; init; }

    /// <summary>The service's own host in the exporting cluster.</summary>
    public string ServiceHost => $"{Export.Name}.{Export.Namespace}.svc.cluster.local";

    /// <summary>The importing side's ServiceEntry: the import's <c>serviceEntry.name</c>, or the host with dots as dashes.</summary>
    public string ServiceEntryName => Import.ServiceEntry.Name ?? Ossm3Federation.Dashed(Host);

    /// <summary>Where the importing side's ServiceEntry and WorkloadEntry go: the import's <c>serviceEntry.namespace</c>, or the control-plane namespace.</summary>
    public string ServiceEntryNamespace => Import.ServiceEntry.Namespace ?? Importer.Namespace;

    public string WorkloadEntryName => Import.ServiceEntry.WorkloadEntryName ?? ServiceEntryName;

    /// <summary>The WorkloadEntry's labels, which the ServiceEntry's workloadSelector selects: the import's endpointLabels or <c>app: &lt;ServiceEntry name&gt;</c>.</summary>
    public IReadOnlyDictionary<string, string> SelectorLabels => Import.ServiceEntry.EndpointLabels.Count > 0
        ? Import.ServiceEntry.EndpointLabels
        : new Dictionary<string, string>(StringComparer.Ordinal) { ["app"] = Ossm3Federation.LabelValue(ServiceEntryName) };

    /// <summary>The namespaces that see the host: the import's exportTo, else the importing mesh's members, else all (null).</summary>
    public IReadOnlyList<string>? ExportTo => Import.ServiceEntry.ExportTo ?? (Importer.MemberNamespaces.Count > 0 ? Importer.MemberNamespaces : null);

    /// <summary>The API version of the importing side's ServiceEntry and WorkloadEntry (v1beta1: served by OSSM 2.6 and 3).</summary>
    public string ApiVersion => Import.ServiceEntry.ApiVersion ?? Ossm3Federation.IstioApiVersion;

    /// <summary>The identities the importing side verifies: <c>spiffe://&lt;exporter trust domain&gt;/ns/&lt;service namespace&gt;/sa/&lt;account&gt;</c>.</summary>
    public IReadOnlyList<string> SubjectAltNames => Export.ServiceAccounts.Select(sa => Ossm3Federation.Spiffe(Exporter.TrustDomain, Export.Namespace, sa)).ToList();

    public override string ToString() => $"{Exporter.Name} {Export.Namespace}/{Export.Name} -> {Importer.Name} as {Host}";
}

/// <summary>A host an exporting mesh's east-west gateway passes through, and who uses it.</summary>
public sealed record ExposedHost(MeshServiceExport Export, string Host, IReadOnlyList<string> Importers, bool Imported)
{
    /// <summary>True when the host is the service's own cluster-local name: no ServiceEntry is needed on the exporting side.</summary>
    public bool IsServiceHost => Host == $"{Export.Name}.{Export.Namespace}.svc.cluster.local";

    /// <summary>
    /// The exporting side's ServiceEntry: named after the OSSM 2 exported name for a single importer (the guide's
    /// <c>httpbin-a-svc-east-mesh-exports-local</c>), after the host when several share it.
    /// </summary>
    public string ServiceEntryName => Importers.Count == 1
        ? Ossm3Federation.Dashed(Names.ExportedHost(Export.ExportedName!, Export.ExportedNamespace, Importers[0]))
        : Ossm3Federation.Dashed(Host);
}

/// <summary>Names, constants and the matching of the OSSM 3 federation style (Red Hat's Federation-to-Multi-Cluster migration guide).</summary>
public static class Ossm3Federation
{
    /// <summary>Namespace of the east-west gateway (the guide: <c>kwest create ns istio-ingress</c>).</summary>
    public const string EastWestNamespace = "istio-ingress";

    /// <summary>The Gateway API Gateway of the exporting side.</summary>
    public const string EastWestGateway = "eastwestgateway";

    /// <summary>The Service Istio's deployment controller creates for it: <c>&lt;gateway&gt;-&lt;class&gt;</c>.</summary>
    public const string EastWestService = EastWestGateway + "-istio";

    /// <summary>The Istio Gateway listing the exported hosts (AUTO_PASSTHROUGH).</summary>
    public const string ExposeServicesGateway = "expose-services";

    /// <summary>The listener hostname that matches nothing, so only the hosts the Istio Gateway lists pass.</summary>
    public const string BlockAllHostname = "fake-hostname-to-block-all-by-default";

    public const string ListenerName = "cross-network";

    public const string ListenerProtocolOption = "gateway.istio.io/listener-protocol";

    public const string RemoteGatewayPrefix = "remote-gateway-";

    public const string GatewayApiVersion = "gateway.networking.k8s.io/v1";

    /// <summary>The guide writes the istio-remote Gateways in v1beta1 (served by Gateway API v1.6 and read by OSSM 2.6).</summary>
    public const string RemoteGatewayApiVersion = "gateway.networking.k8s.io/v1beta1";

    /// <summary>ServiceEntries and WorkloadEntries: v1beta1, which OSSM 2.6 (Istio 1.20) reads while the migration runs.</summary>
    public const string IstioApiVersion = "networking.istio.io/v1beta1";

    /// <summary>The Istio Gateway: v1alpha3, as the guide writes it.</summary>
    public const string IstioGatewayApiVersion = "networking.istio.io/v1alpha3";

    public const string TlsModeLabel = "security.istio.io/tlsMode";

    public const int CrossNetworkPort = 15443;

    public const string PhaseControlPlane = "control-plane";
    public const string PhaseExport = "export";
    public const string PhaseImport = "import";

    /// <summary>The three phases in the order the migration guide applies them: export, import, then the OSSM 3 control plane.</summary>
    public static readonly IReadOnlyList<string> Phases = new[] { PhaseExport, PhaseImport, PhaseControlPlane };

    /// <summary>The Istio revision the Sail operator creates for a RevisionBased Istio: <c>&lt;name&gt;-&lt;version with dots as dashes&gt;</c>.</summary>
    public static string Revision(MeshControlPlane cp) =>
        cp.Version.Length == 0 ? cp.ControlPlaneName : $"{cp.ControlPlaneName}-{cp.Version.Replace('.', '-')}";

    public static string Spiffe(string trustDomain, string ns, string serviceAccount) => $"spiffe://{trustDomain}/ns/{ns}/sa/{serviceAccount}";

    /// <summary>A host as an object name: dots become dashes.</summary>
    public static string Dashed(string host) => host.Replace('.', '-');

    /// <summary>A label value from a name: kept when it fits in 63 characters, else cut and suffixed with a hash of the whole.</summary>
    public static string LabelValue(string name)
    {
        if (name.Length <= 63) return name;
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..8].ToLowerInvariant();
        return name[..54].TrimEnd('-', '.') + "-" + hash;
    }

    /// <summary>The peering from <paramref name="local"/> to <paramref name="remote"/>, or a default one when the set has none (a fragment rendered alone).</summary>
    public static MeshPeering Peering(FederationSet set, MeshControlPlane local, MeshControlPlane remote) =>
        set.Peerings.FirstOrDefault(p => p.Local.Name == local.Name && p.Remote.Name == remote.Name)
        ?? new MeshPeering { Local = local, Remote = remote, RemoteAddresses = remote.IngressAddressesFor(local.Name), CaBundle = remote.RootCertificate };

    /// <summary>
    /// Every service the set carries: each import rule of an OSSM 3 federation mesh matched against the named exports
    /// of its peer to it, in declaration order, first rule wins (as OSSM 2 applied ImportedServiceSet rules).
    /// </summary>
    public static IReadOnlyList<FederatedService> Services(FederationSet set)
    {
        var result = new List<FederatedService>();
        foreach (var group in set.Imports.Where(i => i.ControlPlane.Style == MeshStyle.Ossm3Federation).GroupBy(i => (i.ControlPlane.Name, i.Peer)))
        {
            var exports = set.Exports.Where(e => e.ControlPlane.Name == group.Key.Peer && e.Peer == group.Key.Name && e.ControlPlane.Style == MeshStyle.Ossm3Federation
                                                 && !e.IsLabelSelector && !Names.IsWildcard(e.Name) && !Names.IsWildcard(e.Namespace)).ToList();
            foreach (var e in exports)
            {
                var i = group.FirstOrDefault(i => Matches(i, e));
                if (i is null) continue;
                var ns = Names.IsWildcard(i.AliasNamespace) ? e.ExportedNamespace : i.AliasNamespace!;
                var name = Names.IsWildcard(i.AliasName) ? e.ExportedName! : i.AliasName!;
                var host = i.ServiceEntry.Host ?? Names.ImportedHost(name, ns, i.Peer, i.ImportAsLocal, i.DomainSuffix);
                result.Add(new FederatedService { Export = e, Import = i, Host = host, LocalNamespace = ns, LocalName = name });
            }
        }
        return result;
    }

    /// <summary>Does import rule <paramref name="i"/> take export <paramref name="e"/> (by the exported namespace and name)?</summary>
    public static bool Matches(MeshServiceImport i, MeshServiceExport e) =>
        (Names.IsWildcard(i.Namespace) || i.Namespace == e.ExportedNamespace) && (Names.IsWildcard(i.Name) || i.Name == e.ExportedName);

    /// <summary>
    /// The hosts <paramref name="exporter"/>'s east-west gateway passes through: every host its peers import its exports
    /// under, and, for an export no peer imports, the name OSSM 2 would have given it (<c>&lt;name&gt;.&lt;ns&gt;.svc.&lt;exporter&gt;-imports.local</c>).
    /// </summary>
    public static IReadOnlyList<ExposedHost> ExposedHosts(FederationSet set, MeshControlPlane exporter, IReadOnlyList<FederatedService>? services = null)
    {
        services ??= Services(set);
        var result = new List<ExposedHost>();
        var exports = set.Exports.Where(e => e.ControlPlane.Name == exporter.Name && !e.IsLabelSelector && !Names.IsWildcard(e.Name) && !Names.IsWildcard(e.Namespace)).ToList();
        foreach (var g in services.Where(s => s.Exporter.Name == exporter.Name).GroupBy(s => (s.Export.Namespace, s.Export.Name, s.Host)))
            result.Add(new ExposedHost(g.First().Export, g.Key.Host, g.Select(s => s.Importer.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(), true));
        foreach (var e in exports.Where(e => !services.Any(s => s.Export == e)))
        {
            var host = Names.ImportedHost(e.ExportedName!, e.ExportedNamespace, exporter.Name, false, null);
            if (result.Any(r => r.Host == host && r.Export.Namespace == e.Namespace && r.Export.Name == e.Name)) continue;
            result.Add(new ExposedHost(e, host, new[] { e.Peer }, false));
        }
        return result.OrderBy(r => r.Host, StringComparer.Ordinal).ToList();
    }

    /// <summary>The certificates of a PEM bundle, each with its trailing newline.</summary>
    public static IReadOnlyList<string> Certificates(string? pem)
    {
        const string begin = "-----BEGIN CERTIFICATE-----";
        const string end = "-----END CERTIFICATE-----";
        var result = new List<string>();
        if (string.IsNullOrEmpty(pem)) return result;
        var at = 0;
        while ((at = pem.IndexOf(begin, at, StringComparison.Ordinal)) >= 0)
        {
            var stop = pem.IndexOf(end, at, StringComparison.Ordinal);
            if (stop < 0) break;
            result.Add(pem[at..(stop + end.Length)].Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
            at = stop + end.Length;
        }
        return result;
    }

    /// <summary>The certificate's base64 body without line breaks, for comparing PEMs written differently.</summary>
    public static string Body(string certificatePem) =>
        string.Concat(certificatePem.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)));

    /// <summary>SHA-256 fingerprint of a PEM certificate (for evidence: never the certificate itself).</summary>
    public static string Fingerprint(string certificatePem)
    {
        try
        {
            var der = Convert.FromBase64String(Body(certificatePem));
            return "sha256:" + Convert.ToHexString(SHA256.HashData(der))[..16].ToLowerInvariant();
        }
        catch (FormatException)
        {
            return "(not a certificate)";
        }
    }
}
