using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;
using static MeshFederation.Engine.Rendering.JsonBuilder;

namespace MeshFederation.Engine.Rendering;

/// <summary>
/// Renders the OSSM 3 federation style for one control plane, the objects of Red Hat's Federation-to-Multi-Cluster
/// migration guide (openshift-service-mesh/sail-operator docs/ossm/ossm2-migration/federation):
/// <list type="bullet">
/// <item>control plane: the <c>istio-system</c> and <c>istio-cni</c> namespaces, <c>cacerts</c> when CA material is given,
/// the Sail IstioCNI and Istio (RevisionBased; trustDomain, trustDomainAliases with the peers' trust domains,
/// caCertificates with the peers' roots, DNS capture, ISTIO_MULTIROOT_MESH, PILOT_ENABLE_IP_AUTOALLOCATE, global.network);</item>
/// <item>export: the <c>istio-ingress</c> namespace, the Gateway API Gateway <c>eastwestgateway</c> (class istio, a 15443 TLS
/// passthrough listener with the auto-passthrough option and a hostname that matches nothing), the Istio Gateway
/// <c>expose-services</c> (AUTO_PASSTHROUGH) listing exactly the exported hosts, and a MESH_INTERNAL ServiceEntry selecting
/// the service's workloads for every host that is not the service's own (the <c>-imports.local</c> names);</item>
/// <item>import: an <c>istio-remote</c> Gateway per remote network at the peer's east-west address, and per imported service
/// a ServiceEntry (exportTo, MESH_INTERNAL, STATIC, subjectAltNames, workloadSelector) and a WorkloadEntry on the
/// remote network with <c>security.istio.io/tlsMode: istio</c>.</item>
/// </list>
/// </summary>
internal static class Ossm3FederationRenderer
{
    public static void Render(FederationSet set, MeshControlPlane cp, IReadOnlyList<FederatedService> services, List<RenderedManifest> docs, List<PendingItem> pending, List<string> warnings)
    {
        void Add(int order, string phase, string apiVersion, string kind, string? ns, string name, JsonObject content, SourceLocation? source = null, bool sensitive = false,
            IReadOnlyDictionary<string, SourceLocation>? fieldSources = null) =>
            docs.Add(new RenderedManifest
            {
                Cluster = cp.ClusterName, Mesh = cp.Name, Order = order, Phase = phase, ApiVersion = apiVersion, Kind = kind, Namespace = ns, Name = name,
                Content = content, Source = source ?? cp.Source, Sensitive = sensitive, FieldSources = fieldSources,
            });
        string Context(MeshControlPlane m) => m.Cluster.Context ?? m.ClusterName;

        // ---- control plane
        Add(Ossm2Renderer.OrderNamespace, Ossm3Federation.PhaseControlPlane, "v1", "Namespace", null, cp.Namespace,
            Obj(("apiVersion", "v1"), ("kind", "Namespace"), ("metadata", Metadata(cp.Namespace, null, cp.Name))));
        Add(Ossm2Renderer.OrderNamespace, Ossm3Federation.PhaseControlPlane, "v1", "Namespace", null, IstioRenderer.CniNamespace,
            Obj(("apiVersion", "v1"), ("kind", "Namespace"), ("metadata", Metadata(IstioRenderer.CniNamespace, null, cp.Name))));
        if (set.CaMaterial.FirstOrDefault(m => m.Cluster == cp.ClusterName) is { } ca)
            Add(Ossm2Renderer.OrderCaConfigMap, Ossm3Federation.PhaseControlPlane, "v1", "Secret", cp.Namespace, IstioRenderer.CaSecret, Obj(("apiVersion", "v1"), ("kind", "Secret"),
                ("metadata", Metadata(IstioRenderer.CaSecret, cp.Namespace, cp.Name)), ("type", "Opaque"),
                ("data", Obj(("ca-cert.pem", B64(ca.CaCertPem)), ("ca-key.pem", B64(ca.ExportPrivateKeyPem())), ("root-cert.pem", B64(ca.RootCertPem)), ("cert-chain.pem", B64(ca.CertChainPem))))),
                sensitive: true);
        Add(Ossm2Renderer.OrderControlPlane, Ossm3Federation.PhaseControlPlane, cp.SailApiVersion, "IstioCNI", null, MeshControlPlane.DefaultIstioResourceName, Obj(
            ("apiVersion", cp.SailApiVersion), ("kind", "IstioCNI"), ("metadata", Metadata(MeshControlPlane.DefaultIstioResourceName, null, cp.Name)),
            ("spec", Obj(("version", cp.Version.Length > 0 ? cp.Version : null), ("namespace", IstioRenderer.CniNamespace)))));
        Add(Ossm2Renderer.OrderControlPlane, Ossm3Federation.PhaseControlPlane, cp.SailApiVersion, "Istio", null, cp.ControlPlaneName, Istio(set, cp, pending, warnings),
            fieldSources: cp.SpecOverrideSources.ToDictionary(kv => "spec." + kv.Key, kv => kv.Value, StringComparer.Ordinal));

        // ---- export: the east-west gateway and exactly the exported hosts
        var exposed = Ossm3Federation.ExposedHosts(set, cp, services);
        if (exposed.Count > 0)
        {
            const string ns = Ossm3Federation.EastWestNamespace;
            Add(Ossm2Renderer.OrderNamespace, Ossm3Federation.PhaseExport, "v1", "Namespace", null, ns,
                Obj(("apiVersion", "v1"), ("kind", "Namespace"), ("metadata", Metadata(ns, null, cp.Name))));
            Add(Ossm2Renderer.OrderMemberRoll, Ossm3Federation.PhaseExport, Ossm3Federation.GatewayApiVersion, "Gateway", ns, Ossm3Federation.EastWestGateway, Obj(
                ("apiVersion", Ossm3Federation.GatewayApiVersion), ("kind", "Gateway"),
                ("metadata", Metadata(Ossm3Federation.EastWestGateway, ns, cp.Name, extraLabels: new Dictionary<string, string> { [IstioRenderer.NetworkLabel] = cp.Network })),
                ("spec", Obj(
                    ("gatewayClassName", "istio"),
                    ("listeners", Arr(new JsonNode[] { Listener(Ossm3Federation.BlockAllHostname) }))))));
            Add(Ossm2Renderer.OrderPeer, Ossm3Federation.PhaseExport, Ossm3Federation.IstioGatewayApiVersion, "Gateway", ns, Ossm3Federation.ExposeServicesGateway, Obj(
                ("apiVersion", Ossm3Federation.IstioGatewayApiVersion), ("kind", "Gateway"),
                ("metadata", Metadata(Ossm3Federation.ExposeServicesGateway, ns, cp.Name)),
                ("spec", Obj(
                    ("selector", Obj(("istio.io/gateway-name", Ossm3Federation.EastWestGateway))),
                    ("servers", Arr(new JsonNode[]
                    {
                        Obj(("port", Obj(("number", Ossm3Federation.CrossNetworkPort), ("name", "tls"), ("protocol", "TLS"))),
                            ("tls", Obj(("mode", "AUTO_PASSTHROUGH"))),
                            ("hosts", Strings(exposed.Select(h => h.Host).Distinct(StringComparer.Ordinal)))),
                    }))))));
            foreach (var h in exposed.Where(h => !h.Imported))
                warnings.Add($"{cp.Name} exports {h.Export.Namespace}/{h.Export.Name} to {h.Export.Peer}, which imports nothing that matches; it is exposed under the name OSSM 2 would have given it, {h.Host}.");
            // A ServiceEntry per exported host that is not the service's own name, selecting the service's workloads, so
            // the east-west gateway can route the SNI the importers send (the guide's httpbin-a-svc-east-mesh-exports-local).
            foreach (var g in exposed.Where(h => !h.IsServiceHost).GroupBy(h => (h.Export.Namespace, h.Host)))
            {
                var h = g.First();
                var e = h.Export;
                var spec = Obj(("hosts", Strings(new[] { h.Host })), ("location", "MESH_INTERNAL"));
                if (e.Ports.Count > 0)
                    spec["ports"] = Arr(e.Ports.Select(p => (JsonNode?)Obj(("number", p.Number), ("name", p.Name), ("protocol", p.Protocol), ("targetPort", p.TargetPort is { } t && t != p.Number ? t : null))));
                spec["resolution"] = "STATIC";
                if (e.WorkloadSelector is { Count: > 0 } selector)
                    spec["workloadSelector"] = Obj(("labels", Obj(selector.Select(kv => (kv.Key, (JsonNode?)kv.Value)).ToArray())));
                if (e.Ports.Count == 0 || e.WorkloadSelector is not { Count: > 0 })
                    pending.Add(new PendingItem(cp.ClusterName, cp.Name, $"ServiceEntry {e.Namespace}/{h.ServiceEntryName} spec.ports, spec.workloadSelector (Service {e.Namespace}/{e.Name} in {cp.ClusterName})",
                        $"kubectl --context {Context(cp)} -n {e.Namespace} get service {e.Name} -o jsonpath='{{.spec.ports}} {{.spec.selector}}' (or give ports and selector on the export)") { Defers = true });
                Add(Ossm2Renderer.OrderExports, Ossm3Federation.PhaseExport, Ossm3Federation.IstioApiVersion, "ServiceEntry", e.Namespace, h.ServiceEntryName, Obj(
                    ("apiVersion", Ossm3Federation.IstioApiVersion), ("kind", "ServiceEntry"),
                    ("metadata", Metadata(h.ServiceEntryName, e.Namespace, cp.Name, h.Importers.Count == 1 ? h.Importers[0] : null)),
                    ("spec", spec)), e.Source);
            }
        }

        // ---- import: a remote Gateway per exporting peer, a ServiceEntry and a WorkloadEntry per imported service
        var imported = services.Where(s => s.Importer.Name == cp.Name).ToList();
        foreach (var g in imported.GroupBy(s => s.Exporter.Name, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var remote = g.First().Exporter;
            var peering = Ossm3Federation.Peering(set, cp, remote);
            var addresses = peering.RemoteAddresses.Count > 0 ? peering.RemoteAddresses : remote.IngressAddressesFor(cp.Name);
            var name = Ossm3Federation.RemoteGatewayPrefix + remote.Network;
            var spec = Obj(("gatewayClassName", "istio-remote"));
            if (addresses.Count > 0)
                spec["addresses"] = Arr(addresses.Select(a => (JsonNode?)Obj(("value", a), ("type", System.Net.IPAddress.TryParse(a, out _) ? "IPAddress" : "Hostname"))));
            else
                pending.Add(new PendingItem(cp.ClusterName, cp.Name, $"Gateway {cp.Namespace}/{name} spec.addresses ({remote.Name}'s east-west gateway address)",
                    $"kubectl --context {Context(remote)} -n {Ossm3Federation.EastWestNamespace} get service {Ossm3Federation.EastWestService} -o jsonpath='{{.status.loadBalancer.ingress[0].ip}}{{.status.loadBalancer.ingress[0].hostname}}' (then list it under ingressAddresses of {remote.Name})") { Defers = true });
            spec["listeners"] = Arr(new JsonNode[] { Listener(null) });
            Add(Ossm2Renderer.OrderPeer, Ossm3Federation.PhaseImport, Ossm3Federation.RemoteGatewayApiVersion, "Gateway", cp.Namespace, name, Obj(
                ("apiVersion", Ossm3Federation.RemoteGatewayApiVersion), ("kind", "Gateway"),
                ("metadata", Metadata(name, cp.Namespace, cp.Name, remote.Name, new Dictionary<string, string> { [IstioRenderer.NetworkLabel] = peering.RemoteNetwork })),
                ("spec", spec)), peering.Source);

            foreach (var s in g.OrderBy(s => s.Host, StringComparer.Ordinal))
            {
                var e = s.Export;
                var seSpec = Obj(("exportTo", s.ExportTo is { } exportTo ? Strings(exportTo) : null), ("hosts", Strings(new[] { s.Host })), ("location", "MESH_INTERNAL"));
                if (e.Ports.Count > 0)
                    seSpec["ports"] = Arr(e.Ports.Select(p => (JsonNode?)Obj(("number", p.Number), ("name", p.Name), ("protocol", p.Protocol))));
                seSpec["resolution"] = "STATIC";
                if (e.ServiceAccounts.Count > 0) seSpec["subjectAltNames"] = Strings(s.SubjectAltNames);
                seSpec["workloadSelector"] = Obj(("labels", Obj(s.SelectorLabels.Select(kv => (kv.Key, (JsonNode?)kv.Value)).ToArray())));
                if (e.Ports.Count == 0 || e.ServiceAccounts.Count == 0)
                    pending.Add(new PendingItem(cp.ClusterName, cp.Name,
                        $"ServiceEntry {s.ServiceEntryNamespace}/{s.ServiceEntryName} spec.ports, spec.subjectAltNames (ports and service accounts of {e.Namespace}/{e.Name} in {remote.Name})",
                        $"kubectl --context {Context(remote)} -n {e.Namespace} get service {e.Name} -o jsonpath='{{.spec.ports}}'; kubectl --context {Context(remote)} -n {e.Namespace} get pods -o jsonpath='{{.items[*].spec.serviceAccountName}}' (or give ports and serviceAccounts on the export)") { Defers = true });
                Add(Ossm2Renderer.OrderImports, Ossm3Federation.PhaseImport, s.ApiVersion, "ServiceEntry", s.ServiceEntryNamespace, s.ServiceEntryName, Obj(
                    ("apiVersion", s.ApiVersion), ("kind", "ServiceEntry"),
                    ("metadata", Metadata(s.ServiceEntryName, s.ServiceEntryNamespace, cp.Name, remote.Name)),
                    ("spec", seSpec)), s.Import.Source);
                var weLabels = new Dictionary<string, string>(s.SelectorLabels, StringComparer.Ordinal) { [Ossm3Federation.TlsModeLabel] = "istio" };
                Add(Ossm2Renderer.OrderImports, Ossm3Federation.PhaseImport, s.ApiVersion, "WorkloadEntry", s.ServiceEntryNamespace, s.WorkloadEntryName, Obj(
                    ("apiVersion", s.ApiVersion), ("kind", "WorkloadEntry"),
                    ("metadata", Metadata(s.WorkloadEntryName, s.ServiceEntryNamespace, cp.Name, remote.Name, weLabels)),
                    ("spec", Obj(("network", peering.RemoteNetwork)))), s.Import.Source);
            }
        }
        foreach (var i in set.Imports.Where(i => i.ControlPlane.Name == cp.Name && !imported.Any(s => s.Import == i)))
            warnings.Add($"{cp.Name} imports {i.Namespace}/{(i.Name.Length == 0 ? "*" : i.Name)} from {i.Peer}, which exports nothing to {cp.Name} that the rule matches (or an earlier rule took it); nothing is rendered for it.");
    }

    /// <summary>The cross-network listener of both Gateway API Gateways; the export side's matches no hostname.</summary>
    private static JsonObject Listener(string? hostname) => Obj(
        ("name", Ossm3Federation.ListenerName),
        ("hostname", hostname),
        ("port", Ossm3Federation.CrossNetworkPort),
        ("protocol", "TLS"),
        ("tls", Obj(("mode", "Passthrough"), ("options", Obj((Ossm3Federation.ListenerProtocolOption, "auto-passthrough"))))));

    /// <summary>The Sail Istio resource of the guide's "Install OSSM 3 control plane" step.</summary>
    private static JsonObject Istio(FederationSet set, MeshControlPlane cp, List<PendingItem> pending, List<string> warnings)
    {
        var peers = set.Peerings.Where(p => p.Local.Name == cp.Name).OrderBy(p => p.Remote.Name, StringComparer.Ordinal).ToList();
        var roots = new List<string>();
        foreach (var p in peers)
        {
            var pem = p.CaBundle ?? p.Remote.RootCertificate ?? set.CaMaterial.FirstOrDefault(m => m.Cluster == p.Remote.ClusterName)?.RootCertPem;
            var certificates = Ossm3Federation.Certificates(pem);
            if (certificates.Count == 0)
            {
                pending.Add(new PendingItem(cp.ClusterName, cp.Name, $"Istio /{cp.ControlPlaneName} spec.values.meshConfig.caCertificates (root certificate of {p.Remote.Name})",
                    $"kubectl --context {p.Remote.Cluster.Context ?? p.Remote.ClusterName} -n {p.Remote.Namespace} get configmap istio-ca-root-cert -o jsonpath='{{.data.root-cert\\.pem}}' (then give it as rootCertificate of {p.Remote.Name})"));
                warnings.Add($"{cp.Name} does not trust {p.Remote.Name}'s root yet: it is not known offline. Applying live reads it from {p.Remote.Name}'s istio-ca-root-cert once its control plane runs; until then the Istio resource goes without it and mTLS to {p.Remote.Name} fails.");
                continue;
            }
            foreach (var c in certificates)
                if (!roots.Any(r => Ossm3Federation.Body(r) == Ossm3Federation.Body(c))) roots.Add(c);
        }
        var meshConfig = Obj(
            ("defaultConfig", Obj(("proxyMetadata", Obj(("ISTIO_META_DNS_CAPTURE", "true"), ("PROXY_CONFIG_XDS_AGENT", "true"))))),
            ("caCertificates", roots.Count > 0 ? Arr(roots.Select(r => (JsonNode?)Obj(("pem", r)))) : null),
            ("trustDomain", cp.TrustDomain),
            ("trustDomainAliases", peers.Count > 0 ? Strings(peers.Select(p => p.Remote.TrustDomain).Distinct(StringComparer.Ordinal)) : null));
        var values = Obj(
            ("meshConfig", meshConfig),
            ("pilot", Obj(("env", Obj(("ISTIO_MULTIROOT_MESH", "true"), ("PILOT_ENABLE_IP_AUTOALLOCATE", "true"))))),
            ("global", Obj(("network", cp.Network))));
        var spec = Obj(
            ("namespace", cp.Namespace),
            ("version", cp.Version.Length > 0 ? cp.Version : null),
            ("updateStrategy", Obj(("type", "RevisionBased"))),
            ("values", values));
        if (cp.SpecOverrides is not null) DeepMerge(spec, cp.SpecOverrides);
        return Obj(("apiVersion", cp.SailApiVersion), ("kind", "Istio"), ("metadata", Metadata(cp.ControlPlaneName, null, cp.Name)), ("spec", spec));
    }

    private static string B64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));
}
