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
        var files = ManifestEmitter.Files(result, Yaml);
        var options = new OutputFolderOptions
        {
            Field = ParameterSetName,
            PrivateFiles = ManifestEmitter.PrivateFiles(result),
            Inputs = Inputs(_items),
            CurrentDirectory = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
            CancellationToken = _stop.Token,
            Log = WriteVerbose,
        };
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
        foreach (var f in written!.Written)
        {
            WriteVerbose($"Wrote {f}");
            // The provider's item (PSPath, PSParentPath, the FileSystem views), as Get-Item returns it.
            if (PassThru.IsPresent) WriteObject(InvokeProvider.Item.Get(WildcardPattern.Escape(f)), enumerateCollection: true);
        }
    }

    public void Dispose() => _stop.Dispose();

    /// <summary>The files the objects were read from (topology files): never overwritten.</summary>
    private static List<string> Inputs(IEnumerable<object> items) =>
        items.Select(o => o switch
        {
            MeshControlPlane c => c.Source?.File,
            MeshPeering p => p.Source?.File,
            MeshServiceExport e => e.Source?.File,
            MeshServiceImport i => i.Source?.File,
            MeshTrafficSplit t => t.Source?.File,
            MeshFailoverPolicy f => f.Source?.File,
            _ => null,
        }).OfType<string>().Where(File.Exists).Distinct(StringComparer.Ordinal).ToList();

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
