using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Rotation;

/// <summary>One change a credential rotation makes, in order: issue the new token, update each remote secret, revoke the old token.</summary>
public sealed class CredentialChange
{
    public required string Cluster { get; init; }

    public required string Namespace { get; init; }

    public required string Kind { get; init; }

    public required string Name { get; init; }

    /// <summary>Create (a token Secret), Request (a bound token), Update (a remote secret), Delete (the old token Secret, once every secret is verified), or Report (an old credential this module may not revoke).</summary>
    public required string Action { get; init; }

    public required string Description { get; init; }

    /// <summary>"Secret istio-system/istio-remote-secret-east in cluster west" (the ShouldProcess target).</summary>
    public string Target => $"{Kind} {Namespace}/{Name} in cluster {Cluster}";

    /// <summary>Does the change modify a cluster (everything but Report)?</summary>
    public bool Changes => Action != "Report";

    public override string ToString() => $"{Action} {Target}: {Description}";
}

/// <summary>What a rotation of a remote cluster's reader credential would do.</summary>
public sealed class CredentialRotationPlan
{
    /// <summary>The cluster whose reader credential is rotated (by its --context / -Context name).</summary>
    public required string RemoteCluster { get; init; }

    /// <summary>The cluster ID istiod knows it by: the data key of the remote secrets.</summary>
    public required string ClusterId { get; init; }

    public required string Namespace { get; init; }

    /// <summary>The reader ServiceAccount the new token is issued for.</summary>
    public required string ServiceAccount { get; init; }

    /// <summary>A bound token with this lifetime; null: a long-lived token Secret.</summary>
    public TimeSpan? TokenExpiry { get; init; }

    public required IReadOnlyList<CredentialChange> Changes { get; init; }

    internal string NewSecretName { get; init; } = "";

    internal IReadOnlyList<SecretRef> Secrets { get; init; } = Array.Empty<SecretRef>();

    internal IReadOnlyList<OldCredential> Old { get; init; } = Array.Empty<OldCredential>();

    /// <summary>The reader ServiceAccount's uid and mesh label, and the creation record of the credential record (ConfigMap meshfed-reader-credential) when it exists.</summary>
    internal string? ServiceAccountUid { get; init; }

    internal string? MeshLabel { get; init; }

    internal string? StateRecord { get; init; }

    public override string ToString() =>
        $"rotate the reader credential of {RemoteCluster} ({ServiceAccount} in {Namespace}): a new {(TokenExpiry is { } e ? $"bound token valid {Span(e)}" : $"token Secret {NewSecretName}")}, "
        + $"{Secrets.Count} remote secret(s) updated, {Old.Count(o => o.Revoke)} old token Secret(s) deleted once verified";

    internal static string Span(TimeSpan t) => t.TotalDays >= 1 && t.Ticks % TimeSpan.TicksPerDay == 0 ? $"{t.TotalDays:0} d"
        : t.TotalHours >= 1 && t.Ticks % TimeSpan.TicksPerHour == 0 ? $"{t.TotalHours:0} h" : $"{t.TotalMinutes:0} min";
}

/// <summary>What happened to one remote secret.</summary>
public enum RemoteSecretState
{
    /// <summary>Not changed (a dry run, or a declined plan).</summary>
    Unchanged,
    /// <summary>Updated, and connecting with it works: the reader may list services, endpoints and pods.</summary>
    Verified,
    /// <summary>Updated, but connecting with it did not work within the wait timeout.</summary>
    NotVerified,
    /// <summary>Someone changed it since it was read: not replaced.</summary>
    Conflict,
    /// <summary>The update failed.</summary>
    Failed,
}

/// <summary>One remote secret after the rotation.</summary>
public sealed record RemoteSecretOutcome(string Cluster, string Namespace, string Name, RemoteSecretState State, string Detail)
{
    public override string ToString() => $"{State} Secret {Namespace}/{Name} in {Cluster}: {Detail}";
}

/// <summary>What happened to an old credential.</summary>
public enum OldCredentialState
{
    /// <summary>Its token Secret (created by this module) was deleted: the token no longer authenticates.</summary>
    Revoked,
    /// <summary>Not revoked because the new credential is not verified in every secret: the old one still works.</summary>
    Kept,
    /// <summary>Not this module's to revoke (created by someone else): how to revoke it is said.</summary>
    Reported,
    /// <summary>A bound token: it cannot be revoked on its own, only by its expiry or by deleting its ServiceAccount.</summary>
    NotRevocable,
    /// <summary>Its token Secret no longer exists: it already does not authenticate.</summary>
    Gone,
}

/// <summary>One old credential after the rotation (never the token itself: what it is and where it came from).</summary>
public sealed record OldCredentialOutcome(string Credential, OldCredentialState State, string Detail, DateTimeOffset? Expires)
{
    public override string ToString() => $"{State} {Credential}: {Detail}";
}

/// <summary>The rotation of a remote cluster's reader credential: the new credential, every secret, every old credential.</summary>
public sealed class CredentialRotationResult
{
    public required string RemoteCluster { get; init; }

    public required string ClusterId { get; init; }

    public required string ServiceAccount { get; init; }

    /// <summary>"token Secret istio-system/meshfed-reader-token-x7k2q" or "bound token (TokenRequest)".</summary>
    public required string NewCredential { get; init; }

