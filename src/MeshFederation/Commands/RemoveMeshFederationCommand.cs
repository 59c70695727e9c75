using System.Management.Automation;
using MeshFederation.Engine.Live;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Remove-MeshFederation: deletes exactly what this module created for the given meshes (proven by the creation record
/// it writes when it creates an object, not by labels) and nothing else; idempotent. A namespace it created is deleted
/// only when nothing foreign lives in it; a namespace it did not create only loses this module's labels. Asks once for
/// the whole removal (ConfirmImpact High; -Force does not ask); -WhatIf lists every object. Deletions are waited for,
/// and what is still terminating is reported (-PassThru: Done is false, with the reason).
/// </summary>
[Cmdlet(VerbsCommon.Remove, "MeshFederation", HelpUri = HelpLinks.Docs + "Remove-MeshFederation.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByObject)]
[OutputType(typeof(ApplyOutcome))]
public sealed class RemoveMeshFederationCommand : LiveCmdlet
{
    /// <summary>Keep the control-plane namespaces this module created.</summary>
    [Parameter]
    public SwitchParameter KeepNamespace { get; set; }

    /// <summary>Delete without asking.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>How long to wait for deleted objects to be gone (2m, 00:05:00); what is still there is reported as terminating.</summary>
    [Parameter]
    [TimeSpanArgument]
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromMinutes(2);

    protected override void EndProcessing()
    {
        if (WaitTimeout <= TimeSpan.Zero || WaitTimeout > TimeSpan.FromDays(1))
        {
            WriteError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(WaitTimeout)), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, WaitTimeout)
            { ErrorDetails = new ErrorDetails($"WaitTimeout = '{WaitTimeout}': must be more than zero and at most a day.") { RecommendedAction = "give a duration such as 2m or 00:05:00" } });
            return;
        }
        var set = LoadSet();
        if (set is null) return;
        using var log = new CmdletLog();
        using var connections = Connect(log);
        if (connections is null) return;
        var live = new LiveFederation(connections, new LiveOptions { KeepNamespaces = KeepNamespace.IsPresent, DeleteTimeout = WaitTimeout }, log);
        if (!Run(log, () => live.PlanRemovalAsync(set, Cancellation), out var plan)) return;
        foreach (var item in plan!.Items.Where(i => i.Action == PlanAction.Keep)) WriteVerbose($"Left alone: {item.Target}: {item.Reason}");
        var changes = plan.Changes.ToList();
        if (changes.Count == 0)
        {
            WriteVerbose("Nothing created by meshfederation was found for these meshes.");
            return;
        }
        static string What(PlanItem item) => item.Action == PlanAction.Delete
            ? "Delete"
            : "Remove meshfederation's labels and annotations (the namespace was not created by meshfederation and stays)";
        foreach (var item in changes) WriteVerbose($"To {(item.Action == PlanAction.Delete ? "delete" : "unlabel")}: {item.Target}");
        bool approved;
        if (IsWhatIf())
        {
            // -WhatIf lists every object that would go.
            foreach (var item in changes) ShouldProcess(item.Target, What(item));
            approved = false;
        }
        else
        {
            // One question for the whole removal, not one per object.
            var meshes = string.Join(", ", set.ControlPlanes.Select(c => c.Name).Distinct());
            var clusters = changes.Select(i => i.Cluster).Distinct().ToList();
            var deletes = changes.Count(i => i.Action == PlanAction.Delete);
            var target = $"{deletes} object(s) created by meshfederation for {meshes} in cluster(s) {string.Join(", ", clusters)}" +
                (changes.Count > deletes ? $" (and meshfederation's labels on {changes.Count - deletes} namespace(s) it did not create)" : "");
            approved = Force.IsPresent || ShouldProcess(target, "Delete");
        }
        if (!approved) return;
        var ok = Run(log, () => live.ApplyAsync(set, plan, changes.Contains, Cancellation), out var outcomes);
        if (ok && outcomes is not null)
            WriteVerbose($"Deleted {outcomes.Count(o => o.State == OutcomeState.Deleted)} object(s); {outcomes.Count(o => o.State == OutcomeState.Terminating)} still terminating; {outcomes.Count(o => o.State == OutcomeState.Kept)} kept.");
        if (PassThru.IsPresent && outcomes is not null) foreach (var o in outcomes) WriteObject(o);
    }
}
