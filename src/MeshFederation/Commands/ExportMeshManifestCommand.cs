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
[Cmdlet(VerbsData.Export, "MeshManifest", HelpUri = HelpLinks.Docs + "Export-MeshManifest.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(FileInfo))]
public sealed class ExportMeshManifestCommand : MeshCmdlet
{
    private readonly List<object> _items = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public object[] InputObject { get; set; } = Array.Empty<object>();

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Emit the written files.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var o in InputObject) _items.Add(o is PSObject ps ? ps.BaseObject : o);
    }

    protected override void EndProcessing()
    {
        var dir = GetUnresolvedProviderPathFromPSPath(Path);
        RenderResult? result = null;
        if (!Try(() => result = Ossm2Renderer.Render(FederationSet.From(_items)), _items)) return;
        foreach (var p in result!.Pending) WriteWarning($"Not known offline: {p}");
        foreach (var w in result.Warnings) WriteWarning(w);
        var files = ManifestEmitter.Files(result, Yaml);
        IReadOnlyList<string> written = Array.Empty<string>();
        if (!Try(() => written = AtomicFileWriter.WriteAll(dir, files, target => ShouldProcess(target, "Write federation manifest"), ManifestEmitter.PrivateFiles(result)), dir)) return;
        foreach (var f in written)
        {
            WriteVerbose($"Wrote {f}");
            if (PassThru.IsPresent) WriteObject(new FileInfo(f));
        }
    }
}
