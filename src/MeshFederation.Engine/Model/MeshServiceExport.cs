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

    /// <summary>Label selector requirements (matchExpressions), alone or with <see cref="LabelSelector"/>.</summary>
    public IReadOnlyList<LabelSelectorRequirement> MatchExpressions { get; init; } = Array.Empty<LabelSelectorRequirement>();

    /// <summary>
    /// Label selectors: the aliases tried in order, first match wins (labelSelector.aliases), e.g. <c>*/foo-&gt;*/bar</c>.
    /// <see cref="AliasNamespace"/> adds a last one that moves every matched service to that namespace.
    /// </summary>
    public IReadOnlyList<ServiceAlias> Aliases { get; init; } = Array.Empty<ServiceAlias>();

    public string? AliasNamespace { get; init; }

    public string? AliasName { get; init; }

    /// <summary>
    /// OSSM 3 federation: the service's ports (number, name, protocol and target port). Importers' ServiceEntries take
    /// the ports, the exporting side's ServiceEntry also the target ports. Empty: read from the Service when applying.
    /// </summary>
    public IReadOnlyList<ServicePortSpec> Ports { get; init; } = Array.Empty<ServicePortSpec>();

    /// <summary>
    /// OSSM 3 federation: the service accounts of the service's workloads; importers verify
    /// <c>spiffe://&lt;trust domain&gt;/ns/&lt;namespace&gt;/sa/&lt;account&gt;</c>. Empty: read from the pods when applying.
    /// </summary>
    public IReadOnlyList<string> ServiceAccounts { get; init; } = Array.Empty<string>();

    /// <summary>OSSM 3 federation: the Service's pod selector (the exporting side's ServiceEntry workloadSelector). Null: read from the Service.</summary>
    public IReadOnlyDictionary<string, string>? WorkloadSelector { get; init; }

    public SourceLocation? Source { get; init; }

    /// <summary>True when ports, service accounts and selector are all known (declared, or read from the cluster).</summary>
    public bool HasServiceDetails => Ports.Count > 0 && ServiceAccounts.Count > 0 && WorkloadSelector is { Count: > 0 };

    /// <summary>A copy with the service's ports, service accounts and selector as read from the exporting cluster, where none were declared.</summary>
    public MeshServiceExport WithServiceDetails(IReadOnlyList<ServicePortSpec> ports, IReadOnlyList<string> serviceAccounts, IReadOnlyDictionary<string, string>? selector) => new()
    {
        ControlPlane = ControlPlane, Peer = Peer, Namespace = Namespace, Name = Name, LabelSelector = LabelSelector, MatchExpressions = MatchExpressions,
        Aliases = Aliases, AliasNamespace = AliasNamespace, AliasName = AliasName, Source = Source,
        Ports = Ports.Count > 0 ? Ports : ports,
        ServiceAccounts = ServiceAccounts.Count > 0 ? ServiceAccounts : serviceAccounts,
        WorkloadSelector = WorkloadSelector is { Count: > 0 } ? WorkloadSelector : selector,
    };

    /// <summary>A copy bound to another control-plane object (the same mesh, e.g. after values were read live).</summary>
    public MeshServiceExport Rebind(MeshControlPlane controlPlane) => new()
    {
        ControlPlane = controlPlane, Peer = Peer, Namespace = Namespace, Name = Name, LabelSelector = LabelSelector, MatchExpressions = MatchExpressions,
        Aliases = Aliases, AliasNamespace = AliasNamespace, AliasName = AliasName, Source = Source, Ports = Ports, ServiceAccounts = ServiceAccounts,
        WorkloadSelector = WorkloadSelector,
    };

    public bool IsLabelSelector => LabelSelector is { Count: > 0 } || MatchExpressions.Count > 0;

    /// <summary>The namespace peers see (alias or original).</summary>
    public string ExportedNamespace => Names.IsWildcard(AliasNamespace) ? Namespace : AliasNamespace!;

    /// <summary>The name peers see (alias or original); null for selectors.</summary>
    public string? ExportedName => IsLabelSelector ? null : Names.IsWildcard(AliasName) ? Name : AliasName;

    /// <summary>Host the importing mesh sees in ImportedServiceSet status, when the export names one service.</summary>
    public string? ExportedHost =>
        ExportedName is { } n && !Names.IsWildcard(n) && !Names.IsWildcard(ExportedNamespace)
            ? Names.ExportedHost(n, ExportedNamespace, Peer) : null;

    public override string ToString() =>
        $"{ControlPlane.Name} -> {Peer}: {Namespace}/{(IsLabelSelector ? "{" + string.Join(",", (LabelSelector ?? new Dictionary<string, string>()).Select(kv => kv.Key + "=" + kv.Value).Concat(MatchExpressions.Select(e => e.ToString()))) + "}" : Name)}"
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
        foreach (var e in MatchExpressions) e.Validate(problems, $"{field}.matchExpressions[{e.Key}]", Source, this);
        if (Aliases.Count > 0 && !IsLabelSelector)
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.aliases", string.Join(", ", Aliases), "aliases belong to label selectors; a named export has one alias",
                "use alias for a named service, or select by labels", Source, this);
        foreach (var a in Aliases) a.Validate(problems, $"{field}.aliases[{a}]", Source, this);
        if (IsLabelSelector)
        {
            foreach (var (k, v) in LabelSelector ?? new Dictionary<string, string>())
                if (!Names.IsLabelValue(v) || !Names.IsLabelKey(k))
                    problems.Add(MeshErrorKind.InvalidArgument, $"{field}.labelSelector[{k}]", v, "is not a valid label",
                        "use label keys and values as Kubernetes allows them", Source, this);
            if (!Names.IsWildcard(AliasName))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.alias.name", AliasName,
                    "a label selector matches many services, so only the namespace can be aliased", "alias the namespace only", Source, this);
        }
        if (Name == "*" && !Names.IsWildcard(AliasName))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.alias.name", AliasName,
                "all services cannot share one alias name", "alias the namespace only, or export a single service", Source, this);
        if (ControlPlane.Style == MeshStyle.Ossm3Federation)
        {
            // Manual service discovery models every exported service by name: the exporting ServiceEntry selects its
            // workloads and the importers' ServiceEntries need its ports and identity (the migration guide).
            if (IsLabelSelector || Names.IsWildcard(Name) || Names.IsWildcard(Namespace))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.name", IsLabelSelector ? "(label selector)" : $"{Namespace}/{Name}",
                    "the OSSM 3 federation style exports services one by one (manual service discovery has no selectors)",
                    "list each service by namespace and name; meshfed migrate --context reads the services an OSSM 2 selector matched from the ExportedServiceSet status", Source, this);
        }
        else if (Ports.Count > 0 || ServiceAccounts.Count > 0 || WorkloadSelector is not null)
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.ports", string.Join(",", Ports),
                "ports, serviceAccounts and selector describe services of the OSSM 3 federation style; OSSM 2 and Istio multi-cluster read them themselves",
                "remove them, or export from an ossm3-federation mesh", Source, this);
        foreach (var p in Ports)
        {
            Names.CheckPort(problems, $"{field}.ports[{p.Name}].number", p.Number, Source);
            if (p.TargetPort is { } t) Names.CheckPort(problems, $"{field}.ports[{p.Name}].targetPort", t, Source);
            if (!Names.IsDns1123Label(p.Name) || p.Name.Length > 15)
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.ports[{p.Name}].name", p.Name, "is not a port name (an IANA service name: up to 15 lower-case letters, digits and '-')",
                    "use the Service's port name, e.g. http", Source, this);
            if (p.Protocol.ToUpperInvariant() is not ("HTTP" or "HTTPS" or "GRPC" or "HTTP2" or "MONGO" or "TCP" or "TLS"))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.ports[{p.Name}].protocol", p.Protocol, "is not an Istio port protocol", "use HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP or TLS", Source, this);
        }
        foreach (var g in Ports.GroupBy(p => p.Number).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"{field}.ports", g.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), "is listed twice", "list each service port once", Source, this);
        foreach (var sa in ServiceAccounts)
            if (!Names.IsDns1123Subdomain(sa))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.serviceAccounts[]", sa, "is not a service account name", "give the name of the workloads' ServiceAccount, e.g. httpbin", Source, this);
        foreach (var (k, v) in WorkloadSelector ?? new Dictionary<string, string>())
            if (!Names.IsLabelKey(k) || !Names.IsLabelValue(v))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.selector[{k}]", v, "is not a valid label", "give the Service's selector, e.g. {app: httpbin}", Source, this);
    }
}

