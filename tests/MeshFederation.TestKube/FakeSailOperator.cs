using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace MeshFederation.TestKube;

/// <summary>
/// Stands in for what runs in a Sail-operator cluster besides the API server: the Sail operator marks an Istio and an
/// IstioCNI Ready with status.observedGeneration (after <see cref="ReadyDelay"/>; until then the status is the previous
/// generation's); istiod publishes its root (the cacerts root, else a self-made one) in
/// ConfigMap istio-ca-root-cert; kube-controller-manager's token controller fills service-account-token Secrets with a
/// service-account JWT the API server then accepts (only once their ServiceAccount exists, as the real one does) and
/// revokes when the Secret or its ServiceAccount is deleted; and a load balancer gives the east-west gateway Service
/// an address.
/// </summary>
public sealed class FakeSailOperator
{
    private readonly FakeApiServer _server;
    private readonly string _ipPrefix;
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private int _nextIp = 50;
    private string? _selfSignedRoot;

    public FakeSailOperator(FakeApiServer server, string ipPrefix)
    {
        _server = server;
        _ipPrefix = ipPrefix;
        server.Store.Changed += OnChanged;
    }

    /// <summary>The token issued into a service-account-token Secret ("namespace/name").</summary>
    public string TokenOf(string ns, string secret) { lock (_gate) return _tokens[$"{ns}/{secret}"]; }

    /// <summary>Delay before the operator reconciles a new generation of an Istio or IstioCNI.</summary>
    public TimeSpan ReadyDelay { get; set; }

    /// <summary>The address given to the east-west gateway.</summary>
    public string? GatewayAddress { get; private set; }

