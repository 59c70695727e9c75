using System.Globalization;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;
using Cert = MeshFederation.Engine.Rotation.RootRotation.Cert;

namespace MeshFederation.Engine.Rotation;

/// <summary>One peer's copy of the rotating mesh's root: ConfigMap &lt;peer name&gt;-ca-root-cert in the peer's control-plane namespace.</summary>
public sealed class PeerRootHolder
{
    /// <summary>The peer mesh (its ServiceMeshControlPlane's name).</summary>
    public required string Peer { get; init; }

    public required string Cluster { get; init; }

    public required string Namespace { get; init; }

    /// <summary>The peer's ServiceMeshPeer that stands for the rotating mesh.</summary>
    public required string ServiceMeshPeer { get; init; }

    /// <summary>The ConfigMap that ServiceMeshPeer's spec.security.certificateChain names (default &lt;name&gt;-ca-root-cert).</summary>
    public required string ConfigMap { get; init; }

    public bool Exists { get; init; }

    /// <summary>Why the ConfigMap is not this module's (null: it is, or it does not exist).</summary>
    public string? NotOwned { get; init; }

    /// <summary>The roots the ConfigMap's root-cert.pem holds.</summary>
    public IReadOnlyList<RootCertificateInfo> Roots { get; init; } = Array.Empty<RootCertificateInfo>();

    public override string ToString() => $"{Peer} ({Cluster} {Namespace}/{ConfigMap}): {Roots.Count} root(s){(NotOwned is null ? "" : ", not meshfed's")}";
}

/// <summary>Where the rotation of one OSSM 2 mesh's root stands, with what the mesh serves and what each peer holds.</summary>
public sealed class PeerRootRotationStatus
{
    /// <summary>The mesh whose root rotates (its ServiceMeshControlPlane's name).</summary>
    public required string Mesh { get; init; }

    public required string Cluster { get; init; }

    public required string Namespace { get; init; }

    public required RotationStage Stage { get; init; }

    public RootCertificateInfo? OldRoot { get; init; }

    public RootCertificateInfo? NewRoot { get; init; }

    /// <summary>The phase to run next (null: nothing in progress).</summary>
    public RotationPhase? NextPhase => RootRotation.NextAfter(Stage);

    public DateTime? Updated { get; init; }

    /// <summary>The root the mesh's CA signs with (Secret cacerts, else istio-ca-secret); null when not observed.</summary>
    public RootCertificateInfo? SigningRoot { get; init; }

    /// <summary>Which Secret <see cref="SigningRoot"/> was read from.</summary>
    public string? CaSecret { get; init; }

    /// <summary>The roots the mesh's istiod publishes (istio-ca-root-cert).</summary>
    public IReadOnlyList<RootCertificateInfo> PublishedRoots { get; init; } = Array.Empty<RootCertificateInfo>();

    public required IReadOnlyList<PeerRootHolder> Peers { get; init; }

    public override string ToString() => Stage == RotationStage.NotStarted
        ? $"{Mesh}: no peer root rotation recorded ({Peers.Count} peer(s))"
        : $"{Mesh}: {Stage}: {OldRoot?.ShortFingerprint}... -> {NewRoot?.ShortFingerprint}... in {Peers.Count} peer(s){(NextPhase is { } n ? $"; next: {RootRotation.PhaseName(n)}" : "")}";
}

/// <summary>What a phase of a peer root rotation would change.</summary>
public sealed class PeerRootRotationPlan
{
    public required string Mesh { get; init; }

    public required RotationPhase Phase { get; init; }

    public required RootCertificateInfo OldRoot { get; init; }

    public required RootCertificateInfo NewRoot { get; init; }

    public required IReadOnlyList<RotationChange> Changes { get; init; }

    public bool HasChanges => Changes.Any(c => c.Action is "Update" or "Adopt");

    internal string OldRootPem { get; init; } = "";

    internal string NewRootPem { get; init; } = "";

    public override string ToString() => $"{RootRotation.PhaseName(Phase)} of {Mesh}'s root: {Changes.Count(c => c.Action is "Update" or "Adopt")} change(s), {OldRoot.ShortFingerprint}... -> {NewRoot.ShortFingerprint}...";
}

/// <summary>Options of a peer root rotation.</summary>
public sealed class PeerRootRotationOptions
{
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Take over peer ConfigMaps this module did not create (--adopt, -Adopt).</summary>
    public bool Adopt { get; init; }

    public string MeshField { get; init; } = "--mesh";

    public string NewRootCertificateField { get; init; } = "--new-root-cert";

    public string AdoptField { get; init; } = "--adopt";
}