/// <summary>One requirement of a label selector (metav1.LabelSelectorRequirement): key, In/NotIn/Exists/DoesNotExist, values.</summary>
public sealed record LabelSelectorRequirement(string Key, string Operator, IReadOnlyList<string> Values)
{
    public static readonly string[] Operators = { "In", "NotIn", "Exists", "DoesNotExist" };

    public override string ToString() => Operator switch
    {
        "Exists" => Key,
        "DoesNotExist" => "!" + Key,
        _ => $"{Key} {Operator.ToLowerInvariant()} ({string.Join(",", Values)})",
    };

    public void Validate(ProblemList problems, string field, SourceLocation? at, object? target)
    {
        if (!Names.IsLabelKey(Key))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.key", Key, "is not a label key", "use a key such as 'app' or 'example.com/tier'", at, target);
        if (!Operators.Contains(Operator, StringComparer.Ordinal))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.operator", Operator, "is not a label selector operator", $"use one of: {string.Join(", ", Operators)}", at, target);
        else if (Operator is "In" or "NotIn" && Values.Count == 0)
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.values", "", $"{Operator} needs at least one value", "list the label values", at, target);
        else if (Operator is "Exists" or "DoesNotExist" && Values.Count > 0)
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.values", string.Join(",", Values), $"{Operator} takes no values", "remove the values", at, target);
        foreach (var v in Values)
            if (!Names.IsLabelValue(v))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.values[]", v, "is not a label value", "use label values as Kubernetes allows them", at, target);
    }
}

