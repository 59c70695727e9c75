using System.Globalization;
using System.Text.RegularExpressions;

namespace MeshFederation.Engine.Validation;

/// <summary>Kubernetes naming rules and the federation host-name formulas (shared/reference/domain.md §1).</summary>
public static partial class Names
{
    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Dns1123LabelRegex();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Dns1123SubdomainRegex();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelValueRegex();

    /// <summary>The default ConfigMap holding a peer's root certificate: <c>&lt;peer&gt;-ca-root-cert</c>.</summary>
    public static string CaConfigMapName(string peer) => peer + "-ca-root-cert";

    /// <summary>Key of the root certificate inside the CA ConfigMap.</summary>
    public const string RootCertKey = "root-cert.pem";

    /// <summary>The network imported endpoints are placed on: <c>network-&lt;peer&gt;</c>.</summary>
    public static string NetworkView(string peer) => "network-" + peer;

    /// <summary>SPIFFE identity (without the scheme) of the remote egress gateway that calls this mesh.</summary>
    public static string ClientId(string remoteTrustDomain, string remoteNamespace, string remoteEgressGateway) =>
        $"{remoteTrustDomain}/ns/{remoteNamespace}/sa/{remoteEgressGateway}-service-account";

    /// <summary>Exported host: <c>&lt;name&gt;.&lt;ns&gt;.svc.&lt;peer&gt;-exports.local</c>, peer = the importing mesh's name as seen by the exporter.</summary>
    public static string ExportedHost(string name, string ns, string peer) => $"{name}.{ns}.svc.{peer}-exports.local";

    /// <summary>Imported host: <c>&lt;name&gt;.&lt;ns&gt;.svc.&lt;peer&gt;-imports.local</c>, or the domain suffix / cluster suffix variants.</summary>
    public static string ImportedHost(string name, string ns, string peer, bool importAsLocal, string? domainSuffix) =>
        importAsLocal ? $"{name}.{ns}.svc.cluster.local"
        : !string.IsNullOrEmpty(domainSuffix) ? $"{name}.{ns}.{domainSuffix}"
        : $"{name}.{ns}.svc.{peer}-imports.local";

    public static bool IsDns1123Label(string? value) =>
        value is { Length: > 0 and <= 63 } && Dns1123LabelRegex().IsMatch(value);

    public static bool IsDns1123Subdomain(string? value) =>
        value is { Length: > 0 and <= 253 } && Dns1123SubdomainRegex().IsMatch(value);

    /// <summary>A label key: an optional DNS-subdomain prefix and '/', then a name of up to 63 characters.</summary>
    public static bool IsLabelKey(string? key)
    {
        if (string.IsNullOrEmpty(key)) return false;
        var slash = key.LastIndexOf('/');
        var name = slash < 0 ? key : key[(slash + 1)..];
        return (slash < 0 || IsDns1123Subdomain(key[..slash])) && name.Length is > 0 and <= 63 && LabelValueRegex().IsMatch(name);
    }

    public static bool IsLabelValue(string? value) =>
        value is not null && (value.Length == 0 || (value.Length <= 63 && LabelValueRegex().IsMatch(value)));

    /// <summary>"*" or empty means "any" in federation selectors.</summary>
    public static bool IsWildcard(string? value) => string.IsNullOrEmpty(value) || value == "*";

    /// <summary>Checks a DNS-1123 label and records a problem naming the field, the value and the fix.</summary>
    public static bool CheckLabel(ProblemList problems, string field, string? value, SourceLocation? at = null, bool allowWildcard = false)
    {
        if (allowWildcard && value == "*") return true;
        if (IsDns1123Label(value)) return true;
        problems.Add(MeshErrorKind.InvalidArgument, field, value ?? "",
            value is null or "" ? "a name is required" :
            value.Length > 63 ? $"is {value.Length} characters long; a DNS-1123 label has at most 63" :
            "is not a valid DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)",
            value is null or "" ? $"set {field}" : $"use a name such as '{Suggest(value)}'", at);
        return false;
    }

    public static bool CheckPort(ProblemList problems, string field, int value, SourceLocation? at = null, int min = 1, int max = 65535)
    {
        if (value >= min && value <= max) return true;
        problems.Add(MeshErrorKind.InvalidArgument, field, value.ToString(CultureInfo.InvariantCulture),
            $"is out of range", $"use a port between {min} and {max}", at);
        return false;
    }

    /// <summary>A DNS-1123 label close to the given text, for "did you mean" fixes.</summary>
    public static string Suggest(string value)
    {
        var chars = value.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        var s = new string(chars).Trim('-');
        while (s.Contains("--", StringComparison.Ordinal)) s = s.Replace("--", "-", StringComparison.Ordinal);
        if (s.Length > 63) s = s[..63].TrimEnd('-');
        return s.Length == 0 ? "my-mesh" : s;
    }

    /// <summary>Applies a gateway name template such as <c>{peer}-ingress</c> or <c>ingress-{peer}</c>.</summary>
    public static string ApplyTemplate(string template, string peer) => template.Replace("{peer}", peer, StringComparison.Ordinal);
}