    /// <summary>When the new token expires (bound tokens); null for a long-lived token Secret's token.</summary>
    public DateTimeOffset? NewCredentialExpires { get; init; }

    public required IReadOnlyList<RemoteSecretOutcome> Secrets { get; init; }

    public required IReadOnlyList<OldCredentialOutcome> OldCredentials { get; init; }

    /// <summary>Every remote secret was updated and works with the new credential.</summary>
    public bool Verified => Secrets.Count > 0 && Secrets.All(s => s.State == RemoteSecretState.Verified);

    /// <summary>Verified, and every old credential revoked (or, when it is not this module's to revoke, reported).</summary>
    public bool Completed => Verified && OldCredentials.All(o => o.State != OldCredentialState.Kept);

    public override string ToString() =>
        $"{RemoteCluster}: {NewCredential}{(NewCredentialExpires is { } e ? $" until {e.UtcDateTime:yyyy-MM-dd HH:mm}Z" : "")}; "
        + $"{Secrets.Count(s => s.State == RemoteSecretState.Verified)} of {Secrets.Count} remote secret(s) verified; "
        + (OldCredentials.Count == 0 ? "no old credential" : string.Join(", ", OldCredentials.GroupBy(o => o.State).Select(g => $"{g.Count()} old {g.Key}")));
}

/// <summary>Options of a credential rotation.</summary>
public sealed class CredentialRotationOptions
{
    /// <summary>The control plane's namespace: the remote secrets' in every cluster, and the reader's in the remote cluster.</summary>
    public string Namespace { get; init; } = "istio-system";

    /// <summary>The reader ServiceAccount; null: the one the current tokens name, else meshfed-reader.</summary>
    public string? ServiceAccount { get; init; }

    /// <summary>Issue a bound token (TokenRequest) with this lifetime instead of a long-lived token Secret.</summary>
    public TimeSpan? TokenExpiry { get; init; }

    /// <summary>Update remote secrets this module did not create too.</summary>
    public bool TakeOver { get; init; }

    /// <summary>How long to wait for the token controller to fill the new token Secret, and for every secret to verify.</summary>
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromMinutes(2);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Timeout of one connection made with a remote secret.</summary>
    public TimeSpan RemoteTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How the inputs are named in problems (CLI option or cmdlet parameter).</summary>
    public string ClusterField { get; init; } = "--cluster";

    public string TokenExpiryField { get; init; } = "--token-expiry";

    public string TakeOverField { get; init; } = "--take-over";

    public string ServiceAccountField { get; init; } = "--service-account";
}

internal sealed record SecretRef(ClusterBinding Binding, string Namespace, string Name, string Key, string ResourceVersion, JsonObject Live, JsonObject Kubeconfig, bool Owned);

/// <summary>An old token found in the remote secrets (by what it claims; the token itself is not kept here).</summary>
internal sealed record OldCredential(string Credential, string? TokenSecret, DateTimeOffset? Expires, bool Revoke, OldCredentialState Otherwise, string Detail);

/// <summary>
/// Rotates the reader credential of one cluster of an Istio multi-primary mesh (istio/istio#56358): istiod in every
/// other cluster watches it through a remote secret (istio-remote-secret-&lt;cluster&gt; in the control plane's namespace,
/// label istio/multiCluster=true, data key = the cluster ID, a kubeconfig with the reader ServiceAccount's token, as
/// istioctl create-remote-secret makes it). The rotation issues a new token on the remote cluster (a long-lived token
/// Secret of type kubernetes.io/service-account-token created with this module's creation record, or opt-in a bound
/// token from TokenRequest with a lifetime), replaces the token in every remote secret that points at the cluster
/// (each only if nobody changed it since it was read; never one this module did not create unless taking over is
/// asked for), connects with every updated secret as istiod would (SelfSubjectAccessReview: list services, endpoints,
/// pods), and only when every one works revokes the old credential: its token Secret is deleted when this module
/// created it; anything else is reported with how to revoke it. Tokens never leave this class (not in results, logs
/// or problems). istiod takes up a changed remote secret live (its secret controller watches them).
/// </summary>
public sealed class CredentialRotation
{
    public const string DefaultServiceAccount = Rendering.IstioRenderer.ReaderServiceAccount;
    public const string ReplacesAnnotation = RootRotation.AnnotationPrefix + "replaces";
    public const string RemoteSecretLabel = "istio/multiCluster";
    private const string LegacySecretClaim = "kubernetes.io/serviceaccount/secret.name";

    private readonly ClusterConnections _connections;
    private readonly IReadOnlyList<ClusterBinding> _clusters;
    private readonly ClusterBinding _remote;
    private readonly CredentialRotationOptions _options;
    private readonly IMeshLog _log;

