using System.Collections;
using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>Export-MeshService: declares a service a mesh exports to a peer (one rule of the ExportedServiceSet named after the peer).</summary>
[Cmdlet(VerbsData.Export, "MeshService", HelpUri = HelpLinks.Docs + "Export-MeshService.md", DefaultParameterSetName = ByPeering)]
[OutputType(typeof(MeshServiceExport))]
public sealed class ExportMeshServiceCommand : MeshCmdlet
{
    private const string ByPeering = "Peering";
    private const string ByControlPlane = "ControlPlane";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByPeering)]
    public MeshPeering? Peering { get; set; }

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByControlPlane)]
    public MeshControlPlane? ControlPlane { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = ByControlPlane)]
    [Alias("To")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MeshNameCompleter))]
    public string Peer { get; set; } = "";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NamespaceCompleter))]
    public string Namespace { get; set; } = "";

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    [Parameter]
    public Hashtable? LabelSelector { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NamespaceCompleter))]
    public string? AliasNamespace { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? AliasName { get; set; }

    private ServiceRows _rows = null!;

    protected override void BeginProcessing() => _rows = new ServiceRows(this, nameof(Peering), nameof(ControlPlane));

    protected override void ProcessRecord()
    {
        var cp = Peering?.Local ?? ControlPlane!;
        var peer = Peering?.Remote.Name ?? Peer;
        var labels = ToStringMap(LabelSelector);
        var name = _rows.Value(nameof(Name), Name);
        if (_rows.Value(nameof(Namespace), Namespace) is not { } ns)
        {
            WriteError(ServiceRows.MissingNamespace(Peering ?? (object?)ControlPlane));
            return;
        }
        MeshServiceExport? export = null;
        if (!Try(() => export = Factory.Export(new MeshServiceExport
        {
            ControlPlane = cp,
            Peer = peer,
            Namespace = ns,
            Name = labels.Count > 0 ? name : name ?? "*",
            LabelSelector = labels.Count > 0 ? labels : null,
            AliasNamespace = _rows.Value(nameof(AliasNamespace), AliasNamespace),
            AliasName = _rows.Value(nameof(AliasName), AliasName),
        }), Peering ?? (object?)ControlPlane)) return;
        WriteVerbose($"Export {export}{(export!.ExportedHost is { } h ? $", seen by {peer} as {h}" : "")}.");
        WriteObject(export);
    }
}
