using System.Management.Automation;
using MeshFederation.Engine.Rotation;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Start-MeshRootRotation: the first phase of a shared root's rotation (trust-add): every cluster's cacerts
/// root-cert.pem gets the new root, then it waits until every istiod publishes both roots in istio-ca-root-cert, and
/// records the stage in the clusters. Refuses to start when ISTIO_MULTIROOT_MESH is off, when the clusters disagree on
/// the current root, or in ambient mode. With -Mesh (OSSM 2 federation): every peer's &lt;peer&gt;-ca-root-cert ConfigMap
/// for the mesh gets the new root beside the current one; refuses when a peer does not hold the current root or when
/// a ConfigMap is not this module's (-Adopt takes it over).
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "MeshRootRotation", HelpUri = HelpLinks.Docs + "Start-MeshRootRotation.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = SharedRootSet)]
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

    /// <summary>With -Mesh: take over peer ConfigMaps this module did not create (their content is kept).</summary>
    [Parameter(ParameterSetName = PeerRootSet)]
    public SwitchParameter Adopt { get; set; }

    protected override void EndProcessing() => RunPhase(RotationPhase.TrustAdd, NewRootCertificatePath, null, WaitTimeout, 3650, Adopt);
}
