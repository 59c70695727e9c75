using System.Management.Automation;
using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Get-MeshControlPlane: discovers the control planes running in clusters (ServiceMeshControlPlanes, Sail Istio
/// resources, plain istiod) and emits them as MeshControlPlane objects that join a pipeline like declared ones. Each
/// context is read on its own: one that is missing, unreachable or refuses the credentials is a non-terminating error
/// and the others are still listed.
/// </summary>
[Cmdlet(VerbsCommon.Get, "MeshControlPlane", HelpUri = HelpLinks.Docs + "Get-MeshControlPlane.md")]
[OutputType(typeof(MeshControlPlane))]
public sealed class GetMeshControlPlaneCommand : MeshCmdlet, IDisposable
{
    private const int ProgressId = 5;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _contexts = new();

    /// <summary>Only control planes with these names (wildcards allowed); a name without wildcards that matches nothing is an error.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MeshNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Kubeconfig contexts to look in; the current context when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string[] Context { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>Use the pod's service account (in-cluster configuration) instead of a kubeconfig.</summary>
    [Parameter]
    public SwitchParameter InCluster { get; set; }

    protected override void ProcessRecord() => _contexts.AddRange(Context);

    protected override void StopProcessing() => _stop.Cancel();

    protected override void EndProcessing()
    {
        if (!TryResolveKubeConfig(KubeConfig, out var kubeconfig)) return;
        var contexts = _contexts.Distinct(StringComparer.Ordinal).ToList();
        using var log = new CmdletLog();
        using var connections = new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions(), log, InCluster.IsPresent);
        if (contexts.Count == 0 && connections.UsesInCluster) contexts.Add("in-cluster");
        if (contexts.Count == 0)
        {
            string? current = null;
            if (!Try(() => current = Engine.Kube.KubeConfig.Load(kubeconfig, Yaml).CurrentContext, KubeConfig, reading: true)) return;
            if (current is null)
            {
                WriteError(new ErrorRecord(new ArgumentException("no current context"), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, KubeConfig)
                { ErrorDetails = new ErrorDetails("Context: no -Context was given and the kubeconfig has no current-context.") { RecommendedAction = "pass -Context <name>, or run 'kubectl config use-context <name>'" } });
                return;
            }
            contexts.Add(current);
        }
        var patterns = Name.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        var token = _stop.Token;
        var done = 0;
        async Task<(string Context, IReadOnlyList<MeshControlPlane> Found, Exception? Error)> DiscoverOne(string context)
        {
            (string, IReadOnlyList<MeshControlPlane>, Exception?) result;
            try
            {
                var found = await MeshDiscovery.DiscoverAsync(connections, new[] { new ClusterBinding(context) { Context = context, KubeConfig = kubeconfig } }, log, token).ConfigureAwait(false);
                result = (context, found, null);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
            {
                result = (context, Array.Empty<MeshControlPlane>(), ex);
            }
            var n = Interlocked.Increment(ref done);
            log.Progress(new MeshProgress(ProgressId, null, "Discovering control planes",
                $"{context}: {(result.Item3 is null ? $"{result.Item2.Count} control plane(s)" : "failed")} ({n} of {contexts.Count} contexts)", n * 100 / contexts.Count, false));
            return result;
        }
        async Task<(string Context, IReadOnlyList<MeshControlPlane> Found, Exception? Error)[]> DiscoverAll()
        {
            log.Progress(new MeshProgress(ProgressId, null, "Discovering control planes", $"reading {string.Join(", ", contexts)}", 0, false));
            try
            {
                return await Task.WhenAll(contexts.Select(DiscoverOne)).ConfigureAwait(false);
            }
            finally
            {
                log.Progress(new MeshProgress(ProgressId, null, "Discovering control planes", "done", 100, true));
            }
        }
        if (!RunLive(log, _stop, DiscoverAll, out var results)) return;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (context, found, error) in results!)
        {
            if (error is not null)
            {
                WriteError(ContextFailure(context, error));
                continue;
            }
            foreach (var cp in found)
            {
                seen.Add(cp.Name);
                if (patterns.Count == 0 || patterns.Any(p => p.IsMatch(cp.Name))) WriteObject(cp);
            }
        }
        if (results!.Any(r => r.Error is null))
            foreach (var n in Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n) && !seen.Contains(n)))
                WriteError(new ErrorRecord(new ItemNotFoundException($"no control plane named {n}"), ErrorIds.NotFound, ErrorCategory.ObjectNotFound, n)
                {
                    ErrorDetails = new ErrorDetails($"Name = '{n}': no control plane with this name runs in {string.Join(", ", results!.Where(r => r.Error is null).Select(r => r.Context))}.")
                    { RecommendedAction = "list what runs there with Get-MeshControlPlane -Context <context>, or use a wildcard" },
                });
    }

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
