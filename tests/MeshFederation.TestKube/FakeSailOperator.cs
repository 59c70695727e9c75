using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace MeshFederation.TestKube;

/// <summary>
/// Stands in for what runs in a Sail-operator cluster besides the API server: the Sail operator marks an Istio and an
/// IstioCNI Ready with status.observedGeneration (after <see cref="ReadyDelay"/>),
/// kube-controller-manager's token controller fills service-account-token Secrets (only once their ServiceAccount
/// exists, as the real one does), and a load balancer gives the east-west gateway Service an address.
/// </summary>
public sealed class FakeSailOperator
{
    private readonly FakeApiServer _server;
    private readonly string _ipPrefix;
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private int _nextIp = 50;

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

    private void OnChanged(ResourceType type, JsonObject obj, string verb)
    {
        if (verb == "DELETED") return;
        var md = obj["metadata"]!;
        var name = md["name"]!.GetValue<string>();
        var ns = md["namespace"]?.GetValue<string>();
        if (type.Kind is "Istio" or "IstioCNI" && md["deletionTimestamp"] is null
            && ObjectStore.Number(obj["status"]?["observedGeneration"]) != (ObjectStore.Number(md["generation"]) ?? 1))
        {
            // The operator reconciles the generation it saw, after a delay; until then the status is the previous one's.
            var generation = ObjectStore.Number(md["generation"]) ?? 1;
            void Reconcile()
            {
                try
                {
                    _server.Store.UpdateStatus(type, null, name, live => (ObjectStore.Number(live["metadata"]?["generation"]) ?? 1) != generation ? live["status"]?.DeepClone() : new JsonObject
                    {
                        ["observedGeneration"] = generation,
                        ["state"] = "Healthy",
                        ["conditions"] = new JsonArray(
                            new JsonObject { ["type"] = "Reconciled", ["status"] = "True" },
                            new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                        ["revisions"] = new JsonObject { ["total"] = 1, ["ready"] = 1, ["inUse"] = 1 },
                    }, "sail-operator");
                }
                catch (ApiError)
                {
                }
            }
            if (ReadyDelay <= TimeSpan.Zero) Reconcile();
            else _ = Task.Delay(ReadyDelay).ContinueWith(_ => Reconcile(), TaskScheduler.Default);
        }
        else if (type.Kind == "Secret" && obj["type"]?.GetValue<string>() == "kubernetes.io/service-account-token" && obj["data"]?["token"] is null)
        {
                var sa = md["annotations"]?["kubernetes.io/service-account.name"]?.GetValue<string>();
                if (sa is null || _server.Store.Get(ResourceTypes.ByKind("v1", "ServiceAccount")!, ns, sa, "v1") is null) return;
                var token = "eyJ" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
                lock (_gate) _tokens[$"{ns}/{name}"] = token;
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
}
