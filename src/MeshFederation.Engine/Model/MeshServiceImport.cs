using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Model;

/// <summary>Locality assigned to imported endpoints (ImportedServiceSet spec.locality), for failover.</summary>
public sealed record MeshLocality(string Region, string? Zone = null, string? Subzone = null)
{
    public override string ToString() => string.Join('/', new[] { Region, Zone, Subzone }.Where(s => !string.IsNullOrEmpty(s)));
}

/// <summary>
/// A service that <see cref="ControlPlane"/> imports from <see cref="Peer"/>, matched by the exported namespace
/// and name. All imports from one peer render as one ImportedServiceSet named after that peer.
/// </summary>
public sealed class MeshServiceImport
{
    public required MeshControlPlane ControlPlane { get; init; }

    /// <summary>The mesh the service is imported from (the ServiceMeshPeer name in the importing mesh).</summary>
    public required string Peer { get; init; }

    public string Mesh => ControlPlane.Name;

    public string Cluster => ControlPlane.Cluster.Name;

    /// <summary>Exported namespace, as the exporting mesh publishes it; <c>*</c> matches all.</summary>
    public required string Namespace { get; init; }

    /// <summary>Exported service name; <c>*</c> matches all.</summary>
    public required string Name { get; init; }

    public string? AliasNamespace { get; init; }

    public string? AliasName { get; init; }

    /// <summary>Aggregate the imported endpoints with the local service of the same name (needs a fixed alias namespace).</summary>
    public bool ImportAsLocal { get; init; }

    public string? DomainSuffix { get; init; }

    /// <summary>Locality of the imported endpoints; one per ImportedServiceSet.</summary>
    public MeshLocality? Locality { get; init; }

    /// <summary>Ports of the service (multi-mesh ServiceEntries need them).</summary>
    public IReadOnlyList<ServicePortSpec> Ports { get; init; } = Array.Empty<ServicePortSpec>();

    public SourceLocation? Source { get; init; }

    public string LocalNamespace => Names.IsWildcard(AliasNamespace) ? Namespace : AliasNamespace!;

    public string LocalName => Names.IsWildcard(AliasName) ? Name : AliasName!;

    /// <summary>Host workloads in the importing mesh use, when the import names one service.</summary>
    public string? LocalHost =>
        Names.IsWildcard(LocalName) || Names.IsWildcard(LocalNamespace) ? null
        : ControlPlane.Style == MeshStyle.MultiMesh ? $"{LocalName}.{LocalNamespace}.global"
        : Names.ImportedHost(LocalName, LocalNamespace, Peer, ImportAsLocal, DomainSuffix);

    public override string ToString() =>
        $"{ControlPlane.Name} <- {Peer}: {Namespace}/{Name}" + (AliasNamespace is null && AliasName is null ? "" : $" as {LocalNamespace}/{LocalName}")
        + (ImportAsLocal ? " (as local)" : "");

    public void Validate(ProblemList problems)
    {
        var field = $"import '{this}'";
        Names.CheckLabel(problems, $"{field}.from", Peer, Source);
        if (string.Equals(Peer, ControlPlane.Name, StringComparison.Ordinal))
            problems.Add(MeshErrorKind.Conflict, $"{field}.from", Peer, "a mesh cannot import from itself", "import from a peer mesh", Source, this);
        Names.CheckLabel(problems, $"{field}.namespace", Namespace, Source, allowWildcard: true);
        Names.CheckLabel(problems, $"{field}.name", Name, Source, allowWildcard: true);
        if (AliasNamespace is not null) Names.CheckLabel(problems, $"{field}.alias.namespace", AliasNamespace, Source, allowWildcard: true);
        if (AliasName is not null) Names.CheckLabel(problems, $"{field}.alias.name", AliasName, Source, allowWildcard: true);
        if (ImportAsLocal && Names.IsWildcard(AliasNamespace))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.alias.namespace", AliasNamespace ?? "",
                "importAsLocal needs a fixed alias namespace; OSSM silently drops the rule otherwise",
                "set the alias namespace to the local namespace the service should join", Source, this);
        if (ImportAsLocal && !string.IsNullOrEmpty(DomainSuffix))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.domainSuffix", DomainSuffix,
                "cannot be combined with importAsLocal (local imports use svc.cluster.local)", "drop one of the two", Source, this);
        if (!ImportAsLocal && DomainSuffix is "svc.cluster.local" or "cluster.local")
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.domainSuffix", DomainSuffix,
                "equals the cluster suffix; OSSM rejects such a rule", "use importAsLocal instead", Source, this);
        if (!string.IsNullOrEmpty(DomainSuffix) && !Names.IsDns1123Subdomain(DomainSuffix))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.domainSuffix", DomainSuffix, "is not a DNS name",
                "use a suffix such as 'svc.remote.local'", Source, this);
        if (Name == "*" && !Names.IsWildcard(AliasName))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.alias.name", AliasName,
                "all services cannot share one alias name", "alias the namespace only, or import a single service", Source, this);
        if (ControlPlane.Style == MeshStyle.MultiMesh)
        {
            if (Names.IsWildcard(Name) || Names.IsWildcard(Namespace))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.name", $"{Namespace}/{Name}", "a .global ServiceEntry names one service", "import services one by one", Source, this);
            if (Ports.Count == 0)
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.ports", "", "a .global ServiceEntry needs the service's ports", "add ports: [{name: http1, number: 80, protocol: HTTP}]", Source, this);
        }
        foreach (var d in Ports.GroupBy(p => p.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"{field}.ports[].name", d.Key, "is used by two ports", "give every port its own name", Source, this);
        foreach (var p in Ports)
        {
            if (!Names.IsDns1123Label(p.Name))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.ports[].name", p.Name, "is not a valid Istio port name (a DNS-1123 label: lower-case letters, digits and '-')",
                    $"use a name such as '{Names.Suggest(p.Name)}'", Source, this);
            Names.CheckPort(problems, $"{field}.ports[{p.Name}].number", p.Number, Source);
            if (p.Protocol is not ("HTTP" or "HTTPS" or "GRPC" or "HTTP2" or "MONGO" or "TCP" or "TLS"))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.ports[{p.Name}].protocol", p.Protocol, "is not an Istio port protocol", "use HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP or TLS", Source, this);
        }
        if (Locality is { } l)
        {
            if (string.IsNullOrEmpty(l.Region))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.locality.region", "", "is required when a locality is set", "set the region", Source, this);
            if (!string.IsNullOrEmpty(l.Subzone) && string.IsNullOrEmpty(l.Zone))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.locality.zone", "", "a subzone requires a zone", "set the zone", Source, this);
        }
    }
}
