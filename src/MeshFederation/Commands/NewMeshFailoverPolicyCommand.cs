using System.Collections;
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
    [ArgumentCompleter(typeof(NamespaceCompleter))]
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

    /// <summary>outlierDetection.interval: how often hosts are checked for ejection.</summary>
    [Parameter]
    [TimeSpanArgument]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>outlierDetection.baseEjectionTime: how long an ejected host stays out at first.</summary>
    [Parameter]
    [TimeSpanArgument]
    public TimeSpan BaseEjectionTime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>trafficPolicy.connectionPool, e.g. @{ http = @{ maxRequestsPerConnection = 1 } } (istio.io's failover task).</summary>
    [Parameter]
    public Hashtable? ConnectionPool { get; set; }

    /// <summary>trafficPolicy.loadBalancer.simple.</summary>
    [Parameter]
    [ValidateSet("UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST")]
    public string? LoadBalancer { get; set; }

    /// <summary>Default: networking.istio.io/v1 for the Istio styles, v1beta1 for OSSM 2.</summary>
    [Parameter]
    [ValidateSet("networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3")]
    public string? ApiVersion { get; set; }

    protected override void ProcessRecord()
    {
        if (Interval <= TimeSpan.Zero || BaseEjectionTime <= TimeSpan.Zero || Interval.Ticks % TimeSpan.TicksPerMillisecond != 0 || BaseEjectionTime.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            WriteError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(Interval)), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, ControlPlane)
            { ErrorDetails = new ErrorDetails($"Interval = '{Interval}', BaseEjectionTime = '{BaseEjectionTime}': must be positive whole milliseconds.") { RecommendedAction = "give durations such as 1s and 1m" } });
            return;
        }
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
            Interval = TimeSpanArgumentAttribute.ToGoDuration(Interval),
            BaseEjectionTime = TimeSpanArgumentAttribute.ToGoDuration(BaseEjectionTime),
            ConnectionPool = PSConvert.ToJsonObject(ConnectionPool)?.ToJsonString(),
            LoadBalancer = LoadBalancer,
            ApiVersion = ApiVersion!,
        }), ControlPlane)) return;
        WriteVerbose($"Failover in {ControlPlane.Name}: {policy}.");
        WriteObject(policy);
    }
}
