using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Model;

/// <summary>
/// A service (by namespace and name, or by label selector) that <see cref="ControlPlane"/> exports to
/// <see cref="Peer"/>. All exports to one peer render as one ExportedServiceSet named after that peer.
/// </summary>
public sealed class MeshServiceExport
{
    public required MeshControlPlane ControlPlane { get; init; }

    /// <summary>The mesh the service is exported to (the ServiceMeshPeer name in the exporting mesh).</summary>
    public required string Peer { get; init; }

    public string Mesh => ControlPlane.Name;

    public string Cluster => ControlPlane.Cluster.Name;

    /// <summary>Namespace of the exported service; <c>*</c> matches all.</summary>
    public required string Namespace { get; init; }

    /// <summary>Service name; <c>*</c> matches all. Null when a label selector is used.</summary>
    public string? Name { get; init; }

    /// <summary>Label selector (matchLabels) instead of a name.</summary>
    public IReadOnlyDictionary<string, string>? LabelSelector { get; init; }

    public string? AliasNamespace { get; init; }

    public string? AliasName { get; init; }

    public SourceLocation? Source { get; init; }

    public bool IsLabelSelector => LabelSelector is { Count: > 0 };

    /// <summary>The namespace peers see (alias or original).</summary>
    public string ExportedNamespace => Names.IsWildcard(AliasNamespace) ? Namespace : AliasNamespace!;

    /// <summary>The name peers see (alias or original); null for selectors.</summary>
    public string? ExportedName => IsLabelSelector ? null : Names.IsWildcard(AliasName) ? Name : AliasName;

    /// <summary>Host the importing mesh sees in ImportedServiceSet status, when the export names one service.</summary>
    public string? ExportedHost =>
        ExportedName is { } n && !Names.IsWildcard(n) && !Names.IsWildcard(ExportedNamespace)
            ? Names.ExportedHost(n, ExportedNamespace, Peer) : null;

    public override string ToString() =>
        $"{ControlPlane.Name} -> {Peer}: {Namespace}/{(IsLabelSelector ? "{" + string.Join(",", LabelSelector!.Select(kv => kv.Key + "=" + kv.Value)) + "}" : Name)}"
        + (AliasNamespace is null && AliasName is null ? "" : $" as {ExportedNamespace}/{ExportedName ?? "*"}");

    public void Validate(ProblemList problems)
    {
        var field = $"export '{this}'";
        Names.CheckLabel(problems, $"{field}.to", Peer, Source);
        if (string.Equals(Peer, ControlPlane.Name, StringComparison.Ordinal))
            problems.Add(MeshErrorKind.Conflict, $"{field}.to", Peer, "a mesh cannot export to itself", "export to a peer mesh (-Peer <the other mesh>)", Source, this);
        Names.CheckLabel(problems, $"{field}.namespace", Namespace, Source, allowWildcard: true);
        if (IsLabelSelector && Name is not null)
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.name", Name, "cannot be combined with a label selector",
                "give either a name or a label selector", Source, this);
        if (!IsLabelSelector && Name is null)
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.name", null, "is required without a label selector",
                "give a service name ('*' for all) or a label selector", Source, this);
        if (Name is not null) Names.CheckLabel(problems, $"{field}.name", Name, Source, allowWildcard: true);
        if (AliasNamespace is not null) Names.CheckLabel(problems, $"{field}.alias.namespace", AliasNamespace, Source, allowWildcard: true);
        if (AliasName is not null) Names.CheckLabel(problems, $"{field}.alias.name", AliasName, Source, allowWildcard: true);
        if (IsLabelSelector)
        {
            foreach (var (k, v) in LabelSelector!)
                if (!Names.IsLabelValue(v) || string.IsNullOrEmpty(k))
                    problems.Add(MeshErrorKind.InvalidArgument, $"{field}.labelSelector[{k}]", v, "is not a valid label",
                        "use label keys and values as Kubernetes allows them", Source, this);
            if (!Names.IsWildcard(AliasName))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.alias.name", AliasName,
                    "a label selector matches many services, so only the namespace can be aliased", "alias the namespace only", Source, this);
        }
        if (Name == "*" && !Names.IsWildcard(AliasName))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.alias.name", AliasName,
                "all services cannot share one alias name", "alias the namespace only, or export a single service", Source, this);
    }
}