    public CredentialRotation(ClusterConnections connections, IEnumerable<ClusterBinding> clusters, string remoteCluster, CredentialRotationOptions? options = null, IMeshLog? log = null)
    {
        _connections = connections;
        _clusters = clusters.ToList();
        _options = options ?? new CredentialRotationOptions();
        _log = log ?? NullMeshLog.Instance;
        var problems = new ProblemList();
        foreach (var dup in _clusters.GroupBy(c => c.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add(new MeshProblem(MeshErrorKind.Conflict, "cluster", dup.Key, "is given twice", "give each cluster of the mesh once"));
        var remote = _clusters.FirstOrDefault(c => c.Name == remoteCluster);
        if (remote is null)
            problems.Add(new MeshProblem(MeshErrorKind.InvalidArgument, _options.ClusterField, Echo.Text(remoteCluster),
                _clusters.Count == 0 ? "names no cluster: no cluster of the mesh is given" : $"is not one of the clusters given ({string.Join(", ", _clusters.Select(c => c.Name))})",
                "give every cluster of the mesh (--context, -Context), the remote cluster among them"));
        else if (_clusters.Count < 2)
            problems.Add(new MeshProblem(MeshErrorKind.InvalidArgument, "cluster", remoteCluster, "is the only cluster given: the remote secrets that point at it live in the other clusters of the mesh",
                "give every cluster of the mesh (--context, -Context)"));
        Names.CheckLabel(problems, "namespace", _options.Namespace);
        if (_options.ServiceAccount is { } sa) Names.CheckLabel(problems, _options.ServiceAccountField, sa);
        if (_options.TokenExpiry is { } e && (e < TimeSpan.FromMinutes(10) || e > TimeSpan.FromDays(365)))
            problems.Add(new MeshProblem(MeshErrorKind.InvalidArgument, _options.TokenExpiryField, e.ToString(null, CultureInfo.InvariantCulture),
                "is out of range: the API server issues bound tokens for at least 10 minutes", "give 10m to 365d, e.g. 24h (leave it out for a long-lived token Secret)"));
        problems.ThrowIfAny();
        _remote = remote!;
    }

    // ------------------------------------------------------------------ tokens (never printed)

    /// <summary>The claims of a service-account JWT (read, not verified); nulls for other tokens.</summary>
    internal static JsonObject? ClaimsOf(string? token)
    {
        var parts = token?.Split('.');
        if (parts is not { Length: 3 }) return null;
        try
        {
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
            return JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload))) as JsonObject;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }

    private static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static DateTimeOffset? Exp(JsonObject? claims) => claims?["exp"] is JsonValue v && v.TryGetValue<long>(out var s) ? DateTimeOffset.FromUnixTimeSeconds(s) : null;

