using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Engine.Rotation;

/// <summary>
/// The reader credential a remote-secret rotation put in force, as meshfed apply / Sync-MeshFederation find it: the
/// token itself (kept private, never printed), what it is, and when it expires. Read from the rotation's record,
/// ConfigMap <see cref="ReaderCredential.StateConfigMap"/> in the remote cluster's control-plane namespace.
/// </summary>
internal sealed class RotatedReader
{
    private readonly string _token;

    public RotatedReader(string token, string description, string? tokenSecret, DateTimeOffset? expires)
    {
        _token = token;
        Description = description;
        TokenSecret = tokenSecret;
        Expires = expires;
    }

    /// <summary>"token Secret istio-system/meshfed-reader-token-x7k2q" or "bound token of istio-system/meshfed-reader (expires …)".</summary>
    public string Description { get; }

    /// <summary>The token Secret that holds the token (null for a bound token, which lives only in the remote secrets).</summary>
    public string? TokenSecret { get; }

    public DateTimeOffset? Expires { get; }

    public string ExportToken() => _token;

    public override string ToString() => Description;
}

/// <summary>
/// The record a credential rotation keeps of the reader credential it put in force (issue 18), so that applying the
/// federation later keeps using it instead of re-creating the token Secret meshfed apply renders (which the rotation
/// revoked) and pointing the remote secrets back at that. The record is a ConfigMap in the remote cluster, created by
/// this module (ownership proven as for every object it manages); it names the credential (a token Secret, or a bound
/// token), the ServiceAccount and its uid (a record of a deleted and re-created ServiceAccount is stale: every token
/// of the old one is invalid), the SHA-256 of the token (never the token), and a bound token's issue and expiry times.
/// </summary>
internal static class ReaderCredential
{
    public const string StateConfigMap = "meshfed-reader-credential";
    public const string KindAnnotation = RootRotation.AnnotationPrefix + "credential";
    public const string TokenSecretAnnotation = RootRotation.AnnotationPrefix + "token-secret";
    public const string TokenHashAnnotation = RootRotation.AnnotationPrefix + "token-sha256";
    public const string ServiceAccountAnnotation = RootRotation.AnnotationPrefix + "service-account";
    public const string ServiceAccountUidAnnotation = RootRotation.AnnotationPrefix + "service-account-uid";
    public const string IssuedAnnotation = RootRotation.AnnotationPrefix + "issued";
    public const string ExpiresAnnotation = RootRotation.AnnotationPrefix + "expires";
    public const string ClusterIdAnnotation = RootRotation.AnnotationPrefix + "cluster-id";
    public const string SecretKind = "token-secret";
    public const string BoundKind = "bound-token";

