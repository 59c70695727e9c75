using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Model;

/// <summary>The rules between objects of the OSSM 3 federation style, checked with the rest of <see cref="FederationSet.Validate"/>.</summary>
internal static class Ossm3FederationRules
{
    public static void Validate(FederationSet set, ProblemList problems)
    {
        var meshes = set.ControlPlanes.Where(c => c.Style == MeshStyle.Ossm3Federation).ToList();
        if (meshes.Count == 0) return;

        // Separate trust domains are what trustDomainAliases and the peers' SANs tell apart.
        foreach (var g in meshes.GroupBy(c => c.TrustDomain, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"mesh '{g.Last().Name}'.trustDomain", g.Key,
                $"is also the trust domain of {string.Join(", ", g.Take(g.Count() - 1).Select(c => c.Name))}; OSSM 3 federation keeps one trust domain per mesh (importers verify spiffe://<trust domain>/ns/<ns>/sa/<account>)",
                $"use '{g.Last().Name}.local'", g.Last().Source, g.Last());
        foreach (var g in meshes.GroupBy(c => c.Network, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"mesh '{g.Last().Name}'.network", g.Key, $"is also the network of {g.First().Name}; every mesh of an OSSM 3 federation is its own network",
                $"set cluster.network, e.g. network-{g.Last().Name}", g.Last().Source, g.Last());

        foreach (var p in set.Peerings.Where(p => p.Local.Style == MeshStyle.Ossm3Federation))
        {
            var field = $"peering '{p.Local.Name}->{p.Remote.Name}'.networkViews[{p.Remote.Name}]";
            if (p.RemoteNetwork == p.Local.Network)
                problems.Add(MeshErrorKind.Conflict, field, p.RemoteNetwork,
                    $"is {p.Local.Name}'s own network; its clients would reach its own services through {p.Remote.Name}'s gateway",
                    $"give {p.Remote.Name} another network name in {p.Local.Name}, e.g. {p.Remote.ClusterName}-network", p.Source, p);
            else if (!Names.IsDns1123Label(p.RemoteNetwork))
                problems.Add(MeshErrorKind.InvalidArgument, field, p.RemoteNetwork, "is not a DNS-1123 label (the topology.istio.io/network label value)",
                    $"set networkViews: {{{p.Remote.Name}: <network>}} on the peering", p.Source, p);
        }
        foreach (var g in set.Peerings.Where(p => p.Local.Style == MeshStyle.Ossm3Federation).GroupBy(p => (p.Local.Name, p.RemoteNetwork)).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"peering '{g.Key.Name}->{g.Last().Remote.Name}'.networkViews[{g.Last().Remote.Name}]", g.Key.RemoteNetwork,
                $"is also the network {g.Key.Name} knows {g.First().Remote.Name} by; each peer's east-west gateway needs its own network",
                "give each peer its own network name (networkViews)", g.Last().Source, g.Last());

        var services = Ossm3Federation.Services(set);
        foreach (var i in set.Imports.Where(i => i.ControlPlane.Style == MeshStyle.Ossm3Federation))
        {
            var matched = services.Where(s => s.Import == i).ToList();
            var exporter = set.FindControlPlane(i.Peer);
            if (matched.Count == 0 && exporter is not null)
                problems.Add(MeshErrorKind.NotFound, $"import '{i}'", $"{i.Namespace}/{(i.Name.Length == 0 ? "*" : i.Name)}",
                    $"matches no service {i.Peer} exports to {i.Mesh}{(set.Imports.Any(o => o != i && o.Mesh == i.Mesh && o.Peer == i.Peer) ? " (or an earlier import rule took it)" : "")}; the OSSM 3 federation style imports only what the peer names",
                    $"export it from {i.Peer} to {i.Mesh} (exports: - {{from: {i.Peer}, to: {i.Mesh}, services: [{{namespace: ..., name: ...}}]}}), or remove the import", i.Source, i);
            else if (exporter is not null && exporter.Style != MeshStyle.Ossm3Federation)
                problems.Add(MeshErrorKind.Conflict, $"import '{i}'.from", i.Peer, $"is a {exporter.Style} mesh; an OSSM 3 federation mesh imports from OSSM 3 federation meshes",
                    "peer meshes of the same style", i.Source, i);
            if (matched.Count > 1 && (i.ServiceEntry.Name is not null || i.ServiceEntry.Host is not null || i.ServiceEntry.WorkloadEntryName is not null))
                problems.Add(MeshErrorKind.Conflict, $"import '{i}'.serviceEntry", i.ServiceEntry.ToString(),
                    $"names one ServiceEntry, but the rule imports {matched.Count} services ({string.Join(", ", matched.Select(s => s.Export.Namespace + "/" + s.Export.Name))})",
                    "import those services one by one, each with its own serviceEntry names", i.Source, i);
        }
        foreach (var g in services.GroupBy(s => (s.Importer.Name, s.Host)).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"import '{g.Last().Import}'", g.Key.Host,
                $"is also the host of {g.First()}; one host is one ServiceEntry in {g.Key.Name}",
                "alias one of the imports to another name or namespace", g.Last().Import.Source, g.Last().Import);
        foreach (var g in services.GroupBy(s => (s.Importer.ClusterName, s.ServiceEntryNamespace, s.ServiceEntryName)).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"import '{g.Last().Import}'.serviceEntry.name", $"{g.Key.ServiceEntryNamespace}/{g.Key.ServiceEntryName}",
                $"is also the ServiceEntry of {g.First()}", "give each import its own serviceEntry.name", g.Last().Import.Source, g.Last().Import);
        foreach (var g in services.GroupBy(s => (s.Importer.ClusterName, s.ServiceEntryNamespace, s.WorkloadEntryName)).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"import '{g.Last().Import}'.serviceEntry.workloadEntryName", $"{g.Key.ServiceEntryNamespace}/{g.Key.WorkloadEntryName}",
                $"is also the WorkloadEntry of {g.First()}", "give each import its own serviceEntry.workloadEntryName", g.Last().Import.Source, g.Last().Import);
        foreach (var g in services.GroupBy(s => (s.Importer.ClusterName, s.ServiceEntryNamespace, Labels(s))).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"import '{g.Last().Import}'.serviceEntry.endpointLabels", g.Key.Item3,
                $"also select the WorkloadEntry of {g.First()}; each imported host needs its own endpoint labels", "give each import its own endpointLabels", g.Last().Import.Source, g.Last().Import);
        foreach (var cp in meshes)
            foreach (var g in Ossm3Federation.ExposedHosts(set, cp, services).GroupBy(h => h.Host).Where(g => g.Select(h => (h.Export.Namespace, h.Export.Name)).Distinct().Count() > 1))
                problems.Add(MeshErrorKind.Conflict, $"export '{g.Last().Export}'", g.Key,
                    $"is also the host {cp.Name} exposes for {g.First().Export.Namespace}/{g.First().Export.Name}; the east-west gateway routes one host to one service",
                    "alias one of the exports or imports", g.Last().Export.Source, g.Last().Export);
    }

    private static string Labels(FederatedService s) => string.Join(",", s.SelectorLabels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value));
}
