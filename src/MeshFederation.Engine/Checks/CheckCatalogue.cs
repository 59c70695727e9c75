using MeshFederation.Engine.Model;

namespace MeshFederation.Engine.Checks;

/// <summary>What a check reads: the declaration (offline), the clusters or a snapshot (observed), or the network (probe).</summary>
public enum CheckMode
{
    Declared,
    Observed,
    Probe,
}

/// <summary>One check of the catalogue: its stable id, what it is about and why it matters.</summary>
public sealed record CheckInfo(string Id, CheckMode Mode, string Subject, string Why)
{
    /// <summary>The federation style the check belongs to: OSSM2 or ISTIO (the id's prefix).</summary>
    public string Style => Id[..Id.IndexOf('.', StringComparison.Ordinal)];

    public override string ToString() => $"{Id} ({Mode}, per {Subject})";
}

/// <summary>
/// Every check the module runs, offline, on observed state (live or snapshot) and as a network probe. Results carry
/// the id, and their <see cref="MeshCheckResult.Why"/> comes from here. A check whose inputs could not be read reports
/// Skip with the reason or Fail, never Pass; tests run every observed check on an empty observation to hold that.
/// </summary>
public static class CheckCatalogue
{
    private static readonly List<CheckInfo> Checks = new();

    private static CheckInfo Add(string id, CheckMode mode, string subject, string why)
    {
        var info = new CheckInfo(id, mode, subject, why);
        Checks.Add(info);
        return info;
    }

    public static IReadOnlyList<CheckInfo> All => Checks;

    public static CheckInfo Get(string id) => Checks.First(c => c.Id == id);

    // ------------------------------------------------------------------ OSSM 2, declared (offline)
    internal static readonly CheckInfo DeclaredTrustDomainUnique = Add("OSSM2.TrustDomainUnique", CheckMode.Declared, "mesh",
        "Federated meshes authenticate each other's gateways by SPIFFE identity; two meshes with one trust domain cannot be told apart.");
    internal static readonly CheckInfo DeclaredPeerBothSides = Add("OSSM2.PeerBothSides", CheckMode.Declared, "peering",
        "Peering is pairwise and symmetric: each mesh needs a ServiceMeshPeer for the other, or discovery never connects.");
    internal static readonly CheckInfo DeclaredPeerAddressKnown = Add("OSSM2.PeerAddressKnown", CheckMode.Declared, "peering",
        "ServiceMeshPeer spec.remote.addresses must point at the remote federation ingress gateway, or discovery cannot connect.");
    internal static readonly CheckInfo DeclaredNodePortReachable = Add("OSSM2.NodePortReachable", CheckMode.Declared, "peering to a NodePort mesh",
        "With NodePort, peers connect to node IPs and node ports, usually through haproxy.");
    internal static readonly CheckInfo DeclaredPeerRootCertificate = Add("OSSM2.PeerRootCertificate", CheckMode.Declared, "peering",
        "The peer's root certificate validates the remote gateways' certificates; without ConfigMap <peer>-ca-root-cert discovery fails TLS.");
    internal static readonly CheckInfo DeclaredGatewayNames = Add("OSSM2.GatewayNames", CheckMode.Declared, "peering",
        "Gateway names become Deployment, Service and ServiceAccount ('<name>-service-account') names, which are limited to 63 characters.");
    internal static readonly CheckInfo DeclaredExportPeered = Add("OSSM2.ExportPeered", CheckMode.Declared, "export",
        "An ExportedServiceSet must be named after a ServiceMeshPeer, or nothing is exported.");
    internal static readonly CheckInfo DeclaredImportPeered = Add("OSSM2.ImportPeered", CheckMode.Declared, "import",
        "An ImportedServiceSet must be named after a ServiceMeshPeer, or nothing is imported.");
    internal static readonly CheckInfo DeclaredImportResolves = Add("OSSM2.ImportResolves", CheckMode.Declared, "import",
        "Imports match the exported namespace and name (after the exporter's alias); an import with no matching export stays empty.");
    internal static readonly CheckInfo DeclaredImportAsLocalAlias = Add("OSSM2.ImportAsLocalAlias", CheckMode.Declared, "importAsLocal import",
        "OSSM silently skips an importAsLocal rule whose nameSelector.alias.namespace is empty or '*' (only istiod's log says so).");

