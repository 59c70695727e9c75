using System.Text.Json.Nodes;
using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Live;

/// <summary>
/// What only the clusters know for the OSSM 3 federation style, read before planning (the migration guide's manual
/// lookups): each peer's root certificate (its <c>istio-ca-root-cert</c>, without the extra roots its own Istio trusts),
/// each exporting mesh's east-west gateway address (the LoadBalancer status of <c>istio-ingress/eastwestgateway-istio</c>,
/// else the Gateway's status addresses), and the ports, target ports, pod selector and service accounts of every
/// exported service (its Service and the pods it selects). Declared values always win; nothing is read twice.
/// </summary>
public static class Ossm3FederationLive
{
    public static async Task<FederationSet> ResolveAsync(FederationSet set, Func<MeshControlPlane, KubeClient> client, IMeshLog log, CancellationToken cancellationToken)
    {
        if (!set.ControlPlanes.Any(c => c.Style == MeshStyle.Ossm3Federation)) return set;
        var services = Ossm3Federation.Services(set);

        var rootTasks = set.Peerings.Where(p => p.Local.Style == MeshStyle.Ossm3Federation && p.CaBundle is null && p.Remote.RootCertificate is null
                                                && !set.CaMaterial.Any(m => m.Cluster == p.Remote.ClusterName))
            .Select(p => p.Remote).DistinctBy(r => r.Name)
            .Select(async r => (r.Name, Pem: await ReadRootAsync(client(r), r, log, cancellationToken).ConfigureAwait(false)));
        var addressTasks = set.Peerings.Where(p => p.Local.Style == MeshStyle.Ossm3Federation && p.RemoteAddresses.Count == 0 && p.Remote.IngressAddressesFor(p.Local.Name).Count == 0
                                                   && services.Any(s => s.Importer.Name == p.Local.Name && s.Exporter.Name == p.Remote.Name))
            .Select(p => p.Remote).DistinctBy(r => r.Name)
            .Select(async r => (r.Name, Addresses: await ReadEastWestAddressAsync(client(r), r, log, cancellationToken).ConfigureAwait(false)));
        var detailTasks = set.Exports.Where(e => e.ControlPlane.Style == MeshStyle.Ossm3Federation && !e.HasServiceDetails && !e.IsLabelSelector && !Names.IsWildcard(e.Name))
            .Select(async e => (Export: e, Details: await ReadServiceAsync(client(e.ControlPlane), e, log, cancellationToken).ConfigureAwait(false)));

        var roots = (await Task.WhenAll(rootTasks).ConfigureAwait(false)).Where(r => r.Pem is not null).ToDictionary(r => r.Name, r => r.Pem!, StringComparer.Ordinal);
        var addresses = (await Task.WhenAll(addressTasks).ConfigureAwait(false)).Where(a => a.Addresses.Count > 0).ToDictionary(a => a.Name, a => a.Addresses, StringComparer.Ordinal);
        var details = (await Task.WhenAll(detailTasks).ConfigureAwait(false)).ToDictionary(d => d.Export, d => d.Details);

        var resolved = new FederationSet { Name = set.Name, PendingProxy = set.PendingProxy };
        foreach (var cp in set.ControlPlanes) resolved.Add(cp);
        foreach (var p in set.Peerings)
            resolved.Add(p.Local.Style != MeshStyle.Ossm3Federation ? p
                : p.WithResolved(addresses.TryGetValue(p.Remote.Name, out var a) ? a : null, roots.TryGetValue(p.Remote.Name, out var pem) ? pem : null));
        foreach (var e in set.Exports)
            resolved.Add(details.TryGetValue(e, out var d) ? e.WithServiceDetails(d.Ports, d.ServiceAccounts, d.Selector) : e);
        // Imports keep pointing at the same control-plane objects; exports were copied, so matching goes by value.
        foreach (var o in set.Imports.Cast<object>().Concat(set.TrafficSplits).Concat(set.ProxyConfigs).Concat(set.FailoverPolicies).Concat(set.CaMaterial)) resolved.Add(o);
        return resolved;
    }

