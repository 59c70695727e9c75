using System.Text.Json.Nodes;

namespace MeshFederation.TestKube;

/// <summary>
/// Stands in for the OpenShift Service Mesh 2 operator on a test cluster: for every ServiceMeshControlPlane it
/// publishes the mesh's root certificate (ConfigMap istio-ca-root-cert), creates a Service per federation gateway
/// (LoadBalancer ones get an address), an istiod Deployment, and marks the SMCP Ready after a delay.
/// </summary>
public sealed class FakeOssm2Operator
{
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

    /// <summary>Delay before an SMCP becomes Ready (and its root and gateway addresses appear).</summary>
    public TimeSpan ReadyDelay { get; set; }

    /// <summary>When false, LoadBalancer Services stay pending (no address).</summary>
    public bool AssignLoadBalancerAddresses { get; set; } = true;

    /// <summary>The root certificate published for a mesh (istio-ca-root-cert).</summary>
    public string RootOf(string mesh) { lock (_gate) return _roots[mesh]; }

    /// <summary>The LoadBalancer address given to a gateway Service.</summary>
    public string AddressOf(string gateway) { lock (_gate) return _addresses[gateway]; }

    private void OnChanged(ResourceType type, JsonObject obj, string verb)
    {
        if (type.Kind != "ServiceMeshControlPlane") return;
        if (verb == "DELETED")
        {
            var ns = obj["metadata"]!["namespace"]!.GetValue<string>();
            foreach (var (t, name) in Owned(obj)) _server.Store.Delete(t, ns, name);
            return;
        }
        if (ReadyDelay > TimeSpan.Zero) _ = Task.Delay(ReadyDelay).ContinueWith(_ => Reconcile(obj), TaskScheduler.Default);
        else Reconcile(obj);
    }

    private static IEnumerable<(ResourceType, string)> Owned(JsonObject smcp)
    {
        var svc = ResourceTypes.ByKind("v1", "Service")!;
        yield return (ResourceTypes.ByKind("v1", "ConfigMap")!, "istio-ca-root-cert");
        yield return (ResourceTypes.ByKind("apps/v1", "Deployment")!, "istiod-" + smcp["metadata"]!["name"]!.GetValue<string>());
        yield return (ResourceTypes.ByKind("v1", "Pod")!, "istiod-" + smcp["metadata"]!["name"]!.GetValue<string>() + "-0");
        foreach (var key in new[] { "additionalIngress", "additionalEgress" })
            if (smcp["spec"]?["gateways"]?[key] is JsonObject gws)
                foreach (var (name, _) in gws) yield return (svc, name);
    }

    private static JsonObject Labels(JsonObject? labels, string ns)
    {
        var l = (JsonObject?)labels?.DeepClone() ?? new JsonObject();
        l["maistra.io/owner"] = ns;
        return l;
    }

    private void Reconcile(JsonObject smcp)
    {
        var name = smcp["metadata"]!["name"]!.GetValue<string>();
        var ns = smcp["metadata"]!["namespace"]!.GetValue<string>();
        string root;
        lock (_gate)
        {
            if (!_roots.TryGetValue(name, out root!)) _roots[name] = root = TestPki.RootCertificatePem(name);
        }
        var store = _server.Store;
        store.Upsert(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "istio-ca-root-cert", ["namespace"] = ns, ["labels"] = new JsonObject { ["maistra.io/owner"] = ns } },
            ["data"] = new JsonObject { ["root-cert.pem"] = root },
        }, "istio-operator");
        store.Upsert(new JsonObject
        {
            ["apiVersion"] = "apps/v1", ["kind"] = "Deployment",
            ["metadata"] = new JsonObject { ["name"] = "istiod-" + name, ["namespace"] = ns, ["labels"] = new JsonObject { ["app"] = "istiod", ["maistra.io/owner"] = ns } },
            ["spec"] = new JsonObject { ["template"] = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "discovery", ["image"] = "registry.redhat.io/openshift-service-mesh/pilot-rhel8:2.5.0" }) } } },
        }, "istio-operator");
        store.Upsert(new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = $"istiod-{name}-0", ["namespace"] = ns, ["labels"] = new JsonObject { ["app"] = "istiod", ["maistra.io/owner"] = ns } },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "discovery", ["image"] = "pilot" }) },
        }, "istio-operator");
        foreach (var key in new[] { "additionalIngress", "additionalEgress" })
        {
            if (smcp["spec"]?["gateways"]?[key] is not JsonObject gws) continue;
            foreach (var (gw, spec) in gws)
            {
                var type = spec?["service"]?["type"]?.GetValue<string>() ?? "ClusterIP";
                var svc = new JsonObject
                {
                    ["apiVersion"] = "v1", ["kind"] = "Service",
                    ["metadata"] = new JsonObject { ["name"] = gw, ["namespace"] = ns, ["labels"] = Labels(spec?["service"]?["metadata"]?["labels"] as JsonObject, ns) },
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
        var live = store.Get(ResourceTypes.ByKind("maistra.io/v2", "ServiceMeshControlPlane")!, ns, name, "v2");
        if (live is null) return;
        live["status"] = new JsonObject
        {
            ["annotations"] = new JsonObject { ["readyComponentCount"] = "10/10" },
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "Installed", ["status"] = "True", ["reason"] = "InstallSuccessful" },
                new JsonObject { ["type"] = "Reconciled", ["status"] = "True", ["reason"] = "InstallSuccessful" },
                new JsonObject { ["type"] = "Ready", ["status"] = "True", ["reason"] = "ComponentsReady" }),
        };
        store.Upsert(live, "istio-operator");
    }
}