    /// <summary>The user entry of the kubeconfig's current context (or its only user).</summary>
    internal static JsonObject? CurrentUser(JsonObject kubeconfig)
    {
        var users = (kubeconfig["users"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        var current = Str(kubeconfig["current-context"]);
        var context = (kubeconfig["contexts"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => Str(c["name"]) == current);
        var userName = Str(context?["context"]?["user"]);
        var entry = userName is null ? (users.Count == 1 ? users[0] : null) : users.FirstOrDefault(u => Str(u["name"]) == userName);
        return entry?["user"] as JsonObject;
    }

    private static string Decode(JsonNode? node) => Str(node) is { } b64 ? Encoding.UTF8.GetString(Convert.FromBase64String(b64)) : "";

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    private static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    // ------------------------------------------------------------------ planning

    /// <summary>
    /// Reads the remote cluster and every remote secret of the other clusters that points at it, and plans the
    /// rotation. Refuses (nothing changed) when no secret points at the cluster, when a secret authenticates otherwise
    /// than with a bearer token, when a secret is not this module's and taking over was not asked for, or when the
    /// reader ServiceAccount does not exist.
    /// </summary>
    public async Task<CredentialRotationPlan> PlanAsync(CancellationToken cancellationToken)
    {
        var ns = _options.Namespace;
        var remoteClient = _connections.For(_remote);
        var clusterId = await ClusterIdAsync(remoteClient, cancellationToken).ConfigureAwait(false);
        var yaml = _connections.Yaml;
        var problems = new ProblemList();
        var secrets = new List<SecretRef>();
        var tokens = new Dictionary<string, (string Token, List<string> Where)>(StringComparer.Ordinal);
        var reads = await Task.WhenAll(_clusters.Where(c => c != _remote).Select(async binding =>
        {
            var client = _connections.For(binding);
            return (binding, client, items: await client.ListAsync("v1", "Secret", ns, RemoteSecretLabel + "=true", cancellationToken).ConfigureAwait(false));
        })).ConfigureAwait(false);
        foreach (var (binding, client, items) in reads)
            foreach (var s in items.Where(s => (s["data"] as JsonObject)?.ContainsKey(clusterId) == true))
            {
                var name = Str(s["metadata"]?["name"])!;
                var field = $"cluster '{binding.Name}' Secret {ns}/{name}";
                JsonObject? kubeconfig = null;
                string? text = null;
                try
                {
                    text = Decode(s["data"]![clusterId]);
                    kubeconfig = yaml.Parse(text, field).FirstOrDefault()?.ToJson() as JsonObject;
                }
                catch (Exception ex) when (ex is FormatException or MeshFederationException)
                {
                }
                if (kubeconfig is null || text is null)
                {
                    problems.Add(new MeshProblem(MeshErrorKind.InvalidData, field, $"data.{clusterId}", "does not hold a readable kubeconfig",
                        $"recreate it (istioctl create-remote-secret --name={clusterId}, or meshfed apply), then rotate"));
                    continue;
                }
                if (RemoteAccess.Unsafe(text, field, yaml) is { } why)
                {
                    problems.Add(new MeshProblem(MeshErrorKind.InvalidArgument, field, $"data.{clusterId}", $"cannot be rotated and verified from here: {why}",
                        "rotate that credential where it is issued (this command replaces a service-account token)"));
                    continue;
                }
                var token = Str(CurrentUser(kubeconfig)?["token"]);
                if (token is null)
                {
                    problems.Add(new MeshProblem(MeshErrorKind.InvalidArgument, field, $"data.{clusterId}", "authenticates without a bearer token (a client certificate, or no user): there is no reader token to rotate",
                        "rotate that credential where it is issued, or recreate the secret with a reader token (istioctl create-remote-secret)"));
                    continue;
                }
                var notOwned = Ownership.NotOwnedReason(s, client.FieldManager);
                if (notOwned is not null && !_options.TakeOver)
                {
                    problems.Add(new MeshProblem(MeshErrorKind.Conflict, field, null, $"points at {clusterId} but is not this module's ({notOwned}); it was not changed",
                        $"pass {_options.TakeOverField} to update it too (its kubeconfig keeps its server and CA; only the token changes), or rotate it with istioctl create-remote-secret"));
                    continue;
                }
                var h = Hash(token);
                if (!tokens.TryGetValue(h, out var entry)) tokens[h] = entry = (token, new List<string>());
                entry.Where.Add($"{binding.Name}/{name}");
                secrets.Add(new SecretRef(binding, ns, name, clusterId, Str(s["metadata"]?["resourceVersion"]) ?? "", s, kubeconfig, notOwned is null));
            }
        if (secrets.Count == 0 && !problems.Any)
            problems.Add(new MeshProblem(MeshErrorKind.NotFound, _options.ClusterField, _remote.Name,
                $"has no remote secret pointing at it in {string.Join(", ", _clusters.Where(c => c != _remote).Select(c => c.Name))} (Secrets labelled {RemoteSecretLabel}=true in {ns} with data key {clusterId})",
                "give every cluster of the mesh; create the remote secrets first (meshfed apply, Sync-MeshFederation, or istioctl create-remote-secret)"));
        problems.ThrowIfAny();

        // The reader: as asked, else the one the current tokens name.
        var subjects = tokens.Values.Select(t => Str(ClaimsOf(t.Token)?["sub"])).Where(s => s is not null && s.StartsWith($"system:serviceaccount:{ns}:", StringComparison.Ordinal))
            .Select(s => s![$"system:serviceaccount:{ns}:".Length..]).Distinct(StringComparer.Ordinal).ToList();
        var serviceAccount = _options.ServiceAccount ?? (subjects.Count == 1 ? subjects[0] : DefaultServiceAccount);
        var account = await remoteClient.GetAsync("v1", "ServiceAccount", ns, serviceAccount, cancellationToken).ConfigureAwait(false);
        if (account is null)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, $"cluster '{_remote.Name}' ServiceAccount", $"{ns}/{serviceAccount}",
                "does not exist: there is no reader to issue a token for",
                _options.ServiceAccount is null ? $"give the reader with {_options.ServiceAccountField}, or create it (meshfed apply, or istioctl create-remote-secret creates istio-reader-service-account)" : "check the name, or create the reader first (meshfed apply)"));

        // The record of the credential in force, which meshfed apply reads: it must be this module's to be rewritten.
        var state = await remoteClient.GetAsync("v1", "ConfigMap", ns, ReaderCredential.StateConfigMap, cancellationToken).ConfigureAwait(false);
        if (state is not null && Ownership.NotOwnedReason(state, remoteClient.FieldManager) is { } stateNotOwned)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, $"cluster '{_remote.Name}' ConfigMap", $"{ns}/{ReaderCredential.StateConfigMap}",
                $"exists and is not this module's ({stateNotOwned}); the rotation records the credential it puts in force there (so that meshfed apply keeps using it), so nothing was changed",
                $"remove or rename that ConfigMap (kubectl --context {_remote.Context ?? _remote.Name} -n {ns} delete configmap {ReaderCredential.StateConfigMap}), then rotate"));
        var meshLabel = Ownership.IsOwned(account, remoteClient.FieldManager) ? Str(account["metadata"]?["labels"]?[Rendering.JsonBuilder.MeshLabel]) : null;