    // ------------------------------------------------------------------ OSSM 2, observed (live or snapshot)
    internal static readonly CheckInfo ControlPlaneReady = Add("OSSM2.ControlPlaneReady", CheckMode.Observed, "mesh",
        "Federation gateways and istiod's discovery only run once the ServiceMeshControlPlane is Ready.");
    internal static readonly CheckInfo TrustDomainUnique = Add("OSSM2.TrustDomainUnique", CheckMode.Observed, "mesh",
        "Federated meshes authenticate each other's gateways by SPIFFE identity; two meshes with one trust domain cannot be told apart.");
    internal static readonly CheckInfo FederationGateways = Add("OSSM2.FederationGateways", CheckMode.Observed, "ServiceMeshPeer",
        "Each peer needs its own ingress and egress gateway on 15443 (service) and 8188 (discovery), labelled so their Services select only their pods.");
    internal static readonly CheckInfo PeerRootCertificate = Add("OSSM2.PeerRootCertificate", CheckMode.Observed, "ServiceMeshPeer",
        "The peer's gateways present certificates from its root; a missing or stale copy of that root makes discovery fail TLS.");
    internal static readonly CheckInfo PeerBothSides = Add("OSSM2.PeerBothSides", CheckMode.Observed, "ServiceMeshPeer",
        "Peering is pairwise and symmetric: the mesh a ServiceMeshPeer points at needs a ServiceMeshPeer pointing back.");
    internal static readonly CheckInfo PeerIdentity = Add("OSSM2.PeerIdentity", CheckMode.Observed, "ServiceMeshPeer",
        "istiod denies discovery requests whose SPIFFE identity is not spec.security.clientID, and validates the peer's certificates for spec.security.trustDomain.");
    internal static readonly CheckInfo PeerAddress = Add("OSSM2.PeerAddress", CheckMode.Observed, "ServiceMeshPeer",
        "spec.remote.addresses and ports must reach the remote mesh's ingress gateway for this mesh: its LoadBalancer address, its node addresses and node ports, or the proxy in front of them.");
    internal static readonly CheckInfo PeerConnected = Add("OSSM2.PeerConnected", CheckMode.Observed, "ServiceMeshPeer",
        "A pod is active only while its watch to the peer is connected; remotes are the peer's watches into this mesh. A stale lastDisconnectStatus next to connected=true is healthy.");
    internal static readonly CheckInfo PeerSyncAge = Add("OSSM2.PeerSyncAge", CheckMode.Observed, "ServiceMeshPeer",
        "istiod pulls the peer's full service list every resync period (60 s by default) and records it in watch.lastFullSync; a much older full sync means discovery stalled even while it says connected.");
    internal static readonly CheckInfo IngressAddress = Add("OSSM2.IngressAddress", CheckMode.Observed, "ServiceMeshPeer",
        "The peer connects to this mesh's ingress gateway for it; without an address it cannot reach this mesh.");
    internal static readonly CheckInfo ExportSetNamedAfterPeer = Add("OSSM2.ExportSetNamedAfterPeer", CheckMode.Observed, "ExportedServiceSet",
        "istiod looks exports up by peer name; a set named otherwise exports nothing.");
    internal static readonly CheckInfo ExportActive = Add("OSSM2.ExportActive", CheckMode.Observed, "ExportedServiceSet",
        "Only services that exist, are visible to the control-plane namespace and live in member namespaces are exported; istiod lists them in the status.");
    internal static readonly CheckInfo ImportAsLocalAlias = Add("OSSM2.ImportAsLocalAlias", CheckMode.Observed, "importAsLocal rule",
        "OSSM silently skips an importAsLocal rule whose nameSelector.alias.namespace is empty or '*' (only istiod's log says so).");
    internal static readonly CheckInfo ImportResolved = Add("OSSM2.ImportResolved", CheckMode.Observed, "ImportedServiceSet",
        "An import only works once the peer exports the service and a rule matches its exported namespace and name; istiod then lists the local host name in the status.");
    internal static readonly CheckInfo ImportedButUnused = Add("OSSM2.ImportedButUnused", CheckMode.Observed, "ImportedServiceSet",
        "The status lists every service the peer exports; an entry with an empty localService matched no import rule.");
    internal static readonly CheckInfo ProbeDiscovery = Add("OSSM2.ProbeDiscovery", CheckMode.Probe, "ServiceMeshPeer address",
        "Discovery (8188) is HTTPS through the peer's ingress gateway; it must accept connections and speak TLS from here.");
    internal static readonly CheckInfo ProbeService = Add("OSSM2.ProbeService", CheckMode.Probe, "ServiceMeshPeer address",
        "Service traffic (15443) is mutual TLS passed through the peer's ingress gateway by SNI; it must accept connections.");

