using System.Text.Json.Nodes;

namespace MeshFederation.Engine.Live;

/// <summary>What a plan does to one object.</summary>
public enum PlanAction
{
    Create,
    Update,
    Unchanged,
    Delete,

    /// <summary>Left alone: it matches what this module manages (its labels) but this module did not create it.</summary>
    Keep,
}

/// <summary>What became of one planned change.</summary>
public enum OutcomeState
{
    /// <summary>Applied (created or updated).</summary>
    Applied,

    /// <summary>Deleted and gone.</summary>
    Deleted,

    /// <summary>Deletion requested but the object is still there (finalizers, a namespace still emptying).</summary>
    Terminating,

    /// <summary>Not touched, with the reason (not ours, or a namespace that holds objects this module did not create).</summary>
    Kept,

    /// <summary>The change failed; <see cref="ApplyOutcome.Error"/> says why.</summary>
    Failed,
}

/// <summary>One intended change (or non-change) to one object in one cluster.</summary>
public sealed class PlanItem
{
    public required string Cluster { get; init; }

    public required string Mesh { get; init; }

    public required PlanAction Action { get; init; }

    public required string ApiVersion { get; init; }

    public required string Kind { get; init; }

    public string? Namespace { get; init; }

    public required string Name { get; init; }

    /// <summary>
    /// Dependency level: 0 namespaces; 1 everything that needs only its namespace (CA material, control plane, member
    /// roll, gateway Services, service sets, routes); 2 peers, which need the CA material first.
    /// </summary>
    public required int Level { get; init; }

    /// <summary>Why: the fields that differ, or what must be read from the clusters first.</summary>
    public string Reason { get; init; } = "";

    /// <summary>The object needs values (peer address, root certificate) that exist only once a control plane is ready.</summary>
    public bool Deferred { get; init; }

    /// <summary>Created by this module (proven by its creation record), or about to be created by it.</summary>
    public bool Owned { get; init; }

    /// <summary>The creation record to keep applying (null: the object is not this module's and none is written).</summary>
    internal string? CreationRecord { get; init; }

    /// <summary>The object to apply (null for deletions and deferred objects not yet rendered).</summary>
    /// <remarks>Internal: it may hold private keys (cacerts) or tokens (remote secrets); plans are shown, never their content.</remarks>
    internal JsonObject? Desired { get; init; }

    public string Target => Namespace is null ? $"{Cluster}: {Kind} {Name}" : $"{Cluster}: {Kind} {Namespace}/{Name}";

    public override string ToString() => $"{Action} {Target}{(string.IsNullOrEmpty(Reason) ? "" : $" ({Reason})")}";

    internal string Key => $"{Cluster}|{ApiVersion.Split('/')[0]}|{Kind}|{Namespace}|{Name}";

    public static int LevelOf(string kind) => kind switch
    {
        "Namespace" => 0,
        "ServiceMeshPeer" => 2,
        _ => 1,
    };
}

/// <summary>The intended changes of an apply or a removal, computed before anything changes.</summary>
public sealed class FederationPlan
{
    public required IReadOnlyList<PlanItem> Items { get; init; }

    /// <summary>Sequential round trips on the critical path (discovery, reads, apply levels): the lower bound of the work.</summary>
    public int DependencyDepth { get; init; }

    public IEnumerable<PlanItem> Changes => Items.Where(i => i.Action is not (PlanAction.Unchanged or PlanAction.Keep));

    public bool HasChanges => Changes.Any();

    public override string ToString()
    {
        var kept = Items.Count(i => i.Action == PlanAction.Keep);
        return $"{Items.Count(i => i.Action == PlanAction.Create)} to create, {Items.Count(i => i.Action == PlanAction.Update)} to update, " +
               $"{Items.Count(i => i.Action == PlanAction.Delete)} to delete, {Items.Count(i => i.Action == PlanAction.Unchanged)} unchanged" +
               (kept == 0 ? "" : $", {kept} left alone");
    }
}

/// <summary>What happened to one planned change: Done only when it was applied or is gone.</summary>
public sealed record ApplyOutcome(PlanItem Item, bool Done, string? Error)
{
    /// <summary>Applied, Deleted, Terminating, Kept or Failed.</summary>
    public OutcomeState State { get; init; } = Done ? OutcomeState.Applied : OutcomeState.Failed;

    /// <summary>Why an object was kept or is still terminating, or "already gone" for one deleted before meshfed reached it (null otherwise).</summary>
    public string? Reason { get; init; }

    public override string ToString() => State switch
    {
        OutcomeState.Applied => $"done: {Item}",
        OutcomeState.Deleted => Reason is null ? $"deleted: {Item.Target}" : $"deleted: {Item.Target} ({Reason})",
        OutcomeState.Terminating => $"still terminating: {Item.Target} ({Reason})",
        OutcomeState.Kept => $"kept: {Item.Target} ({Reason})",
        _ => $"FAILED: {Item}: {Error}",
    };
}
