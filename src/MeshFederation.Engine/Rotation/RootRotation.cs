using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Pki;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Rotation;

/// <summary>The three phases of a root rotation, in order.</summary>
public enum RotationPhase
{
    /// <summary>Add the new root to every cluster's trust bundle (cacerts root-cert.pem, hence istio-ca-root-cert).</summary>
    TrustAdd,
    /// <summary>Re-issue every cluster's intermediate under the new root (the old root stays trusted).</summary>
    Reissue,
    /// <summary>Remove the old root from every trust bundle.</summary>
    TrustRemove,
}

/// <summary>Where a rotation stands: the last phase verified on every cluster.</summary>
public enum RotationStage
{
    NotStarted,
    TrustAdded,
    Reissued,
    Completed,
}

/// <summary>One root certificate: its SHA-256 fingerprint (of the DER), subject and end of validity.</summary>
public sealed record RootCertificateInfo(string Fingerprint, string Subject, DateTime NotAfter)
{
    /// <summary>The first 16 hex digits of the fingerprint, as shown in tables.</summary>
    public string ShortFingerprint => Fingerprint[..16];

    public override string ToString() => $"{Subject} (SHA-256 {ShortFingerprint}..., until {NotAfter:yyyy-MM-dd})";
}

/// <summary>What one cluster holds and serves, as read.</summary>
public sealed class RotationClusterStatus
{
    public required string Cluster { get; init; }

    public required string Namespace { get; init; }

    /// <summary>The root the cluster's intermediate (cacerts ca-cert.pem) was issued by.</summary>
    public RootCertificateInfo? SigningRoot { get; init; }

    /// <summary>The roots of cacerts root-cert.pem (the trust bundle istiod loads).</summary>
    public IReadOnlyList<RootCertificateInfo> TrustedRoots { get; init; } = Array.Empty<RootCertificateInfo>();

    /// <summary>The roots istiod publishes in ConfigMap istio-ca-root-cert of the control plane's namespace.</summary>
    public IReadOnlyList<RootCertificateInfo> PublishedRoots { get; init; } = Array.Empty<RootCertificateInfo>();

    /// <summary>When the intermediate of cacerts expires.</summary>
    public DateTime? IntermediateNotAfter { get; init; }

    /// <summary>When the chain istiod signs with expires, as istiod reports it (citadel_server_cert_chain_expiry_timestamp); null when not observed.</summary>
    public DateTimeOffset? ServedChainNotAfter { get; init; }

    /// <summary>Does istiod sign with the intermediate of cacerts (its reported chain expiry is the intermediate's)? Null when not observed.</summary>
    public bool? ServesIntermediate => ServedChainNotAfter is { } s && IntermediateNotAfter is { } i ? s.ToUnixTimeSeconds() == new DateTimeOffset(i, TimeSpan.Zero).ToUnixTimeSeconds() : null;

    /// <summary>ISTIO_MULTIROOT_MESH as istiod is configured (Istio spec.values.pilot.env, else the istiod Deployment).</summary>
    public bool MultiRootMesh { get; init; }

    /// <summary>Why the cluster is in ambient mode, or null.</summary>
    public string? Ambient { get; init; }

    /// <summary>The stage recorded in this cluster's rotation ConfigMap.</summary>
    public RotationStage RecordedStage { get; init; }

    public override string ToString() => $"{Cluster}: signing root {SigningRoot?.ShortFingerprint ?? "-"}, trusts {TrustedRoots.Count} root(s), publishes {PublishedRoots.Count}, {RecordedStage}";
}

/// <summary>A root rotation as the clusters record it, and what each cluster holds.</summary>
public sealed class RootRotationStatus
{
    public required RotationStage Stage { get; init; }

    public RootCertificateInfo? OldRoot { get; init; }

    public RootCertificateInfo? NewRoot { get; init; }

    /// <summary>The phase to run next (null: nothing in progress).</summary>
    public RotationPhase? NextPhase => RootRotation.NextAfter(Stage);

    /// <summary>When the last phase was verified and recorded (UTC).</summary>
    public DateTime? Updated { get; init; }

    public required IReadOnlyList<RotationClusterStatus> Clusters { get; init; }

    public override string ToString() => Stage == RotationStage.NotStarted
        ? $"no rotation recorded ({Clusters.Count} cluster(s))"
        : $"{Stage}: {OldRoot?.ShortFingerprint}... -> {NewRoot?.ShortFingerprint}... on {Clusters.Count} cluster(s){(NextPhase is { } n ? $"; next: {RootRotation.PhaseName(n)}" : "")}";
}

/// <summary>One change a phase makes.</summary>
public sealed class RotationChange
{
    public required RotationPhase Phase { get; init; }

    public required string Cluster { get; init; }

    public required string Namespace { get; init; }

    public required string Kind { get; init; }

    public required string Name { get; init; }

    /// <summary>Update, or Record (the rotation's state ConfigMap, written once the phase is verified).</summary>
    public required string Action { get; init; }

    public required string Description { get; init; }

    /// <summary>"Secret istio-system/cacerts in cluster east" (the ShouldProcess target).</summary>
    public string Target => $"{Kind} {Namespace}/{Name} in cluster {Cluster}";

    internal JsonObject? Body { get; init; }

    public override string ToString() => $"{Action} {Target}: {Description}";
}

/// <summary>What a phase would change, with the roots it moves between.</summary>
public sealed class RootRotationPlan
{
    public required RotationPhase Phase { get; init; }

    public required RootCertificateInfo OldRoot { get; init; }

    public required RootCertificateInfo NewRoot { get; init; }

    public required IReadOnlyList<RotationChange> Changes { get; init; }

    public bool HasChanges => Changes.Any(c => c.Action == "Update");

    internal string OldRootPem { get; init; } = "";

    internal string NewRootPem { get; init; } = "";

    internal IReadOnlyList<ClusterBinding> Bindings { get; init; } = Array.Empty<ClusterBinding>();

    public override string ToString() => $"{RootRotation.PhaseName(Phase)}: {Changes.Count(c => c.Action == "Update")} change(s) on {Bindings.Count} cluster(s), {OldRoot.ShortFingerprint}... -> {NewRoot.ShortFingerprint}...";
}

