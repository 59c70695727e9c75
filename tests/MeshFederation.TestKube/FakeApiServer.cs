using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Yaml;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace MeshFederation.TestKube;

/// <summary>Faults injected into a share of requests.</summary>
public sealed class FaultOptions
{
    /// <summary>Share of requests (0..1) answered with a fault instead of being served.</summary>
    public double Rate { get; set; }

    /// <summary>Latency added to every request.</summary>
    public TimeSpan Latency { get; set; }

    public bool TooManyRequests { get; set; } = true;

    public bool ServerError { get; set; } = true;

    public bool ConnectionReset { get; set; } = true;

    /// <summary>Retry-After seconds sent with 429.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    public int Seed { get; set; } = 42;

    /// <summary>Faults to inject on the next requests, in order ("429", "500", "reset", "latency:MS"), before random ones.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Scripted { get; } = new();
}

/// <summary>
/// An in-process Kubernetes API server on 127.0.0.1 over HTTPS (HTTP/1.1 and HTTP/2) for tests that behaves like
/// kube-apiserver where it matters: bearer tokens and client certificates, discovery, CRUD, JSON, YAML and protobuf
/// bodies, server-side apply with managedFields for every manager, strategic merge patch, server defaults, generation,
/// the status subresource, resourceVersion conflicts, label and field selectors, watches, dry runs, field validation
/// against the upstream schemas, finalizers, garbage collection, Terminating namespaces, and fault injection.
/// Real kubectl works against it. DEVELOPERS.md lists what it models.
/// </summary>
public sealed class FakeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TestPki _pki;
    private readonly X509Certificate2 _serverCert;
    private readonly Random _random;
    private readonly object _randomGate = new();
    private readonly YamlDotNetBridge _yaml = new();
    private long _requests;
    private long _faults;

    public FakeApiServer(string name, TestPki pki, params string[] extraServerNames)
    {
        Name = name;
        _pki = pki;
        _serverCert = pki.Server(extraServerNames);
        _random = new Random(Faults.Seed);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = _serverCert,
                    ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                    ClientCertificateValidation = (cert, _, _) => ValidateClient(cert),
                });
            });
        });
        _app = builder.Build();
        _app.Run(Handle);
        // What kube-controller-manager does for every namespace (kube-root-ca.crt, the default ServiceAccount), and the
        // namespaces every cluster has.
        Store.Changed += (t, o, verb) =>
        {
            // Deleting a ServiceAccount invalidates the bound tokens issued for it (their uid no longer exists).
            if (t.Kind == "ServiceAccount" && verb == "DELETED")
            {
                var owner = $"{o["metadata"]?["namespace"]?.GetValue<string>()}/{o["metadata"]?["name"]?.GetValue<string>()}";
                foreach (var bound in _boundTokens.Where(kv => kv.Value == owner).Select(kv => kv.Key).ToList())
                {
                    _boundTokens.TryRemove(bound, out _);
                    Tokens.TryRemove(bound, out _);
                }
                return;
            }
            if (t.Kind != "Namespace" || verb != "ADDED") return;
            var ns = o["metadata"]!["name"]!.GetValue<string>();
            try
            {
                Store.Upsert(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ServiceAccount", ["metadata"] = new JsonObject { ["name"] = "default", ["namespace"] = ns } }, "kube-controller-manager");
                Store.Upsert(new JsonObject
                {
                    ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = "kube-root-ca.crt", ["namespace"] = ns },
                    ["data"] = new JsonObject { ["ca.crt"] = pki.CaPem },
                }, "kube-controller-manager");
            }
            catch (ApiError)
            {
                // The namespace went away meanwhile.
            }
        };
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
            Store.Create(ResourceTypes.Namespace, null, new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } }, "v1", "kube-apiserver");
    }

    public string Name { get; }

    public ObjectStore Store { get; } = new();

    public FaultOptions Faults { get; } = new();

    /// <summary>API groups this cluster pretends not to serve (an operator that is not installed).</summary>
    public HashSet<string> HiddenGroups { get; } = new(StringComparer.Ordinal);

    /// <summary>Users that may only read (RBAC view): every write, dry runs included, is forbidden to them.</summary>
    public HashSet<string> ReadOnlyUsers { get; } = new(StringComparer.Ordinal);

    /// <summary>Bearer tokens accepted, token to user name. A JWT whose exp has passed is rejected, as kube-apiserver does.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, string> Tokens { get; } = new(StringComparer.Ordinal);

    /// <summary>Users in system:masters: SelfSubjectAccessReviews allow them everything; everyone else is judged by RBAC.</summary>
    public HashSet<string> Admins { get; } = new(StringComparer.Ordinal) { "admin" };

    /// <summary>
    /// What the API server's service proxy reaches (GET /api/v1/namespaces/NS/services/[scheme:]NAME:PORT/proxy/PATH):
    /// "NS/NAME:PORT" to a function of PATH giving the text the pod answers (null: 404 from the pod). A Service with no
    /// entry here has no ready endpoints (503, as kube-apiserver answers).
    /// </summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, Func<string, string?>> ServiceProxies { get; } = new(StringComparer.Ordinal);

    /// <summary>Every request line served ("METHOD path?query"), for assertions on traffic.</summary>
    public List<string> RequestLog { get; } = new();

    /// <summary>Every Authorization header and client certificate subject seen (to prove which credential was used).</summary>
    public List<string> AuthLog { get; } = new();

    public Uri Url { get; private set; } = new("https://127.0.0.1");

    public long Requests => Interlocked.Read(ref _requests);

    public long FaultsInjected => Interlocked.Read(ref _faults);

    public string CaPem => _pki.CaPem;

    public async Task StartAsync()
    {
        await _app.StartAsync();
        var address = _app.Urls.First();
        Url = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
    }

    private bool ValidateClient(X509Certificate2 cert)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.Add(_pki.Ca);
        return chain.Build(cert);
    }

    /// <summary>A kubeconfig for this server with a bearer token (or a client certificate when token is null).</summary>
    public string Kubeconfig(string context, string? token = null, (string Cert, string Key)? client = null, string? ns = null)
    {
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
        var user = token is not null ? $"    token: {token}\n" : $"    client-certificate-data: {B64(client!.Value.Cert)}\n    client-key-data: {B64(client.Value.Key)}\n";
        return $"apiVersion: v1\nkind: Config\ncurrent-context: {context}\nclusters:\n- name: {context}\n  cluster:\n    server: {Url.ToString().TrimEnd('/')}\n    certificate-authority-data: {B64(CaPem)}\n"
             + $"contexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}-user\n{(ns is null ? "" : $"    namespace: {ns}\n")}users:\n- name: {context}-user\n  user:\n{user}";
    }

    private async Task Handle(HttpContext http)
    {
        Interlocked.Increment(ref _requests);
        var req = http.Request;
        var line = $"{req.Method} {req.Path}{req.QueryString} [{req.ContentType}] accept={req.Headers.Accept}";
        lock (RequestLog) RequestLog.Add(line);
        if (Faults.Latency > TimeSpan.Zero) await Task.Delay(Faults.Latency);

        var cert = http.Connection.ClientCertificate;
        var auth = req.Headers.Authorization.ToString();
        lock (AuthLog) AuthLog.Add(cert is not null ? "cert:" + cert.Subject : auth.StartsWith("Bearer ", StringComparison.Ordinal) ? "bearer" : "none");
        var user = cert is not null ? cert.GetNameInfo(X509NameType.SimpleName, false)
            : auth.StartsWith("Bearer ", StringComparison.Ordinal) && Tokens.TryGetValue(auth[7..], out var u) && !Expired(auth[7..]) ? u : null;
        if (user is null)
        {
            await Status(http, HttpStatusCode.Unauthorized, "Unauthorized", "Unauthorized");
            return;
        }

        if (Faults.Scripted.TryDequeue(out var scripted))
        {
            Interlocked.Increment(ref _faults);
            switch (scripted)
            {
                case "429":
                    http.Response.Headers.RetryAfter = Faults.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    await Status(http, HttpStatusCode.TooManyRequests, "TooManyRequests", "the server has received too many requests and has asked us to try again later");
                    return;
                case "500":
                    await Status(http, HttpStatusCode.InternalServerError, "InternalError", "Internal error occurred: injected fault");
                    return;
                case "reset":
                    http.Abort();
                    return;
                default:
                    if (scripted.StartsWith("latency:", StringComparison.Ordinal)) await Task.Delay(int.Parse(scripted[8..], System.Globalization.CultureInfo.InvariantCulture));
                    break;
            }
        }

        if (Faults.Rate > 0)
        {
            double roll;
            int pick;
            lock (_randomGate) { roll = _random.NextDouble(); pick = _random.Next(3); }
            if (roll < Faults.Rate)
            {
                var kinds = new List<int>();
                if (Faults.TooManyRequests) kinds.Add(0);
                if (Faults.ServerError) kinds.Add(1);
                if (Faults.ConnectionReset) kinds.Add(2);
                if (kinds.Count > 0)
                {
                    Interlocked.Increment(ref _faults);
                    switch (kinds[pick % kinds.Count])
                    {
                        case 0:
                            http.Response.Headers.RetryAfter = Faults.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                            await Status(http, HttpStatusCode.TooManyRequests, "TooManyRequests", "the server has received too many requests and has asked us to try again later");
                            return;
                        case 1:
                            await Status(http, HttpStatusCode.InternalServerError, "InternalError", "Internal error occurred: injected fault");
                            return;
                        default:
                            http.Abort();
                            return;
                    }
                }
            }
        }

        try
        {
            await Route(http, user);
        }
        catch (ApiError e)
        {
            await Status(http, e.Code, e.Reason, e.Message);
        }
    }

    /// <summary>The service proxy: a pod's answer through the API server (text), 503 without endpoints, 404 without the Service.</summary>
    private async Task ServiceProxy(HttpContext http, string ns, string service, string subPath)
    {
        var parts = service.Split(':');
        var name = parts.Length == 3 ? parts[1] : parts[0];
        var port = parts.Length >= 2 ? parts[^1] : "80";
        if (Store.Get(ResourceTypes.ByKind("v1", "Service")!, ns, name, "v1") is null)
            throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"services \"{name}\" not found");
        if (!ServiceProxies.TryGetValue($"{ns}/{name}:{port}", out var pod))
            throw new ApiError(HttpStatusCode.ServiceUnavailable, "ServiceUnavailable", $"no endpoints available for service \"{service}\"");
        var text = pod(subPath);
        http.Response.StatusCode = text is null ? 404 : 200;
        http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await http.Response.WriteAsync(text ?? "404 page not found\n");
    }

    /// <summary>
    /// TokenRequest (POST .../serviceaccounts/NAME/token): a bound service-account token that expires after
    /// spec.expirationSeconds (default 3600, at least 600, as kube-apiserver enforces), accepted until then.
    /// </summary>
    private async Task TokenRequest(HttpContext http, string ns, string serviceAccount)
    {
        var body = await Body(http) as JsonObject ?? new JsonObject();
        if (Store.Get(ResourceTypes.ByKind("v1", "ServiceAccount")!, ns, serviceAccount, "v1") is null)
            throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"serviceaccounts \"{serviceAccount}\" not found");
        var seconds = body["spec"]?["expirationSeconds"] is JsonValue v && v.TryGetValue<long>(out var s) ? s : 3600;
        if (seconds < 600)
            throw new ApiError(HttpStatusCode.UnprocessableEntity, "Invalid", "spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes");
        var expires = DateTimeOffset.UtcNow.AddSeconds(seconds);
        var sa = Store.Get(ResourceTypes.ByKind("v1", "ServiceAccount")!, ns, serviceAccount, "v1")!;
        var token = BoundServiceAccountJwt(ns, serviceAccount, sa["metadata"]?["uid"]?.GetValue<string>() ?? "", DateTimeOffset.UtcNow, expires);
        Tokens[token] = $"system:serviceaccount:{ns}:{serviceAccount}";
        _boundTokens[token] = $"{ns}/{serviceAccount}";
        await Json(http, new JsonObject
        {
            ["kind"] = "TokenRequest", ["apiVersion"] = "authentication.k8s.io/v1", ["metadata"] = new JsonObject { ["name"] = serviceAccount, ["namespace"] = ns },
            ["spec"] = new JsonObject { ["expirationSeconds"] = seconds, ["audiences"] = new JsonArray("https://kubernetes.default.svc") },
            ["status"] = new JsonObject { ["token"] = token, ["expirationTimestamp"] = expires.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) },
        }, HttpStatusCode.Created);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _boundTokens = new(StringComparer.Ordinal);

    /// <summary>
    /// A bound service-account token as kube-apiserver issues it from TokenRequest: iss, aud, iat, nbf, exp, sub and
    /// the nested kubernetes.io claim naming the ServiceAccount and its uid (no legacy secret.name claim).
    /// </summary>
    public static string BoundServiceAccountJwt(string ns, string serviceAccount, string uid, DateTimeOffset issued, DateTimeOffset expires)
    {
        static string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var payload = new JsonObject
        {
            ["aud"] = new JsonArray("https://kubernetes.default.svc"), ["iss"] = "https://kubernetes.default.svc.cluster.local",
            ["iat"] = issued.ToUnixTimeSeconds(), ["nbf"] = issued.ToUnixTimeSeconds(), ["exp"] = expires.ToUnixTimeSeconds(),
            ["kubernetes.io"] = new JsonObject { ["namespace"] = ns, ["serviceaccount"] = new JsonObject { ["name"] = serviceAccount, ["uid"] = uid } },
            ["sub"] = $"system:serviceaccount:{ns}:{serviceAccount}",
        };
        return $"{B64("""{"alg":"RS256","kid":"meshfed-test"}""")}.{B64(payload.ToJsonString())}.{Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
    }

    /// <summary>A JWT bearer token whose exp claim has passed.</summary>
    private static bool Expired(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) return false;
        try
        {
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
            var exp = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload)))?["exp"];
            return exp is JsonValue v && v.TryGetValue<long>(out var seconds) && DateTimeOffset.FromUnixTimeSeconds(seconds) <= DateTimeOffset.UtcNow;
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews, judged by <see cref="Rbac"/> (what kubectl auth can-i sends).</summary>
    private async Task SelfSubjectAccessReview(HttpContext http, string user)
    {
        var review = await Body(http) as JsonObject ?? throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "body must be an object");
        var attributes = review["spec"]?["resourceAttributes"];
        if (attributes is null) throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "spec.resourceAttributes is required (nonResourceAttributes are not served here)");
        string? Attr(string key) => attributes[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
        var (allowed, reason) = Rbac.Allows(Store, Admins, user, Attr("verb") ?? "", Attr("group") ?? "", Attr("resource") ?? "", Attr("namespace"), Attr("name"));
        review["apiVersion"] = "authorization.k8s.io/v1";
        review["kind"] = "SelfSubjectAccessReview";
        review["metadata"] ??= new JsonObject();
        review["status"] = new JsonObject { ["allowed"] = allowed, ["reason"] = reason };
        await Json(http, review, HttpStatusCode.Created);
    }

    private async Task Route(HttpContext http, string user)
    {
        var path = http.Request.Path.Value ?? "/";
        var seg = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var method = http.Request.Method;
        if (seg is ["apis", "authorization.k8s.io", "v1", "selfsubjectaccessreviews"] && method == "POST")
        {
            await SelfSubjectAccessReview(http, user);
            return;
        }
        if (seg is ["apis", "authorization.k8s.io", "v1"])
        {
            await Json(http, new JsonObject
            {
                ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = "authorization.k8s.io/v1",
                ["resources"] = new JsonArray(new JsonObject { ["name"] = "selfsubjectaccessreviews", ["singularName"] = "selfsubjectaccessreview", ["namespaced"] = false, ["kind"] = "SelfSubjectAccessReview", ["verbs"] = new JsonArray("create") }),
            });
            return;
        }

        if (path == "/version")
        {
            await Json(http, new JsonObject { ["major"] = "1", ["minor"] = "32", ["gitVersion"] = "v1.32.0-meshfed-test", ["platform"] = "linux/amd64" });
            return;
        }
        if (seg.Length >= 2 && seg[0] == "openapi" && seg[1] == "v3")
        {
            await Json(http, OpenApi(seg[2..]));
            return;
        }
        if (seg.Length == 1 && seg[0] == "api")
        {
            await Json(http, new JsonObject { ["kind"] = "APIVersions", ["versions"] = new JsonArray("v1"),
                ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = $"127.0.0.1:{Url.Port}" }) });
            return;
        }
        if (seg.Length == 1 && seg[0] == "apis")
        {
            var groups = new JsonArray();
            foreach (var g in ResourceTypes.All.Where(r => r.Group.Length > 0 && !HiddenGroups.Contains(r.Group)).GroupBy(r => r.Group))
            {
                var versions = g.SelectMany(r => r.Versions).Distinct().ToList();
                groups.Add(new JsonObject
                {
                    ["name"] = g.Key,
                    ["versions"] = new JsonArray(versions.Select(v => (JsonNode)new JsonObject { ["groupVersion"] = $"{g.Key}/{v}", ["version"] = v }).ToArray()),
                    ["preferredVersion"] = new JsonObject { ["groupVersion"] = $"{g.Key}/{versions[0]}", ["version"] = versions[0] },
                });
            }
            groups.Add(new JsonObject
            {
                ["name"] = "authorization.k8s.io",
                ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = "authorization.k8s.io/v1", ["version"] = "v1" }),
                ["preferredVersion"] = new JsonObject { ["groupVersion"] = "authorization.k8s.io/v1", ["version"] = "v1" },
            });
            await Json(http, new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups });
            return;
        }
        if (seg.Length >= 7 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "namespaces" && seg[4] == "services" && seg[6] == "proxy" && method == "GET")
        {
            await ServiceProxy(http, seg[3], seg[5], "/" + string.Join('/', seg[7..]));
            return;
        }
        if (seg.Length == 7 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "namespaces" && seg[4] == "serviceaccounts" && seg[6] == "token" && method == "POST")
        {
            await TokenRequest(http, seg[3], seg[5]);
            return;
        }
        string group, version;
        string[] rest;
        if (seg.Length >= 2 && seg[0] == "api") { group = ""; version = seg[1]; rest = seg[2..]; }
        else if (seg.Length >= 3 && seg[0] == "apis") { group = seg[1]; version = seg[2]; rest = seg[3..]; }
        else throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"the server could not find the requested resource ({path})");

        if (HiddenGroups.Contains(group)) throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"the server could not find the requested resource ({path})");
        if (rest.Length == 0)
        {
            var types = ResourceTypes.All.Where(r => r.Group == group && r.Versions.Contains(version)).ToList();
            if (types.Count == 0) throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"the server could not find the requested resource ({path})");
            var resources = new JsonArray();
            foreach (var t in types)
            {
                resources.Add(new JsonObject
                {
                    ["name"] = t.Plural, ["singularName"] = t.Singular, ["namespaced"] = t.Namespaced, ["kind"] = t.Kind,
                    ["verbs"] = new JsonArray("create", "delete", "get", "list", "patch", "update", "watch"),
                    ["shortNames"] = new JsonArray(t.ShortNames.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()),
                });
                if (t.HasStatus)
                    resources.Add(new JsonObject { ["name"] = t.Plural + "/status", ["singularName"] = "", ["namespaced"] = t.Namespaced, ["kind"] = t.Kind, ["verbs"] = new JsonArray("get", "patch", "update") });
            }
            await Json(http, new JsonObject { ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}", ["resources"] = resources });
            return;
        }

        string? ns = null;
        if (rest.Length >= 3 && rest[0] == "namespaces" && ResourceTypes.Find(group, version, rest[2]) is { Namespaced: true })
        {
            ns = rest[1];
            rest = rest[2..];
        }
        var type = ResourceTypes.Find(group, version, rest[0]) ?? throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"the server could not find the requested resource ({path})");
        var name = rest.Length >= 2 ? rest[1] : null;
        var status = rest.Length >= 3 && rest[2] == "status";
        if (rest.Length >= 3 && !(status && type.HasStatus))
            throw new ApiError(HttpStatusCode.NotFound, "NotFound", $"the server could not find the requested resource ({path})");
        var query = http.Request.Query;
        var agent = http.Request.Headers.UserAgent.ToString();
        var manager = query["fieldManager"].ToString() is { Length: > 0 } fm ? fm : agent.Length > 0 ? agent.Split('/')[0] : user;
        var dryRun = query["dryRun"].ToString() == "All";
        if (method != "GET" && ReadOnlyUsers.Contains(user))
            throw new ApiError(HttpStatusCode.Forbidden, "Forbidden",
                $"{type.Plural}{(type.Group.Length == 0 ? "" : "." + type.Group)} \"{name}\" is forbidden: User \"{user}\" cannot {(method switch { "POST" => "create", "PUT" => "update", "DELETE" => "delete", _ => "patch" })} resource \"{type.Plural}\" in API group \"{type.Group}\"{(ns is null ? "" : $" in the namespace \"{ns}\"")}");
        var validation = query["fieldValidation"].ToString();

        switch (method)
        {
            case "GET" when name is null && (query["watch"] == "true" || query["watch"] == "1"):
                await Watch(http, type, ns, version, query);
                return;
            case "GET" when name is null:
                var selector = query["labelSelector"].ToString();
                var fields = query["fieldSelector"].ToString();
                var (items, listVersion) = Store.ListAt(type, ns, string.IsNullOrEmpty(selector) ? null : LabelSelector.Parse(selector), version,
                    string.IsNullOrEmpty(fields) ? null : FieldSelector.Parse(fields));
                foreach (var i in items) { i.Remove("apiVersion"); i.Remove("kind"); }
                await Json(http, new JsonObject
                {
                    ["kind"] = type.Kind + "List", ["apiVersion"] = group.Length == 0 ? version : $"{group}/{version}",
                    ["metadata"] = new JsonObject { ["resourceVersion"] = listVersion.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                    ["items"] = new JsonArray(items.ToArray<JsonNode>()),
                });
                return;
            case "GET":
                await Json(http, Store.Get(type, ns, name!, version) ?? throw NotFound(type, name!));
                return;
            case "POST" when name is null:
                var body = await Body(http) as JsonObject ?? throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "body must be an object");
                var bodyNs = body["metadata"]?["namespace"]?.GetValue<string>();
                if (type.Namespaced && ns is not null && bodyNs is not null && bodyNs != ns)
                    throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
                CheckFields(http, type, version, body, validation, ssa: false);
                await Json(http, Store.Create(type, type.Kind == "Namespace" ? null : ns ?? bodyNs, body, version, manager, dryRun, validate: true), HttpStatusCode.Created);
                return;
            case "PUT" when name is not null:
                var put = await Body(http) as JsonObject ?? throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "body must be an object");
                CheckFields(http, type, version, put, validation, ssa: false);
                await Json(http, Store.Update(type, ns, name, put, version, status, manager, dryRun, validate: true));
                return;
            case "PATCH" when name is not null:
                var contentType = http.Request.ContentType ?? "";
                var patch = await Body(http) as JsonObject ?? throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "body must be an object");
                if (contentType.StartsWith("application/apply-patch", StringComparison.Ordinal))
                {
                    if (string.IsNullOrEmpty(query["fieldManager"])) throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "PATCH with apply-patch requires fieldManager");
                    if (patch["metadata"]?["name"]?.GetValue<string>() is { } patchName && patchName != name)
                        throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", $"the name of the object ({patchName}) does not match the name on the URL ({name})");
                    if (type.Namespaced && patch["metadata"]?["namespace"]?.GetValue<string>() is { } patchNs && patchNs != ns)
                        throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
                    // Server-side apply rejects fields its schema does not declare unless told to ignore them.
                    CheckFields(http, type, version, patch, validation.Length == 0 ? "Strict" : validation, ssa: true);
                    var (obj, created, _) = Store.Apply(type, ns, name, patch, version, manager, query["force"] == "true", status, dryRun, validate: true);
                    await Json(http, obj, created ? HttpStatusCode.Created : HttpStatusCode.OK);
                }
                else if (contentType.StartsWith("application/merge-patch+json", StringComparison.Ordinal) || contentType.StartsWith("application/strategic-merge-patch+json", StringComparison.Ordinal))
                {
                    var strategic = contentType.StartsWith("application/strategic", StringComparison.Ordinal);
                    if (strategic && type.IsCustom)
                        throw new ApiError(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", "strategic merge patch format is not supported");
                    CheckFields(http, type, version, patch, validation, ssa: false);
                    await Json(http, Store.MergePatch(type, ns, name, patch, version, status, manager, strategic, dryRun, validate: true));
                }
                else throw new ApiError(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json");
                return;
            case "DELETE" when name is not null:
                var options = http.Request.ContentLength > 0 || http.Request.ContentType is not null ? await Body(http) as JsonObject : null;
                var propagation = query["propagationPolicy"].ToString() is { Length: > 0 } pq ? pq : options?["propagationPolicy"]?.GetValue<string>() ?? "Background";
                if (propagation is not ("Background" or "Foreground" or "Orphan"))
                    throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", $"propagationPolicy: Unsupported value: \"{propagation}\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
                dryRun |= (options?["dryRun"] as JsonArray)?.Any(d => d?.GetValue<string>() == "All") == true;
                // DeleteOptions.preconditions: delete only the object with this uid / resourceVersion (409 otherwise, as kube-apiserver).
                if (options?["preconditions"] is JsonObject pre && Store.Get(type, ns, name, version) is { } current)
                    foreach (var field in new[] { "uid", "resourceVersion" })
                        if (pre[field]?.GetValue<string>() is { Length: > 0 } want && current["metadata"]?[field]?.GetValue<string>() is { } have && want != have)
                            throw new ApiError(HttpStatusCode.Conflict, "Conflict",
                                $"Operation cannot be fulfilled on {type.Plural} \"{name}\": Precondition failed: {(field == "uid" ? "UID" : "ResourceVersion")} in precondition: {want}, {(field == "uid" ? "UID" : "ResourceVersion")} in object meta: {have}");
                var (removed, gone) = Store.DeleteWithResult(type, ns, name, propagation, dryRun);
                if (removed is null) throw NotFound(type, name);
                if (!gone)
                {
                    await Json(http, removed);
                    return;
                }
                await Json(http, new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Success",
                    ["details"] = new JsonObject { ["name"] = name, ["group"] = group, ["kind"] = type.Plural, ["uid"] = removed["metadata"]?["uid"]?.DeepClone() } });
                return;
            default:
                throw new ApiError(HttpStatusCode.MethodNotAllowed, "MethodNotAllowed", $"{method} is not allowed on {path}");
        }
    }

    /// <summary>
    /// Server-side field validation of a request body against the kind's schema: Strict rejects unknown fields (400,
    /// with their paths), Warn (the default) drops them with a Warning header, Ignore drops them silently.
    /// </summary>
    private void CheckFields(HttpContext http, ResourceType type, string version, JsonObject body, string validation, bool ssa)
    {
        if (validation.Length > 0 && validation is not ("Strict" or "Warn" or "Ignore"))
            throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", $"fieldValidation: Unsupported value: \"{validation}\": supported values: \"Ignore\", \"Strict\", \"Warn\"");
        var schema = Store.SchemaFor(type, version);
        if (schema is null) return;
        foreach (var (k, _) in body.ToList()) if (k.StartsWith('$')) body.Remove(k);
        var unknown = schema.UnknownFields(body).Where(p => p[^1].Field?.StartsWith('$') != true).ToList();
        if (unknown.Count == 0) return;
        if (validation == "Strict")
        {
            var gvk = $"{(type.Group.Length == 0 ? "" : type.Group + "/")}{version}, Kind={type.Kind}";
            throw ssa
                ? new ApiError(HttpStatusCode.BadRequest, "BadRequest",
                    $"failed to create typed patch object ({(type.Group.Length == 0 ? "/" : "")}{gvk}): {string.Join("; ", unknown.Select(u => ApiSchemas.Segment.Format(u, ssa: true) + ": field not declared in schema"))}")
                : new ApiError(HttpStatusCode.BadRequest, "BadRequest",
                    $"{type.Kind} in version \"{version}\" cannot be handled as a {type.Kind}: strict decoding error: {string.Join(", ", unknown.Select(u => $"unknown field \"{ApiSchemas.Segment.Format(u, ssa: false)}\""))}");
        }
        if (validation != "Ignore")
            foreach (var u in unknown) http.Response.Headers.Append("Warning", $"299 - \"unknown field \\\"{ApiSchemas.Segment.Format(u, ssa: false)}\\\"\"");
        schema.Prune(body);
    }

    /// <summary>
    /// A watch: the current objects (unless a resourceVersion is given), then every change, as JSON lines. From a
    /// resourceVersion, the changes since that version come first (kube-apiserver's watch cache), so a client that lists,
    /// then watches from the list's version (kubectl delete and wait do) misses nothing that happened in between; a
    /// version older than the history kept ends the watch with 410 Expired, as kube-apiserver does.
    /// </summary>
    private async Task Watch(HttpContext http, ResourceType type, string? ns, string version, IQueryCollection query)
    {
        var labels = query["labelSelector"].ToString() is { Length: > 0 } l ? LabelSelector.Parse(l) : null;
        var fields = query["fieldSelector"].ToString() is { Length: > 0 } f ? FieldSelector.Parse(f) : null;
        var timeout = int.TryParse(query["timeoutSeconds"], out var seconds) && seconds > 0 ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(5);
        var channel = System.Threading.Channels.Channel.CreateUnbounded<(string Type, JsonObject Object)>();
        bool Wanted(ResourceType t, JsonObject o) => t == type && (ns is null || o["metadata"]?["namespace"]?.GetValue<string>() == ns)
                                                      && (labels is null || labels.Matches(o["metadata"]?["labels"] as JsonObject)) && (fields is null || fields.Matches(o));
        void OnChanged(ResourceType t, JsonObject o, string verb)
        {
            if (Wanted(t, o)) channel.Writer.TryWrite((verb, o));
        }
        Store.Changed += OnChanged;
        try
        {
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/json";
            var rv = query["resourceVersion"].ToString();
            // Changes replayed from the history that may also reach OnChanged (they happened while it was subscribing): sent once.
            var replayed = new HashSet<(string, string?, string?)>();
            var backlog = new List<(string Type, JsonObject Object)>();
            static (string, string?, string?) Identity(string verb, JsonObject o) =>
                (verb, o["metadata"]?["uid"]?.GetValue<string>(), o["metadata"]?["resourceVersion"]?.ToString());
            if (rv.Length == 0 || rv == "0")
                foreach (var o in Store.List(type, ns, labels, version, fields)) channel.Writer.TryWrite(("ADDED", o));
            else if (long.TryParse(rv, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var since))
            {
                var history = Store.ChangesSince(since);
                if (history is null)
                {
                    await http.Response.WriteAsync(new JsonObject
                    {
                        ["type"] = "ERROR",
                        ["object"] = new JsonObject
                        {
                            ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure",
                            ["message"] = $"too old resource version: {since} ({Store.ResourceVersion})", ["reason"] = "Expired", ["code"] = 410,
                        },
                    }.ToJsonString() + "\n");
                    return;
                }
                foreach (var (t, o, verb) in history.Where(h => Wanted(h.Type, h.Object)))
                {
                    replayed.Add(Identity(verb, o));
                    backlog.Add((verb, o));
                }
            }
            await http.Response.StartAsync();
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            cts.CancelAfter(timeout);
            try
            {
                async Task Send((string Type, JsonObject Object) e)
                {
                    var obj = (JsonObject)e.Object.DeepClone();
                    obj["apiVersion"] = type.Group.Length == 0 ? version : $"{type.Group}/{version}";
                    await http.Response.WriteAsync(new JsonObject { ["type"] = e.Type, ["object"] = obj }.ToJsonString() + "\n", cts.Token);
                    await http.Response.Body.FlushAsync(cts.Token);
                }
                foreach (var e in backlog) await Send(e);
                while (await channel.Reader.WaitToReadAsync(cts.Token))
                    while (channel.Reader.TryRead(out var e))
                    {
                        if (replayed.Count == 0 || !replayed.Contains(Identity(e.Type, e.Object))) await Send(e);
                    }
            }
            catch (OperationCanceledException)
            {
            }
        }
        finally
        {
            Store.Changed -= OnChanged;
        }
    }

    /// <summary>
    /// OpenAPI v3 discovery, enough for kubectl to see that PATCH supports fieldValidation for every kind here (so it
    /// validates on the server instead of downloading schemas). Field validation is enforced on writes (<see cref="ApiSchemas"/>).
    /// </summary>
    private static JsonObject OpenApi(string[] gv)
    {
        var groupVersions = ResourceTypes.All.SelectMany(r => r.Versions.Select(v => (r.Group, Version: v))).Distinct().ToList();
        if (gv.Length == 0)
        {
            var paths = new JsonObject();
            foreach (var (g, v) in groupVersions)
            {
                var key = g.Length == 0 ? $"api/{v}" : $"apis/{g}/{v}";
                paths[key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{key}?hash=meshfed" };
            }
            return new JsonObject { ["paths"] = paths };
        }
        var (group, version) = gv[0] == "api" ? ("", gv[1]) : (gv[1], gv[2]);
        var docPaths = new JsonObject();
        foreach (var t in ResourceTypes.All.Where(r => r.Group == group && r.Versions.Contains(version)))
        {
            var basePath = group.Length == 0 ? $"/api/{version}" : $"/apis/{group}/{version}";
            var path = t.Namespaced ? $"{basePath}/namespaces/{{namespace}}/{t.Plural}/{{name}}" : $"{basePath}/{t.Plural}/{{name}}";
            docPaths[path] = new JsonObject
            {
                ["patch"] = new JsonObject
                {
                    ["operationId"] = $"patch{t.Kind}",
                    ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = group, ["kind"] = t.Kind, ["version"] = version },
                    ["parameters"] = new JsonArray(
                        new JsonObject { ["name"] = "fieldManager", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
                        new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
                        new JsonObject { ["name"] = "force", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "boolean" } }),
                    ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
                },
            };
        }
        return new JsonObject { ["openapi"] = "3.0.0", ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.32.0" }, ["paths"] = docPaths };
    }

    private static ApiError NotFound(ResourceType t, string name) =>
        new(HttpStatusCode.NotFound, "NotFound", $"{t.Plural}{(t.Group.Length == 0 ? "" : "." + t.Group)} \"{name}\" not found");

    private async Task<JsonNode?> Body(HttpContext http)
    {
        if (KubeProtobuf.IsProtobuf(http.Request.ContentType))
        {
            using var ms = new MemoryStream();
            await http.Request.Body.CopyToAsync(ms);
            return KubeProtobuf.Decode(ms.ToArray());
        }
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            var trimmed = text.TrimStart();
            return trimmed.StartsWith('{') ? JsonNode.Parse(text) : _yaml.Parse(text, "request").FirstOrDefault()?.ToJson();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or MeshFederation.Engine.Validation.MeshFederationException)
        {
            throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "the request body is not valid JSON or YAML: " + e.Message);
        }
    }

    private static async Task Json(HttpContext http, JsonNode body, HttpStatusCode code = HttpStatusCode.OK)
    {
        http.Response.StatusCode = (int)code;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body.ToJsonString());
    }

    private static Task Status(HttpContext http, HttpStatusCode code, string reason, string message) =>
        Json(http, new JsonObject
        {
            ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure",
            ["message"] = message, ["reason"] = reason, ["code"] = (int)code,
        }, code);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Store.Dispose();
        _serverCert.Dispose();
    }
}
