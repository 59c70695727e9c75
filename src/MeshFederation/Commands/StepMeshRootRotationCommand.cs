using System.Management.Automation;
using MeshFederation.Engine.Rotation;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Step-MeshRootRotation: the next phase of the rotation the clusters record: Reissue (every cluster's intermediate
/// re-issued under the new root; waits until every istiod signs with it) after trust-add, TrustRemove (the old root
/// removed everywhere; waits until it is gone from every cacerts and istio-ca-root-cert) after reissue. -Phase runs a
/// phase again (resume after an interruption, or verify again). With -Mesh (OSSM 2 federation): Reissue verifies that
/// the mesh's CA (its cacerts, which the user replaces) signs with the new root and istiod publishes it; TrustRemove
/// removes the old root from every peer's ConfigMap once the mesh publishes it no more.
/// </summary>
[Cmdlet(VerbsCommon.Step, "MeshRootRotation", HelpUri = HelpLinks.Docs + "Step-MeshRootRotation.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = SharedRootSet)]
[OutputType(typeof(RootRotationResult))]
public sealed class StepMeshRootRotationCommand : RootRotationCmdlet
{
    /// <summary>The phase to run; by default the next one the clusters record.</summary>
    [Parameter]
    public RotationPhase? Phase { get; set; }

    /// <summary>The new root's certificate (root-cert.pem); the Reissue phase needs it with its key.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NewRootCertificatePath { get; set; }

    /// <summary>The new root's private key (root-key.pem); read here, never written to a cluster.</summary>
    [Parameter(ParameterSetName = SharedRootSet)]
    [ValidateNotNullOrEmpty]
    public string? NewRootKeyPath { get; set; }

    /// <summary>Validity of the re-issued intermediates, whole days (capped at the new root's end).</summary>
    [Parameter(ParameterSetName = SharedRootSet)]
    [TimeSpanArgument]
    public TimeSpan Validity { get; set; } = TimeSpan.FromDays(3650);

    /// <summary>How long to wait for every istiod to take up the phase.</summary>
    [Parameter]
    [TimeSpanArgument]
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>With -Mesh: take over peer ConfigMaps this module did not create (their content is kept).</summary>
    [Parameter(ParameterSetName = PeerRootSet)]
    public SwitchParameter Adopt { get; set; }

    protected override void EndProcessing()
    {
        if (Validity < TimeSpan.FromDays(2) || Validity > TimeSpan.FromDays(36500) || Validity.Ticks % TimeSpan.TicksPerDay != 0)
        {
            WriteError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(Validity)), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, Validity)
            { ErrorDetails = new ErrorDetails($"Validity = '{Validity}': intermediates are valid for whole days, from 2 to 36500.") { RecommendedAction = "give whole days, e.g. 3650d or (New-TimeSpan -Days 365)" } });
            return;
        }
        RunPhase(Phase, NewRootCertificatePath, NewRootKeyPath, WaitTimeout, (int)Validity.TotalDays, Adopt);
    }
}
