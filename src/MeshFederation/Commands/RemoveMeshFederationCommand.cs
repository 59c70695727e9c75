using System.Management.Automation;
using MeshFederation.Engine.Live;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Remove-MeshFederation: deletes exactly what this module created for the given meshes (everything it applies is
/// labelled app.kubernetes.io/managed-by=meshfederation) and nothing else; idempotent. A control-plane namespace it
/// created is deleted only when nothing foreign lives in it. Asks once for the whole removal (ConfirmImpact High);
/// -WhatIf lists every object.
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

    protected override void EndProcessing()
    {
        var set = LoadSet();
        if (set is null) return;
        using var log = new CmdletLog();
        using var connections = Connect(log);
        if (connections is null) return;
        var live = new LiveFederation(connections, new LiveOptions { KeepNamespaces = KeepNamespace.IsPresent }, log);
        if (!Run(log, () => live.PlanRemovalAsync(set, Cancellation), out var plan)) return;
        if (plan!.Items.Count == 0)
        {
            WriteVerbose("Nothing created by meshfederation was found for these meshes.");
            return;
        }
        foreach (var item in plan.Items) WriteVerbose($"To delete: {item.Target}");
        var meshes = string.Join(", ", set.ControlPlanes.Select(c => c.Name).Distinct());
        var clusters = plan.Items.Select(i => i.Cluster).Distinct().ToList();
        bool approved;
        if (IsWhatIf())
        {
            // -WhatIf lists every object that would go.
            foreach (var item in plan.Items) ShouldProcess(item.Target, "Delete");
            approved = false;
        }
        else
        {
            // One question for the whole removal, not one per object.
            var target = $"{plan.Items.Count} objects created by meshfederation for {meshes} in cluster(s) {string.Join(", ", clusters)}";
            approved = Force.IsPresent || ShouldProcess(target, "Delete");
        }
        if (!approved) return;
        Run(log, () => live.ApplyAsync(set, plan, _ => true, Cancellation), out var outcomes);
        if (PassThru.IsPresent && outcomes is not null) foreach (var o in outcomes) WriteObject(o);
    }
}
