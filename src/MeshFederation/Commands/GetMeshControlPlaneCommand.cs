using System.Management.Automation;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Get-MeshControlPlane: discovers the control planes running in clusters (ServiceMeshControlPlanes, Sail Istio
/// resources, plain istiod) and emits them as MeshControlPlane objects that join a pipeline like declared ones.
/// </summary>
[Cmdlet(VerbsCommon.Get, "MeshControlPlane", HelpUri = HelpLinks.Docs + "Get-MeshControlPlane.md")]
[OutputType(typeof(MeshControlPlane))]
public sealed class GetMeshControlPlaneCommand : MeshCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Kubeconfig contexts to look in; the current context when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string[] Context { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>Only control planes with these names (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    public string[] Name { get; set; } = Array.Empty<string>();

    private readonly List<string> _contexts = new();

    protected override void ProcessRecord() => _contexts.AddRange(Context);

    protected override void StopProcessing() => _stop.Cancel();

    protected override void EndProcessing()
    {
        var kubeconfig = KubeConfig is null ? null : GetUnresolvedProviderPathFromPSPath(KubeConfig);
        List<string> contexts = _contexts;
        if (contexts.Count == 0)
        {
            string? current = null;
            if (!Try(() => current = Engine.Kube.KubeConfig.Load(kubeconfig, Yaml).CurrentContext)) return;
            if (current is null)
            {
                WriteError(new ErrorRecord(new ArgumentException("no current context"), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, null)
                { ErrorDetails = new ErrorDetails("Context: no -Context was given and the kubeconfig has no current-context.") { RecommendedAction = "pass -Context <name>" } });
                return;
            }
            contexts = new List<string> { current };
        }
        var patterns = Name.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        using var log = new CmdletLog();
        using var connections = new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions(), log);
        if (!RunLive(log, _stop, () => MeshDiscovery.DiscoverAsync(connections, contexts.Select(c => new ClusterBinding(c) { Context = c, KubeConfig = kubeconfig }), log, _stop.Token), out var found)) return;
        foreach (var cp in found!)
            if (patterns.Count == 0 || patterns.Any(p => p.IsMatch(cp.Name))) WriteObject(cp);
    }

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