/// <summary>
/// The rotation of one OpenShift Service Mesh 2 mesh's root across its federation peers. In OSSM 2 federation every
/// mesh has its own root, and every peer B holds mesh A's root in ConfigMap &lt;A's peer name&gt;-ca-root-cert (key
/// root-cert.pem) of B's control-plane namespace, named by B's ServiceMeshPeer for A (spec.security.certificateChain).
/// B's federation gateways validate A's certificates with it. Replacing A's root in one step breaks federation until
/// every copy is replaced, so the rotation has three phases, each gated on the previous one holding on every peer:
/// trust-add (every peer's ConfigMap carries A's old and new roots), reissue (A's CA switches to the new root: the user
/// replaces A's CA secret, which this module did not create, and this module verifies that A's CA signs with the new
/// root and that istiod publishes it), trust-remove (once A no longer publishes the old root, it is removed from every
/// peer's ConfigMap). Peers' ConfigMaps are changed only when this module created them (or with
/// <see cref="PeerRootRotationOptions.Adopt"/>). The state is ConfigMap <see cref="StateConfigMap"/> in A's
/// control-plane namespace, written once a phase is verified, so a rotation resumes from any machine.
/// </summary>
public sealed class PeerRootRotation
{
    public const string StateConfigMap = "meshfed-peer-root-rotation";
    public const string PeersAnnotation = RootRotation.AnnotationPrefix + "peers";

    private readonly ClusterConnections _connections;
    private readonly IReadOnlyList<ClusterBinding> _clusters;
    private readonly string _mesh;
    private readonly PeerRootRotationOptions _options;
    private readonly IMeshLog _log;