    /// <summary>
    /// The mesh's own root: the certificates of its istio-ca-root-cert that are not extra roots it trusts itself
    /// (ISTIO_MULTIROOT_MESH puts meshConfig.caCertificates into that bundle too).
    /// </summary>
    internal static async Task<string?> ReadRootAsync(KubeClient client, MeshControlPlane cp, IMeshLog log, CancellationToken cancellationToken)
    {
        var cm = await client.GetAsync("v1", "ConfigMap", cp.Namespace, "istio-ca-root-cert", cancellationToken).ConfigureAwait(false);
        var pem = cm?["data"]?[Names.RootCertKey]?.GetValue<string>();
        if (pem is null)
        {
            log.Verbose($"{cp.Name}: no istio-ca-root-cert in {cp.Namespace} yet (its control plane has not started)");
            return null;
        }
        var trusted = new HashSet<string>(StringComparer.Ordinal);
        if (await client.FindAsync(cp.SailApiVersion, "Istio", cancellationToken).ConfigureAwait(false) is not null
            && await client.GetAsync(cp.SailApiVersion, "Istio", null, cp.ControlPlaneName, cancellationToken).ConfigureAwait(false) is { } istio)
            foreach (var c in (istio["spec"]?["values"]?["meshConfig"]?["caCertificates"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                foreach (var cert in Ossm3Federation.Certificates(c["pem"]?.GetValue<string>()))
                    trusted.Add(Ossm3Federation.Body(cert));
        var own = Ossm3Federation.Certificates(pem).Where(c => !trusted.Contains(Ossm3Federation.Body(c))).ToList();
        log.Verbose($"{cp.Name}: root certificate {string.Join(", ", own.Select(Ossm3Federation.Fingerprint))} read from {cp.Namespace}/istio-ca-root-cert");
        return own.Count == 0 ? null : string.Concat(own);
    }

    /// <summary>The east-west gateway's address: its Service's LoadBalancer ingress, else the Gateway's status addresses.</summary>
    internal static async Task<IReadOnlyList<string>> ReadEastWestAddressAsync(KubeClient client, MeshControlPlane cp, IMeshLog log, CancellationToken cancellationToken)
    {
        var svc = await client.GetAsync("v1", "Service", Ossm3Federation.EastWestNamespace, Ossm3Federation.EastWestService, cancellationToken).ConfigureAwait(false);
        var result = ((svc?["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
            .Select(i => i["ip"]?.GetValue<string>() ?? i["hostname"]?.GetValue<string>()).Where(a => !string.IsNullOrEmpty(a)).Select(a => a!).ToList();
        if (result.Count == 0 && await client.FindAsync(Ossm3Federation.GatewayApiVersion, "Gateway", cancellationToken).ConfigureAwait(false) is not null)
        {
            var gw = await client.GetAsync(Ossm3Federation.GatewayApiVersion, "Gateway", Ossm3Federation.EastWestNamespace, Ossm3Federation.EastWestGateway, cancellationToken).ConfigureAwait(false);
            result = ((gw?["status"]?["addresses"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                .Select(a => a["value"]?.GetValue<string>()).Where(a => !string.IsNullOrEmpty(a)).Select(a => a!).ToList();
        }
        log.Verbose(result.Count == 0
            ? $"{cp.Name}: the east-west gateway ({Ossm3Federation.EastWestNamespace}/{Ossm3Federation.EastWestService}) has no address yet"
            : $"{cp.Name}: east-west gateway at {string.Join(", ", result)}");
        return result;
    }

    /// <summary>What an exported service's Service and pods say about it.</summary>
    public sealed record ServiceDetails(IReadOnlyList<ServicePortSpec> Ports, IReadOnlyList<string> ServiceAccounts, IReadOnlyDictionary<string, string>? Selector);

    /// <summary>Ports (protocol by Istio's rules, numeric target ports), pod selector and the service accounts of the pods it selects.</summary>
    public static async Task<ServiceDetails> ReadServiceAsync(KubeClient client, MeshServiceExport e, IMeshLog log, CancellationToken cancellationToken)
    {
        var cp = e.ControlPlane;
        var svc = await client.GetAsync("v1", "Service", e.Namespace, e.Name!, cancellationToken).ConfigureAwait(false)
            ?? throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, $"export '{e}'", $"Service {e.Namespace}/{e.Name}",
                $"does not exist in cluster {cp.ClusterName}; its ports and service accounts cannot be read", "deploy the service before federating it, or give ports, serviceAccounts and selector on the export")
            { Location = e.Source, Target = e });
        var selector = (svc["spec"]?["selector"] as JsonObject)?.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal);
        var pods = selector is { Count: > 0 }
            ? await client.ListAsync("v1", "Pod", e.Namespace, string.Join(",", selector.Select(kv => $"{kv.Key}={kv.Value}")), cancellationToken).ConfigureAwait(false)
            : Array.Empty<JsonObject>();
        var accounts = pods.Select(p => p["spec"]?["serviceAccountName"]?.GetValue<string>() ?? "default").Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var ports = new List<ServicePortSpec>();
        var problems = new ProblemList();
        foreach (var p in (svc["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
        {
            var number = p["port"]!.GetValue<int>();
            var name = p["name"]?.GetValue<string>() is { Length: > 0 } n ? n : $"tcp-{number}";
            int? target = null;
            if (p["targetPort"] is JsonValue t)
            {
                if (t.TryGetValue<int>(out var ti)) target = ti;
                else if (t.TryGetValue<string>(out var ts))
                {
                    target = int.TryParse(ts, out var parsed) ? parsed : pods.SelectMany(pod => (pod["spec"]?["containers"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                        .SelectMany(c => (c["ports"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                        .FirstOrDefault(cp2 => cp2["name"]?.GetValue<string>() == ts)?["containerPort"]?.GetValue<int>();
                    if (target is null)
                        problems.Add(MeshErrorKind.NotFound, $"export '{e}'.ports[{name}].targetPort", ts,
                            $"names a container port that no pod of Service {e.Namespace}/{e.Name} declares", "give ports with a numeric targetPort on the export", e.Source, e);
                }
            }
            ports.Add(new ServicePortSpec(name, number, ServicePortSpec.IstioProtocol(name, p["appProtocol"]?.GetValue<string>())) { TargetPort = target });
        }
        if (selector is not { Count: > 0 })
            problems.Add(MeshErrorKind.InvalidData, $"export '{e}'", $"Service {e.Namespace}/{e.Name}", "has no pod selector; the exporting ServiceEntry selects the service's pods",
                "give selector (and serviceAccounts) on the export", e.Source, e);
        else if (accounts.Count == 0)
            problems.Add(MeshErrorKind.NotFound, $"export '{e}'.serviceAccounts", $"Service {e.Namespace}/{e.Name}",
                $"selects no pods in cluster {cp.ClusterName}, so the identity importers verify cannot be read", "start the service's workloads, or give serviceAccounts on the export", e.Source, e);
        problems.ThrowIfAny();
        log.Verbose($"{cp.Name}: Service {e.Namespace}/{e.Name}: ports {string.Join(", ", ports)}, service accounts {string.Join(", ", accounts)}");
        return new ServiceDetails(ports, accounts, selector);
    }
}