/// <summary>
/// One alias of a label-selector export (ServiceNameMapping): services matching <c>namespace/name</c> (<c>*</c> any) are
/// exported as <c>aliasNamespace/aliasName</c>; an unset or <c>*</c> alias part keeps the original. Written
/// <c>ns/name-&gt;ns/name</c> as maistra/api documents them; a bare namespace on the right leaves the alias name out.
/// </summary>
public sealed record ServiceAlias(string? Namespace, string? Name, string? AliasNamespace, string? AliasName)
{
    public override string ToString() =>
        $"{Namespace ?? ""}/{Name ?? ""}->{AliasNamespace ?? ""}" + (AliasName is null ? "" : "/" + AliasName);

    /// <summary>Parses <c>ns/name-&gt;ns[/name]</c>; null when the text is not of that form.</summary>
    public static ServiceAlias? Parse(string text)
    {
        var arrow = text.IndexOf("->", StringComparison.Ordinal);
        if (arrow <= 0) return null;
        var from = text[..arrow].Trim();
        var to = text[(arrow + 2)..].Trim();
        var slash = from.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == from.Length - 1 || to.Length == 0) return null;
        var toSlash = to.IndexOf('/', StringComparison.Ordinal);
        return new ServiceAlias(from[..slash], from[(slash + 1)..], toSlash < 0 ? to : to[..toSlash], toSlash < 0 ? null : to[(toSlash + 1)..]);
    }

    public void Validate(ProblemList problems, string field, SourceLocation? at, object? target)
    {
        foreach (var (part, value) in new[] { ("namespace", Namespace), ("name", Name), ("alias.namespace", AliasNamespace), ("alias.name", AliasName) })
            if (value is not null && value.Length > 0) Names.CheckLabel(problems, $"{field}.{part}", value, at, allowWildcard: true);
        if (Names.IsWildcard(AliasNamespace) && Names.IsWildcard(AliasName))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.alias", ToString(), "an alias that keeps both namespace and name changes nothing", "give the alias namespace or name, or remove the alias", at, target);
    }
}
