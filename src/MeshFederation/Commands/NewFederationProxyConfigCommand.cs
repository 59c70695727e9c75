using System.Collections;
using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Proxy;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// New-FederationProxyConfig: the bare-metal proxy of seed 000. Takes NodePort peerings (collected from the pipeline)
/// and returns the port map the ServiceMeshPeers point at plus the haproxy configuration.
/// </summary>
[Cmdlet(VerbsCommon.New, "FederationProxyConfig", HelpUri = HelpLinks.Docs + "New-FederationProxyConfig.md", DefaultParameterSetName = SharedHost)]
[OutputType(typeof(FederationProxyConfig))]
public sealed class NewFederationProxyConfigCommand : MeshCmdlet
{
    private const string SharedHost = "SharedHost";
    private const string PerCluster = "PerCluster";
    private readonly List<MeshPeering> _peerings = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public MeshPeering[] Peering { get; set; } = Array.Empty<MeshPeering>();

    /// <summary>The host running haproxy for every cluster (seed 000's PROXY_HOST).</summary>
    [Parameter(Mandatory = true, ParameterSetName = SharedHost)]
    [ValidateNotNullOrEmpty]
    public string ProxyHost { get; set; } = "";

    /// <summary>Address per mesh name (seed 000's MESH1_ADDRESS / MESH2_ADDRESS).</summary>
    [Parameter(Mandatory = true, ParameterSetName = PerCluster)]
    public Hashtable? ClusterAddress { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string FirewallZone { get; set; } = "libvirt";

    /// <summary>How long an idle federation connection is kept (haproxy timeout client/server): 1s to 1d.</summary>
    [Parameter]
    [TimeSpanArgument]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Time between health checks of each backend node: 100ms to 10m.</summary>
    [Parameter]
    [TimeSpanArgument]
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Read node addresses and the node ports the clusters assigned from the clusters themselves.</summary>
    [Parameter]
    public SwitchParameter FromCluster { get; set; }

    /// <summary>Kubeconfig for -FromCluster, instead of each control plane's own.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    protected override void ProcessRecord() => _peerings.AddRange(Peering);

    protected override void EndProcessing()
    {
        if (!InRange(IdleTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), nameof(IdleTimeout), "1s and 1d", TimeSpan.TicksPerSecond)
            || !InRange(HealthCheckInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10), nameof(HealthCheckInterval), "100ms and 10m", TimeSpan.TicksPerMillisecond)) return;
        var options = new ProxyOptions
        {
            Mode = ParameterSetName == PerCluster ? ProxyMode.PerCluster : ProxyMode.SharedHost,
            ProxyHost = ParameterSetName == SharedHost ? ProxyHost : null,
            ClusterAddresses = ToStringMap(ClusterAddress),
            FirewallZone = FirewallZone,
            IdleTimeoutSeconds = (int)IdleTimeout.TotalSeconds,
            HealthCheckIntervalMs = (int)HealthCheckInterval.TotalMilliseconds,
        };
        IReadOnlyList<MeshPeering> peerings = _peerings;
        if (FromCluster.IsPresent)
        {
            if (!TryResolveKubeConfig(KubeConfig, out var kubeconfig)) return;
            using var log = new CmdletLog();
            using var connections = new Engine.Live.ClusterConnections(Yaml, kubeconfig, null, log);
            var live = new Engine.Live.LiveFederation(connections, null, log);
            IReadOnlyList<MeshPeering> readPeerings = _peerings;
            IReadOnlyDictionary<(string Mesh, string Peer), GatewayNodePorts> readPorts = new Dictionary<(string Mesh, string Peer), GatewayNodePorts>();
            if (!Try(() => (readPeerings, readPorts) = log.Pump(this, () => live.ReadProxyInputsAsync(_peerings, CancellationToken.None)), _peerings)) return;
            peerings = readPeerings;
            options = options with { NodePortOverrides = readPorts };
        }
        FederationProxyConfig? config = null;
        if (!Try(() => config = ProxyBuilder.Build(peerings, options), _peerings)) return;
        foreach (var m in config!.PortMap)
            WriteVerbose($"{m.FrontendAddress}:{m.FrontendPort} -> {m.TargetMesh} {m.Gateway} {m.Kind} (node port {m.NodePort}) on {m.Backends.Count} nodes");
        WriteObject(config);
    }

    private bool InRange(TimeSpan value, TimeSpan min, TimeSpan max, string parameter, string range, long unitTicks)
    {
        if (value >= min && value <= max && value.Ticks % unitTicks == 0) return true;
        WriteError(new ErrorRecord(new ArgumentOutOfRangeException(parameter), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, value)
        {
            ErrorDetails = new ErrorDetails($"{parameter} = '{value}': must be between {range}{(unitTicks == TimeSpan.TicksPerSecond ? " in whole seconds" : " in whole milliseconds")}.")
            { RecommendedAction = $"give a duration between {range}, e.g. {(parameter == nameof(IdleTimeout) ? "1h" : "2s")}" },
        });
        return false;
    }
}