    public PeerRootRotation(ClusterConnections connections, IEnumerable<ClusterBinding> clusters, string mesh, PeerRootRotationOptions? options = null, IMeshLog? log = null)
    {
        _connections = connections;
        _clusters = clusters.ToList();
        _mesh = mesh;
        _options = options ?? new PeerRootRotationOptions();
        _log = log ?? NullMeshLog.Instance;
        var problems = new ProblemList();
        if (_clusters.Count == 0)
            problems.Add(new MeshProblem(MeshErrorKind.InvalidArgument, "cluster", null, "no cluster given", "give the mesh's cluster and every peer's cluster (--context, -Context), each once"));
        foreach (var dup in _clusters.GroupBy(c => c.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add(new MeshProblem(MeshErrorKind.Conflict, "cluster", dup.Key, "is given twice", "give each cluster once"));
        Names.CheckLabel(problems, _options.MeshField, mesh);
        problems.ThrowIfAny();
    }

    // ------------------------------------------------------------------ reading

    private sealed class Holder
    {
        public required ClusterBinding Binding { get; init; }
        public required string Peer { get; init; }
        public required string Namespace { get; init; }
        public required string Smp { get; init; }
        public required string ConfigMap { get; init; }
        public JsonObject? Live { get; set; }
        public string? NotOwned { get; set; }
        public List<Cert> Roots { get; set; } = new();
        public string Cluster => Binding.Name;
        public string Where => $"peer {Peer} (cluster {Cluster}, ConfigMap {Namespace}/{ConfigMap})";
    }

    private sealed class Observed
    {
        public required ClusterBinding Binding { get; init; }
        public required string Namespace { get; init; }
        public required string TrustDomain { get; init; }
        public Cert? SigningRoot { get; set; }
        public string? CaSecret { get; set; }
        public string? CaProblem { get; set; }
        public List<Cert> Published { get; set; } = new();
        public JsonObject? State { get; set; }
        public List<Holder> Holders { get; } = new();
        public string Cluster => Binding.Name;
    }

    private async Task<Observed> ReadAsync(CancellationToken cancellationToken)
    {
        var smcps = await Task.WhenAll(_clusters.Select(async b =>
        {
            var client = _connections.For(b);
            if (await client.FindAsync("maistra.io/v2", "ServiceMeshControlPlane", cancellationToken).ConfigureAwait(false) is null)
                return (Binding: b, Items: (IReadOnlyList<JsonObject>)Array.Empty<JsonObject>());
            return (Binding: b, Items: await client.ListAsync("maistra.io/v2", "ServiceMeshControlPlane", null, null, cancellationToken).ConfigureAwait(false));
        })).ConfigureAwait(false);
        static string Ns(JsonObject o) => o["metadata"]?["namespace"]?.GetValue<string>() ?? "";
        static string Name(JsonObject o) => o["metadata"]?["name"]?.GetValue<string>() ?? "";
        static string Domain(JsonObject o) => o["spec"]?["security"]?["trust"]?["domain"]?.GetValue<string>() ?? "cluster.local";
        var all = smcps.SelectMany(s => s.Items.Select(i => (s.Binding, Smcp: i))).ToList();
        var mine = all.Where(x => Name(x.Smcp) == _mesh).ToList();
        if (mine.Count != 1)
            throw new MeshFederationException(new MeshProblem(mine.Count == 0 ? MeshErrorKind.NotFound : MeshErrorKind.Conflict, _options.MeshField, _mesh,
                mine.Count == 0
                    ? $"is no ServiceMeshControlPlane in the clusters given ({string.Join(", ", _clusters.Select(c => c.Name))}; found: {(all.Count == 0 ? "none" : string.Join(", ", all.Select(x => $"{Name(x.Smcp)} in {x.Binding.Name}")))})"
                    : $"names a ServiceMeshControlPlane in more than one place ({string.Join(", ", mine.Select(x => $"{x.Binding.Name} {Ns(x.Smcp)}"))})",
                "give the name of the rotating mesh's ServiceMeshControlPlane and the contexts of its cluster and of every peer's cluster"));
        var (binding, smcp) = mine[0];
        var o = new Observed { Binding = binding, Namespace = Ns(smcp), TrustDomain = Domain(smcp) };
        var sameDomain = all.Where(x => x.Smcp != smcp && string.Equals(Domain(x.Smcp), o.TrustDomain, StringComparison.OrdinalIgnoreCase)).ToList();
        if (sameDomain.Count > 0)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, $"ServiceMeshControlPlane {o.Namespace}/{_mesh} spec.security.trust.domain", o.TrustDomain,
                $"is shared with {string.Join(", ", sameDomain.Select(x => $"{Name(x.Smcp)} in {x.Binding.Name}"))}: the peers' ServiceMeshPeers for {_mesh} cannot be told apart",
                $"give every federated mesh its own trust domain (e.g. {_mesh}.local) first"));

        var client = _connections.For(binding);
        var cacerts = await client.GetAsync("v1", "Secret", o.Namespace, "cacerts", cancellationToken).ConfigureAwait(false);
        var secret = cacerts ?? await client.GetAsync("v1", "Secret", o.Namespace, "istio-ca-secret", cancellationToken).ConfigureAwait(false);
        if (secret is null) o.CaProblem = $"neither Secret {o.Namespace}/cacerts nor {o.Namespace}/istio-ca-secret exists (istiod has not started, or its CA is external)";
        else
        {
            o.CaSecret = $"Secret {o.Namespace}/{(cacerts is null ? "istio-ca-secret" : "cacerts")}";
            var intermediate = RootRotation.Parse(RootRotation.Decode(secret["data"]?["ca-cert.pem"])).FirstOrDefault();
            var candidates = RootRotation.Parse(RootRotation.Decode(secret["data"]?["root-cert.pem"]));
            if (intermediate is null) o.CaProblem = $"{o.CaSecret} has no readable ca-cert.pem";
            else if (IsSelfSigned(intermediate)) o.SigningRoot = intermediate;
            else
            {
                o.SigningRoot = candidates.FirstOrDefault(r => IsSelfSigned(r) && RootRotation.ChainsTo(intermediate, new[] { r }));
                if (o.SigningRoot is null) o.CaProblem = $"{o.CaSecret} ca-cert.pem is issued by none of the roots of its root-cert.pem";
            }
        }
        var published = await client.GetAsync("v1", "ConfigMap", o.Namespace, "istio-ca-root-cert", cancellationToken).ConfigureAwait(false);
        o.Published = RootRotation.Parse(published?["data"]?[Names.RootCertKey]?.GetValue<string>());
        o.State = await client.GetAsync("v1", "ConfigMap", o.Namespace, StateConfigMap, cancellationToken).ConfigureAwait(false);

        // The peers: every other mesh's ServiceMeshPeer whose trust domain is this mesh's.
        await Task.WhenAll(all.Where(x => x.Smcp != smcp).Select(async x =>
        {
            var c = _connections.For(x.Binding);
            var ns = Ns(x.Smcp);
            if (await c.FindAsync("federation.maistra.io/v1", "ServiceMeshPeer", cancellationToken).ConfigureAwait(false) is null) return;
            foreach (var smp in await c.ListAsync("federation.maistra.io/v1", "ServiceMeshPeer", ns, null, cancellationToken).ConfigureAwait(false))
            {
                if (!string.Equals(smp["spec"]?["security"]?["trustDomain"]?.GetValue<string>(), o.TrustDomain, StringComparison.OrdinalIgnoreCase)) continue;
                var name = Name(smp);
                var h = new Holder
                {
                    Binding = x.Binding, Peer = Name(x.Smcp), Namespace = ns, Smp = name,
                    ConfigMap = smp["spec"]?["security"]?["certificateChain"]?["name"]?.GetValue<string>() ?? Names.CaConfigMapName(name),
                };
                h.Live = await c.GetAsync("v1", "ConfigMap", ns, h.ConfigMap, cancellationToken).ConfigureAwait(false);
                if (h.Live is not null)
                {
                    h.NotOwned = Ownership.NotOwnedReason(h.Live, c.FieldManager);
                    h.Roots = RootRotation.Parse(h.Live["data"]?[Names.RootCertKey]?.GetValue<string>());
                }
                lock (o.Holders) o.Holders.Add(h);
            }
        })).ConfigureAwait(false);
        o.Holders.Sort((a, b) => string.CompareOrdinal(a.Cluster + "/" + a.Namespace, b.Cluster + "/" + b.Namespace));
        return o;
    }

