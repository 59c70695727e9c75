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
[Cmdlet(VerbsData.Export, "MeshManifest", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FileInfo))]
public sealed class ExportMeshManifestCommand : MeshCmdlet, IDisposable
{
    private readonly List<object> _items = new();
    private readonly CancellationTokenSource _stop = new();
    private object? _errorMark;

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [AllowEmptyCollection]
    public object[] InputObject { get; set; } = Array.Empty<object>();

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

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
        var dir = GetUnresolvedProviderPathFromPSPath(Path);
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
        RenderResult? result = null;
        if (!Try(() => result = Ossm2Renderer.Render(FederationSet.From(_items)), _items)) return;
        foreach (var p in result!.Pending) WriteWarning($"Not known offline: {p}");
        foreach (var w in result.Warnings) WriteWarning(w);
        var files = ManifestEmitter.Files(result, Yaml);
        var options = new OutputFolderOptions
        {
            Field = "Path",
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
            if (PassThru.IsPresent) WriteObject(new FileInfo(f));
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