    // ------------------------------------------------------------------ Istio styles, declared (offline)
    internal static readonly CheckInfo DeclaredSharedRoot = Add("ISTIO.SharedRoot", CheckMode.Declared, "control plane",
        "Workloads in different clusters trust each other only when every cluster's intermediate CA comes from one root (the OCM addon's Complete trust).");
    internal static readonly CheckInfo DeclaredNetworkDistinct = Add("ISTIO.NetworkDistinct", CheckMode.Declared, "multi-primary control plane",
        "In a multi-network mesh, istiod sends traffic for endpoints on another network to that network's east-west gateway; two clusters on one network would be dialled pod to pod.");
    internal static readonly CheckInfo DeclaredRemoteSecretBothWays = Add("ISTIO.RemoteSecretBothWays", CheckMode.Declared, "multi-primary peering",
        "Multi-primary: every istiod watches every other cluster's API server; one direction missing means that cluster never sees the other's endpoints.");
    internal static readonly CheckInfo DeclaredRemoteSecretReady = Add("ISTIO.RemoteSecretReady", CheckMode.Declared, "multi-primary peering",
        "The remote secret is a kubeconfig with the remote API server and a reader token (istioctl create-remote-secret); istiod cannot read the remote cluster without it.");
    internal static readonly CheckInfo DeclaredImportNotNeeded = Add("ISTIO.ImportNotNeeded", CheckMode.Declared, "multi-primary import",
        "Multi-primary clusters discover each other's endpoints through remote secrets; exposure is what the cross-network Gateway lists.");
    internal static readonly CheckInfo DeclaredExportExposed = Add("ISTIO.ExportExposed", CheckMode.Declared, "export",
        "The cross-network Gateway (AUTO_PASSTHROUGH on 15443) of the exporting cluster lists the hosts other networks may reach; only a peered cluster routes to it.");
    internal static readonly CheckInfo DeclaredVipUnique = Add("ISTIO.VipUnique", CheckMode.Declared, "multi-mesh importer",
        "Every .global host needs its own address in the importing cluster; sidecars capture traffic by that address.");
    internal static readonly CheckInfo DeclaredGatewayAddressKnown = Add("ISTIO.GatewayAddressKnown", CheckMode.Declared, "multi-mesh import",
        "The ServiceEntry's endpoints are the remote gateway's address on 15443; without them the host does not resolve to anything.");
    internal static readonly CheckInfo DeclaredGlobalImportResolves = Add("ISTIO.ImportResolves", CheckMode.Declared, "multi-mesh import",
        "The remote gateway passes through only the hosts its mesh exposes.");