    private static bool IsSelfSigned(Cert c)
    {
        using var x = c.Load();
        return x.SubjectName.RawData.AsSpan().SequenceEqual(x.IssuerName.RawData) && RootRotation.ChainsTo(c, new[] { c });
    }

    private sealed record Recorded(RotationStage Stage, string? OldPem, string? NewPem, DateTime? Updated);

    private static Recorded RecordOf(JsonObject? state)
    {
        var a = state?["metadata"]?["annotations"];
        var stage = RootRotation.ParseStage(a?[RootRotation.StageAnnotation]?.GetValue<string>()) ?? RotationStage.NotStarted;
        DateTime? updated = DateTime.TryParse(a?[RootRotation.UpdatedAnnotation]?.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var u) ? u : null;
        return new Recorded(stage, state?["data"]?["old-root.pem"]?.GetValue<string>(), state?["data"]?["new-root.pem"]?.GetValue<string>(), updated);
    }

    /// <summary>
    /// What a peer's ConfigMap for a mesh holds when the federation is applied: the roots the mesh publishes, plus the
    /// old and new roots of a peer root rotation in progress (recorded by this module in <paramref name="state"/>), so
    /// that applying the federation mid-rotation keeps the overlap. Returns <paramref name="published"/> itself when
    /// nothing is added.
    /// </summary>
    public static string PeersBundle(string published, JsonObject? state, string fieldManager)
    {
        if (state is null || !Ownership.IsOwned(state, fieldManager)) return published;
        var record = RecordOf(state);
        if (record.Stage is not (RotationStage.TrustAdded or RotationStage.Reissued)) return published;
        var have = RootRotation.Parse(published);
        var extra = RootRotation.Parse(record.OldPem).Concat(RootRotation.Parse(record.NewPem)).Where(c => have.All(h => h.Fingerprint != c.Fingerprint)).ToList();
        // The form the rotation writes (each certificate re-encoded), so that applying mid-rotation changes nothing.
        return extra.Count == 0 ? published : string.Concat(have.Concat(extra).Select(c => c.Pem));
    }

    /// <summary>Reads the mesh and its peers: the recorded rotation, the root the mesh signs with and publishes, what every peer holds.</summary>
    public async Task<PeerRootRotationStatus> GetStatusAsync(CancellationToken cancellationToken) => StatusOf(await ReadAsync(cancellationToken).ConfigureAwait(false));

    private PeerRootRotationStatus StatusOf(Observed o)
    {
        var r = RecordOf(o.State);
        return new PeerRootRotationStatus
        {
            Mesh = _mesh, Cluster = o.Cluster, Namespace = o.Namespace, Stage = r.Stage, Updated = r.Updated,
            OldRoot = RootRotation.Parse(r.OldPem).FirstOrDefault()?.Info, NewRoot = RootRotation.Parse(r.NewPem).FirstOrDefault()?.Info,
            SigningRoot = o.SigningRoot?.Info, CaSecret = o.CaSecret, PublishedRoots = o.Published.Select(p => p.Info).ToList(),
            Peers = o.Holders.Select(h => new PeerRootHolder
            {
                Peer = h.Peer, Cluster = h.Cluster, Namespace = h.Namespace, ServiceMeshPeer = h.Smp, ConfigMap = h.ConfigMap, Exists = h.Live is not null,
                NotOwned = h.NotOwned, Roots = h.Roots.Select(x => x.Info).ToList(),
            }).ToList(),
        };
    }

    // ------------------------------------------------------------------ planning

