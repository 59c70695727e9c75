using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// ConvertTo-MeshManifest: renders piped federation objects into one multi-document YAML per cluster, in apply order.
/// Nothing is written; Export-MeshManifest writes the same to files.
/// </summary>
[Cmdlet(VerbsData.ConvertTo, "MeshManifest", HelpUri = HelpLinks.Docs + "ConvertTo-MeshManifest.md")]
[OutputType(typeof(ClusterManifests))]
public sealed class ConvertToMeshManifestCommand : MeshCmdlet
{
    private readonly List<object> _items = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public object[] InputObject { get; set; } = Array.Empty<object>();

    /// <summary>Only the manifests of these clusters.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string[] Cluster { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (var o in InputObject) _items.Add(o is PSObject ps ? ps.BaseObject : o);
    }

    protected override void EndProcessing()
    {
        var set = new FederationSet();
        var ok = true;
        foreach (var o in _items) ok &= Try(() => set.Add(o), o);
        if (!ok) return;
        RenderResult? result = null;
        if (!Try(() => result = Ossm2Renderer.Render(set), _items)) return;
        WritePending(result!.Pending, result.Warnings);
        var clusters = result.Clusters.Select(c => c.Cluster).ToHashSet(StringComparer.Ordinal);
        foreach (var unknown in Cluster.Where(c => !clusters.Contains(c)).Distinct(StringComparer.Ordinal))
            WriteError(ErrorIds.Record(new Engine.Validation.MeshProblem(Engine.Validation.MeshErrorKind.NotFound, "Cluster", unknown,
                "is not a cluster of the piped objects", $"use one of: {string.Join(", ", clusters.Order(StringComparer.Ordinal))}"), unknown));
        foreach (var c in ManifestEmitter.WithYaml(result, Yaml))
            if (Cluster.Length == 0 || Cluster.Contains(c.Cluster, StringComparer.Ordinal)) WriteObject(c);
    }
}
