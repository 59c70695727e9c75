using System.Management.Automation;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Topology;

namespace MeshFederation.Infrastructure;

/// <summary>Plumbing of the cmdlets that talk to clusters: input collection, connections, the async pump, Ctrl+C, errors.</summary>
public abstract class LiveCmdlet : MeshCmdlet, IDisposable
{
    protected const string ByObject = "InputObject";
    protected const string ByPath = "Path";
    protected const string ByLiteralPath = "LiteralPath";
    private readonly CancellationTokenSource _stop = new();
    private readonly List<object> _items = new();
    private readonly List<string> _files = new();

    /// <summary>Federation objects, or topology files (Get-Item, Get-ChildItem).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public object[] InputObject { get; set; } = Array.Empty<object>();

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByPath)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ByLiteralPath, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

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
        if (ParameterSetName == ByObject)
        {
            foreach (var o in InputObject)
            {
                // A topology file piped in (Get-Item x.yaml | Sync-MeshFederation) is read like -LiteralPath.
                if ((o is PSObject ps ? ps.BaseObject : o) is FileInfo file) _files.Add(file.FullName);
                else _items.Add(o is PSObject p ? p.BaseObject : o);
            }
        }
        else if (ResolveOne(ParameterSetName == ByPath ? Path : LiteralPath, ParameterSetName == ByLiteralPath, ParameterSetName) is { } file)
            _files.Add(file);
    }

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>The topology files given (-Path, -LiteralPath, or piped FileInfo): inputs never to overwrite.</summary>
    protected IReadOnlyList<string> InputFiles() => _files;

    /// <summary>The federation to work on, from the pipeline or the topology files; null after reporting errors.</summary>
    protected FederationSet? LoadSet()
    {
        var set = new FederationSet();
        var ok = true;
        foreach (var file in _files)
            ok &= Try(() => set.Add(TopologyLoader.LoadFile(file, Yaml)), file, reading: true);
        foreach (var o in _items)
            ok &= Try(() => set.Add(o), o);
        return ok && (_files.Count > 0 || _items.Count > 0) ? set : null;
    }

    protected ClusterConnections? Connect(CmdletLog log) =>
        TryResolveKubeConfig(KubeConfig, out var kubeconfig) ? new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions(), log, InCluster.IsPresent) : null;

    /// <summary>Runs engine work with progress and messages written here, Ctrl+C honoured and failures as ErrorRecords.</summary>
    protected bool Run<T>(CmdletLog log, Func<Task<T>> work, out T? result) => RunLive(log, _stop, work, out result);

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
