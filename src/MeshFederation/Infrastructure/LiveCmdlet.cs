using System.Management.Automation;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Topology;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Infrastructure;

/// <summary>Plumbing of the cmdlets that talk to clusters: input collection, connections, the async pump, Ctrl+C, errors.</summary>
public abstract class LiveCmdlet : MeshCmdlet, IDisposable
{
    protected const string ByObject = "InputObject";
    protected const string ByPath = "Path";
    private readonly CancellationTokenSource _stop = new();
    private readonly List<object> _items = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public object[] InputObject { get; set; } = Array.Empty<object>();

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByPath)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>A kubeconfig file to use instead of each control plane's own ($KUBECONFIG, ~/.kube/config).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>Use the pod's service account (in-cluster configuration) for clusters without a kubeconfig of their own.</summary>
    [Parameter]
    public SwitchParameter InCluster { get; set; }

    protected CancellationToken Cancellation => _stop.Token;

    protected override void ProcessRecord()
    {
        foreach (var o in InputObject) _items.Add(o is PSObject ps ? ps.BaseObject : o);
    }

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>The federation to work on, from the pipeline or the topology file; null after reporting errors.</summary>
    protected FederationSet? LoadSet()
    {
        var set = new FederationSet();
        if (ParameterSetName == ByPath)
        {
            var path = GetUnresolvedProviderPathFromPSPath(Path);
            return Try(() => set = TopologyLoader.LoadFile(path, Yaml), Path) ? set : null;
        }
        return Try(() => { foreach (var o in _items) set.Add(o); }, _items) ? set : null;
    }

    protected ClusterConnections Connect(CmdletLog log) =>
        new(Yaml, KubeConfig is null ? null : GetUnresolvedProviderPathFromPSPath(KubeConfig), new KubeClientOptions(), log, InCluster.IsPresent);

    /// <summary>Runs engine work with progress and messages written here, Ctrl+C honoured and failures as ErrorRecords.</summary>
    protected bool Run<T>(CmdletLog log, Func<Task<T>> work, out T? result) => RunLive(log, _stop, work, out result);

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
