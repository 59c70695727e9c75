using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>New-MeshTrafficSplit: a weighted route between a local service and an imported one (a VirtualService).</summary>
[Cmdlet(VerbsCommon.New, "MeshTrafficSplit", HelpUri = HelpLinks.Docs + "New-MeshTrafficSplit.md")]
[OutputType(typeof(MeshTrafficSplit))]
public sealed class NewMeshTrafficSplitCommand : MeshCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public MeshServiceImport? Import { get; set; }

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Namespace of the VirtualService; the import's local namespace by default.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NamespaceCompleter))]
    public string? Namespace { get; set; }

    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string LocalHost { get; set; } = "";

    [Parameter]
    [ValidateRange(0, 100)]
    public int RemoteWeight { get; set; } = 100;

    [Parameter]
    [Alias("Hosts")]
    public string[] RouteHost { get; set; } = Array.Empty<string>();

    [Parameter]
    public string[] Gateway { get; set; } = Array.Empty<string>();

    [Parameter]
    public string[] UriExact { get; set; } = Array.Empty<string>();

    [Parameter]
    public string[] UriPrefix { get; set; } = Array.Empty<string>();

    [Parameter]
    public string[] UriRegex { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    [Parameter]
    [ValidateSet("networking.istio.io/v1beta1", "networking.istio.io/v1", "networking.istio.io/v1alpha3")]
    public string ApiVersion { get; set; } = MeshTrafficSplit.DefaultApiVersion;

    protected override void ProcessRecord()
    {
        var import = Import!;
        if (import.LocalHost is null)
        {
            WriteError(new ErrorRecord(new ArgumentException($"import {import} matches several services; a traffic split needs one host"),
                ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, import)
            { ErrorDetails = new ErrorDetails($"Import = '{import}': a traffic split needs an import of one named service.") { RecommendedAction = "pipe an import created with -Name <service>" } });
            return;
        }
        var matches = UriExact.Select(v => new UriMatch(UriMatchKind.Exact, v))
            .Concat(UriPrefix.Select(v => new UriMatch(UriMatchKind.Prefix, v)))
            .Concat(UriRegex.Select(v => new UriMatch(UriMatchKind.Regex, v))).ToList();
        MeshTrafficSplit? split = null;
        if (!Try(() => split = Factory.TrafficSplit(new MeshTrafficSplit
        {
            ControlPlane = import.ControlPlane,
            Name = Name,
            Namespace = Namespace ?? import.LocalNamespace,
            Hosts = RouteHost,
            Gateways = Gateway,
            Matches = matches,
            Port = Port,
            LocalHost = LocalHost,
            LocalWeight = 100 - RemoteWeight,
            RemoteHost = import.LocalHost,
            RemoteWeight = RemoteWeight,
            ApiVersion = ApiVersion,
        }), import)) return;
        WriteObject(split);
    }
}
