using System.Management.Automation;
using MeshFederation.Engine.Rotation;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Get-MeshRootRotation: where a shared root's rotation stands, as the clusters record it (ConfigMap
/// meshfed-root-rotation), with what every cluster trusts, publishes and signs with; with -Mesh, where an OSSM 2 mesh's
/// peer root rotation stands (ConfigMap meshfed-peer-root-rotation), with what the mesh signs with and publishes and
/// what every peer's ConfigMap holds. Changes nothing.
/// </summary>
[Cmdlet(VerbsCommon.Get, "MeshRootRotation", HelpUri = HelpLinks.Docs + "Get-MeshRootRotation.md", DefaultParameterSetName = SharedRootSet)]
[OutputType(typeof(RootRotationStatus), ParameterSetName = new[] { SharedRootSet })]
[OutputType(typeof(PeerRootRotationStatus), ParameterSetName = new[] { PeerRootSet })]
public sealed class GetMeshRootRotationCommand : RootRotationCmdlet
{
    protected override void EndProcessing()
    {
        if (WithRotation(TimeSpan.FromMinutes(5), 3650, false, async (rotation, peerRotation, ct) => rotation is not null
                ? (object)await rotation.GetStatusAsync(ct).ConfigureAwait(false)
                : await peerRotation!.GetStatusAsync(ct).ConfigureAwait(false), out var status) && status is not null)
            WriteObject(status);
    }
}
