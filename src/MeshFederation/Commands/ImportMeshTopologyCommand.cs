using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Proxy;
using MeshFederation.Engine.Topology;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Import-MeshTopology: reads topology files and emits the same objects the cmdlets would create. Each object carries
/// the file it came from (its Topology property), so Test-MeshFederation checks every file as its own federation.
/// </summary>
[Cmdlet(VerbsData.Import, "MeshTopology", HelpUri = HelpLinks.Docs + "Import-MeshTopology.md", DefaultParameterSetName = ByPath)]
[OutputType(typeof(MeshControlPlane), typeof(MeshPeering), typeof(MeshServiceExport), typeof(MeshServiceImport), typeof(MeshTrafficSplit),
    typeof(FederationProxyConfig), typeof(MeshFailoverPolicy), typeof(ClusterCaMaterial))]
public sealed class ImportMeshTopologyCommand : MeshCmdlet
{
    /// <summary>The note property naming the topology file an object was imported from.</summary>
    public const string TopologyProperty = "Topology";
    private const string ByPath = "Path";
    private const string ByLiteralPath = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = ByPath)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ByLiteralPath)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        var literal = ParameterSetName == ByLiteralPath;
        foreach (var p in literal ? LiteralPath : Path)
        {
            foreach (var path in ResolveExisting(p, literal, ParameterSetName))
            {
                FederationSet? set = null;
                if (!Try(() => set = TopologyLoader.LoadFile(path, Yaml), p, reading: true)) continue;
                WriteVerbose($"{path}: {set!.ControlPlanes.Count} control planes, {set.Peerings.Count} peerings, {set.Exports.Count} exports, {set.Imports.Count} imports, {set.TrafficSplits.Count} traffic splits, {set.FailoverPolicies.Count} failover policies.");
                foreach (var o in set.AllObjects())
                {
                    var ps = new PSObject(o);
                    ps.Properties.Add(new PSNoteProperty(TopologyProperty, path));
                    WriteObject(ps);
                }
            }
        }
    }
}
