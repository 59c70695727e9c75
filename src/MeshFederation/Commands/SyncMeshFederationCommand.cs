using System.Management.Automation;
using MeshFederation.Engine.Live;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Sync-MeshFederation: makes the clusters match federation objects (or a topology) to their clusters. Reads the values only the
/// clusters know (root certificates, gateway addresses), plans every change, asks ShouldProcess per change (-WhatIf
/// shows the plan and changes nothing), then applies with server-side apply in dependency order on all clusters in
/// parallel, waiting for control planes to be ready where needed.
/// </summary>
[Cmdlet(VerbsData.Sync, "MeshFederation", HelpUri = HelpLinks.Docs + "Sync-MeshFederation.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByObject)]
[OutputType(typeof(ApplyOutcome))]
public sealed class SyncMeshFederationCommand : LiveCmdlet
{
    /// <summary>Take over fields other managers own (server-side apply --force-conflicts).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Seconds to wait for control planes to be ready and gateways to get addresses.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int WaitTimeoutSeconds { get; set; } = 600;

    /// <summary>Clusters worked on at once.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;

    /// <summary>Keep objects this module created earlier that the topology no longer contains.</summary>
    [Parameter]
    public SwitchParameter NoPrune { get; set; }

    /// <summary>Emit the outcome of every change.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        var set = LoadSet();
        if (set is null) return;
        using var log = new CmdletLog();
        using var connections = Connect(log);
        var live = new LiveFederation(connections, new LiveOptions
        {
            Force = Force.IsPresent,
            WaitTimeout = TimeSpan.FromSeconds(WaitTimeoutSeconds),
            MaxParallelClusters = ThrottleLimit,
            Prune = !NoPrune.IsPresent,
        }, log);
        if (!Run(log, () => live.PlanAsync(set, Cancellation), out var plan)) return;
        WriteVerbose($"Plan: {plan}");
        var approved = new HashSet<PlanItem>();
        foreach (var item in plan!.Changes)
            if (ShouldProcess(item.Target, item.Deferred ? $"{item.Action} ({item.Reason})" : item.Action.ToString())) approved.Add(item);
        if (approved.Count == 0) return;
        if (!Run(log, () => live.ApplyAsync(set, plan, approved.Contains, Cancellation), out var outcomes)) return;
        if (PassThru.IsPresent) foreach (var o in outcomes!) WriteObject(o);
    }
}
