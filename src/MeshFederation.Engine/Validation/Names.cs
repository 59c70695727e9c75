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

    /// <summary>A dotted-quad IPv4 address, strictly: four decimal parts 0-255 without leading zeros (not "10.1", not "999.1.1.1").</summary>
    public static bool IsIPv4(string? value)
    {
        if (string.IsNullOrEmpty(value)) return false;
        var parts = value.Split('.');
        if (parts.Length != 4) return false;
        foreach (var p in parts)
        {
            if (p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || (p.Length > 1 && p[0] == '0')) return false;
            if (int.Parse(p, CultureInfo.InvariantCulture) > 255) return false;
        }
        return true;
    }

    /// <summary>An IPv6 address (no zone index).</summary>
    public static bool IsIPv6(string? value) =>
        value is { Length: > 1 and <= 45 } && value.Contains(':', StringComparison.Ordinal) && !value.Contains('%', StringComparison.Ordinal)
        && System.Net.IPAddress.TryParse(value, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;

    /// <summary>
    /// An IP address or a DNS host name (RFC 1123: labels of letters, digits and '-', the last one not all digits, so a
    /// mistyped address such as 999.1.1.1 or 10.1 is not taken for a name).
    /// </summary>
    public static bool IsHostOrIp(string? value)
    {
        if (IsIPv4(value) || IsIPv6(value)) return true;
        if (value is null) return false;
        var lower = value.ToLowerInvariant();
        if (!IsDns1123Subdomain(lower)) return false;
        var last = lower[(lower.LastIndexOf('.') + 1)..];
        return !last.All(char.IsAsciiDigit);
    }

    /// <summary>An absolute https URL with a host (an API server address).</summary>
    public static bool IsHttpsUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var u) && u.Scheme == Uri.UriSchemeHttps && !string.IsNullOrEmpty(u.Host)
        && string.IsNullOrEmpty(u.UserInfo) && string.IsNullOrEmpty(u.Query) && string.IsNullOrEmpty(u.Fragment);

    /// <summary>
    /// A firewalld zone name as firewalld accepts it (firewall/core/io/zone.py check_name): letters, digits, '_' and '-',
    /// at most 17 characters (the netfilter chain-name limit firewalld derives).
    /// </summary>
    public static bool IsFirewalldZone(string? value) =>
        value is { Length: > 0 and <= 17 } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    /// <summary>A free-form name that ends up in commands and files (a kubeconfig context): no control characters, not too long.</summary>
    public static bool IsPrintableName(string? value, int maxLength = 253) =>
        value is { Length: > 0 } && value.Length <= maxLength && !value.Any(c => char.IsControl(c) || c is '\u2028' or '\u2029');

    /// <summary>An Istio/Envoy duration ("1s", "500ms", "1m30s"): digits with h, m, s, ms, us or ns units, at least 1ms.</summary>
    public static bool IsIstioDuration(string? value)
    {
        if (string.IsNullOrEmpty(value) || !DurationRegex().IsMatch(value)) return false;
        var total = 0.0;
        foreach (System.Text.RegularExpressions.Match m in DurationPart().Matches(value))
        {
            var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch { "h" => n * 3600e3, "m" => n * 60e3, "s" => n * 1e3, "ms" => n, "us" or "µs" => n / 1e3, _ => n / 1e6 };
        }
        return total >= 1;
    }

    [GeneratedRegex(@"^([0-9]+(\.[0-9]+)?(h|ms|m|s|us|µs|ns))+$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationRegex();

    [GeneratedRegex(@"([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|us|µs|ns)", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPart();

    /// <summary>
    /// Why a regular expression would be refused by Envoy's RE2 engine (Istio's StringMatch regex), or null when it is
    /// accepted: it must compile, and RE2 has no look-around, back-references, atomic groups or possessive quantifiers.
    /// </summary>
    public static string? Re2Problem(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "is empty";
        if (value.Length > 1024) return "is longer than 1024 characters";
        if (Re2Unsupported().Match(value) is { Success: true } m) return $"uses '{m.Value}', which RE2 (Envoy's regex engine) does not support";
        try
        {
            _ = new Regex(value, RegexOptions.None, TimeSpan.FromSeconds(1));
            return null;
        }
        catch (ArgumentException e)
        {
            return $"is not a valid regular expression ({e.Message.Split('\n')[0].TrimEnd('.')})";
        }
    }

    [GeneratedRegex(@"\(\?(=|!|<=|<!|>)|\\[1-9]|\\k<|[*+?}]\+", RegexOptions.CultureInvariant)]
    private static partial Regex Re2Unsupported();

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
