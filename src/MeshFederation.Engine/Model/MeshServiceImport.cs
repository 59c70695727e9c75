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

    /// <summary>Exported service name; <c>*</c> matches all; empty leaves <c>name</c> out of the rule (matches all, as the maistra sample writes it).</summary>
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

    /// <summary>Multi-mesh: how the import's ServiceEntry is written (name, namespace, host, VIP, resolution, endpoint labels, API version).</summary>
    public ServiceEntryOptions ServiceEntry { get; init; } = ServiceEntryOptions.Default;

    public SourceLocation? Source { get; init; }

    public string LocalNamespace => Names.IsWildcard(AliasNamespace) ? Namespace : AliasNamespace!;

    public string LocalName => Names.IsWildcard(AliasName) ? Name : AliasName!;

    /// <summary>Host workloads in the importing mesh use, when the import names one service.</summary>
    public string? LocalHost =>
        Names.IsWildcard(LocalName) || Names.IsWildcard(LocalNamespace) ? null
        : ControlPlane.Style == MeshStyle.MultiMesh ? ServiceEntry.Host ?? $"{LocalName}.{LocalNamespace}.global"
        : ControlPlane.Style == MeshStyle.Ossm3Federation && ServiceEntry.Host is { } host ? host
        : Names.ImportedHost(LocalName, LocalNamespace, Peer, ImportAsLocal, DomainSuffix);

    /// <summary>Multi-mesh: the ServiceEntry's name (default <c>&lt;local name&gt;-global</c>).</summary>
    public string ServiceEntryName => ServiceEntry.Name ?? $"{LocalName}-global";

    /// <summary>Multi-mesh: the ServiceEntry's namespace, where the clients are (default the local namespace).</summary>
    public string ServiceEntryNamespace => ServiceEntry.Namespace ?? LocalNamespace;

    public override string ToString() =>
        $"{ControlPlane.Name} <- {Peer}: {Namespace}/{(Name.Length == 0 ? "*" : Name)}" + (AliasNamespace is null && AliasName is null ? "" : $" as {LocalNamespace}/{LocalName}")
        + (ImportAsLocal ? " (as local)" : "");

    public void Validate(ProblemList problems)
    {
        var field = $"import '{this}'";
        Names.CheckLabel(problems, $"{field}.from", Peer, Source);
        if (string.Equals(Peer, ControlPlane.Name, StringComparison.Ordinal))
            problems.Add(MeshErrorKind.Conflict, $"{field}.from", Peer, "a mesh cannot import from itself", "import from a peer mesh", Source, this);
        Names.CheckLabel(problems, $"{field}.namespace", Namespace, Source, allowWildcard: true);
        if (Name.Length > 0) Names.CheckLabel(problems, $"{field}.name", Name, Source, allowWildcard: true);
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
            // Istio reads the protocol case-insensitively (istio.io writes "http"); it is rendered as written.
            if (p.Protocol.ToUpperInvariant() is not ("HTTP" or "HTTPS" or "GRPC" or "HTTP2" or "MONGO" or "TCP" or "TLS"))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.ports[{p.Name}].protocol", p.Protocol, "is not an Istio port protocol", "use HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP or TLS", Source, this);
        }
        if (ControlPlane.Style is not (MeshStyle.MultiMesh or MeshStyle.Ossm3Federation) && !ServiceEntry.IsDefault)
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.serviceEntry", ServiceEntry.ToString(), "only multi-mesh and OSSM 3 federation imports render a ServiceEntry",
                "remove serviceEntry, or import into a multi-mesh or ossm3-federation control plane", Source, this);
        if (ControlPlane.Style != MeshStyle.Ossm3Federation && (ServiceEntry.ExportTo is not null || ServiceEntry.WorkloadEntryName is not null))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.serviceEntry", ServiceEntry.ToString(), "exportTo and workloadEntryName belong to OSSM 3 federation imports",
                "remove them, or import into an ossm3-federation control plane", Source, this);
        if (ControlPlane.Style == MeshStyle.Ossm3Federation)
        {
            if (Ports.Count > 0)
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.ports", string.Join(",", Ports), "an OSSM 3 federation import takes the ports of the service the peer exports",
                    "remove ports here and give them on the export (or let them be read from the exporting cluster)", Source, this);
            if (ServiceEntry.Address is not null)
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.serviceEntry.address", ServiceEntry.Address, "OSSM 3 federation hosts get their addresses from istiod (PILOT_ENABLE_IP_AUTOALLOCATE)",
                    "remove address", Source, this);
            if (ServiceEntry.Resolution is not null and not "STATIC")
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.serviceEntry.resolution", ServiceEntry.Resolution, "an OSSM 3 federation import resolves to its WorkloadEntry (STATIC)",
                    "remove resolution", Source, this);
            if (Locality is not null)
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.locality", Locality.ToString(), "the OSSM 3 federation style does not render localities",
                    "remove locality (use a failover DestinationRule on the imported host)", Source, this);
        }
        ServiceEntry.Validate(problems, $"{field}.serviceEntry", Source, this);
        if (Locality is { } l)
        {
            if (string.IsNullOrEmpty(l.Region))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.locality.region", "", "is required when a locality is set", "set the region", Source, this);
            if (!string.IsNullOrEmpty(l.Subzone) && string.IsNullOrEmpty(l.Zone))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.locality.zone", "", "a subzone requires a zone", "set the zone", Source, this);
        }
    }
}

