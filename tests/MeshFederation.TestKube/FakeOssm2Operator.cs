using System.Text.Json.Nodes;

namespace MeshFederation.TestKube;

/// <summary>
/// Stands in for the OpenShift Service Mesh 2 operator (and the istiod it runs) on a test cluster. For every
/// ServiceMeshControlPlane it adds its finalizer, and after <see cref="ReadyDelay"/> reconciles the generation it saw:
/// istiod publishes the mesh's root certificate (ConfigMap istio-ca-root-cert, which istiod owns, so it outlives the
/// SMCP; without cacerts it signs with a root of its own, kept in Secret istio-ca-secret as real istiod does), the operator creates the istiod Deployment and a Service per federation gateway (LoadBalancer ones get an
/// address) owned by the SMCP through ownerReferences, and sets status.observedGeneration and Ready. Until then the
/// status is the previous generation's, as on a real cluster. When the SMCP is deleted it removes its finalizer after
/// <see cref="CleanupDelay"/>; the garbage collector removes what the SMCP owned after that.
/// </summary>
public sealed class FakeOssm2Operator
{
    public const string Finalizer = "maistra.io/istio-operator";
    private static readonly ResourceType SmcpType = ResourceTypes.ByKind("maistra.io/v2", "ServiceMeshControlPlane")!;
    private static readonly ResourceType SecretType = ResourceTypes.ByKind("v1", "Secret")!;
    private static readonly ResourceType NamespaceType = ResourceTypes.ByKind("v1", "Namespace")!;
    private static readonly ResourceType DeploymentType = ResourceTypes.ByKind("apps/v1", "Deployment")!;
    private readonly FakeApiServer _server;
    private readonly string _ipPrefix;
    private readonly Dictionary<string, string> _roots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _addresses = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private int _nextIp = 10;

