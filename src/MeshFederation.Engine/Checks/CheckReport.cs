using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Checks;

/// <summary>Settings of the checks on observed (live or snapshot) state.</summary>
public sealed class CheckOptions
{
    /// <summary>
    /// The time ages are measured against. Null: when each object was read (live), or when the snapshot was saved
    /// (<c>--as-of</c> / <c>-AsOf</c> says when that was; otherwise the files' times).
    /// </summary>
    public DateTimeOffset? Now { get; init; }

    /// <summary>How often istiod pulls a peer's full service list (Maistra's default resync period: 60 s).</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A full sync older than this is a warning; default two resync periods.</summary>
    public TimeSpan? SyncWarnAfter { get; init; }

    /// <summary>A full sync older than this is a failure; default ten resync periods.</summary>
    public TimeSpan? SyncFailAfter { get; init; }

    internal TimeSpan WarnAfter => SyncWarnAfter ?? ResyncPeriod * 2;

    internal TimeSpan FailAfter => SyncFailAfter ?? ResyncPeriod * 10;

    /// <summary>How long a connection made with a remote secret's kubeconfig may take (live checks).</summary>
    public TimeSpan RemoteTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Parses the kubeconfigs in remote secrets (live checks); without it their usability is not tested.</summary>
    public Yaml.IYamlBridge? Yaml { get; init; }
}

/// <summary>
/// No control plane was found in any cluster read: an error (exit 1, an ErrorRecord), not an empty report. The
/// message says what was found instead.
/// </summary>
public sealed class NoMeshFoundException : Exception
{
    public NoMeshFoundException(MeshProblem problem) : base(problem.ToString()) => Problem = problem;

    public NoMeshFoundException() : this(new MeshProblem(MeshErrorKind.NotFound, "meshes", null, "no service mesh control plane was found", "check the clusters or the snapshot")) { }

    public NoMeshFoundException(string message) : this(new MeshProblem(MeshErrorKind.NotFound, "meshes", null, message, "check the clusters or the snapshot")) { }

    public NoMeshFoundException(string message, Exception inner) : base(message, inner) =>
        Problem = new MeshProblem(MeshErrorKind.NotFound, "meshes", null, message, "check the clusters or the snapshot");

    public MeshProblem Problem { get; }
}

/// <summary>
/// Collects results. Enforces the rule every check follows: a result that passes carries what it observed (observed
/// and probe checks: with the time it was read); a check that could not read its inputs reports Skip or Fail.
/// </summary>
internal sealed class CheckReport
{
    private readonly List<MeshCheckResult> _results = new();

    public IReadOnlyList<MeshCheckResult> Results => _results;

    public void Add(CheckInfo check, string mesh, string? peer, string? cluster, CheckStatus status, string message, string fix, IEnumerable<MeshEvidence> evidence)
    {
        var ev = evidence as IReadOnlyList<MeshEvidence> ?? evidence.ToList();
        if (status == CheckStatus.Pass && (ev.Count == 0 || (check.Mode != CheckMode.Declared && !ev.Any(e => e.ObservedAt is not null))))
        {
            // Defensive: the rule holds even if a check forgot to record what it read (tests keep this from happening).
            status = CheckStatus.Skip;
            message = $"{message} (not reported as passed: the check recorded nothing it read)";
        }
        _results.Add(new MeshCheckResult
        {
            Mesh = mesh, Peer = peer, Cluster = cluster, CheckId = check.Id, Status = status, Message = message, Why = check.Why,
            Fix = status == CheckStatus.Pass ? "" : fix, Evidence = ev,
        });
    }

    public void AddRange(IEnumerable<MeshCheckResult> results) => _results.AddRange(results);
}

/// <summary>Evidence helpers: objects named as kubectl shows them, values never secrets, times from the read.</summary>
internal static class Ev
{
    public static MeshEvidence Read(ClusterObservation c, ReadResult r, string obj, string? field, string? value) =>
        new() { Cluster = c.Cluster, Object = obj, Field = field, Value = value, ObservedAt = r.At, Source = r.Source };