    /// <summary>
    /// Plans a phase after checking that it may run: the mesh found once, at least one peer, every peer's ConfigMap
    /// present and this module's (or adopted), the previous phase recorded and still holding on every peer. Trust-add
    /// needs the new root's certificate and every peer holding the mesh's current root; trust-remove needs the mesh to
    /// sign with the new root and to publish the old one no more.
    /// </summary>
    public async Task<PeerRootRotationPlan> PlanAsync(RotationPhase phase, string? newRootCertificatePath, CancellationToken cancellationToken)
    {
        var o = await ReadAsync(cancellationToken).ConfigureAwait(false);
        var record = RecordOf(o.State);
        var problems = new ProblemList();
        if (o.Holders.Count == 0)
            problems.Add(new MeshProblem(MeshErrorKind.NotFound, _options.MeshField, _mesh,
                $"has no peer in the clusters given: no ServiceMeshPeer with trustDomain {o.TrustDomain} in another mesh's namespace",
                "give the context of every peer's cluster too (--context, -Context)"));
        foreach (var h in o.Holders)
        {
            if (h.Live is null)
                problems.Add(new MeshProblem(MeshErrorKind.NotFound, $"cluster '{h.Cluster}' ConfigMap {h.Namespace}/{h.ConfigMap}", null,
                    $"does not exist, though ServiceMeshPeer {h.Namespace}/{h.Smp} names it: {h.Peer} cannot validate {_mesh}'s certificates now",
                    "apply the federation first (meshfed apply, Sync-MeshFederation) so that it holds the current root, then rotate"));
            else if (h.NotOwned is not null && !_options.Adopt)
                problems.Add(new MeshProblem(MeshErrorKind.Conflict, $"cluster '{h.Cluster}' ConfigMap {h.Namespace}/{h.ConfigMap}", null,
                    $"is not this module's ({h.NotOwned}); it is not changed",
                    $"to let the rotation take it over, run again with {_options.AdoptField} (its content is kept; from then on meshfed manages it)"));
        }
        problems.ThrowIfAny();

        RootRotation.RequirePhaseAllowed(phase, record.Stage, $"{_mesh} records", $" -Mesh {_mesh}");

        Cert oldRoot, newRoot;
        if (phase == RotationPhase.TrustAdd && record.Stage != RotationStage.TrustAdded)
        {
            if (o.SigningRoot is null)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, $"cluster '{o.Cluster}' {_mesh}'s CA", o.CaSecret, $"could not be read: {o.CaProblem}",
                    "start the rotation once the mesh's istiod runs (it writes istio-ca-secret) or its cacerts is consistent"));
            oldRoot = o.SigningRoot;
            if (o.Published.All(p => p.Fingerprint != oldRoot.Fingerprint))
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, $"cluster '{o.Cluster}' ConfigMap {o.Namespace}/istio-ca-root-cert", null,
                    $"does not publish the root {_mesh}'s CA signs with ({oldRoot.Info}, from {o.CaSecret}): istiod has not taken up its CA secret",
                    $"restart {_mesh}'s istiod (oc -n {o.Namespace} rollout restart deployment istiod-{_mesh}) and start again"));
            // Peers must agree on the current root before it is rotated.
            var disagree = o.Holders.Where(h => h.Roots.All(r => r.Fingerprint != oldRoot.Fingerprint)).ToList();
            if (disagree.Count > 0)
                throw new MeshFederationException(disagree.Select(h => new MeshProblem(MeshErrorKind.Conflict, $"cluster '{h.Cluster}' ConfigMap {h.Namespace}/{h.ConfigMap}",
                    h.Roots.Count == 0 ? "(no certificate)" : string.Join(", ", h.Roots.Select(r => r.Info.ShortFingerprint + "...")),
                    $"does not hold {_mesh}'s current root ({oldRoot.Info}): the peers disagree on {_mesh}'s root",
                    "bring every peer up to date first (meshfed apply, Sync-MeshFederation), check with Test-MeshFederation -Live, then start again")).ToList());
            newRoot = RootRotation.ReadRootFile(newRootCertificatePath, _options.NewRootCertificateField);
        }
        else
        {
            oldRoot = RootRotation.Parse(record.OldPem).FirstOrDefault() ?? throw StateDamaged("data.old-root.pem");
            newRoot = RootRotation.Parse(record.NewPem).FirstOrDefault() ?? throw StateDamaged("data.new-root.pem");
            if (newRootCertificatePath is not null && RootRotation.ReadRootFile(newRootCertificatePath, _options.NewRootCertificateField).Fingerprint != newRoot.Fingerprint)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, _options.NewRootCertificateField, newRootCertificatePath,
                    $"is not the root this rotation adds ({_mesh} records {newRoot.Info})", "give the new root's certificate the rotation started with, or finish that rotation first"));
        }
        if (oldRoot.Fingerprint == newRoot.Fingerprint)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, _options.NewRootCertificateField, newRootCertificatePath,
                $"is {_mesh}'s current root ({oldRoot.Info}); nothing to rotate", "create a new root first: meshfed ca --out <new-folder>"));

        // The previous phase must still hold on every peer (someone may have changed a ConfigMap since).
        if (phase != RotationPhase.TrustAdd)
        {
            var gate = Verify(phase == RotationPhase.Reissue ? RotationPhase.TrustAdd : RotationPhase.Reissue, o, oldRoot, newRoot);
            if (gate.Any(v => !v.Passed))
                throw new MeshFederationException(gate.Where(v => !v.Passed).Select(v => new MeshProblem(MeshErrorKind.Conflict, $"cluster '{v.Cluster}'", RootRotation.PhaseName(v.Phase),
                    $"no longer holds what phase {RootRotation.PhaseName(v.Phase)} verified: {v.Detail}",
                    $"run --phase {RootRotation.PhaseName(v.Phase)} again (it resumes and verifies), then this phase")).ToList());
        }
        if (phase == RotationPhase.TrustRemove && o.Published.Any(p => p.Fingerprint == oldRoot.Fingerprint))
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, $"cluster '{o.Cluster}' ConfigMap {o.Namespace}/istio-ca-root-cert", null,
                $"still publishes the old root ({oldRoot.Info}): {_mesh}'s workloads may still present certificates from it, which the peers would reject once it is removed",
                $"remove the old root from {o.CaSecret ?? "the mesh's CA secret"} (root-cert.pem), restart {_mesh}'s istiod once every workload has a certificate from the new root, then run trust-remove"));

        var changes = new List<RotationChange>();
        foreach (var h in o.Holders)
        {
            List<Cert> bundle;
            string description;
            switch (phase)
            {
                case RotationPhase.TrustAdd:
                    if (h.Roots.Any(r => r.Fingerprint == newRoot.Fingerprint) && h.NotOwned is null) continue;
                    bundle = h.Roots.Any(r => r.Fingerprint == newRoot.Fingerprint) ? h.Roots : h.Roots.Append(newRoot).ToList();
                    description = $"root-cert.pem: add {_mesh}'s new root {newRoot.Info} to {h.Roots.Count} root(s)";
                    break;
                case RotationPhase.TrustRemove:
                    if (h.Roots.All(r => r.Fingerprint != oldRoot.Fingerprint) && h.NotOwned is null) continue;
                    bundle = h.Roots.Where(r => r.Fingerprint != oldRoot.Fingerprint).ToList();
                    description = $"root-cert.pem: remove {_mesh}'s old root {oldRoot.Info}, keep {bundle.Count} root(s)";
                    break;
                default:
                    if (h.NotOwned is null) continue;
                    bundle = h.Roots;
                    description = "root-cert.pem unchanged";
                    break;
            }
            var live = h.Live!;
            var md = new JsonObject { ["name"] = h.ConfigMap, ["namespace"] = h.Namespace };
            if (live["metadata"]?["labels"] is JsonObject labels) md["labels"] = labels.DeepClone();
            if (live["metadata"]?["annotations"] is JsonObject annotations)
            {
                var copy = (JsonObject)annotations.DeepClone();
                copy.Remove("kubectl.kubernetes.io/last-applied-configuration");
                md["annotations"] = copy;
            }
            var body = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = md, ["data"] = new JsonObject { [Names.RootCertKey] = string.Concat(bundle.Select(b => b.Pem)) } };
            body = Ownership.Claim(body, h.NotOwned is null ? Ownership.RecordOf(live) ?? Ownership.NewRecord() : Ownership.NewRecord());
            changes.Add(new RotationChange
            {
                Phase = phase, Cluster = h.Cluster, Namespace = h.Namespace, Kind = "ConfigMap", Name = h.ConfigMap, Action = h.NotOwned is null ? "Update" : "Adopt",
                Description = h.NotOwned is null ? description : $"take over (it is not meshfed's: {h.NotOwned}); {description}", Body = body,
            });
        }
        changes.Add(new RotationChange
        {
            Phase = phase, Cluster = o.Cluster, Namespace = o.Namespace, Kind = "ConfigMap", Name = StateConfigMap, Action = "Record",
            Description = $"once verified on every peer: stage {RootRotation.StageName(RootRotation.After(phase))}",
        });
        return new PeerRootRotationPlan { Mesh = _mesh, Phase = phase, OldRoot = oldRoot.Info, NewRoot = newRoot.Info, Changes = changes, OldRootPem = oldRoot.Pem, NewRootPem = newRoot.Pem };
    }

    private static MeshFederationException StateDamaged(string field) => new(new MeshProblem(MeshErrorKind.InvalidData, $"ConfigMap {StateConfigMap} {field}", null,
        "is missing or not a certificate", $"the rotation's record was changed by hand; inspect it with kubectl get configmap {StateConfigMap} -o yaml"));

    // ------------------------------------------------------------------ verification

    private List<RotationVerification> Verify(RotationPhase phase, Observed o, Cert oldRoot, Cert newRoot)
    {
        static bool Has(IEnumerable<Cert> roots, Cert root) => roots.Any(r => r.Fingerprint == root.Fingerprint);
        var results = new List<RotationVerification>();
        foreach (var h in o.Holders)
        {
            var problems = new List<string>();
            if (h.Live is null) problems.Add($"ConfigMap {h.Namespace}/{h.ConfigMap} does not exist");
            else if (phase == RotationPhase.TrustRemove)
            {
                if (Has(h.Roots, oldRoot)) problems.Add($"{h.ConfigMap} still holds the old root");
                if (!Has(h.Roots, newRoot)) problems.Add($"{h.ConfigMap} lacks the new root");
            }
            else if (!Has(h.Roots, oldRoot) || !Has(h.Roots, newRoot))
                problems.Add($"{h.ConfigMap} lacks the {(Has(h.Roots, oldRoot) ? "new" : "old")} root");
            results.Add(new RotationVerification(phase, $"{h.Cluster} ({h.Peer})", problems.Count == 0, problems.Count > 0 ? string.Join("; ", problems) : phase == RotationPhase.TrustRemove
                ? $"{h.Namespace}/{h.ConfigMap} holds only the new root of {_mesh}"
                : $"{h.Namespace}/{h.ConfigMap} holds {_mesh}'s old and new roots"));
        }
        if (phase != RotationPhase.TrustAdd)
        {
            var problems = new List<string>();
            if (o.SigningRoot is null) problems.Add($"not observed: {o.CaProblem}");
            else if (o.SigningRoot.Fingerprint != newRoot.Fingerprint)
                problems.Add($"{o.CaSecret} signs with {o.SigningRoot.Info}, not the new root: replace {_mesh}'s CA secret (an intermediate under the new root in cacerts), then restart its istiod");
            if (!Has(o.Published, newRoot)) problems.Add($"istio-ca-root-cert in {o.Namespace} does not publish the new root (istiod has not taken up the CA secret: restart it)");
            if (phase == RotationPhase.TrustRemove && Has(o.Published, oldRoot)) problems.Add($"istio-ca-root-cert in {o.Namespace} still publishes the old root");
            results.Add(new RotationVerification(phase, $"{o.Cluster} ({_mesh})", problems.Count == 0, problems.Count > 0 ? string.Join("; ", problems)
                : $"{o.CaSecret} signs with the new root and istiod publishes it ({o.Published.Count} root(s) in istio-ca-root-cert)"));
        }
        return results;
    }

    // ------------------------------------------------------------------ applying

    /// <summary>
    /// Applies the approved changes of a plan (server-side apply as this module's field manager; an adopted ConfigMap
    /// is taken over with force), waits until the phase holds on the mesh and every peer, then records the stage in
    /// the mesh's namespace. Not verified in time: <see cref="RotationNotVerifiedException"/>, nothing recorded; running
    /// the phase again resumes.
    /// </summary>
    public async Task<RootRotationResult> ApplyAsync(PeerRootRotationPlan plan, Func<RotationChange, bool> approved, CancellationToken cancellationToken)
    {
        var updates = plan.Changes.Where(c => c.Action is "Update" or "Adopt").ToList();
        var chosen = updates.Where(approved).ToList();
        if (chosen.Count < updates.Count)
        {
            _log.Warning($"{updates.Count - chosen.Count} of {updates.Count} change(s) declined: nothing was changed, and the phase is not recorded");
            return new RootRotationResult { Phase = plan.Phase, Stage = RotationStage.NotStarted, Applied = Array.Empty<RotationChange>(), Verifications = Array.Empty<RotationVerification>() };
        }
        var byCluster = _clusters.ToDictionary(c => c.Name, StringComparer.Ordinal);
        await Task.WhenAll(chosen.Select(async change =>
        {
            var client = _connections.For(byCluster[change.Cluster]);
            if (change.Action == "Update")
            {
                // Ownership is proven again right before writing: the plan may be old.
                var live = await client.GetAsync("v1", "ConfigMap", change.Namespace, change.Name, cancellationToken).ConfigureAwait(false);
                var why = live is null ? "was deleted since it was read" : Ownership.NotOwnedReason(live, client.FieldManager) is { } reason ? $"is no longer this module's ({reason}); it was not changed" : null;
                if (why is not null)
                    throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, $"cluster '{change.Cluster}' ConfigMap {change.Namespace}/{change.Name}", null,
                        why, $"run --phase {RootRotation.PhaseName(plan.Phase)} again: it reads and plans again"));
            }
            _log.Verbose($"{change.Cluster}: {change.Namespace}/{change.Name}: {change.Description}");
            await client.ApplyAsync(change.Body!, force: change.Action == "Adopt", cancellationToken).ConfigureAwait(false);
        })).ConfigureAwait(false);

        var oldRoot = RootRotation.Parse(plan.OldRootPem)[0];
        var newRoot = RootRotation.Parse(plan.NewRootPem)[0];
        var deadline = DateTime.UtcNow + _options.WaitTimeout;
        List<RotationVerification> verifications;
        Observed observed;
        while (true)
        {
            observed = await ReadAsync(cancellationToken).ConfigureAwait(false);
            verifications = Verify(plan.Phase, observed, oldRoot, newRoot);
            if (verifications.All(v => v.Passed)) break;
            _log.Progress(new MeshProgress(18, null, $"Peer root rotation of {_mesh}: {RootRotation.PhaseName(plan.Phase)}", $"waiting for {string.Join(", ", verifications.Where(v => !v.Passed).Select(v => v.Cluster))}", 50, false));
            if (DateTime.UtcNow >= deadline)
                throw new RotationNotVerifiedException(
                    $"{RootRotation.PhaseName(plan.Phase)} of {_mesh}'s root is not in force everywhere after {_options.WaitTimeout.TotalSeconds:0} s ({string.Join("; ", verifications.Where(v => !v.Passed).Select(v => $"{v.Cluster}: {v.Detail}"))}); "
                    + $"the stage was not recorded: run --phase {RootRotation.PhaseName(plan.Phase)} again to verify and resume",
                    new RootRotationResult { Phase = plan.Phase, Stage = RecordOf(observed.State).Stage, Applied = chosen, Verifications = verifications });
            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
        _log.Progress(new MeshProgress(18, null, $"Peer root rotation of {_mesh}: {RootRotation.PhaseName(plan.Phase)}", "verified", 100, true));
        var stage = RootRotation.After(plan.Phase);
        await RecordAsync(observed, stage, plan, cancellationToken).ConfigureAwait(false);
        return new RootRotationResult { Phase = plan.Phase, Stage = stage, Applied = chosen, Verifications = verifications };
    }

    private async Task RecordAsync(Observed o, RotationStage stage, PeerRootRotationPlan plan, CancellationToken cancellationToken)
    {
        var client = _connections.For(o.Binding);
        if (o.State is not null && Ownership.NotOwnedReason(o.State, client.FieldManager) is { } why)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, $"cluster '{o.Cluster}' ConfigMap {o.Namespace}/{StateConfigMap}", null,
                $"exists and is not this module's ({why}); the rotation's state was not recorded", $"remove or rename that ConfigMap, then run --phase {RootRotation.PhaseName(plan.Phase)} again"));
        var cm = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject
            {
                ["name"] = StateConfigMap, ["namespace"] = o.Namespace,
                ["labels"] = new JsonObject { ["app.kubernetes.io/managed-by"] = "meshfederation", ["app.kubernetes.io/component"] = "peer-root-rotation" },
                ["annotations"] = new JsonObject
                {
                    [RootRotation.StageAnnotation] = RootRotation.StageName(stage),
                    [RootRotation.OldRootAnnotation] = plan.OldRoot.Fingerprint,
                    [RootRotation.NewRootAnnotation] = plan.NewRoot.Fingerprint,
                    [PeersAnnotation] = string.Join(",", o.Holders.Select(h => $"{h.Cluster}/{h.Namespace}/{h.ConfigMap}")),
                    [RootRotation.UpdatedAnnotation] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                },
            },
            ["data"] = new JsonObject { ["old-root.pem"] = plan.OldRootPem, ["new-root.pem"] = plan.NewRootPem },
        };
        await client.ApplyAsync(Ownership.Claim(cm, Ownership.RecordOf(o.State) ?? Ownership.NewRecord()), force: false, cancellationToken).ConfigureAwait(false);
    }
}