    public static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token))).ToLowerInvariant();

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static DateTimeOffset? When(JsonNode? n) =>
        Str(n) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    /// <summary>The record's ConfigMap (labels: this module's; the reader ServiceAccount's mesh label, so removal takes it along).</summary>
    public static JsonObject Build(string ns, string serviceAccount, string? serviceAccountUid, string? meshLabel, string clusterId, string token, string? tokenSecret,
        DateTimeOffset? expires, string? record)
    {
        var labels = new JsonObject { [Rendering.JsonBuilder.ManagedByLabel] = Rendering.JsonBuilder.ManagedByValue, ["app.kubernetes.io/component"] = "reader-credential" };
        if (meshLabel is not null) labels[Rendering.JsonBuilder.MeshLabel] = meshLabel;
        var annotations = new JsonObject
        {
            [KindAnnotation] = tokenSecret is null ? BoundKind : SecretKind,
            [ServiceAccountAnnotation] = serviceAccount,
            [TokenHashAnnotation] = Hash(token),
            [ClusterIdAnnotation] = clusterId,
            [RootRotation.UpdatedAnnotation] = Time(DateTimeOffset.UtcNow),
        };
        if (serviceAccountUid is not null) annotations[ServiceAccountUidAnnotation] = serviceAccountUid;
        if (tokenSecret is not null) annotations[TokenSecretAnnotation] = tokenSecret;
        if (RemoteAccess.IssuedAt(token) is { } issued) annotations[IssuedAnnotation] = Time(issued);
        if (expires is { } e) annotations[ExpiresAnnotation] = Time(e);
        var cm = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = StateConfigMap, ["namespace"] = ns, ["labels"] = labels, ["annotations"] = annotations },
        };
        return Ownership.Claim(cm, record ?? Ownership.NewRecord());
    }

    /// <summary>
    /// The reader credential to write into the remote secrets that point at <paramref name="remoteName"/>: null when
    /// no rotation recorded one (or its record is not this module's, or is stale), so the token Secret meshfed apply
    /// renders is used. A recorded credential that cannot be found or no longer matches its record is refused with
    /// how to get out (rotate again, or drop the record): applying never falls back to a revoked token Secret.
    /// </summary>
    /// The remote secrets for the remote cluster live in <c>holders</c> (a bound token is found in them only).
    public static async Task<RotatedReader?> CurrentAsync(KubeClient remote, string remoteName, string ns, string clusterId,
        IReadOnlyList<(KubeClient Client, string Cluster, string Namespace)> holders, IYamlBridge yaml, IMeshLog log, CancellationToken cancellationToken, DateTimeOffset? now = null)
    {
        var state = await remote.GetAsync("v1", "ConfigMap", ns, StateConfigMap, cancellationToken).ConfigureAwait(false);
        if (state is null) return null;
        var where = $"ConfigMap {ns}/{StateConfigMap} in {remoteName}";
        if (Ownership.NotOwnedReason(state, remote.FieldManager) is { } notOwned)
        {
            log.Warning($"{where} is not meshfederation's ({notOwned}): ignored; the remote secrets for {remoteName} get the token Secret meshfed apply makes");
            return null;
        }
        var a = state["metadata"]?["annotations"];
        var kind = Str(a?[KindAnnotation]);
        var serviceAccount = Str(a?[ServiceAccountAnnotation]);
        var hash = Str(a?[TokenHashAnnotation]);
        var tokenSecret = Str(a?[TokenSecretAnnotation]);
        var fixRotate = $"rotate again (meshfed remote-secret rotate --cluster {remoteName} with --context for every cluster of the mesh; Update-MeshRemoteSecret), which issues and records a new credential; "
                        + $"or delete {where} (kubectl -n {ns} delete configmap {StateConfigMap}) to go back to the token Secret meshfed apply makes";
        MeshFederationException Refuse(string field, string? value, string problem) =>
            new(new MeshProblem(MeshErrorKind.InvalidData, $"cluster '{remoteName}' reader credential ({where}) {field}", value, problem, fixRotate));
        if (kind is not (SecretKind or BoundKind) || serviceAccount is null || hash is null || (kind == SecretKind && tokenSecret is null))
            throw Refuse("annotations", null, "is damaged (it was changed by hand): the credential the last rotation put in force cannot be told; nothing was written");

        // A record of a ServiceAccount deleted since (meshfed remove, then apply again) is stale: its tokens died with it.
        var account = await remote.GetAsync("v1", "ServiceAccount", ns, serviceAccount, cancellationToken).ConfigureAwait(false);
        var uid = Str(a?[ServiceAccountUidAnnotation]);
        if (account is null || (uid is not null && Str(account["metadata"]?["uid"]) != uid))
        {
            log.Verbose($"{where} records a credential of ServiceAccount {ns}/{serviceAccount} {(account is null ? "which no longer exists" : "as it was before it was re-created")}: stale, ignored");
            return null;
        }

        if (kind == SecretKind)
        {
            var secret = await remote.GetAsync("v1", "Secret", ns, tokenSecret!, cancellationToken).ConfigureAwait(false);
            var name = $"token Secret {ns}/{tokenSecret}";
            if (secret is null)
                throw Refuse(TokenSecretAnnotation, tokenSecret, $"names {name}, which no longer exists: its token was revoked, and the remote secrets for {remoteName} would not work with it. Nothing was written");
            if (Ownership.NotOwnedReason(secret, remote.FieldManager) is { } why)
                throw Refuse(TokenSecretAnnotation, tokenSecret, $"names {name}, which is no longer meshfederation's ({why}). Nothing was written");
            var b64 = Str(secret["data"]?["token"]);
            var token = b64 is null ? null : Encoding.UTF8.GetString(Convert.FromBase64String(b64));
            if (token is null || Hash(token) != hash)
                throw Refuse(TokenSecretAnnotation, tokenSecret, $"names {name}, which {(token is null ? "holds no token" : "holds another token than the one the rotation recorded")}. Nothing was written");
            log.Verbose($"{remoteName}: the remote secrets keep the reader credential the last rotation put in force: {name}");
            return new RotatedReader(token, name, tokenSecret, null);
        }

        // A bound token lives only in the remote secrets: find the one the rotation recorded.
        foreach (var (client, cluster, holderNs) in holders)
        {
            var secret = await client.GetAsync("v1", "Secret", holderNs, Rendering.IstioRenderer.RemoteSecretName(clusterId), cancellationToken).ConfigureAwait(false);
            if (Str(secret?["data"]?[clusterId]) is not { } data) continue;
            string? token;
            try
            {
                var kubeconfig = yaml.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(data)), $"Secret {holderNs}/{Rendering.IstioRenderer.RemoteSecretName(clusterId)} in {cluster}").FirstOrDefault()?.ToJson() as JsonObject;
                token = kubeconfig is null ? null : Str(CredentialRotation.CurrentUser(kubeconfig)?["token"]);
            }
            catch (Exception ex) when (ex is FormatException or MeshFederationException)
            {
                continue;
            }
            if (token is null || Hash(token) != hash) continue;
            var expires = RemoteAccess.Claims(token).Expires ?? When(a?[ExpiresAnnotation]);
            var description = $"bound token of {ns}/{serviceAccount}{(expires is { } x ? $" (expires {Time(x)})" : "")}";
            if (expires is { } exp)
            {
                var at = now ?? DateTimeOffset.UtcNow;
                var (threshold, why) = RemoteAccess.ExpiryWarning(When(a?[IssuedAnnotation]) ?? RemoteAccess.IssuedAt(token), exp);
                var rotate = $"rotate it: meshfed remote-secret rotate --cluster {remoteName} --bound-token --token-expiry <lifetime> (Update-MeshRemoteSecret -TokenExpiry); applying never replaces it by itself";
                if (exp <= at) log.Warning($"{remoteName}: the reader's {description} has expired: istiod in the other clusters can no longer read {remoteName}; {rotate}");
                else if (exp - at <= threshold) log.Warning($"{remoteName}: the reader's {description} expires in {RemoteAccess.Duration(exp - at)}, within the warning threshold of {RemoteAccess.Duration(threshold)} ({why}); {rotate}");
            }
            log.Verbose($"{remoteName}: the remote secrets keep the reader credential the last rotation put in force: {description}");
            return new RotatedReader(token, description, null, expires);
        }
        throw Refuse(TokenHashAnnotation, null, $"records a bound token that none of the remote secrets for {remoteName} holds any more ({string.Join(", ", holders.Select(h => h.Cluster))}): "
            + "a bound token is kept nowhere else, so it cannot be written again. Nothing was written");
    }
}