    // ------------------------------------------------------------------ Istio styles, observed (live or snapshot)
    internal static readonly CheckInfo IstioReady = Add("ISTIO.IstioReady", CheckMode.Observed, "Istio control plane",
        "The Sail operator reports Ready only once istiod is running the current spec; status.observedGeneration tells whether the last change was taken up.");
    internal static readonly CheckInfo IstioCniReady = Add("ISTIO.IstioCNIReady", CheckMode.Observed, "Istio control plane",
        "OpenShift Service Mesh 3 needs the CNI node agent; pods are not redirected into their sidecars until IstioCNI is Ready at its current generation.");
    internal static readonly CheckInfo NetworkLabel = Add("ISTIO.NetworkLabel", CheckMode.Observed, "Istio control plane",
        "istiod takes a cluster's network from the topology.istio.io/network label of its namespace; it must equal values.global.network, or endpoints are put on the wrong network.");
    internal static readonly CheckInfo NetworkDistinct = Add("ISTIO.NetworkDistinct", CheckMode.Observed, "Istio control plane",
        "In a multi-network mesh, istiod sends traffic for endpoints on another network to that network's east-west gateway; two clusters on one network would be dialled pod to pod.");
    internal static readonly CheckInfo MeshId = Add("ISTIO.MeshId", CheckMode.Observed, "Istio control plane",
        "values.global.meshID must be the same in every cluster of a multi-primary mesh and different between federated meshes.");
    internal static readonly CheckInfo ClusterNameUnique = Add("ISTIO.ClusterNameUnique", CheckMode.Observed, "Istio control plane",
        "values.global.multiCluster.clusterName identifies a cluster in endpoints, locality and remote secrets; two clusters with one name overwrite each other's endpoints.");
    internal static readonly CheckInfo CaCerts = Add("ISTIO.CaCerts", CheckMode.Observed, "Istio control plane",
        "With a shared root, every cluster's istiod signs with its own intermediate from Secret cacerts (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem); without it istiod self-signs and no other cluster trusts it.");
    internal static readonly CheckInfo SharedRoot = Add("ISTIO.SharedRoot", CheckMode.Observed, "Istio control plane",
        "Workloads in different clusters trust each other only when their roots (istio-ca-root-cert, published by istiod) share a certificate; during a rotation the bundles overlap.");
    internal static readonly CheckInfo RemoteSecretBothWays = Add("ISTIO.RemoteSecretBothWays", CheckMode.Observed, "pair of multi-primary clusters",
        "Multi-primary: every istiod watches every other cluster's API server through a remote secret (label istio/multiCluster=true) named after that cluster; one direction missing means that cluster never sees the other's endpoints.");
    internal static readonly CheckInfo RemoteSecretUsable = Add("ISTIO.RemoteSecretUsable", CheckMode.Observed, "remote secret",
        "istiod connects with the kubeconfig in the remote secret and must be allowed to list services, endpoints and pods there; an expired or revoked token, a wrong CA or an unreachable server leaves the remote cluster's endpoints unknown.");
    internal static readonly CheckInfo EastWestGateway = Add("ISTIO.EastWestGateway", CheckMode.Observed, "Istio control plane",
        "Other networks reach this cluster's services through the east-west gateway (istio-eastwestgateway) on 15443; it needs an address they can reach.");
    internal static readonly CheckInfo ExportExposed = Add("ISTIO.ExportExposed", CheckMode.Observed, "Istio control plane",
        "The cross-network Gateway (AUTO_PASSTHROUGH on 15443) selects the east-west gateway and lists the hosts other networks may reach.");
    internal static readonly CheckInfo GlobalServiceEntry = Add("ISTIO.GlobalServiceEntry", CheckMode.Observed, ".global ServiceEntry",
        "A <name>.<namespace>.global ServiceEntry reaches the remote mesh only through the remote gateway's current address on port 15443.");
    internal static readonly CheckInfo VipUnique = Add("ISTIO.VipUnique", CheckMode.Observed, ".global ServiceEntry",
        "Every .global host needs its own address in the importing cluster; sidecars capture traffic by that address.");
    internal static readonly CheckInfo FailoverHost = Add("ISTIO.FailoverHost", CheckMode.Observed, "failover DestinationRule",
        "A locality failover DestinationRule applies to its host only; a host that names no Service fails over nothing, and failover needs outlierDetection.");
}
