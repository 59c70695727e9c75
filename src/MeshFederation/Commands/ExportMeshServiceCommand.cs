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

    /// <summary>Label selector requirements: hashtables with key, operator (In, NotIn, Exists, DoesNotExist) and values.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public Hashtable[]? MatchExpression { get; set; }

    /// <summary>Aliases of a label-selector export, tried in order: 'namespace/name->namespace[/name]', '*' for any.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? LabelAlias { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NamespaceCompleter))]
    public string? AliasNamespace { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? AliasName { get; set; }

    /// <summary>OSSM 3 federation: the service's ports as name:number[:targetPort][/protocol], e.g. http:8000:8080 (read from the Service when omitted).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Port { get; set; }

    /// <summary>OSSM 3 federation: the service accounts of its workloads (read from the pods when omitted).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ServiceAccount { get; set; }

    /// <summary>OSSM 3 federation: the Service's pod selector (read from the Service when omitted).</summary>
    [Parameter]
    public Hashtable? Selector { get; set; }

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
        var expressions = (MatchExpression ?? Array.Empty<Hashtable>()).Select(h =>
        {
            var e = h.Keys.Cast<object>().ToDictionary(k => k.ToString()!, k => h[k], StringComparer.OrdinalIgnoreCase);
            var values = e.TryGetValue("values", out var v) ? PSConvert.ToJson(v) switch
            {
                System.Text.Json.Nodes.JsonArray a => a.Select(x => x?.ToString() ?? "").ToList(),
                { } one => new List<string> { one.ToString() },
                null => new List<string>(),
            } : new List<string>();
            return new LabelSelectorRequirement(e.TryGetValue("key", out var k) ? k?.ToString() ?? "" : "", e.TryGetValue("operator", out var o) ? o?.ToString() ?? "" : "", values);
        }).ToList();
        var aliases = new List<ServiceAlias>();
        foreach (var text in LabelAlias ?? Array.Empty<string>())
        {
            if (ServiceAlias.Parse(text) is { } alias) aliases.Add(alias);
            else
            {
                WriteError(new ErrorRecord(new ArgumentException($"LabelAlias '{text}' is not namespace/name->namespace[/name]"), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, text)
                { ErrorDetails = new ErrorDetails($"LabelAlias = '{text}': is not an alias of the form namespace/name->namespace[/name].") { RecommendedAction = "write e.g. '*/foo->*/bar' or 'foo/*->bar'" } });
                return;
            }
        }
        var selected = labels.Count > 0 || expressions.Count > 0;
        if (LabelSelector is { Count: 0 } && expressions.Count == 0)
        {
            // An empty selector would select every service of the namespace: say so rather than export them all.
            WriteError(ErrorIds.Record(new Engine.Validation.MeshProblem(Engine.Validation.MeshErrorKind.InvalidArgument, "LabelSelector", "@{}",
                "is empty: it would select every service in the namespace", "give at least one label (-LabelSelector @{ app = 'ratings' }), or -Name '*' to export all services on purpose"), LabelSelector));
            return;
        }
        IReadOnlyList<ServicePortSpec> ports = Array.Empty<ServicePortSpec>();
        if (Port is not null && !Try(() => ports = Factory.Ports(Port, istioProtocolSelection: true), Port)) return;
        MeshServiceExport? export = null;
        if (!Try(() => export = Factory.Export(new MeshServiceExport
        {
            ControlPlane = cp,
            Peer = peer,
            Namespace = ns,
            Name = selected ? name : name ?? "*",
            LabelSelector = labels.Count > 0 ? labels : null,
            MatchExpressions = expressions,
            Aliases = aliases,
            AliasNamespace = _rows.Value(nameof(AliasNamespace), AliasNamespace),
            AliasName = _rows.Value(nameof(AliasName), AliasName),
            Ports = ports,
            ServiceAccounts = ServiceAccount ?? Array.Empty<string>(),
            WorkloadSelector = Selector is null ? null : ToStringMap(Selector),
        }), Peering ?? (object?)ControlPlane)) return;
        WriteVerbose($"Export {export}{(export!.ExportedHost is { } h ? $", seen by {peer} as {h}" : "")}.");
        WriteObject(export);
    }
}
