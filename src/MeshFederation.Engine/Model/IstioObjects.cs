using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Model;

/// <summary>
/// A port of a service: multi-mesh imports' ServiceEntries, and the ports of services an OSSM 3 federation exports
/// (with the container port behind it, <see cref="TargetPort"/>, for the exporting side's ServiceEntry).
/// </summary>
public sealed record ServicePortSpec(string Name, int Number, string Protocol)
{
    /// <summary>The port the workloads listen on (a Service's numeric targetPort); null when it equals <see cref="Number"/> or is not known.</summary>
    public int? TargetPort { get; init; }

    public override string ToString() => TargetPort is { } t ? $"{Name}:{Number}:{t}/{Protocol}" : $"{Name}:{Number}/{Protocol}";

    /// <summary>
    /// The Istio protocol of a Kubernetes Service port, by Istio's protocol selection: <c>appProtocol</c> first, then
    /// the port name's prefix (<c>http</c>, <c>http-web</c>, <c>grpc-api</c>, ...); TCP when neither names one.
    /// </summary>
    public static string IstioProtocol(string? name, string? appProtocol)
    {
        static string? Map(string? p) => p?.ToLowerInvariant() switch
        {
            "http" or "http-web" => "HTTP",
            "http2" or "kubernetes.io/h2c" => "HTTP2",
            "grpc" or "grpc-web" => "GRPC",
            "https" => "HTTPS",
            "tls" => "TLS",
            "tcp" => "TCP",
            "mongo" => "MONGO",
            _ => null,
        };
        if (Map(appProtocol) is { } fromApp) return fromApp;
        var prefix = name?.Split('-')[0];
        return Map(prefix) ?? "TCP";
    }
}

/// <summary>
/// Locality failover for a host (seed 003): a DestinationRule with localityLbSetting.failover from one region to
/// another and the outlierDetection failover requires.
/// </summary>
public sealed class MeshFailoverPolicy
{
    public required MeshControlPlane ControlPlane { get; init; }

    public string Mesh => ControlPlane.Name;

    public string Cluster => ControlPlane.ClusterName;

    public required string Name { get; init; }

    public required string Namespace { get; init; }

    public required string Host { get; init; }

    public required string FromRegion { get; init; }

    public required string ToRegion { get; init; }

    public int Consecutive5xxErrors { get; init; } = 1;

    public string Interval { get; init; } = "1s";

    public string BaseEjectionTime { get; init; } = "1m";

    /// <summary>
    /// trafficPolicy.connectionPool as JSON text (e.g. <c>{"http":{"maxRequestsPerConnection":1}}</c>, istio.io's failover
    /// task); judged by the DestinationRule schema when rendered.
    /// </summary>
    public string? ConnectionPool { get; init; }

    /// <summary>trafficPolicy.loadBalancer.simple (ROUND_ROBIN, LEAST_REQUEST, ...); unset leaves Istio's default.</summary>
    public string? LoadBalancer { get; init; }

    private readonly string? _apiVersion;

    /// <summary>networking.istio.io/v1 for the Istio styles; v1beta1 for OSSM 2 (Istio before 1.22 does not serve v1).</summary>
    public string ApiVersion
    {
        get => _apiVersion ?? (ControlPlane.Style == MeshStyle.Ossm2 ? "networking.istio.io/v1beta1" : "networking.istio.io/v1");
        init => _apiVersion = string.IsNullOrEmpty(value) ? null : value;
    }

    public SourceLocation? Source { get; init; }

    public override string ToString() => $"{Namespace}/{Name}: {Host} {FromRegion} -> {ToRegion}";