        // The old credentials: every distinct token in the secrets, and token Secrets an earlier, unfinished rotation left to revoke.
        var old = new List<OldCredential>();
        var revokeNames = new HashSet<string>(StringComparer.Ordinal);
        async Task AddTokenSecretAsync(string secretName, string usedBy, DateTimeOffset? expires, bool inUse = true)
        {
            if (!revokeNames.Add(secretName)) return;
            var live = await remoteClient.GetAsync("v1", "Secret", ns, secretName, cancellationToken).ConfigureAwait(false);
            var credential = $"token Secret {ns}/{secretName} in {_remote.Name}";
            // One an earlier rotation replaced and revoked is not a credential any more.
            if (live is null && !inUse) return;
            if (live is null)
                old.Add(new OldCredential(credential, null, expires, false, OldCredentialState.Gone, $"{usedBy}; the Secret no longer exists, so its token no longer authenticates"));
            else if (Ownership.NotOwnedReason(live, remoteClient.FieldManager) is { } why)
                old.Add(new OldCredential(credential, null, expires, false, OldCredentialState.Reported,
                    $"{usedBy}; not deleted: {why}. Once every istiod uses the new token, revoke it: kubectl --context {_remote.Context ?? _remote.Name} -n {ns} delete secret {secretName}"));
            else
            {
                old.Add(new OldCredential(credential, secretName, expires, true, OldCredentialState.Kept, usedBy));
                foreach (var earlier in (Str(live["metadata"]?["annotations"]?[ReplacesAnnotation]) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    await AddTokenSecretAsync(earlier, $"replaced by {secretName} in an earlier rotation that was not finished", null, inUse: false).ConfigureAwait(false);
            }
        }
        foreach (var (token, where) in tokens.Values)
        {
            var claims = ClaimsOf(token);
            var usedBy = $"used by {string.Join(", ", where)}";
            var expires = Exp(claims);
            if (Str(claims?[LegacySecretClaim]) is { } secretName) await AddTokenSecretAsync(secretName, usedBy, expires).ConfigureAwait(false);
            else if (claims is not null && expires is { } e)
                old.Add(new OldCredential($"bound token of {Str(claims["sub"]) ?? "(unknown subject)"}", null, e, false, OldCredentialState.NotRevocable,
                    $"{usedBy}; a bound token cannot be revoked on its own: it stops working at {e.UtcDateTime:yyyy-MM-dd HH:mm}Z. Deleting ServiceAccount {ns}/{Str(claims["sub"])?.Split(':').Last()} in {_remote.Name} revokes every token it has, the new one too"));
            else
                old.Add(new OldCredential(claims is null ? "a token that is not a service-account JWT" : $"token of {Str(claims["sub"]) ?? "(unknown subject)"}", null, null, false, OldCredentialState.Reported,
                    $"{usedBy}; where it was issued is unknown here: revoke it where it came from once every istiod uses the new token"));
        }

        // Every other token Secret meshfed created for this reader is an old credential too (an earlier rotation's, or
        // the one meshfed apply made and re-made): the new token replaces them all.
        foreach (var t in (await remoteClient.ListAsync("v1", "Secret", ns, null, cancellationToken).ConfigureAwait(false))
                     .Where(t => Str(t["type"]) == "kubernetes.io/service-account-token" && Str(t["metadata"]?["annotations"]?["kubernetes.io/service-account.name"]) == serviceAccount
                                 && Ownership.IsOwned(t, remoteClient.FieldManager))
                     .Select(t => Str(t["metadata"]?["name"])!).OrderBy(n => n, StringComparer.Ordinal))
            await AddTokenSecretAsync(t, "an earlier reader token meshfed created, used by none of the remote secrets given", null, inUse: false).ConfigureAwait(false);

        var newName = _options.TokenExpiry is null ? $"{serviceAccount}-token-{Suffix()}" : "";
        var changes = new List<CredentialChange>
        {
            _options.TokenExpiry is { } life
                ? new CredentialChange { Cluster = _remote.Name, Namespace = ns, Kind = "ServiceAccount", Name = serviceAccount, Action = "Request",
                    Description = $"a bound token (TokenRequest) valid {CredentialRotationPlan.Span(life)}; it cannot be revoked before it expires except by deleting the ServiceAccount" }
                : new CredentialChange { Cluster = _remote.Name, Namespace = ns, Kind = "Secret", Name = newName, Action = "Create",
                    Description = $"a long-lived token Secret (kubernetes.io/service-account-token) for {serviceAccount}, filled by the token controller" },
        };
        foreach (var s in secrets)
            changes.Add(new CredentialChange
            {
                Cluster = s.Binding.Name, Namespace = ns, Kind = "Secret", Name = s.Name, Action = "Update",
                Description = $"data.{clusterId}: the kubeconfig's token becomes the new reader token (server and CA kept){(s.Owned ? "" : "; taken over: meshfederation did not create it")}",
            });
        changes.Add(new CredentialChange
        {
            Cluster = _remote.Name, Namespace = ns, Kind = "ConfigMap", Name = ReaderCredential.StateConfigMap, Action = "Record",
            Description = "record the new credential once every remote secret works with it (no token, its SHA-256), so that meshfed apply and Sync-MeshFederation keep using it",
        });
        foreach (var o in old)
            changes.Add(o.Revoke
                ? new CredentialChange { Cluster = _remote.Name, Namespace = ns, Kind = "Secret", Name = o.TokenSecret!, Action = "Delete", Description = $"revoke the old token once every remote secret works with the new one ({o.Detail})" }
                : new CredentialChange { Cluster = _remote.Name, Namespace = ns, Kind = "Credential", Name = o.Credential, Action = "Report", Description = o.Detail });
        return new CredentialRotationPlan
        {
            RemoteCluster = _remote.Name, ClusterId = clusterId, Namespace = ns, ServiceAccount = serviceAccount, TokenExpiry = _options.TokenExpiry,
            Changes = changes, NewSecretName = newName, Secrets = secrets, Old = old,
            ServiceAccountUid = Str(account["metadata"]?["uid"]), MeshLabel = meshLabel, StateRecord = Ownership.RecordOf(state),
        };
    }

    private static string Suffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Concat(Enumerable.Range(0, 5).Select(_ => alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)]));
    }

    /// <summary>The remote cluster's ID: its Istio's values.global.multiCluster.clusterName, else its name as given.</summary>
    private async Task<string> ClusterIdAsync(KubeClient client, CancellationToken cancellationToken)
    {
        if (await client.FindAsync("sailoperator.io/v1", "Istio", cancellationToken).ConfigureAwait(false) is not null)
        {
            var istio = (await client.ListAsync("sailoperator.io/v1", "Istio", null, null, cancellationToken).ConfigureAwait(false))
                .FirstOrDefault(i => (Str(i["spec"]?["namespace"]) ?? "istio-system") == _options.Namespace);
            if (Str(istio?["spec"]?["values"]?["global"]?["multiCluster"]?["clusterName"]) is { } id) return id;
        }
        return _remote.Name;
    }

    // ------------------------------------------------------------------ applying

    /// <summary>
    /// Applies an approved plan: issues the new token, replaces it in every remote secret (each only if unchanged since
    /// it was read), connects with every updated secret until it works or the wait timeout passes, and only when every
    /// secret works revokes the old token Secrets this module created. When a change is declined nothing is changed.
    /// </summary>
    public async Task<CredentialRotationResult> ApplyAsync(CredentialRotationPlan plan, Func<CredentialChange, bool> approved, CancellationToken cancellationToken)
    {
        var ns = plan.Namespace;
        var changing = plan.Changes.Where(c => c.Changes).ToList();
        if (changing.Count(approved) < changing.Count)
        {
            _log.Warning($"{changing.Count - changing.Count(approved)} of {changing.Count} change(s) declined: nothing was changed (a rotation updates every remote secret or none)");
            return Result(plan, "no new credential (declined)", null, plan.Secrets.Select(s => new RemoteSecretOutcome(s.Binding.Name, ns, s.Name, RemoteSecretState.Unchanged, "declined")).ToList(),
                plan.Old.Select(o => new OldCredentialOutcome(o.Credential, o.Revoke ? OldCredentialState.Kept : o.Otherwise, "nothing was changed: " + o.Detail, o.Expires)).ToList());
        }
        var remoteClient = _connections.For(_remote);
        _log.Progress(new MeshProgress(19, null, $"Reader credential of {plan.RemoteCluster}", "issuing a new token", 10, false));
        var (token, credential, expires) = await IssueAsync(plan, remoteClient, cancellationToken).ConfigureAwait(false);

        // Replace the token in every secret.
        _log.Progress(new MeshProgress(19, null, $"Reader credential of {plan.RemoteCluster}", $"updating {plan.Secrets.Count} remote secret(s)", 30, false));
        var written = await Task.WhenAll(plan.Secrets.Select(async s =>
        {
            var client = _connections.For(s.Binding);
            var kubeconfig = (JsonObject)s.Kubeconfig.DeepClone();
            CurrentUser(kubeconfig)!["token"] = token;
            var body = (JsonObject)s.Live.DeepClone();
            (body["metadata"] as JsonObject)?.Remove("managedFields");
            body["metadata"]!["resourceVersion"] = s.ResourceVersion;
            body["data"]![s.Key] = B64(kubeconfig.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            var resource = await client.FindAsync("v1", "Secret", cancellationToken).ConfigureAwait(false)
                ?? throw new KubeApiException(s.Binding.Name, "GET", "v1", HttpStatusCode.NotFound, "NotFound", "the server does not serve Secrets");
            var path = resource.PathFor(ns, s.Name) + "?fieldManager=" + Uri.EscapeDataString(client.FieldManager);
            try
            {
                await client.SendAsync(HttpMethod.Put, path, body, "application/json", allowNotFound: false, cancellationToken).ConfigureAwait(false);
                _log.Verbose($"{s.Binding.Name}: Secret {ns}/{s.Name}: token replaced");
                return (s, State: (RemoteSecretState?)null, Detail: "");
            }
            catch (KubeApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
            {
                return (s, State: RemoteSecretState.Conflict, Detail: "changed by someone else since it was read; not replaced (run the rotation again: it reads the secrets again)");
            }
            catch (KubeApiException ex)
            {
                return (s, State: RemoteSecretState.Failed, Detail: $"not replaced: {(int)ex.StatusCode} {ex.Reason} {ex.ApiMessage}".TrimEnd());
            }
        })).ConfigureAwait(false);

        // Verify: connect with what each secret now holds, as istiod does, until every one works or time runs out.
        _log.Progress(new MeshProgress(19, null, $"Reader credential of {plan.RemoteCluster}", "verifying every updated secret", 60, false));
        var outcomes = written.ToDictionary(w => w.s, w => w.State is { } st ? new RemoteSecretOutcome(w.s.Binding.Name, ns, w.s.Name, st, w.Detail) : null);
        var deadline = DateTime.UtcNow + _options.WaitTimeout;
        while (true)
        {
            var pending = outcomes.Where(kv => kv.Value is null || kv.Value.State == RemoteSecretState.NotVerified).Select(kv => kv.Key).ToList();
            if (pending.Count == 0) break;
            var tried = await Task.WhenAll(pending.Select(async s => (s, Outcome: await VerifyAsync(s, token, cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false);
            foreach (var (s, outcome) in tried) outcomes[s] = outcome;
            if (tried.All(t => t.Outcome.State == RemoteSecretState.Verified) || DateTime.UtcNow >= deadline) break;
            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
        var secrets = plan.Secrets.Select(s => outcomes[s]!).ToList();
        var verified = secrets.All(s => s.State == RemoteSecretState.Verified);

        // Record the credential in force (meshfed apply reads it), then revoke: an apply must never go back to a revoked token.
        string? unrecorded = null;
        if (verified)
        {
            try
            {
                await remoteClient.ApplyAsync(ReaderCredential.Build(ns, plan.ServiceAccount, plan.ServiceAccountUid, plan.MeshLabel, plan.ClusterId, token,
                    plan.TokenExpiry is null ? plan.NewSecretName : null, expires, plan.StateRecord), force: false, cancellationToken).ConfigureAwait(false);
                _log.Verbose($"{plan.RemoteCluster}: recorded the credential in force in ConfigMap {ns}/{ReaderCredential.StateConfigMap}");
            }
            catch (KubeApiException ex)
            {
                unrecorded = $"not revoked: the new credential could not be recorded in ConfigMap {ns}/{ReaderCredential.StateConfigMap} ({(int)ex.StatusCode} {ex.Reason} {ex.ApiMessage}".TrimEnd()
                             + "), so meshfed apply would not know it and could go back to an old token. Run the rotation again";
                _log.Warning($"{plan.RemoteCluster}: {unrecorded}");
            }
        }

        // Revoke the old token Secrets only now, and only those this module created.
        var olds = new List<OldCredentialOutcome>();
        foreach (var o in plan.Old)
        {
            if (!o.Revoke)
            {
                olds.Add(new OldCredentialOutcome(o.Credential, o.Otherwise, o.Detail, o.Expires));
                continue;
            }
            if (!verified)
            {
                olds.Add(new OldCredentialOutcome(o.Credential, OldCredentialState.Kept,
                    $"not revoked: {secrets.Count(s => s.State != RemoteSecretState.Verified)} remote secret(s) do not work with the new token yet, so the old one may still be in use. Fix them, then run the rotation again: it issues a newer token and revokes this one too",
                    o.Expires));
                continue;
            }
            if (unrecorded is not null)
            {
                olds.Add(new OldCredentialOutcome(o.Credential, OldCredentialState.Kept, unrecorded, o.Expires));
                continue;
            }
            olds.Add(await RevokeAsync(remoteClient, ns, o, cancellationToken).ConfigureAwait(false));
        }
        _log.Progress(new MeshProgress(19, null, $"Reader credential of {plan.RemoteCluster}", verified ? "done" : "not verified", 100, true));
        return Result(plan, credential, expires, secrets, olds);
    }

    private static CredentialRotationResult Result(CredentialRotationPlan plan, string credential, DateTimeOffset? expires, IReadOnlyList<RemoteSecretOutcome> secrets, IReadOnlyList<OldCredentialOutcome> olds) => new()
    {
        RemoteCluster = plan.RemoteCluster, ClusterId = plan.ClusterId, ServiceAccount = plan.ServiceAccount, NewCredential = credential, NewCredentialExpires = expires,
        Secrets = secrets, OldCredentials = olds,
    };

    /// <summary>The new token: a token Secret the token controller fills, or a bound token from TokenRequest.</summary>
    private async Task<(string Token, string Credential, DateTimeOffset? Expires)> IssueAsync(CredentialRotationPlan plan, KubeClient client, CancellationToken cancellationToken)
    {
        var ns = plan.Namespace;
        if (plan.TokenExpiry is { } life)
        {
            var request = new JsonObject
            {
                ["apiVersion"] = "authentication.k8s.io/v1", ["kind"] = "TokenRequest",
                ["spec"] = new JsonObject { ["expirationSeconds"] = (long)life.TotalSeconds },
            };
            var answer = await client.SendAsync(HttpMethod.Post, $"/api/v1/namespaces/{Uri.EscapeDataString(ns)}/serviceaccounts/{Uri.EscapeDataString(plan.ServiceAccount)}/token",
                request, "application/json", allowNotFound: false, cancellationToken).ConfigureAwait(false);
            var token = Str(answer?["status"]?["token"]) ?? throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, $"cluster '{plan.RemoteCluster}' TokenRequest", plan.ServiceAccount,
                "was answered without a token", "check that the API server issues service-account tokens (kubectl create token)"));
            DateTimeOffset? expires = DateTimeOffset.TryParse(Str(answer?["status"]?["expirationTimestamp"]), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var e) ? e : Exp(ClaimsOf(token));
            _log.Verbose($"{plan.RemoteCluster}: bound token issued for {ns}/{plan.ServiceAccount}{(expires is { } x ? $", expires {x.UtcDateTime:yyyy-MM-dd HH:mm}Z" : "")}");
            return (token, $"bound token of {ns}/{plan.ServiceAccount} (TokenRequest)", expires);
        }
        var secret = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Secret", ["type"] = "kubernetes.io/service-account-token",
            ["metadata"] = new JsonObject
            {
                ["name"] = plan.NewSecretName, ["namespace"] = ns,
                ["labels"] = new JsonObject { ["app.kubernetes.io/managed-by"] = "meshfederation", ["app.kubernetes.io/component"] = "reader-token" },
                ["annotations"] = new JsonObject { ["kubernetes.io/service-account.name"] = plan.ServiceAccount },
            },
        };
        // The reader's mesh label: meshfed remove takes the token Secret along with the reader.
        if (plan.MeshLabel is not null) secret["metadata"]!["labels"]![Rendering.JsonBuilder.MeshLabel] = plan.MeshLabel;
        var replaces = plan.Old.Where(o => o.Revoke).Select(o => o.TokenSecret!).ToList();
        if (replaces.Count > 0) secret["metadata"]!["annotations"]![ReplacesAnnotation] = string.Join(",", replaces);
        await client.ApplyAsync(Ownership.Claim(secret, Ownership.NewRecord()), force: false, cancellationToken).ConfigureAwait(false);
        _log.Verbose($"{plan.RemoteCluster}: created token Secret {ns}/{plan.NewSecretName}; waiting for the token controller to fill it");
        var deadline = DateTime.UtcNow + _options.WaitTimeout;
        while (true)
        {
            var live = await client.GetAsync("v1", "Secret", ns, plan.NewSecretName, cancellationToken).ConfigureAwait(false);
            if (Str(live?["data"]?["token"]) is { } b64) return (Encoding.UTF8.GetString(Convert.FromBase64String(b64)), $"token Secret {ns}/{plan.NewSecretName}", null);
            if (DateTime.UtcNow >= deadline)
            {
                // Leave nothing half-made: the empty token Secret is ours; remove it.
                await client.DeleteAsync("v1", "Secret", ns, plan.NewSecretName, "Background", cancellationToken).ConfigureAwait(false);
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, $"cluster '{plan.RemoteCluster}' Secret", $"{ns}/{plan.NewSecretName}",
                    $"got no token from the token controller within {_options.WaitTimeout.TotalSeconds:0} s; it was deleted again and nothing else was changed",
                    $"check kube-controller-manager (its service-account token controller), or issue a bound token instead ({_options.TokenExpiryField} 24h)"));
            }
            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Connects with the kubeconfig the secret now holds, as istiod does; Verified when it carries the new token and may list services, endpoints and pods.</summary>
    private async Task<RemoteSecretOutcome> VerifyAsync(SecretRef s, string token, CancellationToken cancellationToken)
    {
        var client = _connections.For(s.Binding);
        var live = await client.GetAsync("v1", "Secret", s.Namespace, s.Name, cancellationToken).ConfigureAwait(false);
        RemoteSecretOutcome Not(string why) => new(s.Binding.Name, s.Namespace, s.Name, RemoteSecretState.NotVerified, why);
        if (live is null) return Not("the secret is gone");
        var text = Decode(live["data"]?[s.Key]);
        var source = $"Secret {s.Namespace}/{s.Name} in {s.Binding.Name}";
        JsonObject? kubeconfig;
        try
        {
            kubeconfig = _connections.Yaml.Parse(text, source).FirstOrDefault()?.ToJson() as JsonObject;
        }
        catch (MeshFederationException)
        {
            kubeconfig = null;
        }
        if (kubeconfig is null || Str(CurrentUser(kubeconfig)?["token"]) != token) return Not("it does not hold the new token (someone changed it after the update)");
        var outcome = await RemoteAccess.TryAsync(text, source, _connections.Yaml, _options.RemoteTimeout, cancellationToken).ConfigureAwait(false);
        if (outcome.Usable)
            return new RemoteSecretOutcome(s.Binding.Name, s.Namespace, s.Name, RemoteSecretState.Verified,
                $"connected to {outcome.Server} as {outcome.Identity ?? "the reader"}, which may list services, endpoints and pods");
        var denied = outcome.Permissions.Where(p => !p.Allowed).Select(p => p.Resource).ToList();
        return Not(outcome.Failure is { } f ? $"cannot use it against {outcome.Server}: {f}" : $"{outcome.Identity ?? "the reader"} may not list {string.Join(", ", denied)} on {outcome.Server}");
    }

    /// <summary>Deletes an old token Secret this module created, only if it is still the one read (its uid), then confirms it is gone.</summary>
    private async Task<OldCredentialOutcome> RevokeAsync(KubeClient client, string ns, OldCredential o, CancellationToken cancellationToken)
    {
        var live = await client.GetAsync("v1", "Secret", ns, o.TokenSecret!, cancellationToken).ConfigureAwait(false);
        if (live is null) return new OldCredentialOutcome(o.Credential, OldCredentialState.Gone, "already deleted: its token no longer authenticates", o.Expires);
        if (Ownership.NotOwnedReason(live, client.FieldManager) is { } why)
            return new OldCredentialOutcome(o.Credential, OldCredentialState.Reported, $"not deleted: it changed hands since it was read ({why}); revoke it yourself: kubectl -n {ns} delete secret {o.TokenSecret}", o.Expires);
        var resource = await client.FindAsync("v1", "Secret", cancellationToken).ConfigureAwait(false);
        var body = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "DeleteOptions", ["propagationPolicy"] = "Background",
            ["preconditions"] = new JsonObject { ["uid"] = live["metadata"]?["uid"]?.DeepClone(), ["resourceVersion"] = live["metadata"]?["resourceVersion"]?.DeepClone() },
        };
        try
        {
            await client.SendAsync(HttpMethod.Delete, resource!.PathFor(ns, o.TokenSecret), body, null, allowNotFound: true, cancellationToken).ConfigureAwait(false);
        }
        catch (KubeApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
        {
            return new OldCredentialOutcome(o.Credential, OldCredentialState.Kept, "not deleted: it was changed since it was read; run the rotation again", o.Expires);
        }
        _log.Verbose($"{_remote.Name}: deleted the old token Secret {ns}/{o.TokenSecret}");
        return new OldCredentialOutcome(o.Credential, OldCredentialState.Revoked, $"deleted after every remote secret worked with the new token ({o.Detail}); the old token no longer authenticates", o.Expires);
    }
}
