using System.Collections;
using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// New-MeshControlPlane: declares a service-mesh control plane; naming several clusters gives one control plane per
/// cluster, named &lt;cluster&gt;-&lt;name&gt; (the OCM MeshDeployment template).
/// </summary>
[Cmdlet(VerbsCommon.New, "MeshControlPlane", HelpUri = HelpLinks.Docs + "New-MeshControlPlane.md")]
[OutputType(typeof(MeshControlPlane))]
public sealed class NewMeshControlPlaneCommand : MeshCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    /// <summary>Name of the ServiceMeshControlPlane (OSSM 2) or Sail Istio resource; the mesh name / <c>default</c> when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ControlPlaneName { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ClusterOrContextCompleter))]
    public string[]? Cluster { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string? Context { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? KubeConfig { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public MeshStyle Style { get; set; } = MeshStyle.Ossm2;

    /// <summary>SMCP / Sail spec.version; an empty string leaves it out (the operator installs its default).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string? Version { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? TrustDomain { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Member")]
    public string[] MemberNamespace { get; set; } = Array.Empty<string>();

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public GatewayExposure GatewayExposure { get; set; } = GatewayExposure.LoadBalancer;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? IngressGatewayName { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? EgressGatewayName { get; set; }

    [Parameter]
    public Hashtable? IngressAddress { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string[] NodeAddress { get; set; } = Array.Empty<string>();

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(30000, 32767)]
    public int? NodePortBase { get; set; }

    [Parameter]
    public Hashtable? IngressServiceAnnotation { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? RootCertificate { get; set; }

    [Parameter]
    public Hashtable? SpecOverride { get; set; }

    /// <summary>OSSM 2: fields merged into every per-peer federation gateway (merge-patch; $null removes a rendered field).</summary>
    [Parameter]
    public Hashtable? GatewayOverride { get; set; }

    /// <summary>OSSM 2: value of the ingress-for / egress-for labels, the peer name (default) or the gateway name.</summary>
    [Parameter]
    public GatewayForLabel GatewayForLabel { get; set; } = GatewayForLabel.Peer;

    /// <summary>Istio styles: each cluster's network, in the order of -Cluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Network { get; set; }

    /// <summary>Istio styles: the API server address remote secrets point at, in the order of -Cluster.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? ApiServer { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? MeshId { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet("sailoperator.io/v1", "sailoperator.io/v1alpha1")]
    public string? SailApiVersion { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? VipRange { get; set; }

    private static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    protected override void ProcessRecord()
    {
        var context = Given(Context);
        // The kubeconfig is resolved now, against $PWD (and drives, ~), not later against the process directory.
        string? kubeconfig = null;
        if (Given(KubeConfig) is { } k && (kubeconfig = ResolveOne(k, literal: false, nameof(KubeConfig))) is null) return;
        var names = Cluster is { Length: > 0 } ? Cluster : (context ?? kubeconfig ?? (object?)Network ?? ApiServer) is not null ? new[] { Name } : Array.Empty<string>();
        IReadOnlyList<ClusterBinding> clusters = Array.Empty<ClusterBinding>();
        if (!Try(() => clusters = Factory.Clusters(names, context, kubeconfig, Network, ApiServer), Name)) return;
        var request = new ControlPlaneRequest
        {
            Name = Name,
            Namespace = Given(Namespace),
            ControlPlaneName = Given(ControlPlaneName),
            Clusters = clusters,
            Style = Style,
            Version = Version,
            TrustDomain = Given(TrustDomain),
            MemberNamespaces = MemberNamespace,
            GatewayExposure = GatewayExposure,
            IngressGatewayTemplate = Given(IngressGatewayName),
            EgressGatewayTemplate = Given(EgressGatewayName),
            IngressAddresses = PSConvert.ToListMap(IngressAddress),
            NodeAddresses = NodeAddress,
            NodePortBase = NodePortBase,
            IngressServiceAnnotations = ToStringMap(IngressServiceAnnotation),
            RootCertificate = Given(RootCertificate),
            SpecOverrides = PSConvert.ToJsonObject(SpecOverride),
            GatewayOverrides = PSConvert.ToJsonObject(GatewayOverride),
            GatewayForLabel = GatewayForLabel,
            MeshId = Given(MeshId),
            SailApiVersion = SailApiVersion,
            VipRange = Given(VipRange),
        };
        IReadOnlyList<MeshControlPlane> result = Array.Empty<MeshControlPlane>();
        if (!Try(() => result = Factory.ControlPlanes(request), Name)) return;
        foreach (var cp in result)
        {
            WriteVerbose(cp.Style == MeshStyle.Ossm2
                ? $"Control plane {cp.Name} in namespace {cp.Namespace} of cluster {cp.Cluster}, trust domain {cp.TrustDomain}, {cp.GatewayExposure} gateways."
                : cp.Style == MeshStyle.Ossm3Federation
                    ? $"OSSM 3 federation control plane {cp.Name} (Istio {cp.Version}) in {cp.Namespace} of cluster {cp.Cluster}, trust domain {cp.TrustDomain}, network {cp.Network}."
                    : $"{cp.Style} control plane {cp.Name} (Istio {cp.Version}, {cp.SailApiVersion}) in {cp.Namespace} of cluster {cp.Cluster}, mesh ID {cp.MeshId}, network {cp.Network}.");
            WriteObject(cp);
        }
    }
}