    private static bool IsJsonObject(string text)
    {
        try
        {
            return System.Text.Json.Nodes.JsonNode.Parse(text) is System.Text.Json.Nodes.JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    public void Validate(ProblemList problems)
    {
        var field = $"failover '{Namespace}/{Name}'";
        Names.CheckLabel(problems, $"{field}.name", Name, Source);
        Names.CheckLabel(problems, $"{field}.namespace", Namespace, Source);
        if (!Names.IsDns1123Subdomain(Host))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.host", Host, "is not a host name", "use the service's host, e.g. helloworld.sample.svc.cluster.local", Source, this);
        if (string.IsNullOrWhiteSpace(FromRegion) || string.IsNullOrWhiteSpace(ToRegion) || FromRegion == ToRegion)
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.from/to", $"{FromRegion}->{ToRegion}", "needs two different regions",
                "give the region of this cluster's nodes (topology.kubernetes.io/region) and the region to fail over to", Source, this);
        if (Consecutive5xxErrors < 1)
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.consecutive5xxErrors", Consecutive5xxErrors.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "must be at least 1: failover needs outlier detection", "use 1 as the seed does", Source, this);
        foreach (var (key, value) in new[] { ("interval", Interval), ("baseEjectionTime", BaseEjectionTime) })
            if (!Names.IsIstioDuration(value))
                problems.Add(MeshErrorKind.InvalidArgument, $"{field}.{key}", value, "is not a duration Istio accepts (digits with a unit: h, m, s, ms; at least 1ms)",
                    key == "interval" ? "write e.g. '1s' or '500ms'" : "write e.g. '1m' or '30s'", Source, this);
        if (ConnectionPool is not null && !IsJsonObject(ConnectionPool))
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.connectionPool", ConnectionPool, "is not a mapping (JSON object)",
                "give the DestinationRule connectionPool as a mapping, e.g. {http: {maxRequestsPerConnection: 1}}", Source, this);
        if (ControlPlane.Style == MeshStyle.Ossm2 && ApiVersion == "networking.istio.io/v1")
            problems.Add(MeshErrorKind.InvalidArgument, $"{field}.apiVersion", ApiVersion, "is not served by OSSM 2 (Istio before 1.22)", "use networking.istio.io/v1beta1", Source, this);
    }
}

/// <summary>The cacerts of one cluster (from New-MeshCertificateAuthority, or PEM files on disk).</summary>
public sealed class ClusterCaMaterial
{
    public required string Cluster { get; init; }

    public required string CaCertPem { get; init; }

    public required string RootCertPem { get; init; }

    public required string CertChainPem { get; init; }

    private string KeyPem { get; init; } = "";

    public string ExportPrivateKeyPem() => KeyPem;

    public override string ToString() => $"cacerts for {Cluster}";

    public static ClusterCaMaterial From(Pki.ClusterCertificates c) => new()
    {
        Cluster = c.Cluster, CaCertPem = c.Intermediate.CertificatePem, KeyPem = c.Intermediate.ExportPrivateKeyPem(), RootCertPem = c.RootCertPem, CertChainPem = c.CertChainPem,
    };

    /// <summary>Reads &lt;dir&gt;/&lt;cluster&gt;/{ca-cert,ca-key,root-cert,cert-chain}.pem as meshfed ca and seed 003 leave them.</summary>
    public static ClusterCaMaterial FromDirectory(string directory, string cluster)
    {
        // Verified when loaded (Pki.ClusterCacerts): parses, key matches, chains to the root, CA flags and dates right.
        var f = Pki.ClusterCacerts.Read(directory, cluster);
        return new ClusterCaMaterial { Cluster = cluster, CaCertPem = f.CaCertPem, KeyPem = f.CaKeyPem, RootCertPem = f.RootCertPem, CertChainPem = f.CertChainPem };
    }
}

/// <summary>
/// How a multi-primary cluster's istiod reaches a remote API server (the kubeconfig of <c>istioctl create-remote-secret</c>):
/// server, CA data and the reader token. The token is never shown; <see cref="ToString"/> leaves it out.
/// </summary>
public sealed class RemoteApiAccess
{
    public RemoteApiAccess(string server, string? certificateAuthorityData, string token)
    {
        Server = server;
        CertificateAuthorityData = certificateAuthorityData;
        _token = token;
    }

    private readonly string _token;

    public string Server { get; }

    /// <summary>Base64 PEM of the API server's CA (kubeconfig certificate-authority-data); null when the server uses a public CA.</summary>
    public string? CertificateAuthorityData { get; }

    public string ExportToken() => _token;

    public override string ToString() => $"{Server} (token not shown)";
}
