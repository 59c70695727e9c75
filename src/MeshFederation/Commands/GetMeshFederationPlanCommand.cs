using System.Management.Automation;
using MeshFederation.Engine.Live;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>Get-MeshFederationPlan: what Sync-MeshFederation would do, per object (Create, Update, Unchanged, Delete), without changing anything.</summary>
[Cmdlet(VerbsCommon.Get, "MeshFederationPlan", HelpUri = HelpLinks.Docs + "Get-MeshFederationPlan.md", DefaultParameterSetName = ByObject)]
[OutputType(typeof(PlanItem))]
public sealed class GetMeshFederationPlanCommand : LiveCmdlet
{
    /// <summary>Only list the objects that would change.</summary>
    [Parameter]
    public SwitchParameter ChangesOnly { get; set; }

    /// <summary>Plan the removal (what Remove-MeshFederation would delete) instead of the apply.</summary>
    [Parameter]
    public SwitchParameter Removal { get; set; }

    /// <summary>Also plan the deletes Sync-MeshFederation -Prune would make.</summary>
    [Parameter]
    public SwitchParameter Prune { get; set; }

    protected override void EndProcessing()
    {
        var set = LoadSet();
        if (set is null) return;
        using var log = new CmdletLog();
        using var connections = Connect(log);
        if (connections is null) return;
        var live = new LiveFederation(connections, new LiveOptions { Prune = Prune.IsPresent }, log);
        if (!Run(log, () => Removal.IsPresent ? live.PlanRemovalAsync(set, Cancellation) : live.PlanAsync(set, Cancellation), out var plan)) return;
        foreach (var item in plan!.Items)
            if (!ChangesOnly.IsPresent || item.Action != PlanAction.Unchanged) WriteObject(item);
    }
}