    /// <summary>Evidence that something could not be read (no time: nothing was observed).</summary>
    public static MeshEvidence Unreadable(ClusterObservation c, ReadResult r, string what) =>
        new() { Cluster = c.Cluster, Object = what, Value = "unreadable: " + r.Unreadable, Source = r.Source };

    public static MeshEvidence Declared(MeshControlPlane cp, string obj, string? field, string? value, SourceLocation? at = null) =>
        new() { Cluster = cp.ClusterName, Object = obj, Field = field, Value = value, Source = SourceText(at ?? cp.Source) };

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SourceLocation, string> SourceTexts = new();

    /// <summary>file:line:column, formatted once per location (every peering of 'peerings: all' shares one).</summary>
    private static string SourceText(SourceLocation? at) => at is null ? "pipeline objects" : SourceTexts.GetValue(at, l => l.ToString());

    public static string Obj(string kind, string? ns, string name) => ns is null ? $"{kind} {name}" : $"{kind} {ns}/{name}";

    public static string Str(JsonNode? n) => n switch
    {
        null => "(not set)",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray a => "[" + string.Join(", ", a.Select(x => Str(x))) + "]",
        _ => n.ToJsonString(),
    };

    public static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Age(TimeSpan t) =>
        t.TotalDays >= 2 ? $"{t.TotalDays:0} days" : t.TotalHours >= 2 ? $"{t.TotalHours:0.#} hours" : t.TotalMinutes >= 2 ? $"{t.TotalMinutes:0} minutes" : $"{Math.Max(0, t.TotalSeconds):0} seconds";

    public static DateTimeOffset? ParseTime(JsonNode? n) =>
        n.S() is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    /// <summary>The certificates of a PEM bundle, normalized (DER base64) for comparison.</summary>
    public static List<string> Certificates(string? pem)
    {
        var result = new List<string>();
        if (string.IsNullOrEmpty(pem)) return result;
        const string begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
        var i = 0;
        while ((i = pem.IndexOf(begin, i, StringComparison.Ordinal)) >= 0)
        {
            var j = pem.IndexOf(end, i, StringComparison.Ordinal);
            if (j < 0) break;
            result.Add(string.Concat(pem[(i + begin.Length)..j].Where(ch => !char.IsWhiteSpace(ch))));
            i = j + end.Length;
        }
        return result;
    }

    /// <summary>A certificate as evidence: subject and SHA-256 fingerprint, never the whole PEM.</summary>
    public static string Describe(string derBase64)
    {
        try
        {
            var der = Convert.FromBase64String(derBase64);
            var fp = Convert.ToHexString(SHA256.HashData(der))[..16];
            try
            {
                using var cert = new X509Certificate2(der);
                return $"{cert.Subject} (sha256 {fp}…)";
            }
            catch (CryptographicException)
            {
                return $"sha256 {fp}…";
            }
        }
        catch (FormatException)
        {
            return "(not a certificate)";
        }
    }

    public static string Bundle(IEnumerable<string> certs) => string.Join("; ", certs.Select(Describe));
}

/// <summary>Reads JSON values of any shape without throwing: what clusters and snapshots hold is not trusted to be well typed.</summary>
internal static class JsonRead
{
    public static string? S(this JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static long? L(this JsonNode? n)
    {
        if (n is not JsonValue v) return null;
        if (v.TryGetValue<long>(out var l)) return l;
        if (v.TryGetValue<int>(out var i)) return i;
        return v.TryGetValue<double>(out var d) && Math.Abs(d - Math.Floor(d)) < double.Epsilon && d is >= long.MinValue and <= long.MaxValue ? (long)d : null;
    }

    public static int? I(this JsonNode? n) => n.L() is { } l && l is >= int.MinValue and <= int.MaxValue ? (int)l : null;

    public static bool? B(this JsonNode? n) => n is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;
}
