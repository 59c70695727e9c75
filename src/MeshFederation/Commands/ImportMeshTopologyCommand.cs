using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Proxy;
using MeshFederation.Engine.Topology;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>Import-MeshTopology: reads a topology file and emits the same objects the cmdlets would create.</summary>
[Cmdlet(VerbsData.Import, "MeshTopology", HelpUri = HelpLinks.Docs + "Import-MeshTopology.md")]
[OutputType(typeof(MeshControlPlane), typeof(MeshPeering), typeof(MeshServiceExport), typeof(MeshServiceImport), typeof(MeshTrafficSplit), typeof(FederationProxyConfig))]
public sealed class ImportMeshTopologyCommand : MeshCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (var p in Path)
        {
            var path = GetUnresolvedProviderPathFromPSPath(p);
            FederationSet? set = null;
            if (!Try(() => set = TopologyLoader.LoadFile(path, Yaml), p)) continue;
            WriteVerbose($"{path}: {set!.ControlPlanes.Count} control planes, {set.Peerings.Count} peerings, {set.Exports.Count} exports, {set.Imports.Count} imports, {set.TrafficSplits.Count} traffic splits.");
            foreach (var o in set.AllObjects()) WriteObject(o);
        }
    }
}