/// <summary>
/// How a multi-mesh import's ServiceEntry is written, for the forms upstream uses: istio.io puts
/// <c>httpbin.bar.global</c> (name <c>httpbin-bar</c>) in the client namespace <c>foo</c> with VIP 240.0.0.2; the OCM demo
/// uses the host <c>reviews.bookinfo.svc.cluster2.global</c>, resolution STATIC and endpoint labels. Unset values take
/// the defaults: name <c>&lt;name&gt;-global</c>, the local namespace, <c>&lt;name&gt;.&lt;ns&gt;.global</c>, a VIP from the
/// mesh's range, DNS, no labels, networking.istio.io/v1.
/// </summary>
public sealed record ServiceEntryOptions
{
    public static readonly ServiceEntryOptions Default = new();

    public static readonly string[] Resolutions = { "DNS", "STATIC", "NONE", "DNS_ROUND_ROBIN" };

    public static readonly string[] ApiVersions = { "networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3" };

    public string? Name { get; init; }

    public string? Namespace { get; init; }

    public string? Host { get; init; }

    /// <summary>The VIP (spec.addresses), pinned instead of allocated from the mesh's range.</summary>
    public string? Address { get; init; }

    public string? Resolution { get; init; }

    public IReadOnlyDictionary<string, string> EndpointLabels { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public string? ApiVersion { get; init; }

    /// <summary>OSSM 3 federation: the namespaces that see the imported host (ServiceEntry exportTo); default the importing mesh's members.</summary>
    public IReadOnlyList<string>? ExportTo { get; init; }

    /// <summary>OSSM 3 federation: the WorkloadEntry's name (default the ServiceEntry's).</summary>
    public string? WorkloadEntryName { get; init; }

    public string EffectiveResolution => Resolution ?? "DNS";

    public string EffectiveApiVersion => ApiVersion ?? "networking.istio.io/v1";

    public bool IsDefault => Name is null && Namespace is null && Host is null && Address is null && Resolution is null && EndpointLabels.Count == 0 && ApiVersion is null
        && ExportTo is null && WorkloadEntryName is null;

    public override string ToString() => string.Join(", ", new[]
    {
        Name is null ? null : $"name={Name}", Namespace is null ? null : $"namespace={Namespace}", Host is null ? null : $"host={Host}",
        Address is null ? null : $"address={Address}", Resolution is null ? null : $"resolution={Resolution}",
        EndpointLabels.Count == 0 ? null : "endpointLabels={" + string.Join(",", EndpointLabels.Select(kv => kv.Key + "=" + kv.Value)) + "}",
        ApiVersion is null ? null : $"apiVersion={ApiVersion}",
        ExportTo is null ? null : "exportTo=[" + string.Join(",", ExportTo) + "]",
        WorkloadEntryName is null ? null : $"workloadEntryName={WorkloadEntryName}",
    }.Where(x => x is not null));

    public void Validate(ProblemList problems, string field, SourceLocation? at, object? target)
    {
        if (Name is not null && !Names.IsDns1123Subdomain(Name))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.name", Name, "is not a valid object name (DNS-1123 subdomain)", $"use a name such as '{Names.Suggest(Name)}'", at, target);
        if (Namespace is not null) Names.CheckLabel(problems, $"{field}.namespace", Namespace, at);
        if (Host is not null && !Names.IsDns1123Subdomain(Host))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.host", Host, "is not a host name", "use a host such as 'httpbin.bar.global' or 'reviews.bookinfo.svc.cluster2.global'", at, target);
        if (Address is not null && !System.Net.IPAddress.TryParse(Address, out _))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.address", Address, "is not an IP address", "give the VIP the host resolves to, e.g. 240.0.0.2", at, target);
        if (Resolution is not null && !Resolutions.Contains(Resolution, StringComparer.Ordinal))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.resolution", Resolution, "is not a ServiceEntry resolution", $"use one of: {string.Join(", ", Resolutions)}", at, target);
        if (ApiVersion is not null && !ApiVersions.Contains(ApiVersion, StringComparer.Ordinal))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.apiVersion", ApiVersion, "is not a ServiceEntry API version", $"use one of: {string.Join(", ", ApiVersions)}", at, target);
        foreach (var (k, v) in EndpointLabels)
            if (!Names.IsLabelKey(k) || !Names.IsLabelValue(v))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.endpointLabels[{k}]", v, "is not a valid label", "use label keys and values as Kubernetes allows them", at, target);
        if (WorkloadEntryName is not null && !Names.IsDns1123Subdomain(WorkloadEntryName))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.workloadEntryName", WorkloadEntryName, "is not a valid object name (DNS-1123 subdomain)", $"use a name such as '{Names.Suggest(WorkloadEntryName)}'", at, target);
        foreach (var ns in ExportTo ?? Array.Empty<string>())
            if (ns is not ("*" or ".") && !Names.IsDns1123Label(ns))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.exportTo[]", ns, "is not a namespace, '.' or '*'", "list the namespaces of the clients, e.g. [client]", at, target);
    }
}
