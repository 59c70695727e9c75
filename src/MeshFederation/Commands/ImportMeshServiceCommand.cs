using System.Collections;
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

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NamespaceCompleter))]
    public string Namespace { get; set; } = "";

    /// <summary>Exported service name; '*' for all. Omitted: the rule names no service (all match), as the maistra sample writes it.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NamespaceCompleter))]
    public string? AliasNamespace { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? AliasName { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter ImportAsLocal { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? DomainSuffix { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Region { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Zone { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Subzone { get; set; }

    /// <summary>Multi-mesh: the service's ports as name:number[/protocol], e.g. http1:80/HTTP.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string[]? Port { get; set; }

    /// <summary>Multi-mesh: name of the ServiceEntry (default &lt;name&gt;-global).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ServiceEntryName { get; set; }

    /// <summary>Multi-mesh: namespace of the ServiceEntry, where the clients are (default the local namespace).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ServiceEntryNamespace { get; set; }

    /// <summary>Multi-mesh: the host clients call (default &lt;name&gt;.&lt;namespace&gt;.global), e.g. OCM's reviews.bookinfo.svc.cluster2.global.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ServiceEntryHost { get; set; }

    /// <summary>Multi-mesh: the VIP the host resolves to, pinned instead of allocated.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Vip { get; set; }

    [Parameter]
    [ValidateSet("DNS", "STATIC", "NONE", "DNS_ROUND_ROBIN")]
    public string? Resolution { get; set; }

    /// <summary>Multi-mesh: labels of the ServiceEntry's endpoints (version-aware routing, the OCM demo's app/version).</summary>
    [Parameter]
    public Hashtable? EndpointLabel { get; set; }

    [Parameter]
    [ValidateSet("networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3")]
    public string? ServiceEntryApiVersion { get; set; }

    /// <summary>OSSM 3 federation: the namespaces that see the imported host (ServiceEntry exportTo); default the mesh's members.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ExportTo { get; set; }

    /// <summary>OSSM 3 federation: the WorkloadEntry's name (default the ServiceEntry's).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? WorkloadEntryName { get; set; }

    private ServiceRows _rows = null!;

    protected override void BeginProcessing() => _rows = new ServiceRows(this, nameof(Peering), nameof(ControlPlane));

    protected override void ProcessRecord()
    {
        var cp = Peering?.Local ?? ControlPlane!;
        var peer = Peering?.Remote.Name ?? Peer;
        if (_rows.Value(nameof(Namespace), Namespace) is not { } ns)
        {
            WriteError(ServiceRows.MissingNamespace(Peering ?? (object?)ControlPlane));
            return;
        }
        var portSpecs = _rows.Values(nameof(Port), Port);
        MeshServiceImport? import = null;
        IReadOnlyList<ServicePortSpec> ports = Array.Empty<ServicePortSpec>();
        if (portSpecs is not null && !Try(() => ports = Factory.Ports(portSpecs), portSpecs)) return;
        var (region, zone, subzone) = (_rows.Value(nameof(Region), Region), _rows.Value(nameof(Zone), Zone), _rows.Value(nameof(Subzone), Subzone));
        if (!Try(() => import = Factory.Import(new MeshServiceImport
        {
            ControlPlane = cp,
            Peer = peer,
            Namespace = ns,
            Name = _rows.Value(nameof(Name), Name) ?? "",
            AliasNamespace = _rows.Value(nameof(AliasNamespace), AliasNamespace),
            AliasName = _rows.Value(nameof(AliasName), AliasName),
            ImportAsLocal = _rows.Given(nameof(ImportAsLocal)) && ImportAsLocal.IsPresent,
            DomainSuffix = _rows.Value(nameof(DomainSuffix), DomainSuffix),
            Locality = region is null && zone is null && subzone is null ? null : new MeshLocality(region ?? "", zone, subzone),
            Ports = ports,
            ServiceEntry = new ServiceEntryOptions
            {
                Name = ServiceEntryName, Namespace = ServiceEntryNamespace, Host = ServiceEntryHost, Address = Vip, Resolution = Resolution,
                EndpointLabels = ToStringMap(EndpointLabel), ApiVersion = ServiceEntryApiVersion, ExportTo = ExportTo, WorkloadEntryName = WorkloadEntryName,
            },
        }), Peering ?? (object?)ControlPlane)) return;
        WriteVerbose($"Import {import}{(import!.LocalHost is { } h ? $", reached in {cp.Name} as {h}" : "")}.");
        WriteObject(import);
    }
}