/// <summary>One verification of a phase on one cluster.</summary>
public sealed record RotationVerification(RotationPhase Phase, string Cluster, bool Passed, string Detail)
{
    public override string ToString() => $"{(Passed ? "verified" : "NOT verified")} {RootRotation.PhaseName(Phase)} on {Cluster}: {Detail}";
}

/// <summary>A phase applied and verified (or not) on every cluster.</summary>
public sealed class RootRotationResult
{
    public required RotationPhase Phase { get; init; }

    /// <summary>The stage recorded in the clusters now.</summary>
    public required RotationStage Stage { get; init; }

    public required IReadOnlyList<RotationChange> Applied { get; init; }

    public required IReadOnlyList<RotationVerification> Verifications { get; init; }

    public bool Verified => Verifications.Count > 0 && Verifications.All(v => v.Passed);

    public override string ToString() => $"{RootRotation.PhaseName(Phase)}: {Applied.Count} change(s) applied, {(Verified ? "verified on every cluster" : "not verified")}; stage {Stage}";
}

/// <summary>Raised when a phase was applied but could not be verified in time (the state is not advanced; run the phase again to resume).</summary>
public sealed class RotationNotVerifiedException : Exception
{
    public RotationNotVerifiedException(string message, RootRotationResult result) : base(message) => Result = result;

    public RotationNotVerifiedException() : base("rotation not verified") { }

    public RotationNotVerifiedException(string message) : base(message) { }

    public RotationNotVerifiedException(string message, Exception inner) : base(message, inner) { }

    public RootRotationResult? Result { get; }
}

/// <summary>Options of a rotation.</summary>
public sealed class RootRotationOptions
{
    /// <summary>The control plane's namespace in every cluster (cacerts, istio-ca-root-cert, the state ConfigMap).</summary>
    public string Namespace { get; init; } = "istio-system";

    /// <summary>How long a phase waits for every istiod to take up the change.</summary>
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Validity of re-issued intermediates, in days (capped at the new root's end).</summary>
    public int ValidityDays { get; init; } = 3650;

    /// <summary>How the new root's inputs are named in problems (--new-root-cert / -NewRootCertificatePath).</summary>
    public string NewRootCertificateField { get; init; } = "--new-root-cert";

    public string NewRootKeyField { get; init; } = "--new-root-key";
}

/// <summary>
/// A shared root's rotation across every cluster of a multi-primary (or multi-mesh) Istio mesh, in three gated
/// phases as istiod allows it (istio pilot/pkg/bootstrap/istio_ca.go; Sail operator docs/general/plugin-ca.adoc):
/// istiod reloads cacerts live but takes a change of roots only with ISTIO_MULTIROOT_MESH=true, and then only a bundle
/// that is a superset or a subset of the current one. Phase 1 adds the new root to every cluster's cacerts
/// root-cert.pem and waits until every istiod publishes both (istio-ca-root-cert); phase 2 re-issues every
/// intermediate under the new root and waits until every istiod signs with it (its reported chain expiry); phase 3
/// removes the old root and waits until it is gone from every cacerts and istio-ca-root-cert. Each phase starts only
/// when the previous one is recorded and still holds. The state is a ConfigMap (<see cref="StateConfigMap"/>,
/// annotations <c>rotation.meshfederation.io/*</c>) in every cluster, written once a phase is verified everywhere, so a
/// rotation resumes from any machine. Keys stay where they were: the new root's key is read from the caller's file and
/// never written to a cluster; intermediates' keys go only into cacerts.
/// </summary>
public sealed class RootRotation
{
    public const string StateConfigMap = "meshfed-root-rotation";
    public const string AnnotationPrefix = "rotation.meshfederation.io/";
    public const string StageAnnotation = AnnotationPrefix + "stage";
    public const string OldRootAnnotation = AnnotationPrefix + "old-root-sha256";
    public const string NewRootAnnotation = AnnotationPrefix + "new-root-sha256";
    public const string ClustersAnnotation = AnnotationPrefix + "clusters";
    public const string UpdatedAnnotation = AnnotationPrefix + "updated";
    public const string MultiRootEnv = "ISTIO_MULTIROOT_MESH";

    private readonly ClusterConnections _connections;
    private readonly IReadOnlyList<ClusterBinding> _clusters;
    private readonly RootRotationOptions _options;
    private readonly IMeshLog _log;

    public RootRotation(ClusterConnections connections, IEnumerable<ClusterBinding> clusters, RootRotationOptions? options = null, IMeshLog? log = null)
    {
        _connections = connections;
        _clusters = clusters.ToList();
        _options = options ?? new RootRotationOptions();
        _log = log ?? NullMeshLog.Instance;
        var problems = new ProblemList();
        if (_clusters.Count == 0)
            problems.Add(new MeshProblem(MeshErrorKind.InvalidArgument, "cluster", null, "no cluster given", "give every cluster of the mesh (--context, -Context), each once"));
        foreach (var dup in _clusters.GroupBy(c => c.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add(new MeshProblem(MeshErrorKind.Conflict, "cluster", dup.Key, "is given twice", "give each cluster of the mesh once"));
        Names.CheckLabel(problems, "namespace", _options.Namespace);
        problems.ThrowIfAny();
    }

    /// <summary>The CLI's name of a phase (trust-add, reissue, trust-remove).</summary>
    public static string PhaseName(RotationPhase phase) => phase switch
    {
        RotationPhase.TrustAdd => "trust-add",
        RotationPhase.Reissue => "reissue",
        _ => "trust-remove",
    };

    /// <summary>Parses trust-add, reissue or trust-remove (also TrustAdd, TrustRemove).</summary>
    public static RotationPhase ParsePhase(string text, string field) => text.Replace("-", "", StringComparison.Ordinal).ToUpperInvariant() switch
    {
        "TRUSTADD" => RotationPhase.TrustAdd,
        "REISSUE" => RotationPhase.Reissue,
        "TRUSTREMOVE" => RotationPhase.TrustRemove,
        _ => throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, field, Echo.Text(text), "is not a phase", "use trust-add, reissue or trust-remove, in this order")),
    };

