using System.Management.Automation;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Migration;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// ConvertTo-MeshOssm3Federation: turns an OpenShift Service Mesh 2 federation (piped objects, a topology file, or read
/// from the clusters' SMCPs, ServiceMeshPeers and service sets) into the OSSM 3 federation style: the OSSM 3 topology,
/// its manifests and the ordered steps of Red Hat's Federation-to-Multi-Cluster migration guide. Nothing in the
/// clusters changes; -OutputDirectory writes the files.
/// </summary>
[Cmdlet(VerbsData.ConvertTo, "MeshOssm3Federation", DefaultParameterSetName = ByObject, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MeshMigration))]
public sealed class ConvertToMeshOssm3FederationCommand : LiveCmdlet
{
    private const string ByContext = "Context";

    /// <summary>Read the OSSM 2 federation from these kubeconfig contexts (one per cluster of the federation).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByContext)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string[] Context { get; set; } = Array.Empty<string>();

    /// <summary>The OSSM 3 (Sail) Istio version; the guide installs v1.24-latest (OSSM 3.0).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Version { get; set; } = MigrationOptions.DefaultVersion;

    /// <summary>Name of the OSSM 3 topology (metadata.name).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Write MIGRATION.md, ossm3-topology.yaml and the steps' files into this folder (each file replaced atomically).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutputDirectory { get; set; }

    protected override void EndProcessing()
    {
        using var log = new CmdletLog();
        Ossm2Federation? source = null;
        if (ParameterSetName == ByContext)
        {
            if (!TryResolveKubeConfig(KubeConfig, out var kubeconfig)) return;
            using var connections = Connect(log);
            if (connections is null) return;
            if (!Run(log, () => Ossm2Federation.DiscoverAsync(connections, Context.Select(c => new ClusterBinding(c) { Context = c, KubeConfig = kubeconfig }), log, Cancellation), out source)) return;
        }
        else
        {
            var set = LoadSet();
            if (set is null || !Try(() => source = Ossm2Federation.FromSet(set), set)) return;
        }
        MeshMigration? migration = null;
        if (!Try(() => migration = Ossm3Migration.Create(source!, new MigrationOptions { Version = Version, Name = Name }, Yaml), source)) return;
        foreach (var p in migration!.Manifests.Pending.Where(p => p.Defers)) WriteWarning($"Not known yet: {p}");
        foreach (var n in migration.Notes) WriteVerbose(n);
        if (OutputDirectory is not null)
        {
            var dir = ResolveDestination(OutputDirectory, literal: false, nameof(OutputDirectory));
            if (dir is null) return;
            // All or nothing: files the cmdlet did not write, and the topology read, are never overwritten.
            var options = new OutputFolderOptions
            {
                Field = nameof(OutputDirectory),
                Inputs = InputFiles(),
                CurrentDirectory = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
                Log = WriteVerbose,
            };
            if (!Try(() => OutputFolder.Check(dir, migration.Files, options), dir)) return;
            if (ShouldProcess(dir, $"Write {migration.Files.Count} migration files ({string.Join(", ", migration.Files.Keys)})"))
            {
                OutputFolderResult? written = null;
                if (!Try(() => written = OutputFolder.Write(dir, migration.Files, options), dir)) return;
                foreach (var f in written!.Written) WriteVerbose($"Wrote {f}");
            }
        }
        WriteObject(migration);
    }
}
