using System.Text.Json;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;
using static MeshFederation.Engine.Rendering.JsonBuilder;

namespace MeshFederation.Engine.Rendering;

/// <summary>
/// Renders the Istio styles for one control plane: multi-primary multi-network through the Sail operator (seed 003)
/// and multi-mesh through <c>&lt;name&gt;.&lt;ns&gt;.global</c> ServiceEntries (seed 004). Per cluster and in apply
/// order: the istio-system and istio-cni namespaces (network label), the cacerts Secret, IstioCNI and Istio, the
/// east-west gateway as gen-eastwest-gateway.sh makes it, the cross-network Gateway exposing the exported hosts, the
/// reader ServiceAccount and RBAC other clusters' istiod use, the remote secrets, failover DestinationRules, the
/// .global ServiceEntries with their VIPs and the traffic-split VirtualServices.
/// </summary>
internal static class IstioRenderer
{
    public const string NetworkLabel = "topology.istio.io/network";
    public const string CniNamespace = "istio-cni";
    public const string CaSecret = "cacerts";
    public const string CrossNetworkGateway = "cross-network-gateway";
    public const string ReaderServiceAccount = "meshfed-reader";
    public const string ReaderTokenSecret = ReaderServiceAccount + "-istio-remote-secret-token";
    public const string RemoteSecretPrefix = "istio-remote-secret-";
    public const int CrossNetworkPort = 15443;

    public static string RemoteSecretName(string cluster) => RemoteSecretPrefix + cluster;

