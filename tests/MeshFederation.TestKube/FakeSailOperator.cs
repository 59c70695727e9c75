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
                    if (revisions) PublishRoot(istioNamespace, restart: true);
                }
                catch (ApiError)
                {
                }
            }
            if (ReadyDelay <= TimeSpan.Zero) Reconcile();
            else _ = Task.Delay(ReadyDelay).ContinueWith(_ => Reconcile(), TaskScheduler.Default);
        }
        else if (type.Kind == "Secret" && name == "cacerts" && ns is not null && !CacertsWatchPaused) PublishRoot(ns);
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

    /// <summary>istiod hangs (or its file watch lags): changes to cacerts are not taken up until <see cref="ResumeCacertsWatch"/>.</summary>
    public bool CacertsWatchPaused { get; set; }

    /// <summary>istiod's watch works again: it reloads cacerts of the namespace now.</summary>
    public void ResumeCacertsWatch(string ns)
    {
        CacertsWatchPaused = false;
        PublishRoot(ns);
    }

    /// <summary>What istiod logged about its CA (loads, reloads, ignored and refused root changes), oldest first.</summary>
    public List<string> IstiodLog { get; } = new();

    /// <summary>The roots istiod of a namespace trusts now (PEM each), empty when it is not running.</summary>
    public IReadOnlyList<string> IstiodRoots(string ns) { lock (_gate) return _ca.TryGetValue(ns, out var ca) ? ca.Roots.ToList() : new List<string>(); }

    /// <summary>The intermediate istiod of a namespace signs with now (ca-cert.pem), null when it self-signs or is not running.</summary>
    public string? IstiodIntermediate(string ns) { lock (_gate) return _ca.TryGetValue(ns, out var ca) ? ca.CaCertPem : null; }

    private sealed class IstiodCa
    {
        public List<string> Roots { get; set; } = new();

        public string? CaCertPem { get; set; }
    }

    private readonly Dictionary<string, IstiodCa> _ca = new(StringComparer.Ordinal);

    private static List<string> SplitPem(string pem)
    {
        var certs = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        try
        {
            certs.ImportFromPem(pem);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return new List<string>();
        }
        var list = certs.Select(c => c.ExportCertificatePem() + "\n").Distinct().ToList();
        foreach (var c in certs) c.Dispose();
        return list;
    }

    /// <summary>
    /// What istiod does with its CA (istio pilot/pkg/bootstrap/istio_ca.go): at start it loads cacerts (root-cert.pem,
    /// ca-cert.pem), else makes a self-signed root; it watches cacerts and reloads it live, but a change of the roots
    /// is ignored unless ISTIO_MULTIROOT_MESH is "true" (spec.values.pilot.env of the Istio), and then accepted only when
    /// the new bundle is a superset or a subset of the current one (otherwise the whole reload is refused). It
    /// publishes the roots it trusts in ConfigMap istio-ca-root-cert, and reports its CA on its monitoring port 15014
    /// (citadel_server_root_cert_expiry_timestamp, citadel_server_cert_chain_expiry_timestamp).
    /// </summary>
    private void PublishRoot(string ns, bool restart = false)
    {
        if (_server.Store.Get(ResourceTypes.ByKind("v1", "Namespace")!, null, ns, "v1") is null) return;
        // Only a running istiod loads and publishes.
        var istio = _server.Store.List(ResourceTypes.ByKind("sailoperator.io/v1", "Istio")!, null, null, "v1")
            .FirstOrDefault(i => (i["spec"]?["namespace"]?.GetValue<string>() ?? "istio-system") == ns);
        if (istio is null) return;
        var multiRoot = istio["spec"]?["values"]?["pilot"]?["env"]?["ISTIO_MULTIROOT_MESH"]?.ToString() == "true";
        var cacerts = _server.Store.Get(ResourceTypes.ByKind("v1", "Secret")!, ns, "cacerts", "v1");
        string Data(string key) => cacerts?["data"]?[key]?.GetValue<string>() is { Length: > 0 } b64 ? Encoding.UTF8.GetString(Convert.FromBase64String(b64)) : "";
        List<string> roots;
        string? caCert = null;
        if (Data("root-cert.pem") is { Length: > 0 } rootPem)
        {
            roots = SplitPem(rootPem);
            caCert = Data("ca-cert.pem") is { Length: > 0 } c ? c : null;
        }
        else
        {
            lock (_gate) roots = new List<string> { (_selfSignedRoot ??= TestPki.RootCertificatePem("istiod-" + _server.Name)) };
        }
        List<string> accepted;
        lock (_gate)
        {
            if (restart || !_ca.TryGetValue(ns, out var current))
            {
                _ca[ns] = new IstiodCa { Roots = roots, CaCertPem = caCert };
                IstiodLog.Add($"{ns}: loaded CA ({roots.Count} root(s))");
            }
            else if (roots.ToHashSet().SetEquals(current.Roots))
            {
                if (current.CaCertPem != caCert) IstiodLog.Add($"{ns}: reloaded intermediate");
                current.CaCertPem = caCert;
            }
            else if (!multiRoot)
            {
                IstiodLog.Add($"{ns}: root certificate changed; ignored (ISTIO_MULTIROOT_MESH is not true): restart istiod to take it up");
                return;
            }
            else if (roots.ToHashSet().IsSupersetOf(current.Roots) || roots.ToHashSet().IsSubsetOf(current.Roots))
            {
                IstiodLog.Add($"{ns}: trust bundle updated ({current.Roots.Count} -> {roots.Count} root(s))");
                current.Roots = roots;
                current.CaCertPem = caCert;
            }
            else
            {
                IstiodLog.Add($"{ns}: refused new trust bundle: neither a superset nor a subset of the current one");
                return;
            }
            accepted = _ca[ns].Roots.ToList();
        }
        _server.ServiceProxies[$"{ns}/istiod:15014"] = path => path == "/metrics" ? Metrics(ns) : null;
        if (_server.Store.Get(ResourceTypes.ByKind("v1", "Service")!, ns, "istiod", "v1") is null)
            _server.Store.Upsert(new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Service",
                ["metadata"] = new JsonObject { ["name"] = "istiod", ["namespace"] = ns, ["labels"] = new JsonObject { ["app"] = "istiod", ["istio"] = "pilot" } },
                ["spec"] = new JsonObject
                {
                    ["selector"] = new JsonObject { ["app"] = "istiod" },
                    ["ports"] = new JsonArray(
                        new JsonObject { ["name"] = "grpc-xds", ["port"] = 15010 }, new JsonObject { ["name"] = "https-dns", ["port"] = 15012 },
                        new JsonObject { ["name"] = "https-webhook", ["port"] = 443, ["targetPort"] = 15017 }, new JsonObject { ["name"] = "http-monitoring", ["port"] = 15014 }),
                },
            }, "sail-operator");
        // istiod publishes the file it loaded as it is; an older bundle it kept is published as it had it.
        var raw = Data("root-cert.pem");
        var bundle = raw.Length > 0 && accepted.ToHashSet().SetEquals(roots) ? raw : string.Concat(accepted);
        var existing = _server.Store.Get(ResourceTypes.ByKind("v1", "ConfigMap")!, ns, "istio-ca-root-cert", "v1");
        if (existing?["data"]?["root-cert.pem"]?.GetValue<string>() == bundle) return;
        _server.Store.Upsert(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "istio-ca-root-cert", ["namespace"] = ns, ["labels"] = new JsonObject { ["istio.io/config"] = "true" } },
            ["data"] = new JsonObject { ["root-cert.pem"] = bundle },
        }, "istiod");
    }

    /// <summary>istiod's /metrics (port 15014): the expiry of its first root and of the chain it signs with, as Prometheus text.</summary>
    private string? Metrics(string ns)
    {
        IstiodCa? ca;
        lock (_gate) ca = _ca.TryGetValue(ns, out var c) ? new IstiodCa { Roots = c.Roots.ToList(), CaCertPem = c.CaCertPem } : null;
        if (ca is null) return null;
        static double Expiry(string pem)
        {
            using var cert = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(pem);
            return new DateTimeOffset(cert.NotAfter.ToUniversalTime()).ToUnixTimeSeconds();
        }
        var sb = new StringBuilder();
        void Gauge(string name, string help, double value)
        {
            sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(" gauge\n");
            sb.Append(name).Append(' ').Append(value.ToString("0.#########e+00", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }
        sb.Append("# HELP istio_build Istio component build info\n# TYPE istio_build gauge\nistio_build{component=\"pilot\",tag=\"1.24.3\"} 1\n");
        Gauge("citadel_server_root_cert_expiry_timestamp", "The unix timestamp, in seconds, when Citadel root cert will expire. A negative time indicates the cert is expired.", Expiry(ca.Roots[0]));
        Gauge("citadel_server_cert_chain_expiry_timestamp", "The unix timestamp, in seconds, when Citadel cert chain will expire. A negative time indicates the cert is expired.", Expiry(ca.CaCertPem ?? ca.Roots[0]));
        return sb.ToString();
    }
}
