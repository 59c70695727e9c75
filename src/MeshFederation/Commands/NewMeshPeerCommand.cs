using System.Collections;
using System.Management.Automation;
using MeshFederation.Engine.Model;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// New-MeshPeer: peers control planes. Two give both directions of the pair; N give the full mesh, N·(N−1) peerings.
/// Control planes are collected from the pipeline and peered at the end.
/// </summary>
[Cmdlet(VerbsCommon.New, "MeshPeer", HelpUri = HelpLinks.Docs + "New-MeshPeer.md")]
[OutputType(typeof(MeshPeering))]
public sealed class NewMeshPeerCommand : MeshCmdlet
{
    private readonly List<MeshControlPlane> _controlPlanes = new();

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public MeshControlPlane[] ControlPlane { get; set; } = Array.Empty<MeshControlPlane>();

    [Parameter]
    [ValidateRange(1, 65535)]
    public int DiscoveryPort { get; set; } = MeshPeering.DefaultDiscoveryPort;

    [Parameter]
    [ValidateRange(1, 65535)]
    public int ServicePort { get; set; } = MeshPeering.DefaultServicePort;

    /// <summary>Root certificates by mesh name, when not set on the control planes.</summary>
    [Parameter]
    public Hashtable? RootCertificate { get; set; }

    /// <summary>requestedNetworkView overrides by remote mesh name (default network-&lt;peer&gt;).</summary>
    [Parameter]
    public Hashtable? NetworkView { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var cp in ControlPlane)
        {
            // PowerShell builds a MeshControlPlane from a hashtable by setting properties: required ones may be missing.
            if (cp is null || string.IsNullOrEmpty(cp.Name) || cp.Namespace is null || cp.TrustDomain is null || cp.Cluster is null)
            {
                WriteError(ErrorIds.Record(new Engine.Validation.MeshProblem(Engine.Validation.MeshErrorKind.InvalidArgument, "ControlPlane",
                    cp?.Name ?? "(none)", "is not a complete control plane (it lacks a name, namespace, trust domain or cluster); a hashtable or another object was converted into one",
                    "pipe control planes from New-MeshControlPlane, Get-MeshControlPlane or Import-MeshTopology"), cp));
                continue;
            }
            _controlPlanes.Add(cp);
        }
    }

    protected override void EndProcessing()
    {
        if (_controlPlanes.Count == 0) return; // every input was refused above, each with its own error
        var options = new PeeringOptions
        {
            DiscoveryPort = DiscoveryPort,
            ServicePort = ServicePort,
            CaBundles = ToStringMap(RootCertificate),
            NetworkViews = ToStringMap(NetworkView),
        };
        IReadOnlyList<MeshPeering> peerings = Array.Empty<MeshPeering>();
        if (!Try(() => peerings = Factory.Peerings(_controlPlanes, options), _controlPlanes)) return;
        WriteVerbose($"{peerings.Count} peerings among {_controlPlanes.Count} control planes.");
        foreach (var p in peerings) WriteObject(p);
    }
}