    /// <summary>A service-account token as the legacy token controller issues it: a JWT naming the account (signature not checked here).</summary>
    public static string ServiceAccountJwt(string ns, string serviceAccount, string secret, DateTimeOffset? expires = null)
    {
        static string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var payload = new JsonObject
        {
            ["iss"] = "kubernetes/serviceaccount", ["kubernetes.io/serviceaccount/namespace"] = ns, ["kubernetes.io/serviceaccount/secret.name"] = secret,
            ["kubernetes.io/serviceaccount/service-account.name"] = serviceAccount, ["sub"] = $"system:serviceaccount:{ns}:{serviceAccount}",
        };
        if (expires is { } e) payload["exp"] = e.ToUnixTimeSeconds();
        return $"{B64("""{"alg":"RS256","kid":"meshfed-test"}""")}.{B64(payload.ToJsonString())}.{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
    }

    private JsonObject ReadyStatus(JsonObject obj, bool revisions)
    {
        var status = new JsonObject
        {
            ["observedGeneration"] = obj["metadata"]?["generation"]?.DeepClone() ?? 1,
            ["state"] = "Healthy",
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "Reconciled", ["status"] = "True", ["reason"] = "Healthy" },
                new JsonObject { ["type"] = "Ready", ["status"] = "True", ["reason"] = "Healthy" }),
        };
        if (revisions) status["revisions"] = new JsonObject { ["total"] = 1, ["ready"] = 1, ["inUse"] = 1 };
        return status;
    }

    private void OnChanged(ResourceType type, JsonObject obj, string verb)
    {
        var md = obj["metadata"]!;
        var name = md["name"]!.GetValue<string>();
        var ns = md["namespace"]?.GetValue<string>();
        if (verb == "DELETED")
        {
            // Deleting a token Secret, or its ServiceAccount, revokes the token.
            if (type.Kind == "Secret" && obj["type"]?.GetValue<string>() == "kubernetes.io/service-account-token") Revoke(t => t == $"{ns}/{name}");
            else if (type.Kind == "ServiceAccount")
                foreach (var s in _server.Store.List(ResourceTypes.ByKind("v1", "Secret")!, ns, null, "v1")
                             .Where(s => s["metadata"]?["annotations"]?["kubernetes.io/service-account.name"]?.GetValue<string>() == name))
                    Revoke(t => t == $"{ns}/{s["metadata"]!["name"]!.GetValue<string>()}");
            return;
        }
        if (type.Kind is "Istio" or "IstioCNI" && md["deletionTimestamp"] is null
            && ObjectStore.Number(obj["status"]?["observedGeneration"]) != (ObjectStore.Number(md["generation"]) ?? 1))
        {
            // The operator reconciles the generation it saw, after a delay; until then the status is the previous one's.
            var generation = ObjectStore.Number(md["generation"]) ?? 1;
            var revisions = type.Kind == "Istio";
            var istioNamespace = obj["spec"]?["namespace"]?.GetValue<string>() ?? "istio-system";
            void Reconcile()
            {
                try
                {
                    _server.Store.UpdateStatus(type, null, name, live => (ObjectStore.Number(live["metadata"]?["generation"]) ?? 1) != generation
                        ? live["status"]?.DeepClone()
                        : ReadyStatus(live, revisions), "sail-operator");
                    if (revisions) PublishRoot(istioNamespace);
                }
                catch (ApiError)
                {
                }
            }
            if (ReadyDelay <= TimeSpan.Zero) Reconcile();
            else _ = Task.Delay(ReadyDelay).ContinueWith(_ => Reconcile(), TaskScheduler.Default);
        }
        else if (type.Kind == "Secret" && name == "cacerts" && ns is not null) PublishRoot(ns);
        else if (type.Kind == "Secret" && obj["type"]?.GetValue<string>() == "kubernetes.io/service-account-token" && obj["data"]?["token"] is null)
        {
            var sa = md["annotations"]?["kubernetes.io/service-account.name"]?.GetValue<string>();
            if (sa is null || _server.Store.Get(ResourceTypes.ByKind("v1", "ServiceAccount")!, ns, sa, "v1") is null) return;
            var token = ServiceAccountJwt(ns!, sa, name);
            lock (_gate) _tokens[$"{ns}/{name}"] = token;
            _server.Tokens[token] = $"system:serviceaccount:{ns}:{sa}";
            var secret = (JsonObject)obj.DeepClone();
            secret["data"] = new JsonObject
            {
                ["token"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(token)),
                ["ca.crt"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(_server.CaPem)),
                ["namespace"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(ns ?? "")),
            };
            _server.Store.Upsert(secret, "kube-controller-manager");
        }
        else if (type.Kind == "ServiceAccount")
        {
            // A token Secret created before its ServiceAccount is filled once the ServiceAccount appears.
            foreach (var s in _server.Store.List(ResourceTypes.ByKind("v1", "Secret")!, ns, null, "v1")
                         .Where(s => s["metadata"]?["annotations"]?["kubernetes.io/service-account.name"]?.GetValue<string>() == name && s["data"]?["token"] is null))
                OnChanged(ResourceTypes.ByKind("v1", "Secret")!, s, "MODIFIED");
        }
        else if (type.Kind == "Service" && name == "istio-eastwestgateway" && obj["spec"]?["type"]?.GetValue<string>() == "LoadBalancer" && obj["status"]?["loadBalancer"]?["ingress"] is null)
        {
            string ip;
            lock (_gate) ip = GatewayAddress ??= _ipPrefix + _nextIp++;
            var svc = (JsonObject)obj.DeepClone();
            svc["status"] = new JsonObject { ["loadBalancer"] = new JsonObject { ["ingress"] = new JsonArray(new JsonObject { ["ip"] = ip }) } };
            _server.Store.Upsert(svc, "cloud-controller");
        }
    }

    private void Revoke(Func<string, bool> which)
    {
        List<string> revoked;
        lock (_gate)
        {
            revoked = _tokens.Where(kv => which(kv.Key)).Select(kv => kv.Value).ToList();
            foreach (var k in _tokens.Where(kv => which(kv.Key)).Select(kv => kv.Key).ToList()) _tokens.Remove(k);
        }
        foreach (var t in revoked) _server.Tokens.TryRemove(t, out _);
    }

    /// <summary>What istiod does: publish the root it trusts (cacerts' root-cert.pem, else its self-signed root) in istio-ca-root-cert.</summary>
    private void PublishRoot(string ns)
    {
        var cacerts = _server.Store.Get(ResourceTypes.ByKind("v1", "Secret")!, ns, "cacerts", "v1");
        string root;
        if (cacerts?["data"]?["root-cert.pem"]?.GetValue<string>() is { Length: > 0 } b64) root = Encoding.UTF8.GetString(Convert.FromBase64String(b64));
        else
        {
            lock (_gate) root = _selfSignedRoot ??= TestPki.RootCertificatePem("istiod-" + _server.Name);
        }
        if (_server.Store.Get(ResourceTypes.ByKind("v1", "Namespace")!, null, ns, "v1") is null) return;
        // Only a running istiod publishes it.
        if (!_server.Store.List(ResourceTypes.ByKind("sailoperator.io/v1", "Istio")!, null, null, "v1").Any(i => (i["spec"]?["namespace"]?.GetValue<string>() ?? "istio-system") == ns)) return;
        var existing = _server.Store.Get(ResourceTypes.ByKind("v1", "ConfigMap")!, ns, "istio-ca-root-cert", "v1");
        if (existing?["data"]?["root-cert.pem"]?.GetValue<string>() == root) return;
        _server.Store.Upsert(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "istio-ca-root-cert", ["namespace"] = ns, ["labels"] = new JsonObject { ["istio.io/config"] = "true" } },
            ["data"] = new JsonObject { ["root-cert.pem"] = root },
        }, "istiod");
    }
}
