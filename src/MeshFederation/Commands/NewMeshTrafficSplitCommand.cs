using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>New-MeshTrafficSplit: a weighted route between a local service and an imported one (a VirtualService).</summary>
[Cmdlet(VerbsCommon.New, "MeshTrafficSplit", HelpUri = HelpLinks.Docs + "New-MeshTrafficSplit.md", DefaultParameterSetName = ByImport)]
[OutputType(typeof(MeshTrafficSplit))]
public sealed class NewMeshTrafficSplitCommand : MeshCmdlet
{
    private const string ByImport = "Import";
    private const string ByControlPlane = "ControlPlane";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByImport)]
    public MeshServiceImport? Import { get; set; }

    /// <summary>The mesh the route is in, when it targets a host directly (-RemoteHost) rather than a piped import.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByControlPlane)]
    public MeshControlPlane? ControlPlane { get; set; }

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Namespace of the VirtualService; the import's local namespace by default.</summary>
    [Parameter(ParameterSetName = ByImport)]
    [Parameter(Mandatory = true, ParameterSetName = ByControlPlane)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NamespaceCompleter))]
    public string? Namespace { get; set; }

    /// <summary>The local destination; omitted, the route sends everything to the remote host without a weight.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LocalHost { get; set; }

    /// <summary>The remote destination: the import's local host by default; needed for a wildcard import or without one.</summary>
    [Parameter(ParameterSetName = ByImport)]
    [Parameter(Mandatory = true, ParameterSetName = ByControlPlane)]
    [ValidateNotNullOrEmpty]
    public string? RemoteHost { get; set; }

    /// <summary>rewrite.authority of the route, e.g. the peer's own host name (seed 000's passthrough).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RewriteAuthority { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? RewriteUri { get; set; }

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
        var import = Import;
        var remoteHost = RemoteHost ?? import?.LocalHost;
        if (remoteHost is null)
        {
            WriteError(new ErrorRecord(new ArgumentException($"import {import} matches several services; a traffic split needs one host"),
                ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, import)
            { ErrorDetails = new ErrorDetails($"Import = '{import}': a traffic split needs one remote host.") { RecommendedAction = "give -RemoteHost (e.g. ratings.mesh2-bookinfo.svc.mesh1-imports.local), or pipe an import created with -Name <service>" } });
            return;
        }
        var matches = UriExact.Select(v => new UriMatch(UriMatchKind.Exact, v))
            .Concat(UriPrefix.Select(v => new UriMatch(UriMatchKind.Prefix, v)))
            .Concat(UriRegex.Select(v => new UriMatch(UriMatchKind.Regex, v))).ToList();
        var localHost = LocalHost ?? "";
        MeshTrafficSplit? split = null;
        if (!Try(() => split = Factory.TrafficSplit(new MeshTrafficSplit
        {
            ControlPlane = import?.ControlPlane ?? ControlPlane!,
            Name = Name,
            Namespace = Namespace ?? import!.LocalNamespace,
            Hosts = RouteHost,
            Gateways = Gateway,
            Matches = matches,
            Port = Port,
            LocalHost = localHost,
            LocalWeight = localHost.Length == 0 ? 0 : 100 - RemoteWeight,
            RemoteHost = remoteHost,
            RemoteWeight = RemoteWeight,
            RewriteAuthority = RewriteAuthority,
            RewriteUri = RewriteUri,
            ApiVersion = ApiVersion,
        }), (object?)import ?? ControlPlane)) return;
        WriteObject(split);
    }
}
