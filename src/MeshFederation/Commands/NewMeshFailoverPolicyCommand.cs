using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// New-MeshFailoverPolicy: locality failover for a host in one control plane (seed 003): a DestinationRule with
/// localityLbSetting.failover from one region to another and the outlierDetection that failover needs.
/// </summary>
[Cmdlet(VerbsCommon.New, "MeshFailoverPolicy", HelpUri = HelpLinks.Docs + "New-MeshFailoverPolicy.md")]
[OutputType(typeof(MeshFailoverPolicy))]
public sealed class NewMeshFailoverPolicyCommand : MeshCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public MeshControlPlane ControlPlane { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Namespace { get; set; } = "";

    /// <summary>The host the rule applies to; <c>&lt;Name&gt;.&lt;Namespace&gt;.svc.cluster.local</c> when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ServiceHost { get; set; }

    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string FromRegion { get; set; } = "";

    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string ToRegion { get; set; } = "";

    [Parameter]
    [ValidateRange(1, 1000)]
    public int Consecutive5xxErrors { get; set; } = 1;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Interval { get; set; } = "1s";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string BaseEjectionTime { get; set; } = "1m";

    [Parameter]
    [ValidateSet("networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3")]
    public string ApiVersion { get; set; } = "networking.istio.io/v1";

    protected override void ProcessRecord()
    {
        MeshFailoverPolicy? policy = null;
        if (!Try(() => policy = Factory.Failover(new MeshFailoverPolicy
        {
            ControlPlane = ControlPlane,
            Name = Name,
            Namespace = Namespace,
            Host = ServiceHost ?? $"{Name}.{Namespace}.svc.cluster.local",
            FromRegion = FromRegion,
            ToRegion = ToRegion,
            Consecutive5xxErrors = Consecutive5xxErrors,
            Interval = Interval,
            BaseEjectionTime = BaseEjectionTime,
            ApiVersion = ApiVersion,
        }), ControlPlane)) return;
        WriteVerbose($"Failover in {ControlPlane.Name}: {policy}.");
        WriteObject(policy);
    }
}
