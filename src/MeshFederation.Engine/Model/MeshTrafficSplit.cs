using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Model;

/// <summary>One URI match of a traffic split's HTTP route.</summary>
public sealed record UriMatch(UriMatchKind Kind, string Value)
{
    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()}:{Value}";
}

/// <summary>
/// A weighted route between a local service and an imported one: the VirtualService of seed 001 (weight 0 local,
/// 100 to <c>blue-dokuwiki.nfs-app-istio.svc.blue-mesh-imports.local</c>).
/// </summary>
public sealed class MeshTrafficSplit
{
    public const string DefaultApiVersion = "networking.istio.io/v1beta1";

    public required MeshControlPlane ControlPlane { get; init; }

    public string Mesh => ControlPlane.Name;

    public string Cluster => ControlPlane.Cluster.Name;

    public required string Name { get; init; }

    public required string Namespace { get; init; }

    public IReadOnlyList<string> Hosts { get; init; } = Array.Empty<string>();

    public IReadOnlyList<string> Gateways { get; init; } = Array.Empty<string>();

    public IReadOnlyList<UriMatch> Matches { get; init; } = Array.Empty<UriMatch>();

    public int? Port { get; init; }

    /// <summary>The local destination; empty for a route that only sends to the remote host (seed 000's passthrough).</summary>
    public required string LocalHost { get; init; }

    /// <summary>HTTP rewrite of the route: the authority (Host header) to send, e.g. the peer's own host name (passthrough).</summary>
    public string? RewriteAuthority { get; init; }

    /// <summary>HTTP rewrite of the route: the URI prefix to send.</summary>
    public string? RewriteUri { get; init; }

    /// <summary>True when the route has only the remote destination (written without a weight).</summary>
    public bool RemoteOnly => LocalHost.Length == 0;

    public int LocalWeight { get; init; }

    public required string RemoteHost { get; init; }

    public int RemoteWeight { get; init; } = 100;

    /// <summary>networking.istio.io/v1beta1 by default: OSSM 2.x is Istio 1.x before v1 was served.</summary>
    public string ApiVersion { get; init; } = DefaultApiVersion;

    public SourceLocation? Source { get; init; }

    public override string ToString() => RemoteOnly ? $"{Namespace}/{Name}: {RemoteHost}" : $"{Namespace}/{Name}: {LocalHost} {LocalWeight}% / {RemoteHost} {RemoteWeight}%";

    public void Validate(ProblemList problems)
    {
        var field = $"trafficSplit '{Namespace}/{Name}'";
        Names.CheckLabel(problems, $"{field}.name", Name, Source);
        Names.CheckLabel(problems, $"{field}.namespace", Namespace, Source);
        if (RemoteOnly ? RemoteWeight != 100 : LocalWeight < 0 || RemoteWeight < 0 || LocalWeight + RemoteWeight != 100)
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.weights", $"{LocalWeight}+{RemoteWeight}",
                "weights must be non-negative and add up to 100", "set the remote weight; the local weight is 100 minus it", Source, this);
        if (Port is { } p) Names.CheckPort(problems, $"{field}.port", p, Source);
        if (RewriteAuthority is not null && !Names.IsDns1123Subdomain(RewriteAuthority.Split(':')[0]))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.rewrite.authority", RewriteAuthority, "is not a host name", "give the host the peer serves, e.g. ratings.mesh1-bookinfo.svc.cluster.local", Source, this);
        if (RewriteUri is not null && !RewriteUri.StartsWith('/'))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.rewrite.uri", RewriteUri, "is not a path", "start it with '/'", Source, this);
        if (RemoteOnly && Hosts.Count == 0)
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.hosts", "", "a route without a local destination needs the hosts it serves", "list the hosts clients call, e.g. hosts: [ratings.mesh2-bookinfo.svc.cluster.local]", Source, this);
        foreach (var h in Hosts.Concat(RemoteOnly ? new[] { RemoteHost } : new[] { LocalHost, RemoteHost }))
            if (h != "*" && !Names.IsDns1123Subdomain(h.StartsWith("*.", StringComparison.Ordinal) ? h[2..] : h))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.hosts[]", h, "is not a host name", "use a service host such as 'reviews' or 'reviews.ns.svc.cluster.local'", Source, this);
        foreach (var m in Matches)
            if (m.Kind == UriMatchKind.Regex && Names.Re2Problem(m.Value) is { } why)
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.match.regex", m.Value, why, "write an RE2 regular expression, e.g. '^/api/v[0-9]+/'", Source, this);
            else if (m.Kind != UriMatchKind.Regex && (string.IsNullOrEmpty(m.Value) || m.Value.Any(c => char.IsControl(c) || c == ' ')))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.match.{m.Kind.ToString().ToLowerInvariant()}", m.Value, "is not a URI path (empty, or with spaces or control characters)", "write a path such as /dokuwiki", Source, this);
        if (ApiVersion is not ("networking.istio.io/v1beta1" or "networking.istio.io/v1" or "networking.istio.io/v1alpha3"))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.apiVersion", ApiVersion, "is not a VirtualService API version",
                "use networking.istio.io/v1beta1 (OSSM 2) or networking.istio.io/v1", Source, this);
    }
}
