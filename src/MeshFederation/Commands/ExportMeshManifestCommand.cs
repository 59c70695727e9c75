using System.Management.Automation;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Export-MeshManifest: renders piped federation objects and writes one &lt;cluster&gt;.yaml per cluster, SUMMARY.md and
/// the proxy files into a folder. Everything is rendered before anything is written, and the folder is switched to the
/// new set all at once (OutputFolder): an interrupted run leaves the old set or the new one. Files the cmdlet did not
/// write are never overwritten or removed. Nothing is written without input objects, or when an earlier command of the
/// pipeline reported an error.
/// </summary>
[Cmdlet(VerbsData.Export, "MeshManifest", HelpUri = HelpLinks.Docs + "Export-MeshManifest.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByPath)]
[OutputType(typeof(FileInfo))]
public sealed class ExportMeshManifestCommand : MeshCmdlet, IDisposable
{
    private const string ByPath = "Path";
    private const string ByLiteralPath = "LiteralPath";
    private readonly List<object> _items = new();
    private readonly CancellationTokenSource _stop = new();
    private object? _errorMark;

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [AllowEmptyCollection]
    public object[] InputObject { get; set; } = Array.Empty<object>();

    /// <summary>The folder to write into (created when missing).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByPath)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ByLiteralPath)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

    /// <summary>The layout: Files (one YAML per cluster), Kustomize, ArgoCD or Ocm.</summary>
    [Parameter]
    public Engine.Distribution.DistributionFormat Format { get; set; } = Engine.Distribution.DistributionFormat.Files;

    /// <summary>Kustomize/ArgoCD/Ocm: the folder for Secrets holding keys or tokens (0600), outside the tree (default: &lt;Path&gt;.secrets).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SecretsPath { get; set; }

    /// <summary>ArgoCD: the Git repository the tree is committed to.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RepoUrl { get; set; }

    /// <summary>ArgoCD: the revision to sync.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Revision { get; set; } = "HEAD";

    /// <summary>ArgoCD: the tree's folder inside the repository.</summary>
    [Parameter]
    [AllowEmptyString]
    public string RepoPath { get; set; } = "";

    /// <summary>ArgoCD: the namespace Argo CD runs in.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ArgoCDNamespace { get; set; } = "argocd";

    /// <summary>ArgoCD: the AppProject of the Applications.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ArgoCDProject { get; set; } = "default";

    /// <summary>ArgoCD: a cluster generator selecting Argo CD clusters with these labels, instead of a list of the topology's clusters.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public System.Collections.Hashtable? ClusterSelector { get; set; }

    /// <summary>Ocm: also write a Placement and a ManagedClusterSetBinding for this ManagedClusterSet.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ClusterSet { get; set; }

    /// <summary>Ocm: the hub namespace of the Placement and the binding.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string PlacementNamespace { get; set; } = "meshfederation";

    /// <summary>Ocm: start a new ManifestWork before one passes this many bytes.</summary>
    [Parameter]
    [ValidateRange(4096, 512000)]
    public int SplitBytes { get; set; } = 400 * 1024;

    /// <summary>Emit the written files.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void BeginProcessing() => _errorMark = Errors() is { Count: > 0 } e ? e[0] : null;

    protected override void ProcessRecord()
    {
        foreach (var o in InputObject)
            if (o is not null) _items.Add(o is PSObject ps ? ps.BaseObject : o);
    }

    protected override void StopProcessing() => _stop.Cancel();

    protected override void EndProcessing()
    {
        var literal = ParameterSetName == ByLiteralPath;
        var dir = ResolveDestination(literal ? LiteralPath : Path, literal, ParameterSetName);
        if (dir is null) return;
        if (UpstreamError() is { } upstream)
        {
            WriteError(new ErrorRecord(new InvalidOperationException(
                $"An earlier command in the pipeline reported an error ({Engine.Validation.Echo.Text(upstream)}); nothing was written to {dir}."),
                ErrorIds.UpstreamError, ErrorCategory.InvalidOperation, dir)
            {
                ErrorDetails = new ErrorDetails($"An earlier command in the pipeline reported an error ({Engine.Validation.Echo.Text(upstream)}); nothing was written to {dir}.")
                { RecommendedAction = "Fix that error and run the pipeline again (errors expected on purpose can be dropped with -ErrorAction Ignore on that command)." },
            });
            return;
        }
        if (_items.Count == 0)
        {
            WriteError(new ErrorRecord(new ArgumentException($"No federation objects were piped; nothing was written to {dir}."),
                ErrorIds.NoInput, ErrorCategory.InvalidArgument, dir)
            {
                ErrorDetails = new ErrorDetails($"InputObject: no federation objects were piped; nothing was written to {dir}.")
                { RecommendedAction = "Pipe the output of Import-MeshTopology or of New-MeshControlPlane, New-MeshPeer, Export-MeshService and the other New-Mesh* cmdlets." },
            });
            return;
        }
        var set = new FederationSet();
        var ok = true;
        foreach (var o in _items) ok &= Try(() => set.Add(o), o);
        if (!ok) return;
        RenderResult? result = null;
        if (!Try(() => result = Ossm2Renderer.Render(set), _items)) return;
        WritePending(result!.Pending, result.Warnings);
        var options = new OutputFolderOptions
        {
            Field = ParameterSetName,
            PrivateFiles = ManifestEmitter.PrivateFiles(result),
            Inputs = Inputs(_items),
            CurrentDirectory = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
            CancellationToken = _stop.Token,
            Log = WriteVerbose,
        };
        if (Format != Engine.Distribution.DistributionFormat.Files)
        {
            WriteDistribution(dir, result, options);
            return;
        }
        var files = ManifestEmitter.Files(result, Yaml);
        if (!Try(() => OutputFolder.Check(dir, files, options), dir)) return;
        if (!ShouldProcess(dir, $"Write {files.Count} files ({string.Join(", ", files.Keys)}), replacing the set written there before")) return;
        OutputFolderResult? written = null;
        try
        {
            if (!Try(() => written = OutputFolder.Write(dir, files, options), dir)) return;
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            WriteWarning($"Stopped; nothing was changed in {dir}.");
            throw new PipelineStoppedException();
        }
        Emit(written!.Written);
    }

    private void Emit(IEnumerable<string> written)
    {
        foreach (var f in written)
        {
            WriteVerbose($"Wrote {f}");
            // The provider's item (PSPath, PSParentPath, the FileSystem views), as Get-Item returns it.
            if (PassThru.IsPresent) WriteObject(InvokeProvider.Item.Get(WildcardPattern.Escape(f)), enumerateCollection: true);
        }
    }

    /// <summary>Kustomize, ArgoCD or Ocm: the tree into the folder, the Secrets with keys or tokens into -SecretsPath (0600).</summary>
    private void WriteDistribution(string dir, RenderResult result, OutputFolderOptions options)
    {
        string? secretsDir = null;
        if (SecretsPath is not null && (secretsDir = ResolveDestination(SecretsPath, false, nameof(SecretsPath))) is null) return;
        secretsDir ??= Engine.Distribution.DistributionWriter.DefaultSecretsDirectory(dir);
        Dictionary<string, string>? selector = null;
        if (ClusterSelector is not null)
        {
            selector = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (System.Collections.DictionaryEntry e in ClusterSelector) selector[e.Key?.ToString() ?? ""] = e.Value?.ToString() ?? "";
        }
        var distribution = new Engine.Distribution.DistributionOptions
        {
            RepoUrl = RepoUrl, Revision = Revision, RepoPath = RepoPath, ArgoNamespace = ArgoCDNamespace, ArgoProject = ArgoCDProject,
            ClusterSelector = selector, ClusterSet = ClusterSet, PlacementNamespace = PlacementNamespace, MaxWorkBytes = SplitBytes,
        };
        Engine.Distribution.DistributionOutput? output = null;
        if (!Try(() => distribution.Validate(Format, f => f switch { "ArgoNamespace" => nameof(ArgoCDNamespace), "MaxWorkBytes" => nameof(SplitBytes), _ => f }), dir)) return;
        if (!Try(() => output = Engine.Distribution.DistributionRenderer.Render(result, Format, distribution, Yaml), dir)) return;
        var treeOptions = options with { PrivateFiles = new HashSet<string>(StringComparer.Ordinal) };
        if (!Try(() => Engine.Distribution.DistributionWriter.Check(dir, secretsDir, output!, treeOptions, nameof(SecretsPath)), dir)) return;
        var what = $"Write {output!.Files.Count} files ({Format} layout), replacing the set written there before"
            + (output.SecretFiles.Count == 0 ? "" : $", and {output.SecretFiles.Count} files holding keys or tokens (0600) to {secretsDir}");
        if (!ShouldProcess(dir, what)) return;
        (OutputFolderResult Tree, OutputFolderResult? Secrets) written = default;
        try
        {
            if (!Try(() => written = Engine.Distribution.DistributionWriter.Write(dir, secretsDir, output, treeOptions, nameof(SecretsPath)), dir)) return;
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            WriteWarning($"Stopped; nothing was changed in {dir}.");
            throw new PipelineStoppedException();
        }
        Emit(written.Tree!.Written);
        foreach (var f in written.Secrets?.Written ?? Array.Empty<string>())
        {
            WriteVerbose($"Wrote {f} (0600; keep it out of Git)");
            if (PassThru.IsPresent) WriteObject(InvokeProvider.Item.Get(WildcardPattern.Escape(f)), enumerateCollection: true);
        }
    }

    public void Dispose() => _stop.Dispose();

    /// <summary>The files the objects were read from (topology files): never overwritten.</summary>
    private static IReadOnlyList<string> Inputs(IEnumerable<object> items) => FederationSet.SourceFiles(items);

    private System.Collections.ArrayList? Errors() => SessionState.PSVariable.GetValue("Error") as System.Collections.ArrayList;

    /// <summary>The first error recorded in $Error since this command began (an earlier command of the pipeline failed).</summary>
    private string? UpstreamError()
    {
        if (Errors() is not { Count: > 0 } errors) return null;
        foreach (var e in errors)
        {
            if (ReferenceEquals(e, _errorMark)) break;
            return e switch
            {
                ErrorRecord r => r.ErrorDetails?.Message ?? r.Exception?.Message ?? r.ToString(),
                Exception x => x.Message,
                _ => e?.ToString() ?? "error",
            };
        }
        return null;
    }
}
