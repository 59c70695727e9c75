using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Engine.Checks;

/// <summary>What connecting with a remote secret's kubeconfig showed: who the token is, what it may list, or what stopped it.</summary>
internal sealed record RemoteAccessOutcome(string Server, string? Identity, DateTimeOffset? Expires, IReadOnlyList<(string Resource, bool Allowed, string? Reason)> Permissions, string? Failure, DateTimeOffset At)
{
    /// <summary>Not tried on purpose (it would run a program or read local files): Skip, not Fail.</summary>
    public bool Refused { get; init; }

    public bool Usable => Failure is null && Permissions.Count > 0 && Permissions.All(p => p.Allowed);

    /// <summary>When the token was issued (its iat claim), for bound tokens; null when not a JWT or not stated.</summary>
    public DateTimeOffset? Issued { get; init; }

    /// <summary>Is the token a JWT whose claims could be read (so a missing exp means it does not expire)?</summary>
    public bool Jwt { get; init; }

    /// <summary>What authenticates: "token", "client certificate" (Issued/Expires are its validity), or "credential" (neither).</summary>
    public string Credential { get; init; } = "token";
}

/// <summary>
/// Tries a remote secret as istiod would use it: connects to its server with its CA and credentials, then asks (a
/// SelfSubjectAccessReview per resource) whether it may list services, endpoints and pods cluster-wide. Expired and
/// revoked tokens, an untrusted server certificate and an unreachable server are told apart. Tokens never leave this
/// class: only the identity they carry (the JWT subject) and their expiry are reported.
/// </summary>
internal static class RemoteAccess
{
    public static readonly string[] Resources = { "services", "endpoints", "pods" };

