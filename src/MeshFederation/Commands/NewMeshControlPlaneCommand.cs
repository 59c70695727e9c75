using System.Collections;
using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// New-MeshControlPlane: declares a service-mesh control plane; naming several clusters gives one control plane per
/// cluster, named &lt;cluster&gt;-&lt;name&gt; (the OCM MeshDeployment template).
/// </summary>
[Cmdlet(VerbsCommon.New, "MeshControlPlane")]
[OutputType(typeof(MeshControlPlane))]
public sealed class NewMeshControlPlaneCommand : MeshCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Namespace { get; set; }

    /// <summary>Name of the ServiceMeshControlPlane (OSSM 2) or Sail Istio resource; the mesh name / <c>default</c> when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? ControlPlaneName { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Cluster { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string? Context { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    [Parameter]
    public MeshStyle Style { get; set; } = MeshStyle.Ossm2;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Version { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TrustDomain { get; set; }

    [Parameter]
    [Alias("Member")]
    public string[] MemberNamespace { get; set; } = Array.Empty<string>();

    [Parameter]
    public GatewayExposure GatewayExposure { get; set; } = GatewayExposure.LoadBalancer;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IngressGatewayName { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? EgressGatewayName { get; set; }

    [Parameter]
    public Hashtable? IngressAddress { get; set; }

    [Parameter]
    public string[] NodeAddress { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateRange(30000, 32767)]
    public int? NodePortBase { get; set; }

    [Parameter]
    public Hashtable? IngressServiceAnnotation { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RootCertificate { get; set; }

    [Parameter]
    public Hashtable? SpecOverride { get; set; }

    /// <summary>Istio styles: each cluster's network, in the order of -Cluster.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Network { get; set; }

    /// <summary>Istio styles: the API server address remote secrets point at, in the order of -Cluster.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ApiServer { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? MeshId { get; set; }

    [Parameter]
    [ValidateSet("sailoperator.io/v1", "sailoperator.io/v1alpha1")]
    public string? SailApiVersion { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? VipRange { get; set; }

    protected override void ProcessRecord()
    {
        var names = Cluster is { Length: > 0 } ? Cluster : (Context ?? KubeConfig ?? (object?)Network ?? ApiServer) is not null ? new[] { Name } : Array.Empty<string>();
        IReadOnlyList<ClusterBinding> clusters = Array.Empty<ClusterBinding>();
        if (!Try(() => clusters = Factory.Clusters(names, Context, KubeConfig, Network, ApiServer), Name)) return;
        var request = new ControlPlaneRequest
        {
            Name = Name,
            Namespace = Namespace,
            ControlPlaneName = ControlPlaneName,
            Clusters = clusters,
            Style = Style,
            Version = Version,
            TrustDomain = TrustDomain,
            MemberNamespaces = MemberNamespace,
            GatewayExposure = GatewayExposure,
            IngressGatewayTemplate = IngressGatewayName,
            EgressGatewayTemplate = EgressGatewayName,
            IngressAddresses = PSConvert.ToListMap(IngressAddress),
            NodeAddresses = NodeAddress,
            NodePortBase = NodePortBase,
            IngressServiceAnnotations = ToStringMap(IngressServiceAnnotation),
            RootCertificate = RootCertificate,
            SpecOverrides = PSConvert.ToJsonObject(SpecOverride),
            MeshId = MeshId,
            SailApiVersion = SailApiVersion,
            VipRange = VipRange,
        };
        IReadOnlyList<MeshControlPlane> result = Array.Empty<MeshControlPlane>();
        if (!Try(() => result = Factory.ControlPlanes(request), Name)) return;
        foreach (var cp in result)
        {
            WriteVerbose(cp.Style == MeshStyle.Ossm2
                ? $"Control plane {cp.Name} in namespace {cp.Namespace} of cluster {cp.Cluster}, trust domain {cp.TrustDomain}, {cp.GatewayExposure} gateways."
                : $"{cp.Style} control plane {cp.Name} (Istio {cp.Version}, {cp.SailApiVersion}) in {cp.Namespace} of cluster {cp.Cluster}, mesh ID {cp.MeshId}, network {cp.Network}.");
            WriteObject(cp);
        }
    }
}
