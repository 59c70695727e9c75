using System.Management.Automation;
using MeshFederation.Engine.Rotation;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Get-MeshRootRotation: where a shared root's rotation stands, as the clusters record it (ConfigMap
/// meshfed-root-rotation), with what every cluster trusts, publishes and signs with. Changes nothing.
/// </summary>
[Cmdlet(VerbsCommon.Get, "MeshRootRotation", HelpUri = HelpLinks.Docs + "Get-MeshRootRotation.md")]
[OutputType(typeof(RootRotationStatus))]
public sealed class GetMeshRootRotationCommand : RootRotationCmdlet
{
    protected override void EndProcessing()
    {
        if (WithRotation(TimeSpan.FromMinutes(5), 3650, (rotation, ct) => rotation.GetStatusAsync(ct), out var status) && status is not null)
            WriteObject(status);
    }
}
