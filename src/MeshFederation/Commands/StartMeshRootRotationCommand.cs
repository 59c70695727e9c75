using System.Management.Automation;
using MeshFederation.Engine.Rotation;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Start-MeshRootRotation: the first phase of a shared root's rotation (trust-add): every cluster's cacerts
/// root-cert.pem gets the new root, then it waits until every istiod publishes both roots in istio-ca-root-cert, and
/// records the stage in the clusters. Refuses to start when ISTIO_MULTIROOT_MESH is off, when the clusters disagree on
/// the current root, or in ambient mode.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "MeshRootRotation", HelpUri = HelpLinks.Docs + "Start-MeshRootRotation.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(RootRotationResult))]
public sealed class StartMeshRootRotationCommand : RootRotationCmdlet
{
    /// <summary>The new root's certificate (root-cert.pem of New-MeshCertificateAuthority or meshfed ca).</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string NewRootCertificatePath { get; set; } = "";

    /// <summary>How long to wait for every istiod to take up the new bundle.</summary>
    [Parameter]
    [TimeSpanArgument]
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromMinutes(5);

    protected override void EndProcessing() => RunPhase(RotationPhase.TrustAdd, NewRootCertificatePath, null, WaitTimeout, 3650);
}