    public static async Task<RemoteAccessOutcome> TryAsync(string kubeconfig, string source, IYamlBridge yaml, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Only what the secret carries inline is used: a kubeconfig from a cluster never runs a program here (exec,
        // auth-provider) nor makes this machine read its own files (token, certificate and key paths) and send them.
        if (Unsafe(kubeconfig, source, yaml) is { } refused)
            return new RemoteAccessOutcome("(not tried)", null, null, Array.Empty<(string, bool, string?)>(), refused, DateTimeOffset.UtcNow) { Refused = true };
        KubeContext ctx;
        try
        {
            ctx = KubeConfig.Parse(kubeconfig, source, yaml).Resolve(null);
        }
        catch (MeshFederationException ex)
        {
            return new RemoteAccessOutcome("(unknown)", null, null, Array.Empty<(string, bool, string?)>(), $"its kubeconfig is not usable: {ex.Problems[0].Problem} ({ex.Problems[0].Field})", DateTimeOffset.UtcNow);
        }
        var server = ctx.Server.ToString().TrimEnd('/');
        var (subject, expires) = Claims(ctx.Token);
        var (credential, issued) = ("token", IssuedAt(ctx.Token));
        if (ctx.Token is null)
        {
            credential = "credential";
            if (ctx.ClientCertificatePem is { } pem)
            {
                try
                {
                    using var cert = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(pem);
                    (credential, issued, expires) = ("client certificate", new DateTimeOffset(cert.NotBefore.ToUniversalTime()), new DateTimeOffset(cert.NotAfter.ToUniversalTime()));
                    subject ??= cert.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, false);
                }
                catch (System.Security.Cryptography.CryptographicException)
                {
                }
            }
        }
        var permissions = new List<(string, bool, string?)>();
        using var client = new KubeClient(ctx, new KubeClientOptions { MaxAttempts = 1, RequestTimeout = timeout, BaseDelay = TimeSpan.FromMilliseconds(1) });
        try
        {
            var answers = await Task.WhenAll(Resources.Select(async resource =>
            {
                var review = new JsonObject
                {
                    ["apiVersion"] = "authorization.k8s.io/v1", ["kind"] = "SelfSubjectAccessReview",
                    ["spec"] = new JsonObject { ["resourceAttributes"] = new JsonObject { ["verb"] = "list", ["resource"] = resource } },
                };
                var answer = await client.SendAsync(HttpMethod.Post, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, "application/json", allowNotFound: false, cancellationToken).ConfigureAwait(false);
                var status = answer?["status"];
                var allowed = status?["allowed"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
                var reason = status?["reason"] is JsonValue r && r.TryGetValue<string>(out var s) && s.Length > 0 ? s : status?["evaluationError"]?.ToString();
                return (resource, allowed, reason);
            })).ConfigureAwait(false);
            permissions.AddRange(answers);
            return new RemoteAccessOutcome(server, subject, expires, permissions, null, DateTimeOffset.UtcNow) { Issued = issued, Jwt = IsJwt(ctx.Token), Credential = credential };
        }
        catch (KubeApiException ex)
        {
            return new RemoteAccessOutcome(server, subject, expires, permissions, Classify(ex, expires, timeout), DateTimeOffset.UtcNow);
        }
        catch (MeshFederationException ex)
        {
            return new RemoteAccessOutcome(server, subject, expires, permissions, $"its credentials could not be used: {ex.Problems[0].Problem}", DateTimeOffset.UtcNow);
        }
    }

    private static readonly string[] FileKeys = { "certificate-authority", "client-certificate", "client-key", "tokenFile" };

    /// <summary>Why a kubeconfig is not tried from here (it would run a program or read local files); null when it is safe.</summary>
    internal static string? Unsafe(string kubeconfig, string source, IYamlBridge yaml)
    {
        JsonNode? doc;
        try
        {
            doc = yaml.Parse(kubeconfig, source).FirstOrDefault()?.ToJson();
        }
        catch (MeshFederationException ex)
        {
            return $"its kubeconfig does not parse: {ex.Problems[0].Problem}";
        }
        foreach (var user in (doc?["users"] as JsonArray)?.Select(u => u?["user"]).OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
        {
            if (user.ContainsKey("exec")) return "its kubeconfig runs an exec credential plugin, which is not run from here (istiod runs it in its cluster)";
            if (user.ContainsKey("auth-provider")) return "its kubeconfig uses an auth-provider plugin, which is not run from here (istiod runs it in its cluster)";
            if (FileKeys.FirstOrDefault(user.ContainsKey) is { } key) return $"its kubeconfig names a local file ({key}), which is not read from this machine";
        }
        foreach (var cluster in (doc?["clusters"] as JsonArray)?.Select(c => c?["cluster"]).OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
            if (cluster.ContainsKey("certificate-authority")) return "its kubeconfig names a local CA file (certificate-authority), which is not read from this machine";
        return null;
    }

    private static string Classify(KubeApiException ex, DateTimeOffset? expires, TimeSpan timeout)
    {
        if (ex.StatusCode == System.Net.HttpStatusCode.Unauthorized)
            return expires is { } e && e <= DateTimeOffset.UtcNow
                ? $"the token expired at {Ev.Time(e)} (401 Unauthorized)"
                : "the token was rejected (401 Unauthorized): it was revoked (its ServiceAccount or token Secret deleted) or belongs to another cluster";
        if (ex.StatusCode == System.Net.HttpStatusCode.Forbidden)
            return $"the token may not even create SelfSubjectAccessReviews (403 Forbidden: {ex.ApiMessage})";
        if (ex.StatusCode != 0) return $"the server answered {(int)ex.StatusCode} {ex.Reason}: {ex.ApiMessage}";
        for (Exception? inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationException)
                return "the server's certificate is not trusted by the CA in the secret (certificate-authority-data) or does not name the server (TLS: " + Innermost(ex) + ")";
            if (inner is SocketException se)
                return se.SocketErrorCode == SocketError.HostNotFound ? $"the server's name does not resolve ({se.Message})" : $"the server is unreachable ({se.Message})";
            if (inner is OperationCanceledException or TimeoutException)
                return $"the server did not answer within {timeout.TotalSeconds:0.#} s";
        }
        return ex.Message.Contains("timed out", StringComparison.Ordinal) ? $"the server did not answer within {timeout.TotalSeconds:0.#} s" : $"the connection failed: {Innermost(ex)}";
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message;
    }

    /// <summary>The iat claim of a JWT bearer token (read, not verified).</summary>
    internal static DateTimeOffset? IssuedAt(string? token) =>
        Rotation.CredentialRotation.ClaimsOf(token)?["iat"] is JsonValue v && v.TryGetValue<long>(out var s) ? DateTimeOffset.FromUnixTimeSeconds(s) : null;

    internal static bool IsJwt(string? token) => Rotation.CredentialRotation.ClaimsOf(token) is not null;

    /// <summary>
    /// How close to its expiry a working token is reported (Warn): a fifth of its lifetime (iat to exp; the kubelet
    /// refreshes projected tokens at 80 % of theirs), at most 7 days; 24 hours when its lifetime is unknown.
    /// </summary>
    internal static (TimeSpan Threshold, string Why) ExpiryWarning(DateTimeOffset? issued, DateTimeOffset expires)
    {
        if (issued is { } i && expires > i)
        {
            var fifth = TimeSpan.FromSeconds((expires - i).TotalSeconds / 5);
            return fifth < TimeSpan.FromDays(7)
                ? (fifth, $"a fifth of its {Duration(expires - i)} lifetime")
                : (TimeSpan.FromDays(7), "7 days (at most)");
        }
        return (TimeSpan.FromHours(24), "24 h (its lifetime is not stated)");
    }

    internal static string Duration(TimeSpan t) => t.TotalDays >= 2 ? $"{t.TotalDays:0.#} d" : t.TotalHours >= 2 ? $"{t.TotalHours:0.#} h" : $"{Math.Max(0, t.TotalMinutes):0} min";

    /// <summary>The subject and expiry of a JWT bearer token (read, not verified); nulls for other tokens.</summary>
    internal static (string? Subject, DateTimeOffset? Expires) Claims(string? token)
    {
        var parts = token?.Split('.');
        if (parts is not { Length: 3 }) return (null, null);
        try
        {
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
            var claims = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload))) as JsonObject;
            var sub = claims?["sub"] is JsonValue s && s.TryGetValue<string>(out var subject) ? subject : null;
            DateTimeOffset? exp = claims?["exp"] is JsonValue e && e.TryGetValue<long>(out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
            return (sub, exp);
        }
        catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException or ArgumentOutOfRangeException)
        {
            return (null, null);
        }
    }
}
