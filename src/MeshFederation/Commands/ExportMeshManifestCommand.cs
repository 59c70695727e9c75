using System.Management.Automation;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Export-MeshManifest: renders piped federation objects and writes one &lt;cluster&gt;.yaml per cluster, SUMMARY.md and
/// the proxy files into a folder. Everything is rendered before anything is written; each file is replaced atomically.
/// </summary>
[Cmdlet(VerbsData.Export, "MeshManifest", HelpUri = HelpLinks.Docs + "Export-MeshManifest.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByPath)]
[OutputType(typeof(FileInfo))]
public sealed class ExportMeshManifestCommand : MeshCmdlet
{
    private const string ByPath = "Path";
    private const string ByLiteralPath = "LiteralPath";
    private readonly List<object> _items = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
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

    protected override void ProcessRecord()
    {
        foreach (var o in InputObject) _items.Add(o is PSObject ps ? ps.BaseObject : o);
    }

    protected override void EndProcessing()
    {
        var literal = ParameterSetName == ByLiteralPath;
        var dir = ResolveDestination(literal ? LiteralPath : Path, literal, ParameterSetName);
        if (dir is null) return;
        var set = new FederationSet();
        var ok = true;
        foreach (var o in _items) ok &= Try(() => set.Add(o), o);
        if (!ok) return;
        RenderResult? result = null;
        if (!Try(() => result = Ossm2Renderer.Render(set), _items)) return;
        WritePending(result!.Pending, result.Warnings);
        var files = ManifestEmitter.Files(result, Yaml);
        IReadOnlyList<string> written = Array.Empty<string>();
        if (!Try(() => written = AtomicFileWriter.WriteAll(dir, files, target => ShouldProcess(target, "Write federation manifest"), ManifestEmitter.PrivateFiles(result)), literal ? LiteralPath : Path)) return;
        foreach (var f in written)
        {
            WriteVerbose($"Wrote {f}");
            // The provider's item (PSPath, PSParentPath, the FileSystem views), as Get-Item returns it.
            if (PassThru.IsPresent) WriteObject(InvokeProvider.Item.Get(WildcardPattern.Escape(f)), enumerateCollection: true);
        }
    }
}