    public FakeOssm2Operator(FakeApiServer server, string ipPrefix, IReadOnlyList<string>? nodeAddresses = null)
    {
        _server = server;
        _ipPrefix = ipPrefix;
        var i = 1;
        foreach (var a in nodeAddresses ?? new[] { ipPrefix + "201", ipPrefix + "202" })
            server.Store.Upsert(new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Node", ["metadata"] = new JsonObject { ["name"] = $"{server.Name}-node-{i++}" },
                ["status"] = new JsonObject { ["addresses"] = new JsonArray(new JsonObject { ["type"] = "InternalIP", ["address"] = a }) },
            });
        server.Store.Changed += OnChanged;
    }

    /// <summary>Delay before the operator reconciles a new generation (before that, status is the previous one's).</summary>
    public TimeSpan ReadyDelay { get; set; }

    /// <summary>Delay between an SMCP's deletion and the removal of the operator's finalizer.</summary>
    public TimeSpan CleanupDelay { get; set; } = TimeSpan.FromMilliseconds(30);

    /// <summary>When false, LoadBalancer Services stay pending (no address).</summary>
    public bool AssignLoadBalancerAddresses { get; set; } = true;

    /// <summary>The root certificate published for a mesh (istio-ca-root-cert).</summary>
    public string RootOf(string mesh) { lock (_gate) return _roots[mesh]; }

    /// <summary>What the istiods did, for assertions (restarts and the root they published).</summary>
    public List<string> IstiodLog { get; } = new();

    /// <summary>The LoadBalancer address given to a gateway Service.</summary>
    public string AddressOf(string gateway) { lock (_gate) return _addresses[gateway]; }

    private void OnChanged(ResourceType type, JsonObject obj, string verb)
    {
        if (type.Kind == "Pod" && verb == "DELETED" && obj["metadata"]?["labels"]?["app"]?.GetValue<string>() == "istiod")
        {
            // istiod restarted (its pod deleted, as oc rollout restart does): the new one reads its CA secret again.
            var podNs = obj["metadata"]!["namespace"]!.GetValue<string>();
            // Only while its Deployment exists in a namespace that is not going away does a new pod start.
            if (_server.Store.Get(NamespaceType, null, podNs, "v1")?["metadata"]?["deletionTimestamp"] is not null) return;
            foreach (var s in _server.Store.List(SmcpType, podNs, null, "v2"))
            {
                var smcpName = s["metadata"]!["name"]!.GetValue<string>();
                if (obj["metadata"]!["name"]!.GetValue<string>() == $"istiod-{smcpName}-0" && _server.Store.Get(DeploymentType, podNs, $"istiod-{smcpName}", "v1") is not null)
                    After(ReadyDelay, () => Reconcile(podNs, smcpName, ObjectStore.Number(s["metadata"]?["generation"]) ?? 1, restart: true));
            }
            return;
        }
        if (type.Kind != "ServiceMeshControlPlane" || verb == "DELETED") return;
        var md = obj["metadata"]!;
        var ns = md["namespace"]!.GetValue<string>();
        var name = md["name"]!.GetValue<string>();
        if (md["deletionTimestamp"] is not null)
        {
            After(CleanupDelay, () => _server.Store.RemoveFinalizer(SmcpType, ns, name, Finalizer));
            return;
        }
        if ((md["finalizers"] as JsonArray)?.Any(f => f?.GetValue<string>() == Finalizer) != true)
        {
            var live = _server.Store.Get(SmcpType, ns, name, "v2");
            if (live is null) return;
            var finalizers = live["metadata"]!["finalizers"] as JsonArray ?? new JsonArray();
            finalizers.Add(Finalizer);
            live["metadata"]!["finalizers"] = finalizers;
            (live["metadata"] as JsonObject)!.Remove("resourceVersion");
            Try(() => _server.Store.Update(SmcpType, ns, name, live, "v2", status: false, "istio-operator"));
            return; // the finalizer's own MODIFIED event reconciles
        }
        var generation = ObjectStore.Number(md["generation"]) ?? 1;
        if (ObjectStore.Number(obj["status"]?["observedGeneration"]) == generation) return;
        After(ReadyDelay, () => Reconcile(ns, name, generation));
    }

    private void After(TimeSpan delay, Action action)
    {
        if (delay <= TimeSpan.Zero) Try(action);
        else _ = Task.Delay(delay).ContinueWith(_ => Try(action), TaskScheduler.Default);
    }

    private static void Try(Action action)
    {
        try
        {
            action();
        }
        catch (ApiError)
        {
            // The object or its namespace went away meanwhile; the next event reconciles.
        }
    }

    private static JsonObject Labels(JsonObject? labels, string ns)
    {
        var l = (JsonObject?)labels?.DeepClone() ?? new JsonObject();
        l["maistra.io/owner"] = ns;
        return l;
    }

    private static JsonArray OwnedBy(JsonObject owner, string apiVersion, string kind) => new(new JsonObject
    {
        ["apiVersion"] = apiVersion, ["kind"] = kind, ["name"] = owner["metadata"]!["name"]!.DeepClone(), ["uid"] = owner["metadata"]!["uid"]!.DeepClone(),
        ["controller"] = true, ["blockOwnerDeletion"] = true,
    });

    private void Reconcile(string ns, string name, long generation, bool restart = false)
    {
        var store = _server.Store;
        var smcp = store.Get(SmcpType, ns, name, "v2");
        if (smcp is null || smcp["metadata"]?["deletionTimestamp"] is not null) return;
        if ((ObjectStore.Number(smcp["metadata"]?["generation"]) ?? 1) != generation) return; // a newer generation is pending
        string root;
        lock (_gate)
        {
            // istiod signs with a plugged-in CA (Secret cacerts, root-cert.pem published) when it finds one at start,
            // else with its self-made root. Like istiod with ISTIO_MULTIROOT_MESH off (OSSM 2's default), a running
            // istiod does not take up a changed root: only a restart (its pod deleted) reads cacerts again.
            var cacerts = store.Get(SecretType, ns, "cacerts", "v1")?["data"]?["root-cert.pem"]?.GetValue<string>();
            if (cacerts is not null && (restart || !_roots.ContainsKey(name)))
                _roots[name] = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(cacerts));
            if (!_roots.TryGetValue(name, out root!))
            {
                // Self-signed mode, as istiod (istio pkg/security/pkg/pki/ca) without cacerts: it makes a root and keeps
                // it in Secret istio-ca-secret (type istio.io/ca-root; ca-cert.pem = root-cert.pem = the root, ca-key.pem).
                var (pem, key) = TestPki.RootCertificate(name);
                _roots[name] = root = pem;
                static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s));
                if (store.Get(SecretType, ns, "istio-ca-secret", "v1") is null)
                    store.Upsert(new JsonObject
                    {
                        ["apiVersion"] = "v1", ["kind"] = "Secret", ["type"] = "istio.io/ca-root",
                        ["metadata"] = new JsonObject { ["name"] = "istio-ca-secret", ["namespace"] = ns },
                        ["data"] = new JsonObject { ["ca-cert.pem"] = B64(pem), ["ca-key.pem"] = B64(key), ["cert-chain.pem"] = "", ["key.pem"] = "", ["root-cert.pem"] = B64(pem) },
                    }, "pilot-discovery");
            }
            if (restart) IstiodLog.Add($"{ns}/istiod-{name} restarted: published root {(cacerts is null ? "self-signed" : "from cacerts")}");
        }
        store.Upsert(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "istio-ca-root-cert", ["namespace"] = ns, ["labels"] = new JsonObject { ["istio.io/config"] = "true" } },
            ["data"] = new JsonObject { ["root-cert.pem"] = root },
        }, "pilot-discovery");
        var deployment = store.Upsert(new JsonObject
        {
            ["apiVersion"] = "apps/v1", ["kind"] = "Deployment",
            ["metadata"] = new JsonObject
            {
                ["name"] = "istiod-" + name, ["namespace"] = ns, ["labels"] = new JsonObject { ["app"] = "istiod", ["maistra.io/owner"] = ns },
                ["ownerReferences"] = OwnedBy(smcp, "maistra.io/v2", "ServiceMeshControlPlane"),
            },
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "istiod" } },
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = "istiod" } },
                    ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "discovery", ["image"] = "registry.redhat.io/openshift-service-mesh/pilot-rhel8:2.5.0" }) },
                },
            },
        }, "istio-operator");
        store.Upsert(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = $"istiod-{name}-0", ["namespace"] = ns, ["labels"] = new JsonObject { ["app"] = "istiod", ["maistra.io/owner"] = ns },
                ["ownerReferences"] = OwnedBy(deployment, "apps/v1", "Deployment"),
            },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "discovery", ["image"] = "pilot" }) },
        }, "kube-controller-manager");
        foreach (var key in new[] { "additionalIngress", "additionalEgress" })
        {
            if (smcp["spec"]?["gateways"]?[key] is not JsonObject gws) continue;
            foreach (var (gw, spec) in gws)
            {
                var type = spec?["service"]?["type"]?.GetValue<string>() ?? "ClusterIP";
                var svc = new JsonObject
                {
                    ["apiVersion"] = "v1", ["kind"] = "Service",
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = gw, ["namespace"] = ns, ["labels"] = Labels(spec?["service"]?["metadata"]?["labels"] as JsonObject, ns),
                        ["ownerReferences"] = OwnedBy(smcp, "maistra.io/v2", "ServiceMeshControlPlane"),
                    },
                    ["spec"] = new JsonObject { ["type"] = type, ["selector"] = new JsonObject { ["service.istio.io/canonical-name"] = gw }, ["ports"] = spec?["service"]?["ports"]?.DeepClone() },
                };
                if (type == "LoadBalancer" && AssignLoadBalancerAddresses)
                {
                    string ip;
                    lock (_gate)
                        if (!_addresses.TryGetValue(gw + "@" + ns, out ip!)) _addresses[gw + "@" + ns] = ip = _ipPrefix + _nextIp++;
                    lock (_gate) _addresses[gw] = ip;
                    svc["status"] = new JsonObject { ["loadBalancer"] = new JsonObject { ["ingress"] = new JsonArray(new JsonObject { ["ip"] = ip }) } };
                }
                store.Upsert(svc, "istio-operator");
            }
        }
        store.UpdateStatus(SmcpType, ns, name, _ => new JsonObject
        {
            ["observedGeneration"] = generation,
            ["annotations"] = new JsonObject { ["readyComponentCount"] = "10/10" },
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "Installed", ["status"] = "True", ["reason"] = "InstallSuccessful" },
                new JsonObject { ["type"] = "Reconciled", ["status"] = "True", ["reason"] = "InstallSuccessful" },
                new JsonObject { ["type"] = "Ready", ["status"] = "True", ["reason"] = "ComponentsReady" }),
        }, "istio-operator");
    }
}
