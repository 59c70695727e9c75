using System.Management.Automation;
using MeshFederation.Engine.Live;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Remove-MeshFederation: deletes exactly what this module created for the given meshes (everything it applies is
/// labelled app.kubernetes.io/managed-by=meshfederation) and nothing else; idempotent. A control-plane namespace it
/// created is deleted only when nothing foreign lives in it.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "MeshFederation", HelpUri = HelpLinks.Docs + "Remove-MeshFederation.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByObject)]
[OutputType(typeof(ApplyOutcome))]
public sealed class RemoveMeshFederationCommand : LiveCmdlet
{
    /// <summary>Keep the control-plane namespaces this module created.</summary>
    [Parameter]
    public SwitchParameter KeepNamespace { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        var set = LoadSet();
        if (set is null) return;
        using var log = new CmdletLog();
        using var connections = Connect(log);
        var live = new LiveFederation(connections, new LiveOptions { KeepNamespaces = KeepNamespace.IsPresent }, log);
        if (!Run(log, () => live.PlanRemovalAsync(set, Cancellation), out var plan)) return;
        var approved = new HashSet<PlanItem>();
        foreach (var item in plan!.Items)
            if (ShouldProcess(item.Target, "Delete")) approved.Add(item);
        if (approved.Count == 0)
        {
            WriteVerbose(plan.Items.Count == 0 ? "Nothing created by meshfederation was found for these meshes." : "Nothing approved.");
            return;
        }
        if (!Run(log, () => live.ApplyAsync(set, plan, approved.Contains, Cancellation), out var outcomes)) return;
        if (PassThru.IsPresent) foreach (var o in outcomes!) WriteObject(o);
    }
}
