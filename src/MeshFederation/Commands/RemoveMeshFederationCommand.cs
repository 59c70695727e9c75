using System.Management.Automation;
using MeshFederation.Engine.Live;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Remove-MeshFederation: deletes exactly what this module created for the given meshes (proven by the creation record
/// it writes when it creates an object, not by labels) and nothing else; idempotent. A namespace it created is deleted
/// only when nothing foreign lives in it; a namespace it did not create only loses this module's labels. Deletions are
/// waited for, and what is still terminating is reported (-PassThru: Done is false, with the reason).
/// </summary>
[Cmdlet(VerbsCommon.Remove, "MeshFederation", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByObject)]
[OutputType(typeof(ApplyOutcome))]
public sealed class RemoveMeshFederationCommand : LiveCmdlet
{
    /// <summary>Keep the control-plane namespaces this module created.</summary>
    [Parameter]
    public SwitchParameter KeepNamespace { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Seconds to wait for deleted objects to be gone; what is still there is reported as terminating.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int WaitTimeoutSeconds { get; set; } = 120;

    protected override void EndProcessing()
    {
        var set = LoadSet();
        if (set is null) return;
        using var log = new CmdletLog();
        using var connections = Connect(log);
        var live = new LiveFederation(connections, new LiveOptions { KeepNamespaces = KeepNamespace.IsPresent, DeleteTimeout = TimeSpan.FromSeconds(WaitTimeoutSeconds) }, log);
        if (!Run(log, () => live.PlanRemovalAsync(set, Cancellation), out var plan)) return;
        var approved = new HashSet<PlanItem>();
        foreach (var item in plan!.Changes)
            if (ShouldProcess(item.Target, item.Action == PlanAction.Delete ? "Delete" : "Remove meshfederation's labels and annotations (the namespace was not created by meshfederation and stays)")) approved.Add(item);
        foreach (var item in plan.Items.Where(i => i.Action == PlanAction.Keep)) WriteVerbose($"Left alone: {item.Target}: {item.Reason}");
        if (approved.Count == 0)
        {
            WriteVerbose(!plan.HasChanges ? "Nothing created by meshfederation was found for these meshes." : "Nothing approved.");
            return;
        }
        if (!Run(log, () => live.ApplyAsync(set, plan, approved.Contains, Cancellation), out var outcomes)) return;
        WriteVerbose($"Deleted {outcomes!.Count(o => o.State == OutcomeState.Deleted)} object(s); {outcomes!.Count(o => o.State == OutcomeState.Terminating)} still terminating; {outcomes!.Count(o => o.State == OutcomeState.Kept)} kept.");
        if (PassThru.IsPresent) foreach (var o in outcomes!) WriteObject(o);
    }
}
