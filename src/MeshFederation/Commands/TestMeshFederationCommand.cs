using System.Management.Automation;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Topology;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Test-MeshFederation: runs the federation checks and emits one result per check. Offline (the default) it checks
/// the declared objects; with -Live it reads the clusters they are bound to; with -Context it checks whatever meshes
/// run there; with -Snapshot it checks objects saved with kubectl get -o yaml. -Probe adds network probes.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "MeshFederation", DefaultParameterSetName = ByObject)]
[OutputType(typeof(MeshCheckResult))]
public sealed class TestMeshFederationCommand : MeshCmdlet, IDisposable
{
    private const string ByObject = "InputObject";
    private const string ByPath = "Path";
    private const string BySnapshot = "Snapshot";
    private const string ByContext = "Context";
    private readonly List<object> _items = new();
    private readonly CancellationTokenSource _stop = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public object[] InputObject { get; set; } = Array.Empty<object>();

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByPath)]
    [Parameter(ParameterSetName = BySnapshot)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>A folder of objects saved with kubectl get -o yaml, one sub-folder per cluster.</summary>
    [Parameter(Mandatory = true, ParameterSetName = BySnapshot)]
    [ValidateNotNullOrEmpty]
    public string Snapshot { get; set; } = "";

    /// <summary>Check the meshes running in these kubeconfig contexts.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByContext)]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string[] Context { get; set; } = Array.Empty<string>();

    /// <summary>Read the clusters the objects are bound to instead of checking the declaration alone.</summary>
    [Parameter(ParameterSetName = ByObject)]
    [Parameter(ParameterSetName = ByPath)]
    public SwitchParameter Live { get; set; }

    /// <summary>Also probe every remote discovery and service port from here (TCP, then TLS on discovery).</summary>
    [Parameter(ParameterSetName = ByObject)]
    [Parameter(ParameterSetName = ByPath)]
    [Parameter(ParameterSetName = ByContext)]
    public SwitchParameter Probe { get; set; }

    [Parameter(ParameterSetName = ByObject)]
    [Parameter(ParameterSetName = ByPath)]
    [Parameter(ParameterSetName = ByContext)]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>The time sync ages are measured against (for a snapshot: when it was taken). Default: when each object was read.</summary>
    [Parameter]
    public DateTime? AsOf { get; set; }

    /// <summary>A last full sync older than this is a warning (default: two resync periods, 2 minutes).</summary>
    [Parameter]
    public TimeSpan? SyncWarnAfter { get; set; }

    /// <summary>A last full sync older than this is a failure (default: ten resync periods, 10 minutes).</summary>
    [Parameter]
    public TimeSpan? SyncFailAfter { get; set; }

    /// <summary>Emit only failures and warnings.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var o in InputObject) _items.Add(o is PSObject ps ? ps.BaseObject : o);
    }

    protected override void StopProcessing() => _stop.Cancel();

    protected override void EndProcessing()
    {
        FederationSet? set = null;
        if (ParameterSetName == ByPath || (ParameterSetName == BySnapshot && MyInvocation.BoundParameters.ContainsKey(nameof(Path))))
        {
            var path = GetUnresolvedProviderPathFromPSPath(Path);
            if (!Try(() => set = TopologyLoader.LoadFile(path, Yaml), Path)) return;
        }
        else if (ParameterSetName == ByObject)
        {
            set = new FederationSet();
            if (!Try(() => { foreach (var o in _items) set.Add(o); }, _items)) return;
        }

        var options = new CheckOptions
        {
            Now = AsOf is { } t ? new DateTimeOffset(t.ToUniversalTime(), TimeSpan.Zero) : null,
            SyncWarnAfter = SyncWarnAfter, SyncFailAfter = SyncFailAfter, Yaml = Yaml,
        };
        IReadOnlyList<MeshCheckResult>? results;
        try
        {
            results = Check(set, options);
        }
        catch (NoMeshFoundException ex)
        {
            // Nothing to check is an error, never an empty (passing) report.
            WriteError(ErrorIds.Record(ex.Problem, Snapshot.Length > 0 ? Snapshot : Context.Length > 0 ? string.Join(",", Context) : Path));
            return;
        }
        if (results is null) return;
        foreach (var r in results)
            if (!Quiet.IsPresent || r.Status is CheckStatus.Fail or CheckStatus.Warn) WriteObject(r);
        WriteVerbose($"{results.Count} checks: {results.Count(r => r.Status == CheckStatus.Pass)} passed, {results.Count(r => r.Status == CheckStatus.Fail)} failed, {results.Count(r => r.Status == CheckStatus.Warn)} warnings.");
    }

    /// <summary>The checks this invocation asks for; null when errors were reported.</summary>
    private IReadOnlyList<MeshCheckResult>? Check(FederationSet? set, CheckOptions options)
    {
        if (ParameterSetName is ByObject or ByPath && !Live.IsPresent) return FederationChecks.Run(set!);
        using var log = new CmdletLog();
        using var connections = new ClusterConnections(Yaml, KubeConfig is null ? null : GetUnresolvedProviderPathFromPSPath(KubeConfig), new KubeClientOptions(), log);
        var snapshot = ParameterSetName == BySnapshot ? GetUnresolvedProviderPathFromPSPath(Snapshot) : null;
        var clusters = ParameterSetName == ByContext
            ? Context.Select(c => new ClusterBinding(c) { Context = c }).ToList()
            : set?.ControlPlanes.Select(c => c.Cluster).ToList() ?? new List<ClusterBinding>();
        return RunLive(log, _stop, () => snapshot is not null
                ? MeshChecks.RunSnapshotAsync(snapshot, Yaml, set, options, _stop.Token)
                : MeshChecks.RunLiveAsync(set, clusters, connections, options, Probe.IsPresent, log, _stop.Token), out var live) ? live : null;
    }

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
