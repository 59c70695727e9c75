using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>Import-MeshService: declares a service a mesh imports from a peer (one rule of the ImportedServiceSet named after the peer).</summary>
[Cmdlet(VerbsData.Import, "MeshService", HelpUri = HelpLinks.Docs + "Import-MeshService.md", DefaultParameterSetName = ByPeering)]
[OutputType(typeof(MeshServiceImport))]
public sealed class ImportMeshServiceCommand : MeshCmdlet
{
    private const string ByPeering = "Peering";
    private const string ByControlPlane = "ControlPlane";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByPeering)]
    public MeshPeering? Peering { get; set; }

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByControlPlane)]
    public MeshControlPlane? ControlPlane { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = ByControlPlane)]
    [Alias("From")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MeshNameCompleter))]
    public string Peer { get; set; } = "";

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Namespace { get; set; } = "";

    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "*";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AliasNamespace { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AliasName { get; set; }

    [Parameter]
    public SwitchParameter ImportAsLocal { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? DomainSuffix { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Region { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Zone { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Subzone { get; set; }

    /// <summary>Multi-mesh: the service's ports as name:number[/protocol], e.g. http1:80/HTTP.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Port { get; set; }

    protected override void ProcessRecord()
    {
        var cp = Peering?.Local ?? ControlPlane!;
        var peer = Peering?.Remote.Name ?? Peer;
        MeshServiceImport? import = null;
        IReadOnlyList<ServicePortSpec> ports = Array.Empty<ServicePortSpec>();
        if (Port is not null && !Try(() => ports = Factory.Ports(Port), Port)) return;
        if (!Try(() => import = Factory.Import(new MeshServiceImport
        {
            ControlPlane = cp,
            Peer = peer,
            Namespace = Namespace,
            Name = Name,
            AliasNamespace = AliasNamespace,
            AliasName = AliasName,
            ImportAsLocal = ImportAsLocal.IsPresent,
            DomainSuffix = DomainSuffix,
            Locality = Region is null && Zone is null && Subzone is null ? null : new MeshLocality(Region ?? "", Zone, Subzone),
            Ports = ports,
        }), Peering ?? (object?)ControlPlane)) return;
        WriteVerbose($"Import {import}{(import!.LocalHost is { } h ? $", reached in {cp.Name} as {h}" : "")}.");
        WriteObject(import);
    }
}
