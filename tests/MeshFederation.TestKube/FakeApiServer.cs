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
/// An in-process Kubernetes API server on 127.0.0.1 over HTTPS (HTTP/1.1 and HTTP/2) for tests: bearer tokens and
/// client certificates, discovery, CRUD, server-side apply with managedFields, the status subresource,
/// resourceVersion conflicts, label selectors, namespaces and fault injection. Real kubectl works against it.
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
    }

    public string Name { get; }

    public ObjectStore Store { get; } = new();

    public FaultOptions Faults { get; } = new();

    /// <summary>API groups this cluster pretends not to serve (an operator that is not installed).</summary>
    public HashSet<string> HiddenGroups { get; } = new(StringComparer.Ordinal);

    /// <summary>Bearer tokens accepted, token to user name. A JWT whose exp has passed is rejected, as kube-apiserver does.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, string> Tokens { get; } = new(StringComparer.Ordinal);

    /// <summary>Users in system:masters: SelfSubjectAccessReviews allow them everything; everyone else is judged by RBAC.</summary>
    public HashSet<string> Admins { get; } = new(StringComparer.Ordinal) { "admin" };

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
        var query = http.Request.Query;
        var manager = query["fieldManager"].ToString() is { Length: > 0 } fm ? fm : user;

        switch (method)
        {
            case "GET" when name is null:
                var selector = query["labelSelector"].ToString();
                var items = Store.List(type, ns, string.IsNullOrEmpty(selector) ? null : LabelSelector.Parse(selector), version);
                foreach (var i in items) { i.Remove("apiVersion"); i.Remove("kind"); }
                await Json(http, new JsonObject
                {
                    ["kind"] = type.Kind + "List", ["apiVersion"] = group.Length == 0 ? version : $"{group}/{version}",
                    ["metadata"] = new JsonObject { ["resourceVersion"] = Store.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                    ["items"] = new JsonArray(items.ToArray<JsonNode>()),
                });
                return;
            case "GET":
                await Json(http, Store.Get(type, ns, name!, version) ?? throw NotFound(type, name!));
                return;
            case "POST" when name is null:
                var body = await Body(http) as JsonObject ?? throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "body must be an object");
                await Json(http, Store.Create(type, type.Kind == "Namespace" ? null : ns ?? body["metadata"]?["namespace"]?.GetValue<string>(), body, version, manager), HttpStatusCode.Created);
                return;
            case "PUT" when name is not null:
                var put = await Body(http) as JsonObject ?? throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "body must be an object");
                await Json(http, Store.Update(type, ns, name, put, version, status, manager));
                return;
            case "PATCH" when name is not null:
                var contentType = http.Request.ContentType ?? "";
                var patch = await Body(http) as JsonObject ?? throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "body must be an object");
                if (contentType.StartsWith("application/apply-patch", StringComparison.Ordinal))
                {
                    if (string.IsNullOrEmpty(query["fieldManager"])) throw new ApiError(HttpStatusCode.BadRequest, "BadRequest", "PATCH with apply-patch requires fieldManager");
                    var (obj, created, _) = Store.Apply(type, ns, name, patch, version, manager, query["force"] == "true", status);
                    await Json(http, obj, created ? HttpStatusCode.Created : HttpStatusCode.OK);
                }
                else if (contentType.StartsWith("application/merge-patch+json", StringComparison.Ordinal) || contentType.StartsWith("application/strategic-merge-patch+json", StringComparison.Ordinal))
                    await Json(http, Store.MergePatch(type, ns, name, patch, version, status, manager));
                else throw new ApiError(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", $"the body of the request was in an unknown format ({contentType})");
                return;
            case "DELETE" when name is not null:
                var removed = Store.Delete(type, ns, name) ?? throw NotFound(type, name);
                await Json(http, new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Success",
                    ["details"] = new JsonObject { ["name"] = name, ["group"] = group, ["kind"] = type.Plural, ["uid"] = removed["metadata"]?["uid"]?.DeepClone() } });
                return;
            default:
                throw new ApiError(HttpStatusCode.MethodNotAllowed, "MethodNotAllowed", $"{method} is not allowed on {path}");
        }
    }

    /// <summary>
    /// OpenAPI v3 discovery, enough for kubectl to see that PATCH supports fieldValidation for every kind here (so it
    /// validates on the server instead of downloading schemas). Field validation itself is not enforced by this server.
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
        if ((http.Request.ContentType ?? "").Contains("protobuf", StringComparison.Ordinal))
            throw new ApiError(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", "this test server speaks JSON and YAML only, not protobuf; use kubectl apply");
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
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
        _serverCert.Dispose();
    }
}