    /// <summary>
    /// Secret values go in <c>data</c> (what the API server stores; istioctl's stringData becomes data on write), so a
    /// re-apply compares equal and changes nothing.
    /// </summary>
    private static string B64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));

    public static string ServiceEntryName(MeshServiceImport i) => i.ServiceEntryName;

    public static string CrossNetworkApiVersion(MeshControlPlane cp) =>
        cp.SailApiVersion == "sailoperator.io/v1alpha1" ? "networking.istio.io/v1alpha3" : "networking.istio.io/v1";

    public static void Render(FederationSet set, MeshControlPlane cp, List<RenderedManifest> docs, List<PendingItem> pending, List<string> warnings,
        IReadOnlyDictionary<(string Mesh, string Peer), Proxy.GatewayNodePorts> nodePorts)
    {
        var peerings = set.Peerings.Where(p => p.Local == cp).OrderBy(p => p.Remote.Name, StringComparer.Ordinal).ToList();
        void Add(int order, string apiVersion, string kind, string? ns, string name, JsonObject content, bool sensitive = false, SourceLocation? source = null,
            IReadOnlyDictionary<string, SourceLocation>? fieldSources = null) =>
            docs.Add(new RenderedManifest
            {
                Cluster = cp.ClusterName, Mesh = cp.Name, Order = order, ApiVersion = apiVersion, Kind = kind, Namespace = ns,
                Name = name, Content = content, Sensitive = sensitive, Source = source ?? cp.Source, FieldSources = fieldSources,
            });
        var networkLabel = new Dictionary<string, string> { [NetworkLabel] = cp.Network };

        Add(Ossm2Renderer.OrderNamespace, "v1", "Namespace", null, cp.Namespace, Obj(("apiVersion", "v1"), ("kind", "Namespace"),
            ("metadata", Metadata(cp.Namespace, null, cp.Name, extraLabels: networkLabel))));
        Add(Ossm2Renderer.OrderNamespace, "v1", "Namespace", null, CniNamespace, Obj(("apiVersion", "v1"), ("kind", "Namespace"),
            ("metadata", Metadata(CniNamespace, null, cp.Name))));

        if (set.CaMaterial.FirstOrDefault(m => m.Cluster == cp.ClusterName) is { } ca)
            Add(Ossm2Renderer.OrderCaConfigMap, "v1", "Secret", cp.Namespace, CaSecret, Obj(("apiVersion", "v1"), ("kind", "Secret"),
                ("metadata", Metadata(CaSecret, cp.Namespace, cp.Name)), ("type", "Opaque"),
                ("data", Obj(("ca-cert.pem", B64(ca.CaCertPem)), ("ca-key.pem", B64(ca.ExportPrivateKeyPem())), ("root-cert.pem", B64(ca.RootCertPem)), ("cert-chain.pem", B64(ca.CertChainPem))))),
                sensitive: true);
        else
            pending.Add(new PendingItem(cp.ClusterName, cp.Name, $"Secret {cp.Namespace}/{CaSecret} (intermediate CA under the shared root)",
                $"New-MeshCertificateAuthority -Cluster {cp.ClusterName} | ConvertTo-MeshManifest, or meshfed ca --cluster {cp.ClusterName} and certificateAuthority.dir in the topology"));

        Add(Ossm2Renderer.OrderControlPlane, cp.SailApiVersion, "IstioCNI", null, "default", Obj(("apiVersion", cp.SailApiVersion), ("kind", "IstioCNI"),
            ("metadata", Metadata("default", null, cp.Name)), ("spec", Obj(("version", cp.Version.Length > 0 ? cp.Version : null), ("namespace", CniNamespace)))));
        Add(Ossm2Renderer.OrderControlPlane, cp.SailApiVersion, "Istio", null, cp.ControlPlaneName, Istio(cp),
            fieldSources: cp.SpecOverrideSources.ToDictionary(kv => "spec." + kv.Key, kv => kv.Value, StringComparer.Ordinal));

        foreach (var gw in EastWestGateway(cp, EastWestNodePort(cp, nodePorts))) docs.Add(gw);

        var exposed = ExposedHosts(set, cp);
        if (exposed.Count > 0)
            Add(Ossm2Renderer.OrderPeer, CrossNetworkApiVersion(cp), "Gateway", cp.Namespace, CrossNetworkGateway, Obj(
                ("apiVersion", CrossNetworkApiVersion(cp)), ("kind", "Gateway"),
                ("metadata", Metadata(CrossNetworkGateway, cp.Namespace, cp.Name)),
                ("spec", Obj(
                    ("selector", Obj(("istio", "eastwestgateway"))),
                    ("servers", Arr(new JsonNode[]
                    {
                        Obj(("port", Obj(("number", CrossNetworkPort), ("name", "tls"), ("protocol", "TLS"))),
                            ("tls", Obj(("mode", "AUTO_PASSTHROUGH"))),
                            ("hosts", Strings(exposed))),
                    }))))));

        if (cp.Style == MeshStyle.MultiPrimary)
        {
            // After a remote-secret rotation the credential it put in force is used, and the token Secret it replaced
            // (revoked) is not made again.
            if (set.Peerings.Any(p => p.Remote == cp))
                foreach (var d in Reader(cp, tokenSecret: !set.Peerings.Any(p => p.Remote == cp && p.RotatedReader is not null))) docs.Add(d);
            foreach (var p in peerings) RemoteSecret(p, docs, pending);
            foreach (var i in set.Imports.Where(i => i.ControlPlane == cp))
                warnings.Add($"{cp.Name} imports {i.Namespace}/{i.Name} from {i.Peer}: multi-primary clusters discover each other's endpoints through remote secrets, so the import has no effect; export the service (cross-network Gateway) instead.");
        }
        else
        {
            ServiceEntries(set, cp, peerings, docs, pending, nodePorts);
            foreach (var e in set.Exports.Where(e => e.ControlPlane == cp && !set.Peerings.Any(p => p.Local == cp && p.Remote.Name == e.Peer)).Select(e => e.Peer).Distinct())
                warnings.Add($"{cp.Name} exports to {e} without a peering in this render; {e} reaches the export only through its own ServiceEntry.");
        }

        foreach (var f in set.FailoverPolicies.Where(f => f.ControlPlane == cp))
            Add(Ossm2Renderer.OrderRoutes, f.ApiVersion, "DestinationRule", f.Namespace, f.Name, Ossm2Renderer.DestinationRule(f), source: f.Source);
        foreach (var s in set.TrafficSplits.Where(s => s.ControlPlane == cp))
            Add(Ossm2Renderer.OrderRoutes, s.ApiVersion, "VirtualService", s.Namespace, s.Name, Ossm2Renderer.VirtualService(s), source: s.Source);
    }

    private static JsonObject Istio(MeshControlPlane cp)
    {
        var global = Obj(("meshID", cp.MeshId), ("multiCluster", Obj(("clusterName", cp.ClusterName))), ("network", cp.Network));
        var values = Obj(("global", global), ("pilot", Obj(("env", Obj(("ROOT_CA_DIR", "/etc/cacerts"))))));
        if (cp.TrustDomain != "cluster.local") values["meshConfig"] = Obj(("trustDomain", cp.TrustDomain));
        var spec = Obj(("version", cp.Version.Length > 0 ? cp.Version : null), ("namespace", cp.Namespace), ("values", values));
        if (cp.SpecOverrides is not null) DeepMerge(spec, cp.SpecOverrides);
        return Obj(("apiVersion", cp.SailApiVersion), ("kind", "Istio"), ("metadata", Metadata(cp.ControlPlaneName, null, cp.Name)), ("spec", spec));
    }

    /// <summary>Hosts the cross-network Gateway passes through: every exported service's cluster-local name.</summary>
    public static IReadOnlyList<string> ExposedHosts(FederationSet set, MeshControlPlane cp) =>
        set.Exports.Where(e => e.ControlPlane == cp)
            .Select(e => Names.IsWildcard(e.Namespace) ? "*.local"
                : e.IsLabelSelector || Names.IsWildcard(e.Name) ? $"*.{e.Namespace}.svc.cluster.local"
                : $"{e.Name}.{e.Namespace}.svc.cluster.local")
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>The east-west gateway exactly as samples/multicluster/gen-eastwest-gateway.sh generates it, for this cluster's network.</summary>
    /// <summary>The fixed node port of a NodePort mesh's east-west gateway (its tls port, 15443): what peers' ServiceEntries point at.</summary>
    internal static int? EastWestNodePort(MeshControlPlane cp, IReadOnlyDictionary<(string Mesh, string Peer), Proxy.GatewayNodePorts> nodePorts) =>
        cp.GatewayExposure == GatewayExposure.NodePort && nodePorts.TryGetValue(Proxy.NodePortAllocator.EastWestKey(cp), out var np) ? np.Service : null;

    internal static IEnumerable<RenderedManifest> EastWestGateway(MeshControlPlane cp, int? tlsNodePort = null)
    {
        const string app = MeshControlPlane.EastWestGatewayName;
        const string sa = "istio-eastwestgateway-service-account";
        const string sds = "istio-eastwestgateway-sds";
        var ns = cp.Namespace;
        var network = cp.Network;
        JsonObject Labels(bool withApp) => Obj(
            ("app", withApp ? app : null), ("install.operator.istio.io/owning-resource", "unknown"), ("istio", withApp ? "eastwestgateway" : null),
            ("istio.io/rev", cp.ControlPlaneName), ("operator.istio.io/component", "IngressGateways"), ("release", "istio"),
            (NetworkLabel, withApp ? network : null));
        JsonObject Meta(string name, bool withApp)
        {
            var md = Metadata(name, ns, cp.Name);
            foreach (var (k, v) in Labels(withApp)) md["labels"]![k] = v!.DeepClone();
            return md;
        }
        JsonObject Selector() => Obj(("app", app), ("istio", "eastwestgateway"), (NetworkLabel, network));
        RenderedManifest Doc(string apiVersion, string kind, string name, JsonObject body)
        {
            var content = Obj(("apiVersion", apiVersion), ("kind", kind), ("metadata", Meta(name, kind is not ("Role" or "RoleBinding"))));
            foreach (var (k, v) in body) content[k] = v!.DeepClone();
            return new RenderedManifest
            {
                Cluster = cp.ClusterName, Mesh = cp.Name, Order = Ossm2Renderer.OrderMemberRoll, ApiVersion = apiVersion, Kind = kind,
                Namespace = ns, Name = name, Content = content,
            };
        }
        JsonObject Port(int containerPort, string? name = null) => Obj(("containerPort", containerPort), ("name", name), ("protocol", "TCP"));
        JsonObject ServicePort(string name, int port) => Obj(("name", name), ("port", port), ("protocol", "TCP"), ("targetPort", port),
            ("nodePort", name == "tls" && tlsNodePort is { } np ? np : null));

        yield return Doc("v1", "ServiceAccount", sa, new JsonObject());
        yield return Doc("apps/v1", "Deployment", app, Obj(("spec", Obj(
            ("selector", Obj(("matchLabels", Selector()))),
            ("strategy", Obj(("rollingUpdate", Obj(("maxSurge", "100%"), ("maxUnavailable", "25%"))))),
            ("template", Obj(
                ("metadata", Obj(
                    ("annotations", Obj(("inject.istio.io/templates", "gateway"), ("prometheus.io/path", "/stats/prometheus"),
                        ("prometheus.io/port", "15020"), ("prometheus.io/scrape", "true"), ("sidecar.istio.io/inject", "true"))),
                    ("labels", Obj(("app", app), ("chart", "gateways"), ("heritage", "Tiller"), ("install.operator.istio.io/owning-resource", "unknown"),
                        ("istio", "eastwestgateway"), ("operator.istio.io/component", "IngressGateways"), ("release", "istio"),
                        ("sidecar.istio.io/inject", "true"), (NetworkLabel, network))))),
                ("spec", Obj(
                    ("affinity", Obj(("nodeAffinity", new JsonObject()))),
                    ("containers", Arr(new JsonNode[]
                    {
                        Obj(
                            ("env", Arr(new JsonNode[]
                            {
                                Obj(("name", "ISTIO_META_REQUESTED_NETWORK_VIEW"), ("value", network)),
                                Obj(("name", "ISTIO_META_UNPRIVILEGED_POD"), ("value", "true")),
                            })),
                            ("image", "auto"),
                            ("name", "istio-proxy"),
                            ("ports", Arr(new JsonNode[] { Port(15021), Port(15443), Port(15012), Port(15017), Port(15090, "http-envoy-prom") })),
                            ("resources", Obj(("limits", Obj(("cpu", "2000m"), ("memory", "1024Mi"))), ("requests", Obj(("cpu", "100m"), ("memory", "128Mi"))))),
                            ("securityContext", Obj(("allowPrivilegeEscalation", false), ("capabilities", Obj(("drop", Strings(new[] { "ALL" })))),
                                ("privileged", false), ("readOnlyRootFilesystem", true))),
                            ("volumeMounts", Arr(new JsonNode[]
                            {
                                Obj(("mountPath", "/etc/istio/ingressgateway-certs"), ("name", "ingressgateway-certs"), ("readOnly", true)),
                                Obj(("mountPath", "/etc/istio/ingressgateway-ca-certs"), ("name", "ingressgateway-ca-certs"), ("readOnly", true)),
                            }))),
                    })),
                    ("serviceAccountName", sa),
                    ("volumes", Arr(new JsonNode[]
                    {
                        Obj(("name", "ingressgateway-certs"), ("secret", Obj(("optional", true), ("secretName", "istio-ingressgateway-certs")))),
                        Obj(("name", "ingressgateway-ca-certs"), ("secret", Obj(("optional", true), ("secretName", "istio-ingressgateway-ca-certs")))),
                    }))))))))));
        yield return Doc("policy/v1", "PodDisruptionBudget", app, Obj(("spec", Obj(("minAvailable", 1), ("selector", Obj(("matchLabels", Selector())))))));
        yield return Doc("rbac.authorization.k8s.io/v1", "Role", sds, Obj(("rules", Arr(new JsonNode[]
        {
            Obj(("apiGroups", Strings(new[] { "" })), ("resources", Strings(new[] { "secrets" })), ("verbs", Strings(new[] { "get", "watch", "list" }))),
        }))));
        yield return Doc("rbac.authorization.k8s.io/v1", "RoleBinding", sds, Obj(
            ("roleRef", Obj(("apiGroup", "rbac.authorization.k8s.io"), ("kind", "Role"), ("name", sds))),
            ("subjects", Arr(new JsonNode[] { Obj(("kind", "ServiceAccount"), ("name", sa)) }))));
        yield return Doc("autoscaling/v2", "HorizontalPodAutoscaler", app, Obj(("spec", Obj(
            ("maxReplicas", 5),
            ("metrics", Arr(new JsonNode[]
            {
                Obj(("resource", Obj(("name", "cpu"), ("target", Obj(("averageUtilization", 80), ("type", "Utilization"))))), ("type", "Resource")),
            })),
            ("minReplicas", 1),
            ("scaleTargetRef", Obj(("apiVersion", "apps/v1"), ("kind", "Deployment"), ("name", app)))))));
        var service = Doc("v1", "Service", app, Obj(("spec", Obj(
            ("ports", Arr(new JsonNode[] { ServicePort("status-port", 15021), ServicePort("tls", 15443), ServicePort("tls-istiod", 15012), ServicePort("tls-webhook", 15017) })),
            ("selector", Selector()),
            ("type", cp.GatewayExposure == GatewayExposure.NodePort ? "NodePort" : "LoadBalancer")))));
        if (cp.IngressServiceAnnotations.Count > 0)
            service.Content["metadata"]!["annotations"] = Obj(cp.IngressServiceAnnotations.Select(kv => (kv.Key, (JsonNode?)kv.Value)).ToArray());
        yield return service;
    }

    /// <summary>The reader identity other clusters' istiod use (what istioctl create-remote-secret sets up), under this module's own names.</summary>
    private static IEnumerable<RenderedManifest> Reader(MeshControlPlane cp, bool tokenSecret)
    {
        RenderedManifest Doc(int order, string apiVersion, string kind, string? ns, string name, JsonObject body)
        {
            var content = Obj(("apiVersion", apiVersion), ("kind", kind), ("metadata", Metadata(name, ns, cp.Name)));
            foreach (var (k, v) in body) content[k] = v!.DeepClone();
            return new RenderedManifest { Cluster = cp.ClusterName, Mesh = cp.Name, Order = order, ApiVersion = apiVersion, Kind = kind, Namespace = ns, Name = name, Content = content };
        }
        JsonObject Rule(string[] groups, string[] resources, string[] verbs) =>
            Obj(("apiGroups", Strings(groups)), ("resources", Strings(resources)), ("verbs", Strings(verbs)));
        var read = new[] { "get", "list", "watch" };
        yield return Doc(Ossm2Renderer.OrderMemberRoll, "v1", "ServiceAccount", cp.Namespace, ReaderServiceAccount, new JsonObject());
        yield return Doc(Ossm2Renderer.OrderMemberRoll, "rbac.authorization.k8s.io/v1", "ClusterRole", null, ReaderServiceAccount + "-" + cp.Namespace, Obj(("rules", Arr(new JsonNode[]
        {
            Rule(new[] { "config.istio.io", "security.istio.io", "networking.istio.io", "authentication.istio.io", "rbac.istio.io", "telemetry.istio.io", "extensions.istio.io" }, new[] { "*" }, read),
            Rule(new[] { "" }, new[] { "endpoints", "pods", "services", "nodes", "replicationcontrollers", "namespaces", "secrets" }, read),
            Rule(new[] { "discovery.k8s.io" }, new[] { "endpointslices" }, read),
            Rule(new[] { "apps" }, new[] { "replicasets" }, read),
            Rule(new[] { "gateway.networking.k8s.io" }, new[] { "gateways" }, read),
            Rule(new[] { "apiextensions.k8s.io" }, new[] { "customresourcedefinitions" }, read),
            Rule(new[] { "multicluster.x-k8s.io" }, new[] { "serviceexports", "serviceimports" }, read),
            Rule(new[] { "authentication.k8s.io" }, new[] { "tokenreviews" }, new[] { "create" }),
            Rule(new[] { "authorization.k8s.io" }, new[] { "subjectaccessreviews" }, new[] { "create" }),
        }))));
        yield return Doc(Ossm2Renderer.OrderMemberRoll, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", null, ReaderServiceAccount + "-" + cp.Namespace, Obj(
            ("roleRef", Obj(("apiGroup", "rbac.authorization.k8s.io"), ("kind", "ClusterRole"), ("name", ReaderServiceAccount + "-" + cp.Namespace))),
            ("subjects", Arr(new JsonNode[] { Obj(("kind", "ServiceAccount"), ("name", ReaderServiceAccount), ("namespace", cp.Namespace)) }))));
        if (!tokenSecret) yield break;
        var token = Doc(Ossm2Renderer.OrderPeer, "v1", "Secret", cp.Namespace, ReaderTokenSecret, Obj(("type", "kubernetes.io/service-account-token")));
        token.Content["metadata"]!["annotations"] = Obj(("kubernetes.io/service-account.name", ReaderServiceAccount));
        yield return token;
    }

    /// <summary>The Secret <c>istioctl create-remote-secret --name &lt;remote cluster&gt;</c> makes, applied in the local cluster.</summary>
    private static void RemoteSecret(MeshPeering p, List<RenderedManifest> docs, List<PendingItem> pending)
    {
        var cp = p.Local;
        var remoteCluster = p.Remote.ClusterName;
        var name = RemoteSecretName(remoteCluster);
        if (p.RemoteApi is not { } api)
        {
            pending.Add(new PendingItem(cp.ClusterName, cp.Name, $"Secret {cp.Namespace}/{name} (kubeconfig for {remoteCluster}'s API server)",
                $"apply live (meshfed apply, Sync-MeshFederation), which reads the server and the {ReaderTokenSecret} token from {remoteCluster}; or istioctl create-remote-secret {Shell.Quote("--context=" + (p.Remote.Cluster.Context ?? remoteCluster))} --name={remoteCluster}"));
            return;
        }
        var cluster = Obj(("certificate-authority-data", api.CertificateAuthorityData), ("server", api.Server));
        var kubeconfig = Obj(
            ("apiVersion", "v1"), ("kind", "Config"),
            ("clusters", Arr(new JsonNode[] { Obj(("cluster", cluster), ("name", remoteCluster)) })),
            ("contexts", Arr(new JsonNode[] { Obj(("context", Obj(("cluster", remoteCluster), ("user", remoteCluster))), ("name", remoteCluster)) })),
            ("current-context", remoteCluster),
            ("preferences", new JsonObject()),
            ("users", Arr(new JsonNode[] { Obj(("name", remoteCluster), ("user", Obj(("token", api.ExportToken())))) })));
        var md = Metadata(name, cp.Namespace, cp.Name, p.Remote.Name, new Dictionary<string, string> { ["istio/multiCluster"] = "true" });
        md["annotations"] = Obj(("networking.istio.io/cluster", remoteCluster));
        docs.Add(new RenderedManifest
        {
            Cluster = cp.ClusterName, Mesh = cp.Name, Order = Ossm2Renderer.OrderExports, ApiVersion = "v1", Kind = "Secret", Namespace = cp.Namespace, Name = name,
            Sensitive = true,
            Content = Obj(("apiVersion", "v1"), ("kind", "Secret"), ("metadata", md), ("type", "Opaque"),
                ("data", Obj((remoteCluster, B64(kubeconfig.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n"))))),
        });
    }

    private static void ServiceEntries(FederationSet set, MeshControlPlane cp, IReadOnlyList<MeshPeering> peerings, List<RenderedManifest> docs, List<PendingItem> pending,
        IReadOnlyDictionary<(string Mesh, string Peer), Proxy.GatewayNodePorts> nodePorts)
    {
        var imports = set.Imports.Where(i => i.ControlPlane == cp).ToList();
        if (imports.Count == 0) return;
        var vips = Vips(cp, imports);
        var problems = new ProblemList();
        foreach (var i in imports.OrderBy(i => i.LocalHost, StringComparer.Ordinal))
        {
            var se = i.ServiceEntry;
            var peering = peerings.FirstOrDefault(p => p.Remote.Name == i.Peer);
            var remote = peering?.Remote ?? set.FindControlPlane(i.Peer);
            // NodePort meshes are reached at their nodes on the east-west gateway's fixed tls node port (the OCM demo on
            // KinD); LoadBalancer meshes at the gateway's address on 15443, the port istio.io says not to change.
            var nodePort = remote is null ? null : EastWestNodePort(remote, nodePorts);
            var addresses = peering?.RemoteAddresses is { Count: > 0 } given ? given
                : remote?.IngressAddressesFor(cp.Name) is { Count: > 0 } declared ? declared
                : nodePort is not null ? remote!.NodeAddresses
                : Array.Empty<string>();
            var port = nodePort ?? CrossNetworkPort;
            var spec = Obj(
                ("hosts", Strings(new[] { i.LocalHost! })),
                ("location", "MESH_INTERNAL"),
                ("ports", Arr(i.Ports.Select(p => (JsonNode?)Obj(("name", p.Name), ("number", p.Number), ("protocol", p.Protocol))))),
                ("resolution", se.EffectiveResolution),
                ("addresses", Strings(new[] { vips[i.LocalHost!] })));
            if (addresses.Count > 0)
            {
                if (se.EffectiveResolution == "STATIC")
                    foreach (var a in addresses.Where(a => !System.Net.IPAddress.TryParse(a, out _)))
                        problems.Add(MeshErrorKind.InvalidArgument, $"import '{i}'.serviceEntry.resolution", "STATIC",
                            $"needs IP endpoints, but {i.Peer} is reached at {a}", "use resolution DNS for a host name, or give the gateway's IP address", i.Source, i);
                spec["endpoints"] = Arr(addresses.Select(a => (JsonNode?)Obj(("address", a),
                    ("labels", se.EndpointLabels.Count > 0 ? Obj(se.EndpointLabels.Select(kv => (kv.Key, (JsonNode?)kv.Value)).ToArray()) : null),
                    ("ports", Obj(i.Ports.Select(p => (p.Name, (JsonNode?)port)).ToArray())))));
            }
            else
            {
                var what = $"ServiceEntry {i.ServiceEntryNamespace}/{i.ServiceEntryName} spec.endpoints";
                pending.Add(remote is null
                    ? new PendingItem(cp.ClusterName, cp.Name, what, $"add {i.Peer}'s control plane with ingressAddresses")
                    : nodePort is not null
                        ? new PendingItem(cp.ClusterName, cp.Name, $"{what} ({i.Peer}'s node addresses; its east-west gateway listens on node port {nodePort})",
                            $"kubectl --context {Shell.Quote(remote.Cluster.Context ?? remote.ClusterName)} get nodes -o jsonpath='{{.items[*].status.addresses[?(@.type==\"InternalIP\")].address}}' (then list them under nodeAddresses of {remote.Name})")
                        : new PendingItem(cp.ClusterName, cp.Name, what,
                            $"kubectl --context {Shell.Quote(remote.Cluster.Context ?? remote.ClusterName)} -n {remote.Namespace} get svc {MeshControlPlane.EastWestGatewayName} -o jsonpath='{{.status.loadBalancer.ingress[*].ip}}'"));
            }
            docs.Add(new RenderedManifest
            {
                Cluster = cp.ClusterName, Mesh = cp.Name, Order = Ossm2Renderer.OrderImports, ApiVersion = se.EffectiveApiVersion, Kind = "ServiceEntry",
                Namespace = i.ServiceEntryNamespace, Name = i.ServiceEntryName, Source = i.Source ?? cp.Source,
                Content = Obj(("apiVersion", se.EffectiveApiVersion), ("kind", "ServiceEntry"),
                    ("metadata", Metadata(i.ServiceEntryName, i.ServiceEntryNamespace, cp.Name, i.Peer)), ("spec", spec)),
            });
        }
        problems.ThrowIfAny();
    }

    /// <summary>The VIP of every .global host imported into a multi-mesh control plane: pinned ones as given, the others from its range.</summary>
    public static IReadOnlyDictionary<string, string> Vips(MeshControlPlane cp, IEnumerable<MeshServiceImport> imports)
    {
        var list = imports.Where(i => i.LocalHost is not null).ToList();
        var pinned = list.Where(i => i.ServiceEntry.Address is not null).GroupBy(i => i.LocalHost!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().ServiceEntry.Address!, StringComparer.Ordinal);
        return VipAllocator.Allocate(cp.VipRange, list.Select(i => i.LocalHost!), field: $"mesh '{cp.Name}'.vipRange", pinned: pinned);
    }

}
