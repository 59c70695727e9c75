namespace MeshFederation.Engine.Model;

/// <summary>The federation style a control plane takes part in.</summary>
public enum MeshStyle
{
    /// <summary>OpenShift Service Mesh 2.x (Maistra): SMCP gateways, ServiceMeshPeer, Exported/ImportedServiceSet.</summary>
    Ossm2,

    /// <summary>
    /// Istio multi-primary, multi-network (OSSM 3 / Sail operator): one mesh ID over several clusters, a shared root
    /// CA, an east-west gateway and a network per cluster, remote secrets between the clusters (seed 003).
    /// </summary>
    MultiPrimary,

    /// <summary>Independent Istio meshes with a shared root CA, joined by <c>&lt;name&gt;.&lt;ns&gt;.global</c> ServiceEntries (seed 004).</summary>
    MultiMesh,

    /// <summary>
    /// OpenShift Service Mesh 3 meshes with separate trust domains and roots, joined by manual service discovery: the
    /// successor of OSSM 2 federation in Red Hat's Federation-to-Multi-Cluster migration guide (east-west Gateway API
    /// gateway, AUTO_PASSTHROUGH Istio Gateway, istio-remote Gateways, ServiceEntry + WorkloadEntry per imported service,
    /// trustDomainAliases and caCertificates in the Sail Istio resource).
    /// </summary>
    Ossm3Federation,
}

/// <summary>What installed a control plane, as discovered in a cluster.</summary>
public enum MeshProvider
{
    /// <summary>A ServiceMeshControlPlane of the OpenShift Service Mesh 2 operator.</summary>
    OpenShiftServiceMesh2,
    /// <summary>An Istio resource of the Sail operator (OpenShift Service Mesh 3).</summary>
    SailOperator,
    /// <summary>A plain istiod Deployment (Helm or istioctl).</summary>
    Istiod,
}

/// <summary>How a mesh exposes its federation ingress gateways to its peers.</summary>
public enum GatewayExposure
{
    /// <summary>A LoadBalancer Service per peer ingress (clouds, MetalLB).</summary>
    LoadBalancer,
    /// <summary>A NodePort Service per peer ingress, usually behind haproxy (bare metal, libvirt, z/VM).</summary>
    NodePort,
}

/// <summary>Outcome of one check.</summary>
public enum CheckStatus
{
    Pass,
    Warn,
    Fail,
    Skip,
}

/// <summary>How a traffic-split match compares the request URI.</summary>
public enum UriMatchKind
{
    Exact,
    Prefix,
    Regex,
}

/// <summary>The value of the <c>federation.maistra.io/ingress-for</c> / <c>egress-for</c> label of a peer's federation gateway Services.</summary>
public enum GatewayForLabel
{
    /// <summary>The peer's mesh name, as the maistra federation sample and the OCM addon write it (<c>egress-for: mesh2</c>).</summary>
    Peer,
    /// <summary>The gateway's own name, as the OpenShift docs and seed 001 write it (<c>egress-for: egress-green-mesh</c>).</summary>
    Gateway,
}
