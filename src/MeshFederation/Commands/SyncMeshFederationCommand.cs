using System.Management.Automation;
using MeshFederation.Engine.Live;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Sync-MeshFederation: makes the clusters match federation objects (or a topology) to their clusters. Reads the values only the
/// clusters know (root certificates, gateway addresses), plans every change, asks ShouldProcess per change (-WhatIf
/// shows the plan and changes nothing), then applies with server-side apply in dependency order on all clusters in
/// parallel, waiting for control planes to be ready where needed. Objects it created earlier that the input no longer
/// has are deleted only with -Prune, each confirmed at high impact (-Force: without asking).
/// </summary>
[Cmdlet(VerbsData.Sync, "MeshFederation", HelpUri = HelpLinks.Docs + "Sync-MeshFederation.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByObject)]
[OutputType(typeof(ApplyOutcome))]
public sealed class SyncMeshFederationCommand : LiveCmdlet
{
    /// <summary>Take over fields other field managers own (server-side apply --force-conflicts).</summary>
    [Parameter]
    public SwitchParameter ForceConflicts { get; set; }

    /// <summary>Apply and delete without asking (the deletes -Prune plans are otherwise confirmed one by one).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>How long to wait for control planes to be ready and gateways to get addresses.</summary>
    [Parameter]
    [TimeSpanArgument]
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Clusters worked on at once.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;

    /// <summary>Also delete objects this module created earlier for these meshes that the input no longer contains.</summary>
    [Parameter]
    public SwitchParameter Prune { get; set; }

    /// <summary>Emit the outcome of every change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        if (WaitTimeout <= TimeSpan.Zero || WaitTimeout > TimeSpan.FromDays(1))
        {
            WriteError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(WaitTimeout)), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, WaitTimeout)
            { ErrorDetails = new ErrorDetails($"WaitTimeout = '{WaitTimeout}': must be more than zero and at most a day.") { RecommendedAction = "give a duration such as 10m or 00:30:00" } });
            return;
        }
        var set = LoadSet();
        if (set is null) return;
        using var log = new CmdletLog();
        using var connections = Connect(log);
        if (connections is null) return;
        var live = new LiveFederation(connections, new LiveOptions
        {
            ForceConflicts = ForceConflicts.IsPresent,
            WaitTimeout = WaitTimeout,
            MaxParallelClusters = ThrottleLimit,
            Prune = Prune.IsPresent,
        }, log);
        if (!Run(log, () => live.PlanAsync(set, Cancellation), out var plan)) return;
        WriteVerbose($"Plan: {plan}");
        var approved = new HashSet<PlanItem>();
        bool yesToAll = false, noToAll = false;
        foreach (var item in plan!.Changes)
        {
            var ok = item.Action == PlanAction.Delete
                ? ShouldProcessHighImpact(item.Target, "Delete", "It was created by meshfederation and is no longer in the input (-Prune).", Force.IsPresent, ref yesToAll, ref noToAll)
                : ShouldProcess(item.Target, item.Deferred ? $"{item.Action} ({item.Reason})" : item.Action.ToString());
            if (ok) approved.Add(item);
        }
        if (approved.Count == 0) return;
        Run(log, () => live.ApplyAsync(set, plan, approved.Contains, Cancellation), out var outcomes);
        // Every outcome, also when some changes failed (their errors are written above).
        if (PassThru.IsPresent && outcomes is not null) foreach (var o in outcomes) WriteObject(o);
    }
}