    /// <summary>The phase after a recorded stage (null: nothing in progress).</summary>
    internal static RotationPhase? NextAfter(RotationStage stage) => stage switch
    {
        RotationStage.TrustAdded => RotationPhase.Reissue,
        RotationStage.Reissued => RotationPhase.TrustRemove,
        _ => null,
    };

    /// <summary>
    /// Throws unless <paramref name="phase"/> may run at the recorded stage: running a phase again (resume after an
    /// interruption, or verify again) is allowed; skipping one is not. <paramref name="who"/> names the record
    /// ("the clusters record"); <paramref name="cmdletArguments"/> is appended to the cmdlet names in the fix.
    /// </summary>
    internal static void RequirePhaseAllowed(RotationPhase phase, RotationStage recorded, string who, string cmdletArguments)
    {
        var expectedBefore = phase switch
        {
            RotationPhase.TrustAdd => RotationStage.NotStarted,
            RotationPhase.Reissue => RotationStage.TrustAdded,
            _ => RotationStage.Reissued,
        };
        var inProgress = recorded is RotationStage.TrustAdded or RotationStage.Reissued;
        var stageOk = phase == RotationPhase.TrustAdd
            ? !inProgress || recorded == RotationStage.TrustAdded
            : recorded == expectedBefore || recorded == After(phase);
        if (!stageOk)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, "phase", PhaseName(phase),
                recorded is RotationStage.NotStarted or RotationStage.Completed
                    ? $"cannot run before {PhaseName(expectedBefore == RotationStage.TrustAdded ? RotationPhase.TrustAdd : RotationPhase.Reissue)}: {who} no rotation in progress ({StageName(recorded)})"
                    : $"cannot run now: {who} a rotation at stage {StageName(recorded)}",
                recorded switch
                {
                    RotationStage.TrustAdded => $"run --phase reissue next (Step-MeshRootRotation{cmdletArguments})",
                    RotationStage.Reissued => $"run --phase trust-remove next (Step-MeshRootRotation{cmdletArguments})",
                    _ => $"start with --phase trust-add (Start-MeshRootRotation{cmdletArguments})",
                }));
    }

    internal static RotationStage After(RotationPhase phase) => phase switch
    {
        RotationPhase.TrustAdd => RotationStage.TrustAdded,
        RotationPhase.Reissue => RotationStage.Reissued,
        _ => RotationStage.Completed,
    };

    internal static string StageName(RotationStage stage) => stage switch
    {
        RotationStage.TrustAdded => "trust-added",
        RotationStage.Reissued => "reissued",
        RotationStage.Completed => "completed",
        _ => "not-started",
    };

    internal static RotationStage? ParseStage(string? text) => text switch
    {
        "trust-added" => RotationStage.TrustAdded,
        "reissued" => RotationStage.Reissued,
        "completed" => RotationStage.Completed,
        _ => null,
    };

    // ------------------------------------------------------------------ certificates

    internal sealed record Cert(string Pem, byte[] Raw, string Fingerprint, string Subject, DateTime NotAfter)
    {
        public RootCertificateInfo Info => new(Fingerprint, Subject, NotAfter);

        public X509Certificate2 Load() => new(Raw);
    }

    internal static List<Cert> Parse(string? pem)
    {
        var list = new List<Cert>();
        if (string.IsNullOrWhiteSpace(pem)) return list;
        var certs = new X509Certificate2Collection();
        try
        {
            certs.ImportFromPem(pem);
        }
        catch (CryptographicException)
        {
            return list;
        }
        foreach (var c in certs)
        {
            if (list.All(x => !x.Raw.AsSpan().SequenceEqual(c.RawData)))
                list.Add(new Cert(c.ExportCertificatePem() + "\n", c.RawData, c.GetCertHashString(HashAlgorithmName.SHA256), c.Subject, c.NotAfter.ToUniversalTime()));
            c.Dispose();
        }
        return list;
    }

    internal static bool ChainsTo(Cert leaf, IEnumerable<Cert> roots)
    {
        using var cert = leaf.Load();
        var loaded = roots.Select(r => r.Load()).ToList();
        try
        {
            return PemMaterial.ChainsTo(cert, loaded, DateTimeOffset.UtcNow);
        }
        finally
        {
            foreach (var r in loaded) r.Dispose();
        }
    }

    internal static string Decode(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var b64) ? Encoding.UTF8.GetString(Convert.FromBase64String(b64)) : "";

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    // ------------------------------------------------------------------ reading

    private sealed class Observed
    {
        public required ClusterBinding Binding { get; init; }

        public required KubeClient Client { get; init; }

        public JsonObject? Cacerts { get; set; }

        public List<Cert> Trusted { get; set; } = new();

        public Cert? Intermediate { get; set; }

        public Cert? SigningRoot { get; set; }

        /// <summary>Every istio-ca-root-cert of the cluster: namespace to roots.</summary>
        public Dictionary<string, List<Cert>> Published { get; } = new(StringComparer.Ordinal);

        public bool MultiRoot { get; set; }

        public string MultiRootSource { get; set; } = "";

        public string? IstioName { get; set; }

        public string? Ambient { get; set; }

        public JsonObject? State { get; set; }

        public DateTimeOffset? ServedChain { get; set; }

        public string? ServedFailure { get; set; }

        public string Cluster => Binding.Name;
    }

    private async Task<List<Observed>> ReadAsync(CancellationToken cancellationToken)
    {
        var ns = _options.Namespace;
        var tasks = _clusters.Select(async binding =>
        {
            var client = _connections.For(binding);
            var o = new Observed { Binding = binding, Client = client };
            o.Cacerts = await client.GetAsync("v1", "Secret", ns, "cacerts", cancellationToken).ConfigureAwait(false);
            if (o.Cacerts is not null)
            {
                o.Trusted = Parse(Decode(o.Cacerts["data"]?["root-cert.pem"]));
                o.Intermediate = Parse(Decode(o.Cacerts["data"]?["ca-cert.pem"])).FirstOrDefault();
                if (o.Intermediate is not null) o.SigningRoot = o.Trusted.FirstOrDefault(r => ChainsTo(o.Intermediate, new[] { r }));
            }
            var published = await client.SendAsync(HttpMethod.Get, "/api/v1/configmaps?fieldSelector=" + Uri.EscapeDataString("metadata.name=istio-ca-root-cert"), null, null, allowNotFound: true, cancellationToken).ConfigureAwait(false);
            foreach (var cm in (published?["items"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                if (cm["metadata"]?["namespace"]?.GetValue<string>() is { } cmNs)
                    o.Published[cmNs] = Parse(cm["data"]?["root-cert.pem"]?.GetValue<string>());
            await ReadIstiodAsync(o, cancellationToken).ConfigureAwait(false);
            o.State = await client.GetAsync("v1", "ConfigMap", ns, StateConfigMap, cancellationToken).ConfigureAwait(false);
            await ReadServedAsync(o, cancellationToken).ConfigureAwait(false);
            return o;
        }).ToList();
        return (await Task.WhenAll(tasks).ConfigureAwait(false)).ToList();
    }

    /// <summary>ISTIO_MULTIROOT_MESH and ambient mode, from the Sail Istio of the namespace, else from the istiod Deployment.</summary>
    private async Task ReadIstiodAsync(Observed o, CancellationToken cancellationToken)
    {
        var ns = _options.Namespace;
        JsonObject? istio = null;
        if (await o.Client.FindAsync("sailoperator.io/v1", "Istio", cancellationToken).ConfigureAwait(false) is not null)
            istio = (await o.Client.ListAsync("sailoperator.io/v1", "Istio", null, null, cancellationToken).ConfigureAwait(false))
                .FirstOrDefault(i => (i["spec"]?["namespace"]?.GetValue<string>() ?? "istio-system") == ns);
        if (istio is not null)
        {
            o.IstioName = istio["metadata"]?["name"]?.GetValue<string>();
            var env = istio["spec"]?["values"]?["pilot"]?["env"];
            o.MultiRoot = env?[MultiRootEnv]?.ToString() == "true";
            o.MultiRootSource = $"Istio {o.IstioName} spec.values.pilot.env.{MultiRootEnv} = {env?[MultiRootEnv]?.ToString() ?? "(not set)"}";
            if (istio["spec"]?["profile"]?.GetValue<string>() == "ambient") o.Ambient = $"Istio {o.IstioName} has spec.profile ambient";
            else if (env?["PILOT_ENABLE_AMBIENT"]?.ToString() == "true") o.Ambient = $"Istio {o.IstioName} sets PILOT_ENABLE_AMBIENT=true";
        }
        else
        {
            var deployment = await o.Client.GetAsync("apps/v1", "Deployment", ns, "istiod", cancellationToken).ConfigureAwait(false);
            var env = (deployment?["spec"]?["template"]?["spec"]?["containers"] as JsonArray)?.OfType<JsonObject>()
                .SelectMany(c => (c["env"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>()).ToList() ?? new List<JsonObject>();
            string? Env(string name) => env.FirstOrDefault(e => e["name"]?.GetValue<string>() == name)?["value"]?.GetValue<string>();
            o.MultiRoot = Env(MultiRootEnv) == "true";
            o.MultiRootSource = deployment is null ? $"no Sail Istio for namespace {ns} and no Deployment {ns}/istiod" : $"Deployment {ns}/istiod env {MultiRootEnv} = {Env(MultiRootEnv) ?? "(not set)"}";
            if (Env("PILOT_ENABLE_AMBIENT") == "true") o.Ambient = $"Deployment {ns}/istiod sets PILOT_ENABLE_AMBIENT=true";
        }
        if (o.Ambient is null && await o.Client.FindAsync("sailoperator.io/v1", "ZTunnel", cancellationToken).ConfigureAwait(false) is not null
            && (await o.Client.ListAsync("sailoperator.io/v1", "ZTunnel", null, null, cancellationToken).ConfigureAwait(false)).FirstOrDefault() is { } z)
            o.Ambient = $"ZTunnel {z["metadata"]?["name"]?.GetValue<string>()} exists";
        if (o.Ambient is null
            && (await o.Client.ListAsync("v1", "Namespace", null, "istio.io/dataplane-mode=ambient", cancellationToken).ConfigureAwait(false)).FirstOrDefault() is { } n)
            o.Ambient = $"namespace {n["metadata"]?["name"]?.GetValue<string>()} is labelled istio.io/dataplane-mode=ambient";
    }

    /// <summary>What istiod reports on its monitoring port (through the API server's service proxy): the expiry of the chain it signs with.</summary>
    private async Task ReadServedAsync(Observed o, CancellationToken cancellationToken)
    {
        var path = $"/api/v1/namespaces/{Uri.EscapeDataString(_options.Namespace)}/services/http:istiod:15014/proxy/metrics";
        var (text, _, failure) = await o.Client.GetTextAsync(path, cancellationToken).ConfigureAwait(false);
        if (text is null)
        {
            o.ServedFailure = $"istiod's metrics could not be read through the API server ({path}): {failure}";
            return;
        }
        foreach (var line in text.Split('\n'))
        {
            var l = line.Trim();
            if (!l.StartsWith("citadel_server_cert_chain_expiry_timestamp", StringComparison.Ordinal)) continue;
            var value = l.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
            {
                o.ServedChain = DateTimeOffset.FromUnixTimeSeconds((long)Math.Round(seconds));
                return;
            }
        }
        o.ServedFailure = "istiod's metrics have no citadel_server_cert_chain_expiry_timestamp (an istiod older than 1.19, or its CA is not in use)";
    }

    private sealed record Recorded(RotationStage Stage, string? Old, string? New, string? OldPem, string? NewPem, DateTime? Updated);

    private static Recorded RecordOf(JsonObject? state)
    {
        var a = state?["metadata"]?["annotations"];
        var stage = ParseStage(a?[StageAnnotation]?.GetValue<string>()) ?? RotationStage.NotStarted;
        DateTime? updated = DateTime.TryParse(a?[UpdatedAnnotation]?.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var u) ? u : null;
        return new Recorded(stage, a?[OldRootAnnotation]?.GetValue<string>(), a?[NewRootAnnotation]?.GetValue<string>(),
            state?["data"]?["old-root.pem"]?.GetValue<string>(), state?["data"]?["new-root.pem"]?.GetValue<string>(), updated);
    }

    /// <summary>The rotation the clusters record: the most advanced stage of a rotation they agree on.</summary>
    private static Recorded Combined(IReadOnlyList<Observed> observed)
    {
        var records = observed.Where(o => o.State is not null).Select(o => (o.Cluster, Record: RecordOf(o.State))).ToList();
        if (records.Count == 0) return new Recorded(RotationStage.NotStarted, null, null, null, null, null);
        var rotations = records.GroupBy(r => (r.Record.Old, r.Record.New)).ToList();
        if (rotations.Count > 1)
        {
            // A finished rotation and a newer one: the newer one (not completed) is in progress.
            var open = rotations.Where(g => g.Any(r => r.Record.Stage != RotationStage.Completed)).ToList();
            if (open.Count != 1)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, $"ConfigMap {StateConfigMap}", null,
                    $"the clusters record different rotations ({string.Join("; ", records.Select(r => $"{r.Cluster}: {StageName(r.Record.Stage)} {r.Record.Old?[..Math.Min(16, r.Record.Old.Length)]} -> {r.Record.New?[..Math.Min(16, r.Record.New.Length)]}"))})",
                    "give exactly the clusters of one mesh; inspect the ConfigMaps with kubectl get configmap " + StateConfigMap + " -o yaml"));
            rotations = open;
        }
        var best = rotations[0].OrderByDescending(r => r.Record.Stage).First().Record;
        return best;
    }

    private RotationClusterStatus StatusOf(Observed o)
    {
        o.Published.TryGetValue(_options.Namespace, out var published);
        return new RotationClusterStatus
        {
            Cluster = o.Cluster, Namespace = _options.Namespace, SigningRoot = o.SigningRoot?.Info,
            TrustedRoots = o.Trusted.Select(t => t.Info).ToList(), PublishedRoots = (published ?? new List<Cert>()).Select(t => t.Info).ToList(),
            IntermediateNotAfter = o.Intermediate?.NotAfter, ServedChainNotAfter = o.ServedChain, MultiRootMesh = o.MultiRoot, Ambient = o.Ambient,
            RecordedStage = RecordOf(o.State).Stage,
        };
    }

    /// <summary>Reads every cluster: the recorded rotation, the roots each trusts, publishes and signs with.</summary>
    public async Task<RootRotationStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        var observed = await ReadAsync(cancellationToken).ConfigureAwait(false);
        return StatusFrom(observed, Combined(observed));
    }

    private RootRotationStatus StatusFrom(IReadOnlyList<Observed> observed, Recorded record) => new()
    {
        Stage = record.Stage,
        OldRoot = Parse(record.OldPem).FirstOrDefault()?.Info,
        NewRoot = Parse(record.NewPem).FirstOrDefault()?.Info,
        Updated = record.Updated,
        Clusters = observed.Select(StatusOf).ToList(),
    };

    // ------------------------------------------------------------------ planning

    /// <summary>
    /// Plans a phase after checking that it may start: ISTIO_MULTIROOT_MESH on every istiod, no ambient mode, every
    /// cluster with cacerts, the clusters agreeing on the current root, and the previous phase recorded and still in
    /// force. Trust-add needs the new root's certificate (<paramref name="newRootCertificatePath"/>); reissue needs it
    /// with its key (<paramref name="newRootKeyPath"/>). A phase already applied plans no change (it is verified again).
    /// </summary>
    public async Task<RootRotationPlan> PlanAsync(RotationPhase phase, string? newRootCertificatePath, string? newRootKeyPath, CancellationToken cancellationToken)
    {
        var observed = await ReadAsync(cancellationToken).ConfigureAwait(false);
        var record = Combined(observed);
        var problems = new ProblemList();
        var ns = _options.Namespace;
        foreach (var o in observed)
        {
            if (!o.MultiRoot)
                problems.Add(new MeshProblem(MeshErrorKind.InvalidArgument, $"cluster '{o.Cluster}' {MultiRootEnv}", o.MultiRootSource,
                    "is not 'true': istiod ignores a change of its roots, so the new root would never be trusted and the rotation could not proceed without restarts",
                    o.IstioName is { } istio
                        ? $"enable it in the Istio CR first (istiod restarts once): kubectl --context {o.Binding.Context ?? o.Cluster} patch istio {istio} --type merge -p '{{\"spec\":{{\"values\":{{\"pilot\":{{\"env\":{{\"{MultiRootEnv}\":\"true\"}}}}}}}}}}' (spec.values.pilot.env.{MultiRootEnv}: \"true\"), wait until it is Ready, then start again"
                        : $"set the environment variable {MultiRootEnv}=true on istiod (with the Sail operator: spec.values.pilot.env.{MultiRootEnv} in the Istio CR), wait for the rollout, then start again"));
            if (o.Ambient is { } why)
                problems.Add(new MeshProblem(MeshErrorKind.InvalidArgument, $"cluster '{o.Cluster}'", why,
                    "runs in ambient mode: upstream has no downtime-free root rotation for ztunnel (it does not reload a changed trust bundle without restarting)",
                    "rotate the root of an ambient mesh with a planned restart of istiod, ztunnel and the waypoints (upstream's procedure), not with this command"));
            if (o.Cacerts is null)
                problems.Add(new MeshProblem(MeshErrorKind.NotFound, $"cluster '{o.Cluster}' cacerts", $"{ns}/cacerts",
                    "does not exist: istiod signs with a self-made root, so there is no shared root to rotate",
                    "plug in a shared root first (meshfed ca, then meshfed apply or Sync-MeshFederation)"));
            else if (o.Intermediate is null || o.SigningRoot is null)
                problems.Add(new MeshProblem(MeshErrorKind.InvalidData, $"cluster '{o.Cluster}' cacerts", $"{ns}/cacerts",
                    o.Intermediate is null ? "has no readable ca-cert.pem" : "has a ca-cert.pem issued by none of the roots of its root-cert.pem",
                    "fix cacerts (meshfed ca issues a consistent set) before rotating"));
        }
        problems.ThrowIfAny();

        RequirePhaseAllowed(phase, record.Stage, "the clusters record", "");

        // The roots: the current one (agreed by every cluster) and the new one.
        Cert oldRoot;
        Cert newRoot;
        MeshCertificateAuthority? authority = null;
        if (phase == RotationPhase.TrustAdd && record.Stage != RotationStage.TrustAdded)
        {
            var signing = observed.GroupBy(o => o.SigningRoot!.Fingerprint).ToList();
            if (signing.Count > 1)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, "clusters", string.Join(", ", observed.Select(o => o.Cluster)),
                    $"disagree on the current root ({string.Join("; ", signing.Select(g => $"{string.Join(", ", g.Select(o => o.Cluster))}: {g.First().SigningRoot!.Info}"))})",
                    "a shared root must be shared before it is rotated: issue every cluster's intermediate under one root (meshfed ca --root-cert ... --root-key ...), or give only the clusters of one mesh"));
            oldRoot = observed[0].SigningRoot!;
            newRoot = ReadNewRoot(newRootCertificatePath);
        }
        else
        {
            oldRoot = Parse(record.OldPem).FirstOrDefault() ?? throw StateDamaged("data.old-root.pem");
            newRoot = Parse(record.NewPem).FirstOrDefault() ?? throw StateDamaged("data.new-root.pem");
            if (newRootCertificatePath is not null && ReadNewRoot(newRootCertificatePath).Fingerprint != newRoot.Fingerprint)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, _options.NewRootCertificateField, newRootCertificatePath,
                    $"is not the root this rotation adds (the clusters record {newRoot.Info})", "give the new root's certificate the rotation started with, or finish that rotation first"));
        }
        if (oldRoot.Fingerprint == newRoot.Fingerprint)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, _options.NewRootCertificateField, newRootCertificatePath,
                $"is the current root ({oldRoot.Info}); nothing to rotate", "create a new root first: meshfed ca --out <new-folder> (it writes root-cert.pem and root-key.pem)"));
        if (phase == RotationPhase.Reissue && observed.Any(o => o.SigningRoot!.Fingerprint != newRoot.Fingerprint))
        {
            if (newRootCertificatePath is null || newRootKeyPath is null)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, newRootKeyPath is null ? _options.NewRootKeyField : _options.NewRootCertificateField, null,
                    "is required to re-issue the intermediates under the new root", $"give {_options.NewRootCertificateField} and {_options.NewRootKeyField} (the new root's root-cert.pem and root-key.pem)"));
            authority = MeshCertificateAuthority.Load(newRootCertificatePath, newRootKeyPath, _options.ValidityDays, _options.NewRootCertificateField, _options.NewRootKeyField);
            if (!authority.Root.Thumbprint.Equals(newRoot.Fingerprint, StringComparison.OrdinalIgnoreCase))
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, _options.NewRootCertificateField, newRootCertificatePath,
                    $"holds a key for another root ({authority.Root.Subject}, SHA-256 {authority.Root.Thumbprint[..16]}...) than the one this rotation adds ({newRoot.Info})",
                    "give the root certificate and key the rotation started with"));
        }

        // The previous phase must still be in force everywhere (someone may have changed a cluster since).
        if (phase != RotationPhase.TrustAdd)
        {
            var gate = Verify(phase == RotationPhase.Reissue ? RotationPhase.TrustAdd : RotationPhase.Reissue, observed, oldRoot, newRoot);
            if (gate.Any(v => !v.Passed))
                throw new MeshFederationException(gate.Where(v => !v.Passed).Select(v => new MeshProblem(MeshErrorKind.Conflict, $"cluster '{v.Cluster}'", PhaseName(v.Phase),
                    $"no longer holds what phase {PhaseName(v.Phase)} verified: {v.Detail}",
                    $"run --phase {PhaseName(v.Phase)} again (it resumes and verifies), then this phase")).ToList());
        }

        var changes = new List<RotationChange>();
        foreach (var o in observed)
        {
            var data = (JsonObject)o.Cacerts!["data"]!.DeepClone();
            string description;
            switch (phase)
            {
                case RotationPhase.TrustAdd:
                    if (o.Trusted.Any(t => t.Fingerprint == newRoot.Fingerprint)) continue;
                    var bundle = Decode(data["root-cert.pem"]).TrimEnd('\n') + "\n" + newRoot.Pem;
                    data["root-cert.pem"] = B64(bundle);
                    description = $"root-cert.pem: add the new root {newRoot.Info} to {o.Trusted.Count} root(s)";
                    break;
                case RotationPhase.Reissue:
                    if (o.SigningRoot!.Fingerprint == newRoot.Fingerprint) continue;
                    var issued = authority!.Issue(o.Cluster);
                    // istiod reports the chain it signs with by its expiry: make the new intermediate's differ from the old one's.
                    if (new DateTimeOffset(issued.Intermediate.NotAfter, TimeSpan.Zero).ToUnixTimeSeconds() == new DateTimeOffset(o.Intermediate!.NotAfter, TimeSpan.Zero).ToUnixTimeSeconds())
                        issued = MeshCertificateAuthority.Load(newRootCertificatePath!, newRootKeyPath!, _options.ValidityDays - 1, _options.NewRootCertificateField, _options.NewRootKeyField).Issue(o.Cluster);
                    data["ca-cert.pem"] = B64(issued.Intermediate.CertificatePem);
                    data["ca-key.pem"] = B64(issued.Intermediate.ExportPrivateKeyPem());
                    data["cert-chain.pem"] = B64(issued.Intermediate.CertificatePem + newRoot.Pem);
                    description = $"ca-cert.pem, ca-key.pem, cert-chain.pem: a new intermediate {issued.Intermediate.Subject} under the new root (until {issued.Intermediate.NotAfter:yyyy-MM-dd}); root-cert.pem unchanged ({o.Trusted.Count} roots)";
                    break;
                default:
                    if (o.Trusted.All(t => t.Fingerprint != oldRoot.Fingerprint)) continue;
                    data["root-cert.pem"] = B64(string.Concat(o.Trusted.Where(t => t.Fingerprint != oldRoot.Fingerprint).Select(t => t.Pem)));
                    description = $"root-cert.pem: remove the old root {oldRoot.Info}, keep {o.Trusted.Count - 1} root(s)";
                    break;
            }
            var body = (JsonObject)o.Cacerts!.DeepClone();
            (body["metadata"] as JsonObject)?.Remove("managedFields");
            body["data"] = data;
            changes.Add(new RotationChange { Phase = phase, Cluster = o.Cluster, Namespace = ns, Kind = "Secret", Name = "cacerts", Action = "Update", Description = description, Body = body });
        }
        foreach (var o in observed)
            changes.Add(new RotationChange
            {
                Phase = phase, Cluster = o.Cluster, Namespace = ns, Kind = "ConfigMap", Name = StateConfigMap, Action = "Record",
                Description = $"once verified everywhere: stage {StageName(After(phase))}",
            });
        return new RootRotationPlan
        {
            Phase = phase, OldRoot = oldRoot.Info, NewRoot = newRoot.Info, Changes = changes, OldRootPem = oldRoot.Pem, NewRootPem = newRoot.Pem, Bindings = _clusters,
        };
    }

    private Cert ReadNewRoot(string? path) => ReadRootFile(path, _options.NewRootCertificateField);

    /// <summary>A new root's certificate from its file: self-signed, a CA, valid now.</summary>
    internal static Cert ReadRootFile(string? path, string field)
    {
        if (path is null)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, field, null, "is required to start a rotation",
                "create the new root (meshfed ca --out <new-folder>) and give its root-cert.pem"));
        var pem = PemMaterial.ReadFile(path, field);
        var certs = PemMaterial.Certificates(pem, field, path);
        try
        {
            var root = certs[0];
            if (!root.SubjectName.RawData.AsSpan().SequenceEqual(root.IssuerName.RawData))
                throw PemMaterial.Fail(field, path, $"is not a root: {PemMaterial.Describe(root)} was issued by '{root.Issuer}'", "give the new root's self-signed root-cert.pem");
            PemMaterial.CheckCa(root, field, path, DateTimeOffset.UtcNow, "new root CA certificate");
            return Parse(root.ExportCertificatePem())[0];
        }
        finally
        {
            foreach (var c in certs) c.Dispose();
        }
    }

    private static MeshFederationException StateDamaged(string field) => new(new MeshProblem(MeshErrorKind.InvalidData, $"ConfigMap {StateConfigMap} {field}", null,
        "is missing or not a certificate", $"the rotation's record was changed by hand; inspect it with kubectl get configmap {StateConfigMap} -o yaml"));

    // ------------------------------------------------------------------ verification

    private List<RotationVerification> Verify(RotationPhase phase, IReadOnlyList<Observed> observed, Cert oldRoot, Cert newRoot)
    {
        var ns = _options.Namespace;
        var results = new List<RotationVerification>();
        foreach (var o in observed)
        {
            var problems = new List<string>();
            bool Has(IEnumerable<Cert> roots, Cert root) => roots.Any(r => r.Fingerprint == root.Fingerprint);
            if (!o.Published.ContainsKey(ns)) problems.Add($"istiod publishes no istio-ca-root-cert in {ns}");
            switch (phase)
            {
                case RotationPhase.TrustAdd:
                    if (!Has(o.Trusted, oldRoot) || !Has(o.Trusted, newRoot)) problems.Add($"cacerts root-cert.pem lacks the {(Has(o.Trusted, oldRoot) ? "new" : "old")} root");
                    foreach (var (where, roots) in o.Published)
                        if (!Has(roots, oldRoot) || !Has(roots, newRoot)) problems.Add($"istio-ca-root-cert in {where} lacks the {(Has(roots, oldRoot) ? "new" : "old")} root (istiod has not taken up the bundle)");
                    break;
                case RotationPhase.Reissue:
                    if (o.SigningRoot?.Fingerprint != newRoot.Fingerprint) problems.Add("cacerts ca-cert.pem is not issued by the new root");
                    if (!Has(o.Trusted, oldRoot) || !Has(o.Trusted, newRoot)) problems.Add("cacerts root-cert.pem no longer holds both roots");
                    foreach (var (where, roots) in o.Published)
                        if (!Has(roots, oldRoot) || !Has(roots, newRoot)) problems.Add($"istio-ca-root-cert in {where} no longer holds both roots");
                    if (o.ServedChain is null) problems.Add($"not observed: {o.ServedFailure}");
                    else if (o.ServedChain.Value.ToUnixTimeSeconds() != new DateTimeOffset(o.Intermediate!.NotAfter, TimeSpan.Zero).ToUnixTimeSeconds())
                        problems.Add($"istiod signs with a chain expiring {o.ServedChain:yyyy-MM-dd HH:mm:ss}Z, not the new intermediate (until {o.Intermediate.NotAfter:yyyy-MM-dd HH:mm:ss}Z): it has not reloaded cacerts");
                    break;
                default:
                    if (Has(o.Trusted, oldRoot)) problems.Add("cacerts root-cert.pem still holds the old root");
                    if (!Has(o.Trusted, newRoot)) problems.Add("cacerts root-cert.pem lacks the new root");
                    if (o.SigningRoot?.Fingerprint != newRoot.Fingerprint) problems.Add("cacerts ca-cert.pem is not issued by the new root");
                    foreach (var (where, roots) in o.Published)
                    {
                        if (Has(roots, oldRoot)) problems.Add($"istio-ca-root-cert in {where} still holds the old root");
                        if (!Has(roots, newRoot)) problems.Add($"istio-ca-root-cert in {where} lacks the new root");
                    }
                    break;
            }
            var published = o.Published.Count;
            results.Add(new RotationVerification(phase, o.Cluster, problems.Count == 0, problems.Count > 0 ? string.Join("; ", problems) : phase switch
            {
                RotationPhase.TrustAdd => $"cacerts and {published} istio-ca-root-cert ConfigMap(s) carry both roots",
                RotationPhase.Reissue => $"istiod signs with the new intermediate (chain until {o.ServedChain:yyyy-MM-dd HH:mm:ss}Z); both roots still trusted",
                _ => $"the old root is gone from cacerts and {published} istio-ca-root-cert ConfigMap(s); the new root is trusted",
            }));
        }
        return results;
    }

    // ------------------------------------------------------------------ applying

    /// <summary>
    /// Applies the approved changes of a plan (each cacerts is replaced only if nobody changed it since it was read),
    /// then waits until the phase holds on every cluster, then records the stage in every cluster. When it does not
    /// hold within the wait timeout, <see cref="RotationNotVerifiedException"/> is thrown and nothing is recorded:
    /// running the same phase again resumes (it changes what is left and verifies again).
    /// </summary>
    public async Task<RootRotationResult> ApplyAsync(RootRotationPlan plan, Func<RotationChange, bool> approved, CancellationToken cancellationToken)
    {
        var updates = plan.Changes.Where(c => c.Action == "Update").ToList();
        var chosen = updates.Where(approved).ToList();
        if (chosen.Count < updates.Count)
        {
            // A phase is all clusters or none: verifying it with some clusters left out cannot succeed.
            _log.Warning($"{updates.Count - chosen.Count} of {updates.Count} change(s) declined: nothing was changed, and the phase is not recorded");
            return new RootRotationResult { Phase = plan.Phase, Stage = RotationStage.NotStarted, Applied = Array.Empty<RotationChange>(), Verifications = Array.Empty<RotationVerification>() };
        }
        var byCluster = _clusters.ToDictionary(c => c.Name, StringComparer.Ordinal);
        await Task.WhenAll(chosen.Select(async change =>
        {
            var client = _connections.For(byCluster[change.Cluster]);
            var resource = await client.FindAsync("v1", "Secret", cancellationToken).ConfigureAwait(false)
                ?? throw new KubeApiException(change.Cluster, "GET", "v1", HttpStatusCode.NotFound, "NotFound", "the server does not serve Secrets");
            var path = resource.PathFor(change.Namespace, change.Name) + "?fieldManager=" + Uri.EscapeDataString(client.FieldManager);
            _log.Verbose($"{change.Cluster}: {change.Description}");
            try
            {
                await client.SendAsync(HttpMethod.Put, path, change.Body, "application/json", allowNotFound: false, cancellationToken).ConfigureAwait(false);
            }
            catch (KubeApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
            {
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, $"cluster '{change.Cluster}' Secret {change.Namespace}/{change.Name}", null,
                    "was changed by someone else since it was read; it was not replaced", $"run --phase {PhaseName(plan.Phase)} again: it reads the current cacerts and plans again"));
            }
        })).ConfigureAwait(false);

        var oldRoot = Parse(plan.OldRootPem)[0];
        var newRoot = Parse(plan.NewRootPem)[0];
        var deadline = DateTime.UtcNow + _options.WaitTimeout;
        List<RotationVerification> verifications;
        while (true)
        {
            var observed = await ReadAsync(cancellationToken).ConfigureAwait(false);
            verifications = Verify(plan.Phase, observed, oldRoot, newRoot);
            if (verifications.All(v => v.Passed)) break;
            _log.Progress(new MeshProgress(18, null, $"Root rotation: {PhaseName(plan.Phase)}", $"waiting for {string.Join(", ", verifications.Where(v => !v.Passed).Select(v => v.Cluster))}", 50, false));
            if (DateTime.UtcNow >= deadline)
            {
                var result = new RootRotationResult { Phase = plan.Phase, Stage = Combined(observed).Stage, Applied = chosen, Verifications = verifications };
                throw new RotationNotVerifiedException(
                    $"{PhaseName(plan.Phase)} was applied but is not in force everywhere after {_options.WaitTimeout.TotalSeconds:0} s ({string.Join("; ", verifications.Where(v => !v.Passed).Select(v => $"{v.Cluster}: {v.Detail}"))}); "
                    + $"the stage was not recorded: run --phase {PhaseName(plan.Phase)} again to verify and resume", result);
            }
            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
        _log.Progress(new MeshProgress(18, null, $"Root rotation: {PhaseName(plan.Phase)}", "verified", 100, true));
        var stage = After(plan.Phase);
        await RecordAsync(stage, plan, cancellationToken).ConfigureAwait(false);
        return new RootRotationResult { Phase = plan.Phase, Stage = stage, Applied = chosen, Verifications = verifications };
    }

    /// <summary>Writes the state ConfigMap in every cluster (server-side apply; created with the creation record; never one this module did not create).</summary>
    private async Task RecordAsync(RotationStage stage, RootRotationPlan plan, CancellationToken cancellationToken)
    {
        var ns = _options.Namespace;
        await Task.WhenAll(_clusters.Select(async binding =>
        {
            var client = _connections.For(binding);
            var live = await client.GetAsync("v1", "ConfigMap", ns, StateConfigMap, cancellationToken).ConfigureAwait(false);
            if (live is not null && Ownership.NotOwnedReason(live, client.FieldManager) is { } why)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, $"cluster '{binding.Name}' ConfigMap {ns}/{StateConfigMap}", null,
                    $"exists and is not this module's ({why}); the rotation's state was not recorded", $"remove or rename that ConfigMap, then run --phase {PhaseName(plan.Phase)} again"));
            var cm = new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
                ["metadata"] = new JsonObject
                {
                    ["name"] = StateConfigMap, ["namespace"] = ns,
                    ["labels"] = new JsonObject { ["app.kubernetes.io/managed-by"] = "meshfederation", ["app.kubernetes.io/component"] = "root-rotation" },
                    ["annotations"] = new JsonObject
                    {
                        [StageAnnotation] = StageName(stage),
                        [OldRootAnnotation] = plan.OldRoot.Fingerprint,
                        [NewRootAnnotation] = plan.NewRoot.Fingerprint,
                        [ClustersAnnotation] = string.Join(",", _clusters.Select(c => c.Name)),
                        [UpdatedAnnotation] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                    },
                },
                ["data"] = new JsonObject { ["old-root.pem"] = plan.OldRootPem, ["new-root.pem"] = plan.NewRootPem },
            };
            var record = Ownership.RecordOf(live) ?? Ownership.NewRecord();
            await client.ApplyAsync(Ownership.Claim(cm, record), force: false, cancellationToken).ConfigureAwait(false);
        })).ConfigureAwait(false);
    }
}
