using System.Collections.Concurrent;
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
/// Each topology file (piped, given with -Path, or the origin of objects from Import-MeshTopology) is its own
/// federation; objects built in the session form one. -Quiet answers $true or $false.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "MeshFederation", HelpUri = HelpLinks.Docs + "Test-MeshFederation.md", DefaultParameterSetName = ByObject)]
[OutputType(typeof(MeshCheckResult), typeof(bool))]
public sealed class TestMeshFederationCommand : MeshCmdlet, IDisposable
{
    private const string ByObject = "InputObject";
    private const string ByPath = "Path";
    private const string ByLiteralPath = "LiteralPath";
    private const string BySnapshot = "Snapshot";
    private const string ByContext = "Context";
    private const string ByOcmHub = "OcmHub";
    private readonly List<(string? Topology, object Item)> _items = new();
    private readonly List<string> _files = new();
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Federation objects, or topology files (Get-Item, Get-ChildItem).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public object[] InputObject { get; set; } = Array.Empty<object>();

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByPath)]
    [Parameter(ParameterSetName = BySnapshot)]
    [Parameter(ParameterSetName = ByOcmHub)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ByLiteralPath, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

    /// <summary>A folder of objects saved with kubectl get -o yaml, one sub-folder per cluster.</summary>
    [Parameter(Mandatory = true, ParameterSetName = BySnapshot)]
    [ValidateNotNullOrEmpty]
    public string Snapshot { get; set; } = "";

    /// <summary>Check the meshes running in these kubeconfig contexts.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByContext)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string[] Context { get; set; } = Array.Empty<string>();

    /// <summary>Check through an Open Cluster Management hub (this kubeconfig context): the status feedback of the ManifestWorks Export-MeshManifest -Format Ocm wrote.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByOcmHub)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string OcmHub { get; set; } = "";

    /// <summary>Read the clusters the objects are bound to instead of checking the declaration alone.</summary>
    [Parameter(ParameterSetName = ByObject)]
    [Parameter(ParameterSetName = ByPath)]
    [Parameter(ParameterSetName = ByLiteralPath)]
    public SwitchParameter Live { get; set; }

    /// <summary>Also probe every remote discovery and service port from here (TCP, then TLS on discovery).</summary>
    [Parameter(ParameterSetName = ByObject)]
    [Parameter(ParameterSetName = ByPath)]
    [Parameter(ParameterSetName = ByLiteralPath)]
    [Parameter(ParameterSetName = ByContext)]
    public SwitchParameter Probe { get; set; }

    [Parameter(ParameterSetName = ByObject)]
    [Parameter(ParameterSetName = ByPath)]
    [Parameter(ParameterSetName = ByLiteralPath)]
    [Parameter(ParameterSetName = ByContext)]
    [Parameter(ParameterSetName = ByOcmHub)]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>Use the pod's service account (in-cluster configuration) for clusters without a kubeconfig of their own.</summary>
    [Parameter(ParameterSetName = ByObject)]
    [Parameter(ParameterSetName = ByPath)]
    [Parameter(ParameterSetName = ByLiteralPath)]
    [Parameter(ParameterSetName = ByContext)]
    [Parameter(ParameterSetName = ByOcmHub)]
    public SwitchParameter InCluster { get; set; }

    /// <summary>The time sync ages are measured against (for a snapshot: when it was taken). Default: when each object was read.</summary>
    [Parameter]
    public DateTime? AsOf { get; set; }

    /// <summary>A last full sync older than this is a warning (default: two resync periods, 2 minutes).</summary>
    [Parameter]
    public TimeSpan? SyncWarnAfter { get; set; }

    /// <summary>A last full sync older than this is a failure (default: ten resync periods, 10 minutes).</summary>
    [Parameter]
    public TimeSpan? SyncFailAfter { get; set; }

    /// <summary>Answer $true when no check fails and $false otherwise, instead of emitting the results.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case ByObject:
                foreach (var o in InputObject)
                {
                    // The binder may hand over the base object; its note properties are found through AsPSObject.
                    var ps = PSObject.AsPSObject(o);
                    var item = ps.BaseObject;
                    if (item is FileInfo file) _files.Add(file.FullName);
                    else _items.Add((ps.Properties[ImportMeshTopologyCommand.TopologyProperty]?.Value as string, item));
                }
                break;
            case ByPath:
                _files.AddRange(ResolveExisting(Path, literal: false, nameof(Path)));
                break;
            case ByLiteralPath:
                _files.AddRange(ResolveExisting(LiteralPath, literal: true, nameof(LiteralPath)));
                break;
        }
    }

    protected override void StopProcessing() => _stop.Cancel();

    protected override void EndProcessing()
    {
        var options = new CheckOptions
        {
            Now = AsOf is { } t ? new DateTimeOffset(t.ToUniversalTime(), TimeSpan.Zero) : null,
            SyncWarnAfter = SyncWarnAfter, SyncFailAfter = SyncFailAfter, Yaml = Yaml,
        };
        if (!TryResolveKubeConfig(KubeConfig, out var kubeconfig)) return;
        var all = new List<MeshCheckResult>();

        if (ParameterSetName == ByOcmHub)
        {
            FederationSet? intended = null;
            if (MyInvocation.BoundParameters.ContainsKey(nameof(Path)))
            {
                if (ResolveOne(Path, literal: false, nameof(Path)) is not { } file || !Try(() => intended = TopologyLoader.LoadFile(file, Yaml), Path, reading: true)) return;
            }
            using var log = new CmdletLog();
            using var connections = new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions(), log, InCluster.IsPresent);
            var hubResults = default(IReadOnlyList<MeshCheckResult>);
            try
            {
                if (!RunLive(log, _stop, () => Engine.Distribution.OcmHubChecks.RunAsync(connections.For(new ClusterBinding(OcmHub) { Context = OcmHub }), OcmHub, intended, options, _stop.Token), out hubResults)) return;
            }
            catch (Exception ex) when (ex is KubeApiException or Engine.Validation.MeshFederationException or HttpRequestException)
            {
                WriteError(ContextFailure(OcmHub, ex));
                return;
            }
            Emit(hubResults!, null, all);
        }
        else if (ParameterSetName is BySnapshot or ByContext)
        {
            FederationSet? intended = null;
            if (MyInvocation.BoundParameters.ContainsKey(nameof(Path)))
            {
                if (ResolveOne(Path, literal: false, nameof(Path)) is not { } file || !Try(() => intended = TopologyLoader.LoadFile(file, Yaml), Path, reading: true)) return;
            }
            var clusters = ParameterSetName == ByContext ? Context.Distinct(StringComparer.Ordinal).Select(c => new ClusterBinding(c) { Context = c }).ToList() : new List<ClusterBinding>();
            string? snapshot = null;
            if (ParameterSetName == BySnapshot && (snapshot = ResolveOne(Snapshot, literal: false, nameof(Snapshot))) is null) return;
            if (!Observe(intended, clusters, snapshot, kubeconfig, options, out var results)) return;
            Emit(results!, null, all);
        }
        else
        {
            // Each topology file is its own federation; objects built in the session (no file) form one.
            var groups = new List<(string? Topology, FederationSet Set)>();
            foreach (var file in _files)
            {
                FederationSet? set = null;
                if (Try(() => set = TopologyLoader.LoadFile(file, Yaml), file, reading: true)) groups.Add((file, set!));
            }
            // Session objects without a control plane of their own (a certificate authority, say) piped beside the
            // objects of one topology file belong to that federation.
            var items = _items;
            var fileGroups = _items.Select(i => i.Topology).Where(t => t is not null).Distinct(StringComparer.Ordinal).ToList();
            if (fileGroups.Count == 1 && _files.Count == 0 && !_items.Any(i => i.Topology is null && i.Item is MeshControlPlane))
                items = _items.Select(i => (Topology: i.Topology ?? fileGroups[0], i.Item)).ToList();
            foreach (var g in items.GroupBy(i => i.Topology, StringComparer.Ordinal))
            {
                var set = new FederationSet();
                var ok = true;
                foreach (var (_, item) in g) ok &= Try(() => set.Add(item), item);
                if (ok) groups.Add((g.Key, set));
            }
            foreach (var (topology, set) in groups)
            {
                if (!Live.IsPresent)
                {
                    Emit(FederationChecks.Run(set), topology, all);
                    continue;
                }
                if (!Observe(set, set.ControlPlanes.Select(c => c.Cluster).ToList(), null, kubeconfig, options, out var results)) continue;
                Emit(results!, topology, all);
            }
        }
        if (Quiet.IsPresent) WriteObject(all.All(r => r.Status != CheckStatus.Fail));
        WriteVerbose($"{all.Count} checks: {all.Count(r => r.Status == CheckStatus.Pass)} passed, {all.Count(r => r.Status == CheckStatus.Fail)} failed, {all.Count(r => r.Status == CheckStatus.Warn)} warnings, {all.Count(r => r.Status == CheckStatus.Skip)} skipped.");
    }

    /// <summary>Reads clusters (or a snapshot) and runs the checks; every context that cannot be read is an error and a Fail result.</summary>
    private bool Observe(FederationSet? intended, List<ClusterBinding> clusters, string? snapshot, string? kubeconfig, CheckOptions options, out IReadOnlyList<MeshCheckResult>? results)
    {
        using var log = new CmdletLog();
        using var connections = new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions(), log, InCluster.IsPresent);
        var failures = new ConcurrentQueue<(ClusterBinding Binding, Exception Error)>();
        bool ok;
        try
        {
            ok = RunLive(log, _stop, () => snapshot is not null
                ? MeshChecks.RunSnapshotAsync(snapshot, Yaml, intended, options, _stop.Token)
                : MeshChecks.RunLiveAsync(intended, clusters, connections, options, Probe.IsPresent, log, _stop.Token, (b, e) => failures.Enqueue((b, e))), out results);
        }
        catch (NoMeshFoundException ex)
        {
            // Nothing to check is an error, never an empty (passing) report.
            WriteError(ErrorIds.Record(ex.Problem, snapshot ?? string.Join(",", clusters.Select(c => c.Context ?? c.Name))));
            results = null;
            ok = false;
        }
        foreach (var (binding, error) in failures) WriteError(ContextFailure(binding.Context ?? binding.Name, error));
        return ok;
    }

    private void Emit(IReadOnlyList<MeshCheckResult> results, string? topology, List<MeshCheckResult> all)
    {
        all.AddRange(results);
        if (Quiet.IsPresent) return;
        foreach (var r in results)
        {
            if (topology is null)
            {
                WriteObject(r);
                continue;
            }
            var ps = PSObject.AsPSObject(r);
            ps.Properties.Add(new PSNoteProperty(ImportMeshTopologyCommand.TopologyProperty, topology));
            WriteObject(ps);
        }
    }

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
