using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Checks;

/// <summary>
/// Checks of the OSSM 3 federation style (the migration guide's recipe). Offline they judge what would be rendered
/// (overrides included): trust domains, each peer's root in caCertificates, aliases, the multi-root and auto-allocation
/// switches, imports that resolve, remote networks and the guide's caveats. Live they compare what the clusters hold:
/// remote Gateway addresses against the peer's east-west gateway, peer roots against the Istio resource, ServiceEntry
/// and WorkloadEntry ports and SANs against the remote Service, the exposed hosts against the exports, and
/// AuthorizationPolicies that name a principal of an aliased trust domain. What is not observed is Skip or Fail with
/// the reason, never Pass.
/// </summary>
public static class Ossm3FederationChecks
{
    private const string Prefix = "OSSM3FED.";

    // ------------------------------------------------------------------ offline

    public static void RunOffline(FederationSet set, List<MeshCheckResult> results, DateTimeOffset? now = null)
    {
        var meshes = set.ControlPlanes.Where(c => c.Style == MeshStyle.Ossm3Federation).ToList();
        if (meshes.Count == 0) return;
        var at = now ?? DateTimeOffset.UtcNow;
        IReadOnlyList<RenderedManifest> rendered;
        try
        {
            rendered = Ossm2Renderer.Render(set).AllManifests.ToList();
        }
        catch (MeshFederationException ex)
        {
            foreach (var cp in meshes)
                results.Add(R(cp.Name, null, "Renders", CheckStatus.Fail, $"the federation does not render: {ex.Problems[0]}",
                    "Every other check of the style judges the objects the federation renders.", ex.Problems[0].Fix, Declared(cp, $"mesh {cp.Name}", null, null)));
            rendered = Array.Empty<RenderedManifest>();
        }
        var services = SafeServices(set);

        foreach (var cp in meshes)
        {
            var others = meshes.Where(o => o != cp && string.Equals(o.TrustDomain, cp.TrustDomain, StringComparison.OrdinalIgnoreCase)).Select(o => o.Name).ToList();
            results.Add(R(cp.Name, null, "TrustDomainUnique", others.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                others.Count == 0 ? $"trust domain {cp.TrustDomain} is {cp.Name}'s alone" : $"trust domain {cp.TrustDomain} is shared with {string.Join(", ", others)}",
                "Importers verify spiffe://<trust domain>/ns/<ns>/sa/<account>; meshes sharing a trust domain cannot be told apart, and trustDomainAliases would be meaningless.",
                $"give {cp.Name} its own trust domain, e.g. {cp.Name}.local", Declared(cp, IstioRef(cp), "spec.values.meshConfig.trustDomain", cp.TrustDomain)));

            var istio = rendered.FirstOrDefault(m => m.Mesh == cp.Name && m.Kind == "Istio")?.Content;
            if (istio is null) continue;
            var values = istio["spec"]?["values"];
            foreach (var (env, why) in new[]
            {
                ("ISTIO_MULTIROOT_MESH", "istiod must trust the peers' roots (meshConfig.caCertificates) next to its own."),
                ("PILOT_ENABLE_IP_AUTOALLOCATE", "Imported hosts such as httpbin.a.svc.west-mesh-imports.local exist in no DNS; istiod allocates them addresses the DNS proxy answers with."),
            })
            {
                var value = values?["pilot"]?["env"]?[env]?.ToString();
                results.Add(R(cp.Name, null, "ControlPlaneSwitches", value == "true" ? CheckStatus.Pass : CheckStatus.Fail,
                    value == "true" ? $"{env} is on" : $"{env} is {(value is null ? "not set" : $"'{value}'")} (an override changed it)", why,
                    $"remove the override of spec.values.pilot.env.{env}", Declared(cp, IstioRef(cp), $"spec.values.pilot.env.{env}", value)));
            }
            var dns = values?["meshConfig"]?["defaultConfig"]?["proxyMetadata"]?["ISTIO_META_DNS_CAPTURE"]?.ToString();
            results.Add(R(cp.Name, null, "DnsCapture", dns == "true" ? CheckStatus.Pass : CheckStatus.Fail,
                dns == "true" ? "sidecars answer DNS for imported hosts" : $"ISTIO_META_DNS_CAPTURE is {(dns is null ? "not set" : $"'{dns}'")}: clients cannot resolve imported hosts",
                "Clients keep calling the OSSM 2 host names; only the sidecar's DNS proxy knows them.",
                "remove the override of spec.values.meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE", Declared(cp, IstioRef(cp), "spec.values.meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE", dns)));

            var aliases = (values?["meshConfig"]?["trustDomainAliases"] as JsonArray)?.Select(a => a?.ToString() ?? "").ToList() ?? new List<string>();
            var pems = ((values?["meshConfig"]?["caCertificates"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                .SelectMany(c => Ossm3Federation.Certificates(c["pem"]?.GetValue<string>())).Select(Ossm3Federation.Body).ToHashSet(StringComparer.Ordinal);
            foreach (var p in set.Peerings.Where(p => p.Local.Name == cp.Name).OrderBy(p => p.Remote.Name, StringComparer.Ordinal))
            {
                var remote = p.Remote;
                results.Add(R(cp.Name, remote.Name, "TrustDomainAliased", aliases.Contains(remote.TrustDomain) ? CheckStatus.Pass : CheckStatus.Fail,
                    aliases.Contains(remote.TrustDomain) ? $"{cp.Name} accepts identities of {remote.TrustDomain}" : $"{remote.TrustDomain} is not among {cp.Name}'s trustDomainAliases ({string.Join(", ", aliases)})",
                    "Without the alias, istiod rejects the peer's workload identities in authorization and in peer authentication.",
                    $"remove the override of spec.values.meshConfig.trustDomainAliases, or add {remote.TrustDomain}", Declared(cp, IstioRef(cp), "spec.values.meshConfig.trustDomainAliases", string.Join(",", aliases))));
                var root = p.CaBundle ?? remote.RootCertificate ?? set.CaMaterial.FirstOrDefault(m => m.Cluster == remote.ClusterName)?.RootCertPem;
                var certs = Ossm3Federation.Certificates(root);
                if (certs.Count == 0)
                {
                    results.Add(R(cp.Name, remote.Name, "PeerRootTrusted", CheckStatus.Warn, $"{remote.Name}'s root certificate is not known offline",
                        "mTLS across meshes with separate roots works only when each trusts the other's root (meshConfig.caCertificates).",
                        $"give rootCertificate for {remote.Name}, or apply live (it is read from {remote.Name}'s istio-ca-root-cert)", Declared(remote, $"mesh {remote.Name}", "rootCertificate", null)));
                    continue;
                }
                foreach (var c in certs)
                {
                    var (status, message) = JudgeRoot(c, pems, at, remote.Name, cp.Name);
                    results.Add(R(cp.Name, remote.Name, "PeerRootTrusted", status, message,
                        "mTLS across meshes with separate roots works only when each trusts the other's root (meshConfig.caCertificates).",
                        status == CheckStatus.Fail && !pems.Contains(Ossm3Federation.Body(c)) ? "remove the override of spec.values.meshConfig.caCertificates" : $"renew {remote.Name}'s root and give the new one as its rootCertificate",
                        Declared(cp, IstioRef(cp), "spec.values.meshConfig.caCertificates", Ossm3Federation.Fingerprint(c))));
                }

                var remoteNetworkClash = p.RemoteNetwork == cp.Network ? $"is {cp.Name}'s own network"
                    : p.RemoteNetwork == Names.NetworkView(remote.Name) ? $"is the network OSSM 2 federation gave {remote.Name} (network-{remote.Name})" : null;
                results.Add(R(cp.Name, remote.Name, "RemoteNetworkDistinct", remoteNetworkClash is null ? CheckStatus.Pass : p.RemoteNetwork == cp.Network ? CheckStatus.Fail : CheckStatus.Warn,
                    remoteNetworkClash is null ? $"{remote.Name}'s east-west gateway is network {p.RemoteNetwork} in {cp.Name}" : $"network {p.RemoteNetwork} {remoteNetworkClash}",
                    "The istio-remote Gateway's network must differ from the local one; while OSSM 2 federation still runs it must also differ from the federation ingress network, or that address is overwritten (the guide's IMPORTANT note).",
                    $"set networkViews: {{{remote.Name}: {remote.ClusterName}-network}} on the peering", Declared(cp, $"Gateway {cp.Namespace}/{Ossm3Federation.RemoteGatewayPrefix}{remote.Network}", $"metadata.labels.{IstioRenderer.NetworkLabel}", p.RemoteNetwork)));

                if (services.Any(s => s.Importer.Name == cp.Name && s.Exporter.Name == remote.Name))
                {
                    var addresses = p.RemoteAddresses.Count > 0 ? p.RemoteAddresses : remote.IngressAddressesFor(cp.Name);
                    results.Add(R(cp.Name, remote.Name, "GatewayAddressKnown", addresses.Count > 0 ? CheckStatus.Pass : CheckStatus.Warn,
                        addresses.Count > 0 ? $"{remote.Name}'s east-west gateway is at {string.Join(", ", addresses)}" : $"{remote.Name}'s east-west gateway address is not known offline",
                        "The istio-remote Gateway's address is where imported endpoints are sent (WorkloadEntries take it from the Gateway).",
                        $"give ingressAddresses for {remote.Name}, or apply live (it is read from {Ossm3Federation.EastWestNamespace}/{Ossm3Federation.EastWestService} once it has an address)",
                        Declared(cp, $"Gateway {cp.Namespace}/{Ossm3Federation.RemoteGatewayPrefix}{remote.Network}", "spec.addresses", string.Join(",", addresses))));
                }
            }
        }

        foreach (var i in set.Imports.Where(i => i.ControlPlane.Style == MeshStyle.Ossm3Federation))
        {
            var matched = services.Where(s => s.Import == i).ToList();
            results.Add(R(i.Mesh, i.Peer, "ImportResolves", matched.Count > 0 ? CheckStatus.Pass : CheckStatus.Fail,
                matched.Count > 0 ? $"{i} imports {string.Join(", ", matched.Select(s => s.Host))}" : $"{i} matches nothing {i.Peer} exports to {i.Mesh}",
                "Manual service discovery imports only the services the peer names; a rule that matches nothing renders nothing.",
                $"export the service from {i.Peer} to {i.Mesh}, or remove the import", Declared(i.ControlPlane, $"import {i}", null, null, i.Source)));
        }

        foreach (var e in set.Exports.Where(e => e.ControlPlane.Style == MeshStyle.Ossm3Federation && !e.IsLabelSelector && !Names.IsWildcard(e.Name)))
            results.Add(R(e.Mesh, e.Peer, "ServiceDetailsKnown", e.HasServiceDetails ? CheckStatus.Pass : CheckStatus.Warn,
                e.HasServiceDetails ? $"{e.Namespace}/{e.Name}: ports {string.Join(", ", e.Ports)}, service accounts {string.Join(", ", e.ServiceAccounts)}"
                    : $"ports, service accounts or selector of {e.Namespace}/{e.Name} are not known offline",
                "Importers' ServiceEntries need the ports and the SANs; the exporting ServiceEntry needs the target ports and the pod selector.",
                $"apply live (read from Service {e.Namespace}/{e.Name} in {e.Cluster}), or give ports, serviceAccounts and selector on the export",
                Declared(e.ControlPlane, $"Service {e.Namespace}/{e.Name}", "spec.ports", string.Join(",", e.Ports), e.Source)));

        // The guide's caveat: a host on the east-west gateway reaches every mesh with network access, not only the importers.
        foreach (var cp in meshes)
        {
            var peers = set.Peerings.Where(p => p.Local.Name == cp.Name).Select(p => p.Remote.Name).Distinct(StringComparer.Ordinal).ToList();
            foreach (var h in Ossm3Federation.ExposedHosts(set, cp, services))
            {
                var beyond = peers.Where(p => !h.Importers.Contains(p, StringComparer.Ordinal)).ToList();
                results.Add(R(cp.Name, null, "ExportScope", beyond.Count == 0 ? CheckStatus.Pass : CheckStatus.Warn,
                    beyond.Count == 0 ? $"{h.Host} is for {string.Join(", ", h.Importers)}, every peer of {cp.Name}"
                        : $"{h.Host} is exported to {string.Join(", ", h.Importers)}, but {string.Join(", ", beyond)} can reach it too",
                    "OSSM 3 multi-cluster exports a service to every mesh with network access to the east-west gateway; OSSM 2 exported to one peer at a time.",
                    $"restrict who may call {h.Export.Namespace}/{h.Export.Name} with an AuthorizationPolicy (principals of the importing meshes), or network policy in front of the gateway",
                    Declared(cp, $"Gateway {Ossm3Federation.EastWestNamespace}/{Ossm3Federation.ExposeServicesGateway}", "spec.servers[0].hosts", h.Host)));
            }
        }
    }

    private static (CheckStatus, string) JudgeRoot(string pem, HashSet<string> trusted, DateTimeOffset now, string remote, string local)
    {
        X509Certificate2 cert;
        try
        {
            cert = X509Certificate2.CreateFromPem(pem);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            return (CheckStatus.Fail, $"{remote}'s root certificate cannot be read: {ex.Message}");
        }
        using (cert)
        {
            var who = $"{cert.Subject} ({Ossm3Federation.Fingerprint(pem)}, valid until {cert.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)})";
            if (!trusted.Contains(Ossm3Federation.Body(pem))) return (CheckStatus.Fail, $"{remote}'s root {who} is not in {local}'s caCertificates");
            if (cert.NotAfter.ToUniversalTime() < now.UtcDateTime) return (CheckStatus.Fail, $"{remote}'s root {who} has expired");
            if (cert.NotAfter.ToUniversalTime() < now.UtcDateTime.AddDays(30)) return (CheckStatus.Warn, $"{remote}'s root {who} expires within 30 days");
            return (CheckStatus.Pass, $"{local} trusts {remote}'s root {who}");
        }
    }

    private static IReadOnlyList<FederatedService> SafeServices(FederationSet set)
    {
        try
        {
            return Ossm3Federation.Services(set);
        }
        catch (MeshFederationException)
        {
            return Array.Empty<FederatedService>();
        }
    }

    // ------------------------------------------------------------------ live

    /// <summary>Reads what the OSSM 3 federation meshes of <paramref name="intended"/> hold in their clusters and compares it with each other and with the intent.</summary>
    public static async Task<IReadOnlyList<MeshCheckResult>> RunLiveAsync(FederationSet intended, Func<MeshControlPlane, KubeClient> clientFor, CancellationToken cancellationToken)
    {
        var meshes = intended.ControlPlanes.Where(c => c.Style == MeshStyle.Ossm3Federation).ToList();
        var results = new List<MeshCheckResult>();
        if (meshes.Count == 0) return results;
        var observed = (await Task.WhenAll(meshes.Select(cp => ObserveAsync(cp, clientFor(cp), intended, cancellationToken))).ConfigureAwait(false))
            .ToDictionary(o => o.Cp.Name, StringComparer.Ordinal);
        var services = SafeServices(intended);

        foreach (var o in observed.Values)
        {
            var cp = o.Cp;
            results.Add(R(cp.Name, null, "GatewayApiServed", o.GatewayApiServed ? CheckStatus.Pass : CheckStatus.Fail,
                o.GatewayApiServed ? $"cluster {cp.ClusterName} serves Gateway API Gateways" : $"cluster {cp.ClusterName} does not serve gateway.networking.k8s.io/v1 Gateway",
                "The east-west gateway and the istio-remote Gateways are Gateway API Gateways; OpenShift ships the Gateway API from 4.19.",
                "upgrade to OpenShift 4.19 or later, or install the Gateway API CRDs", Live(o, "APIResource gateway.networking.k8s.io/v1", "Gateway", o.GatewayApiServed ? "served" : "not served")));
            if (o.Error is not null)
            {
                results.Add(R(cp.Name, null, "LiveRead", CheckStatus.Fail, $"cluster {cp.ClusterName} could not be read: {o.Error}",
                    "The live checks compare what the clusters hold.", "check the kubeconfig context and permissions", Live(o, $"cluster {cp.ClusterName}", null, o.Error)));
                continue;
            }
        }

        foreach (var p in intended.Peerings.Where(p => p.Local.Style == MeshStyle.Ossm3Federation).OrderBy(p => p.Local.Name, StringComparer.Ordinal).ThenBy(p => p.Remote.Name, StringComparer.Ordinal))
        {
            var local = observed[p.Local.Name];
            var remote = observed.GetValueOrDefault(p.Remote.Name);
            if (local.Error is not null || remote is null || remote.Error is not null) continue;
            var why = "mTLS across meshes with separate roots works only when each trusts the other's root (meshConfig.caCertificates).";
            if (local.Istio is null)
                results.Add(R(p.Local.Name, p.Remote.Name, "LivePeerRootTrusted", CheckStatus.Fail, $"no Istio {p.Local.ControlPlaneName} in cluster {p.Local.ClusterName}", why,
                    "apply the federation (meshfed apply, Sync-MeshFederation)", Live(local, IstioRef(p.Local), null, "not found")));
            else if (remote.OwnRoots.Count == 0)
                results.Add(R(p.Local.Name, p.Remote.Name, "LivePeerRootTrusted", CheckStatus.Skip, $"{p.Remote.Name}'s root could not be read: no istio-ca-root-cert in {p.Remote.Namespace}", why,
                    $"start {p.Remote.Name}'s control plane, then check again", Live(remote, $"ConfigMap {p.Remote.Namespace}/istio-ca-root-cert", "data.root-cert.pem", "not found")));
            else
                foreach (var root in remote.OwnRoots)
                {
                    var trusted = local.TrustedRoots.Contains(Ossm3Federation.Body(root));
                    results.Add(R(p.Local.Name, p.Remote.Name, "LivePeerRootTrusted", trusted ? CheckStatus.Pass : CheckStatus.Fail,
                        trusted ? $"{p.Local.Name} trusts {p.Remote.Name}'s root {Ossm3Federation.Fingerprint(root)}" : $"{p.Remote.Name}'s root {Ossm3Federation.Fingerprint(root)} is not in {p.Local.Name}'s caCertificates",
                        why, "apply the federation again: the root is read from the peer", Live(local, IstioRef(p.Local), "spec.values.meshConfig.caCertificates", string.Join(",", local.TrustedFingerprints)),
                        Live(remote, $"ConfigMap {p.Remote.Namespace}/istio-ca-root-cert", "data.root-cert.pem", Ossm3Federation.Fingerprint(root))));
                }
            if (local.Istio is not null && remote.TrustDomain is { } td)
            {
                var aliased = local.Aliases.Contains(td);
                results.Add(R(p.Local.Name, p.Remote.Name, "LiveTrustDomainAliased", aliased ? CheckStatus.Pass : CheckStatus.Fail,
                    aliased ? $"{p.Local.Name} accepts {td}" : $"{td} (trust domain of {p.Remote.Name}) is not among {p.Local.Name}'s trustDomainAliases",
                    "Without the alias the peer's identities are not accepted.", "apply the federation again", Live(local, IstioRef(p.Local), "spec.values.meshConfig.trustDomainAliases", string.Join(",", local.Aliases)),
                    Live(remote, IstioRef(p.Remote), "spec.values.meshConfig.trustDomain", td)));
            }

            if (!services.Any(s => s.Importer.Name == p.Local.Name && s.Exporter.Name == p.Remote.Name)) continue;
            var gwName = Ossm3Federation.RemoteGatewayPrefix + p.Remote.Network;
            var gw = local.RemoteGateways.GetValueOrDefault(gwName);
            var gwAddresses = ((gw?["spec"]?["addresses"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>()).Select(a => a["value"]?.GetValue<string>() ?? "").ToList();
            var whyGw = "Imported endpoints are sent to the address of the istio-remote Gateway; it must be the peer's east-west gateway.";
            if (gw is null)
                results.Add(R(p.Local.Name, p.Remote.Name, "LiveRemoteGatewayAddress", CheckStatus.Fail, $"no Gateway {p.Local.Namespace}/{gwName} in cluster {p.Local.ClusterName}", whyGw,
                    "apply the federation (meshfed apply, Sync-MeshFederation)", Live(local, $"Gateway {p.Local.Namespace}/{gwName}", null, "not found")));
            else if (remote.EastWestAddresses.Count == 0)
                results.Add(R(p.Local.Name, p.Remote.Name, "LiveRemoteGatewayAddress", CheckStatus.Fail,
                    $"{p.Remote.Name}'s east-west gateway has no address, so {gwName} ({string.Join(", ", gwAddresses)}) cannot point at it", whyGw,
                    $"check the Service {Ossm3Federation.EastWestNamespace}/{Ossm3Federation.EastWestService} in {p.Remote.ClusterName} (a LoadBalancer needs an address)",
                    Live(remote, $"Service {Ossm3Federation.EastWestNamespace}/{Ossm3Federation.EastWestService}", "status.loadBalancer.ingress", remote.EastWestSource)));
            else
            {
                var match = gwAddresses.Count > 0 && gwAddresses.All(a => remote.EastWestAddresses.Contains(a));
                results.Add(R(p.Local.Name, p.Remote.Name, "LiveRemoteGatewayAddress", match ? CheckStatus.Pass : CheckStatus.Fail,
                    match ? $"{gwName} points at {p.Remote.Name}'s east-west gateway {string.Join(", ", gwAddresses)}"
                        : $"{gwName} points at {(gwAddresses.Count == 0 ? "nothing" : string.Join(", ", gwAddresses))}, but {p.Remote.Name}'s east-west gateway is at {string.Join(", ", remote.EastWestAddresses)}",
                    whyGw, "apply the federation again: the address is read from the peer", Live(local, $"Gateway {p.Local.Namespace}/{gwName}", "spec.addresses", string.Join(",", gwAddresses)),
                    Live(remote, $"Service {Ossm3Federation.EastWestNamespace}/{Ossm3Federation.EastWestService}", "status.loadBalancer.ingress", string.Join(",", remote.EastWestAddresses))));
            }
        }

        foreach (var s in services.OrderBy(s => s.Importer.Name, StringComparer.Ordinal).ThenBy(s => s.Host, StringComparer.Ordinal))
        {
            var local = observed.GetValueOrDefault(s.Importer.Name);
            var remote = observed.GetValueOrDefault(s.Exporter.Name);
            if (local?.Error is not null || remote?.Error is not null || local is null || remote is null) continue;
            results.Add(ImportMatches(s, local, remote));
        }

        foreach (var o in observed.Values.Where(o => o.Error is null))
        {
            var intendedHosts = Ossm3Federation.ExposedHosts(intended, o.Cp, services).Select(h => h.Host).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            if (intendedHosts.Count == 0 && o.ExposedHosts is null) continue;
            var why = "The east-west gateway passes through exactly the hosts the Istio Gateway lists; the Gateway API listener alone blocks everything.";
            if (o.ExposedHosts is null)
                results.Add(R(o.Cp.Name, null, "LiveGatewayHosts", CheckStatus.Fail, $"no Gateway {Ossm3Federation.EastWestNamespace}/{Ossm3Federation.ExposeServicesGateway} in cluster {o.Cp.ClusterName}: nothing is exported",
                    why, "apply the federation (meshfed apply, Sync-MeshFederation)", Live(o, $"Gateway {Ossm3Federation.EastWestNamespace}/{Ossm3Federation.ExposeServicesGateway}", null, "not found")));
            else
            {
                var missing = intendedHosts.Except(o.ExposedHosts, StringComparer.Ordinal).ToList();
                var extra = o.ExposedHosts.Except(intendedHosts, StringComparer.Ordinal).ToList();
                results.Add(R(o.Cp.Name, null, "LiveGatewayHosts", missing.Count == 0 && extra.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                    missing.Count == 0 && extra.Count == 0 ? $"the east-west gateway passes exactly the exported hosts ({string.Join(", ", intendedHosts)})"
                        : string.Join("; ", new[] { missing.Count > 0 ? $"not passed: {string.Join(", ", missing)}" : null, extra.Count > 0 ? $"passed but not exported: {string.Join(", ", extra)}" : null }.Where(x => x is not null)),
                    why, "apply the federation again (the hosts come from the exports and imports)",
                    Live(o, $"Gateway {Ossm3Federation.EastWestNamespace}/{Ossm3Federation.ExposeServicesGateway}", "spec.servers[].hosts", string.Join(",", o.ExposedHosts))));
            }
        }

        foreach (var o in observed.Values.Where(o => o.Error is null)) results.AddRange(await AuthorizationPoliciesAsync(o, observed, clientFor, cancellationToken).ConfigureAwait(false));
        return results;
    }

    private static MeshCheckResult ImportMatches(FederatedService s, Observed local, Observed remote)
    {
        var why = "The ServiceEntry's ports must be the remote Service's and its subjectAltNames the identities of the remote workloads; the WorkloadEntry must be on the remote gateway's network.";
        var seRef = $"ServiceEntry {s.ServiceEntryNamespace}/{s.ServiceEntryName}";
        var se = local.ServiceEntries.GetValueOrDefault($"{s.ServiceEntryNamespace}/{s.ServiceEntryName}");
        var we = local.WorkloadEntries.GetValueOrDefault($"{s.ServiceEntryNamespace}/{s.WorkloadEntryName}");
        var found = remote.Services.TryGetValue($"{s.Export.Namespace}/{s.Export.Name}", out var svc);
        if (se is null)
            return R(s.Importer.Name, s.Exporter.Name, "LiveImportMatchesService", CheckStatus.Fail, $"{seRef} for {s.Host} is not in cluster {s.Importer.ClusterName}", why,
                "apply the federation (meshfed apply, Sync-MeshFederation)", Live(local, seRef, null, "not found"));
        if (!found)
            return R(s.Importer.Name, s.Exporter.Name, "LiveImportMatchesService", CheckStatus.Fail, $"Service {s.Export.Namespace}/{s.Export.Name} is not in cluster {s.Exporter.ClusterName}: {s.Host} leads nowhere", why,
                $"deploy {s.Export.Namespace}/{s.Export.Name} in {s.Exporter.ClusterName} or remove the export", Live(remote, $"Service {s.Export.Namespace}/{s.Export.Name}", null, "not found"));
        var problems = new List<string>();
        var wantPorts = svc.Ports.Select(p => $"{p.Number}/{p.Name}/{p.Protocol}").Order(StringComparer.Ordinal).ToList();
        var havePorts = ((se["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
            .Select(p => $"{p["number"]}/{p["name"]}/{p["protocol"]?.ToString().ToUpperInvariant()}").Order(StringComparer.Ordinal).ToList();
        if (!wantPorts.SequenceEqual(havePorts)) problems.Add($"ports are {string.Join(", ", havePorts)}, the Service's are {string.Join(", ", wantPorts)}");
        var wantSans = svc.ServiceAccounts.Select(sa => Ossm3Federation.Spiffe(remote.TrustDomain ?? s.Exporter.TrustDomain, s.Export.Namespace, sa)).Order(StringComparer.Ordinal).ToList();
        var haveSans = (se["spec"]?["subjectAltNames"] as JsonArray)?.Select(x => x?.ToString() ?? "").Order(StringComparer.Ordinal).ToList() ?? new List<string>();
        if (svc.ServiceAccounts.Count > 0 && !wantSans.SequenceEqual(haveSans)) problems.Add($"subjectAltNames are {(haveSans.Count == 0 ? "none" : string.Join(", ", haveSans))}, the workloads run as {string.Join(", ", wantSans)}");
        var hosts = (se["spec"]?["hosts"] as JsonArray)?.Select(x => x?.ToString()).ToList() ?? new List<string?>();
        if (!hosts.Contains(s.Host)) problems.Add($"hosts are {string.Join(", ", hosts)}, not {s.Host}");
        var network = local.RemoteGateways.GetValueOrDefault(Ossm3Federation.RemoteGatewayPrefix + s.Exporter.Network)?["metadata"]?["labels"]?[IstioRenderer.NetworkLabel]?.GetValue<string>();
        if (we is null) problems.Add($"WorkloadEntry {s.ServiceEntryNamespace}/{s.WorkloadEntryName} is missing");
        else
        {
            var weNetwork = we["spec"]?["network"]?.GetValue<string>();
            if (network is not null && weNetwork != network) problems.Add($"WorkloadEntry network is {weNetwork ?? "(none)"}, the remote Gateway's is {network}");
            if (we["metadata"]?["labels"]?[Ossm3Federation.TlsModeLabel]?.GetValue<string>() != "istio") problems.Add($"WorkloadEntry lacks {Ossm3Federation.TlsModeLabel}: istio (the client would not use mTLS)");
            var selector = se["spec"]?["workloadSelector"]?["labels"] as JsonObject;
            if (selector is null || selector.Any(kv => we["metadata"]?["labels"]?[kv.Key]?.ToString() != kv.Value?.ToString()))
                problems.Add("the ServiceEntry's workloadSelector does not select the WorkloadEntry");
        }
        return R(s.Importer.Name, s.Exporter.Name, "LiveImportMatchesService", problems.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
            problems.Count == 0 ? $"{s.Host}: ports {string.Join(", ", wantPorts)} and identities {string.Join(", ", wantSans)} match {s.Export.Namespace}/{s.Export.Name} in {s.Exporter.ClusterName}"
                : $"{s.Host}: {string.Join("; ", problems)}",
            why, "apply the federation again: ports and service accounts are read from the exporting cluster",
            Live(local, seRef, "spec.ports", string.Join(",", havePorts)), Live(local, seRef, "spec.subjectAltNames", string.Join(",", haveSans)),
            Live(remote, $"Service {s.Export.Namespace}/{s.Export.Name}", "spec.ports", string.Join(",", wantPorts)),
            Live(remote, $"Pods of {s.Export.Namespace}/{s.Export.Name}", "spec.serviceAccountName", string.Join(",", svc.ServiceAccounts)));
    }

    /// <summary>The guide's caveat: with trustDomainAliases, a principal of one trust domain also matches the same ns/sa of every aliased one.</summary>
    private static async Task<IReadOnlyList<MeshCheckResult>> AuthorizationPoliciesAsync(Observed o, IReadOnlyDictionary<string, Observed> all, Func<MeshControlPlane, KubeClient> clientFor, CancellationToken cancellationToken)
    {
        var results = new List<MeshCheckResult>();
        if (o.AuthorizationPolicies is null || o.Istio is null) return results;
        var domains = o.Aliases.Append(o.TrustDomain ?? o.Cp.TrustDomain).ToHashSet(StringComparer.Ordinal);
        var why = "With trustDomainAliases, Istio treats identities of aliased trust domains as the local one: a policy allowing west.local/ns/foo/sa/bar also allows east.local/ns/foo/sa/bar (the guide's caveat).";
        var flagged = 0;
        foreach (var ap in o.AuthorizationPolicies)
        {
            var principals = ((ap["spec"]?["rules"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                .SelectMany(r => (r["from"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                .SelectMany(f => new[] { f["source"]?["principals"], f["source"]?["notPrincipals"] }.OfType<JsonArray>().SelectMany(a => a.Select(x => x?.ToString() ?? "")))
                .Distinct(StringComparer.Ordinal).ToList();
            foreach (var principal in principals)
            {
                var parts = principal.Split('/');
                if (parts.Length != 5 || parts[1] != "ns" || parts[3] != "sa" || !domains.Contains(parts[0])) continue;
                // Does another mesh of the federation have the same namespace and service account?
                var twins = new List<string>();
                // The mesh itself counts: a policy naming a peer's identity also matches the same ns/sa of the local trust domain.
                foreach (var other in all.Values.Where(x => x.Error is null && domains.Contains(x.TrustDomain ?? x.Cp.TrustDomain) && (x.TrustDomain ?? x.Cp.TrustDomain) != parts[0]))
                {
                    try
                    {
                        if (await clientFor(other.Cp).GetAsync("v1", "ServiceAccount", parts[2], parts[4], cancellationToken).ConfigureAwait(false) is not null)
                            twins.Add($"{other.TrustDomain ?? other.Cp.TrustDomain}/ns/{parts[2]}/sa/{parts[4]} ({other.Cp.Name})");
                    }
                    catch (KubeApiException)
                    {
                        twins.Add($"{other.Cp.TrustDomain}/ns/{parts[2]}/sa/{parts[4]} (not readable in {other.Cp.Name})");
                    }
                }
                if (twins.Count == 0) continue;
                flagged++;
                var apRef = $"AuthorizationPolicy {ap["metadata"]?["namespace"]}/{ap["metadata"]?["name"]}";
                results.Add(R(o.Cp.Name, null, "AuthorizationPolicyAliasedTrustDomain", CheckStatus.Warn,
                    $"{apRef} names {principal}, which also matches {string.Join(", ", twins)}", why,
                    "use namespace or service account names that differ between meshes for identities you must tell apart",
                    Live(o, apRef, "spec.rules[].from[].source.principals", principal)));
            }
        }
        if (flagged == 0)
            results.Add(R(o.Cp.Name, null, "AuthorizationPolicyAliasedTrustDomain", CheckStatus.Pass,
                $"no AuthorizationPolicy in {o.Cp.ClusterName} names a principal that an aliased trust domain shares ({o.AuthorizationPolicies.Count} read)", why, "",
                Live(o, "AuthorizationPolicy (all namespaces)", "spec.rules[].from[].source.principals", $"{o.AuthorizationPolicies.Count} policies")));
        return results;
    }

    // ------------------------------------------------------------------ observation

    private sealed class Observed
    {
        public required MeshControlPlane Cp { get; init; }
        public DateTimeOffset At { get; init; }
        public string? Error { get; set; }
        public bool GatewayApiServed { get; set; }
        public JsonObject? Istio { get; set; }
        public string? TrustDomain { get; set; }
        public List<string> Aliases { get; } = new();
        public HashSet<string> TrustedRoots { get; } = new(StringComparer.Ordinal);
        public List<string> TrustedFingerprints { get; } = new();
        public List<string> OwnRoots { get; } = new();
        public List<string> EastWestAddresses { get; } = new();
        public string EastWestSource { get; set; } = "not found";
        public List<string>? ExposedHosts { get; set; }
        public Dictionary<string, JsonObject> RemoteGateways { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, JsonObject> ServiceEntries { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, JsonObject> WorkloadEntries { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, (IReadOnlyList<ServicePortSpec> Ports, IReadOnlyList<string> ServiceAccounts)> Services { get; } = new(StringComparer.Ordinal);
        public List<JsonObject>? AuthorizationPolicies { get; set; }
    }

    private static async Task<Observed> ObserveAsync(MeshControlPlane cp, KubeClient client, FederationSet intended, CancellationToken cancellationToken)
    {
        var o = new Observed { Cp = cp, At = DateTimeOffset.UtcNow };
        try
        {
            o.GatewayApiServed = await client.FindAsync(Ossm3Federation.GatewayApiVersion, "Gateway", cancellationToken).ConfigureAwait(false) is not null;
            if (await client.FindAsync(cp.SailApiVersion, "Istio", cancellationToken).ConfigureAwait(false) is not null)
                o.Istio = await client.GetAsync(cp.SailApiVersion, "Istio", null, cp.ControlPlaneName, cancellationToken).ConfigureAwait(false);
            var meshConfig = o.Istio?["spec"]?["values"]?["meshConfig"];
            o.TrustDomain = meshConfig?["trustDomain"]?.GetValue<string>() ?? (o.Istio is null ? null : "cluster.local");
            o.Aliases.AddRange((meshConfig?["trustDomainAliases"] as JsonArray)?.Select(a => a?.ToString() ?? "") ?? Enumerable.Empty<string>());
            foreach (var c in ((meshConfig?["caCertificates"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>()).SelectMany(c => Ossm3Federation.Certificates(c["pem"]?.GetValue<string>())))
                if (o.TrustedRoots.Add(Ossm3Federation.Body(c))) o.TrustedFingerprints.Add(Ossm3Federation.Fingerprint(c));
            var root = await Ossm3FederationLive.ReadRootAsync(client, cp, Diagnostics.NullMeshLog.Instance, cancellationToken).ConfigureAwait(false);
            o.OwnRoots.AddRange(Ossm3Federation.Certificates(root));
            var svc = await client.GetAsync("v1", "Service", Ossm3Federation.EastWestNamespace, Ossm3Federation.EastWestService, cancellationToken).ConfigureAwait(false);
            if (svc is not null)
            {
                o.EastWestAddresses.AddRange(((svc["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                    .Select(i => i["ip"]?.GetValue<string>() ?? i["hostname"]?.GetValue<string>()).Where(a => !string.IsNullOrEmpty(a)).Select(a => a!));
                o.EastWestSource = o.EastWestAddresses.Count == 0 ? "no LoadBalancer address" : string.Join(",", o.EastWestAddresses);
            }
            if (await client.FindAsync(Ossm3Federation.IstioGatewayApiVersion, "Gateway", cancellationToken).ConfigureAwait(false) is not null)
            {
                var expose = await client.GetAsync(Ossm3Federation.IstioGatewayApiVersion, "Gateway", Ossm3Federation.EastWestNamespace, Ossm3Federation.ExposeServicesGateway, cancellationToken).ConfigureAwait(false);
                if (expose is not null)
                    o.ExposedHosts = ((expose["spec"]?["servers"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                        .SelectMany(s => (s["hosts"] as JsonArray)?.Select(h => h?.ToString() ?? "") ?? Enumerable.Empty<string>()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            }
            if (o.GatewayApiServed)
                foreach (var gw in await client.ListAsync(Ossm3Federation.GatewayApiVersion, "Gateway", cp.Namespace, null, cancellationToken).ConfigureAwait(false))
                    if (gw["spec"]?["gatewayClassName"]?.GetValue<string>() == "istio-remote") o.RemoteGateways[gw["metadata"]!["name"]!.GetValue<string>()] = gw;
            var services = Ossm3Federation.Services(intended);
            if (await client.FindAsync(Ossm3Federation.IstioApiVersion, "ServiceEntry", cancellationToken).ConfigureAwait(false) is not null)
                foreach (var s in services.Where(s => s.Importer.Name == cp.Name))
                {
                    if (await client.GetAsync(Ossm3Federation.IstioApiVersion, "ServiceEntry", s.ServiceEntryNamespace, s.ServiceEntryName, cancellationToken).ConfigureAwait(false) is { } se)
                        o.ServiceEntries[$"{s.ServiceEntryNamespace}/{s.ServiceEntryName}"] = se;
                    if (await client.GetAsync(Ossm3Federation.IstioApiVersion, "WorkloadEntry", s.ServiceEntryNamespace, s.WorkloadEntryName, cancellationToken).ConfigureAwait(false) is { } we)
                        o.WorkloadEntries[$"{s.ServiceEntryNamespace}/{s.WorkloadEntryName}"] = we;
                }
            foreach (var e in services.Where(s => s.Exporter.Name == cp.Name).Select(s => s.Export).DistinctBy(e => (e.Namespace, e.Name)))
            {
                try
                {
                    var d = await Ossm3FederationLive.ReadServiceAsync(client, e, Diagnostics.NullMeshLog.Instance, cancellationToken).ConfigureAwait(false);
                    o.Services[$"{e.Namespace}/{e.Name}"] = (d.Ports, d.ServiceAccounts);
                }
                catch (MeshFederationException)
                {
                    // Not there (or without pods): the import check reports it.
                }
            }
            if (await client.FindAsync("security.istio.io/v1", "AuthorizationPolicy", cancellationToken).ConfigureAwait(false) is not null)
                o.AuthorizationPolicies = (await client.ListAsync("security.istio.io/v1", "AuthorizationPolicy", null, null, cancellationToken).ConfigureAwait(false)).ToList();
        }
        catch (KubeApiException ex)
        {
            o.Error = ex.ApiMessage ?? ex.Message;
        }
        return o;
    }

    // ------------------------------------------------------------------ results and evidence

    private static string IstioRef(MeshControlPlane cp) => $"Istio {cp.ControlPlaneName}";

    private static MeshCheckResult R(string mesh, string? peer, string id, CheckStatus status, string message, string why, string fix, params MeshEvidence[] evidence) =>
        new() { Mesh = mesh, Peer = peer, CheckId = Prefix + id, Status = status, Message = message, Why = why, Fix = status == CheckStatus.Pass ? "" : fix, Evidence = evidence };

    /// <summary>Evidence of a declared value (offline): cluster, object, field, value and where it was declared.</summary>
    private static MeshEvidence Declared(MeshControlPlane cp, string obj, string? field, string? value, SourceLocation? source = null) =>
        Evidence(cp.ClusterName, obj, field, value ?? "(not set)", null, (source ?? cp.Source)?.ToString() ?? "the pipeline");

    /// <summary>Evidence of an observed value: cluster, object, field, value and when it was read.</summary>
    private static MeshEvidence Live(Observed o, string obj, string? field, string? value) => Evidence(o.Cp.ClusterName, obj, field, value, o.At, null);

    private static MeshEvidence Evidence(string cluster, string obj, string? field, string? value, DateTimeOffset? observedAt, string? source) =>
        new() { Cluster = cluster, Object = obj, Field = string.IsNullOrEmpty(field) ? null : field, Value = value, ObservedAt = observedAt, Source = observedAt is null ? source : source ?? "live" };
}
