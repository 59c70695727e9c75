using System.Management.Automation;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// ConvertTo-MeshFederationGraph: the federation as Mermaid or Graphviz DOT text (or SVG through Graphviz dot), meshes
/// grouped by cluster, each peering coloured by its check status, each export and import shown. Pipe federation objects
/// and, optionally, check results (Test-MeshFederation); without results the offline checks colour the peerings.
/// </summary>
[Cmdlet(VerbsData.ConvertTo, "MeshFederationGraph", HelpUri = HelpLinks.Docs + "ConvertTo-MeshFederationGraph.md")]
[OutputType(typeof(string))]
public sealed class ConvertToMeshFederationGraphCommand : MeshCmdlet
{
    private readonly List<object> _items = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public object[] InputObject { get; set; } = Array.Empty<object>();

    [Parameter(Position = 0)]
    public GraphFormat Format { get; set; } = GraphFormat.Mermaid;

    protected override void ProcessRecord()
    {
        foreach (var o in InputObject) _items.Add(o is PSObject ps ? ps.BaseObject : o);
    }

    protected override void EndProcessing()
    {
        var results = _items.OfType<MeshCheckResult>().ToList();
        var set = new FederationSet();
        var ok = true;
        foreach (var o in _items.Where(o => o is not MeshCheckResult)) ok &= Try(() => set.Add(o), o);
        if (!ok) return;
        if (results.Count == 0) results = FederationChecks.Run(set).ToList();
        string? text = null;
        if (!Try(() => text = FederationGraph.Render(FederationGraph.From(set, results), Format), Format)) return;
        WriteObject(text);
    }
}
