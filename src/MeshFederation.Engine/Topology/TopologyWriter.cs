using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;
using static MeshFederation.Engine.Rendering.JsonBuilder;

namespace MeshFederation.Engine.Topology;

/// <summary>
/// Writes an OSSM 3 federation set back as a topology (the document <see cref="TopologyLoader"/> reads): what the
/// migration emits. Only what differs from the defaults is written, so the file reads like one a person would write.
/// </summary>
public static class TopologyWriter
{
    public static JsonObject Ossm3Federation(FederationSet set, string? comment = null)
    {
        var meshes = set.ControlPlanes.ToList();
        var problems = new ProblemList();
        foreach (var cp in meshes.Where(c => c.Style != MeshStyle.Ossm3Federation))
            problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{cp.Name}'.style", cp.Style.ToString(), "only OSSM 3 federation sets are written as topologies", "give ossm3-federation meshes", cp.Source, cp);
        problems.ThrowIfAny();
        var versions = meshes.Select(c => c.Version).Distinct(StringComparer.Ordinal).ToList();
        var version = versions.Count == 1 ? versions[0] : null;
        var doc = Obj(
            ("apiVersion", TopologyLoader.ApiVersion),
            ("kind", TopologyLoader.Kind),
            ("metadata", Obj(("name", set.Name))),
            ("defaults", Obj(("style", TopologyLoader.StyleName(MeshStyle.Ossm3Federation)), ("version", version))));

        doc["meshes"] = Arr(meshes.Select(cp =>
        {
            var cluster = Obj(("name", cp.Cluster.Name), ("context", cp.Cluster.Context), ("kubeconfig", cp.Cluster.KubeConfig), ("network", cp.Cluster.Network));
            var addresses = cp.IngressAddresses.Count == 0 ? null
                : cp.IngressAddresses.Count == 1 && cp.IngressAddresses.ContainsKey("*") ? (JsonNode)Strings(cp.IngressAddresses["*"])
                : Obj(cp.IngressAddresses.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, (JsonNode?)Strings(kv.Value))).ToArray());
            return (JsonNode?)Obj(
                ("name", cp.Name),
                ("namespace", cp.Namespace),
                ("controlPlaneName", cp.ControlPlaneName != MeshControlPlane.DefaultIstioResourceName ? cp.ControlPlaneName : null),
                ("cluster", cluster.Count == 1 ? (JsonNode)JsonValue.Create(cp.Cluster.Name)! : cluster),
                ("version", version is null ? cp.Version : null),
                ("trustDomain", cp.TrustDomain),
                ("members", cp.MemberNamespaces.Count > 0 ? Strings(cp.MemberNamespaces) : null),
                ("ingressAddresses", addresses),
                ("rootCertificate", cp.RootCertificate),
                ("overrides", cp.SpecOverrides?.DeepClone()));
        }));

        var pairs = set.Peerings.Select(p => string.CompareOrdinal(p.Local.Name, p.Remote.Name) < 0 ? (p.Local.Name, p.Remote.Name) : (p.Remote.Name, p.Local.Name)).Distinct().OrderBy(x => x).ToList();
        doc["peerings"] = Arr(pairs.Select(pair =>
        {
            var views = set.Peerings.Where(p => (p.Local.Name == pair.Item1 && p.Remote.Name == pair.Item2) || (p.Local.Name == pair.Item2 && p.Remote.Name == pair.Item1))
                .Where(p => !string.IsNullOrEmpty(p.NetworkView)).OrderBy(p => p.Remote.Name, StringComparer.Ordinal).ToList();
            return (JsonNode?)Obj(("between", Strings(new[] { pair.Item1, pair.Item2 })),
                ("networkViews", views.Count > 0 ? Obj(views.Select(p => (p.Remote.Name, (JsonNode?)p.NetworkView)).ToArray()) : null));
        }));

        if (set.Exports.Count > 0)
            doc["exports"] = Arr(set.Exports.GroupBy(e => (e.Mesh, e.Peer)).OrderBy(g => g.Key).Select(g => (JsonNode?)Obj(
                ("from", g.Key.Mesh), ("to", g.Key.Peer),
                ("services", Arr(g.Select(e => (JsonNode?)Obj(
                    ("namespace", e.Namespace), ("name", e.Name),
                    ("alias", e.AliasNamespace is null && e.AliasName is null ? null : Obj(("namespace", e.AliasNamespace), ("name", e.AliasName))),
                    ("ports", e.Ports.Count > 0 ? Arr(e.Ports.Select(p => (JsonNode?)Obj(("name", p.Name), ("number", p.Number), ("protocol", p.Protocol), ("targetPort", p.TargetPort)))) : null),
                    ("serviceAccounts", e.ServiceAccounts.Count > 0 ? Strings(e.ServiceAccounts) : null),
                    ("selector", e.WorkloadSelector is { Count: > 0 } sel ? Obj(sel.Select(kv => (kv.Key, (JsonNode?)kv.Value)).ToArray()) : null))))))));

        if (set.Imports.Count > 0)
            doc["imports"] = Arr(set.Imports.GroupBy(i => (i.Mesh, i.Peer)).OrderBy(g => g.Key).Select(g => (JsonNode?)Obj(
                ("into", g.Key.Mesh), ("from", g.Key.Peer),
                ("services", Arr(g.Select(i => (JsonNode?)Obj(
                    ("namespace", i.Namespace), ("name", i.Name.Length > 0 ? i.Name : null),
                    ("alias", i.AliasNamespace is null && i.AliasName is null ? null : Obj(("namespace", i.AliasNamespace), ("name", i.AliasName))),
                    ("importAsLocal", i.ImportAsLocal ? true : null),
                    ("domainSuffix", i.DomainSuffix),
                    ("serviceEntry", i.ServiceEntry.IsDefault ? null : ServiceEntry(i.ServiceEntry)))))))));
        return doc;
    }

    private static JsonObject ServiceEntry(ServiceEntryOptions se) => Obj(
        ("name", se.Name), ("namespace", se.Namespace), ("host", se.Host),
        ("endpointLabels", se.EndpointLabels.Count > 0 ? Obj(se.EndpointLabels.Select(kv => (kv.Key, (JsonNode?)kv.Value)).ToArray()) : null),
        ("apiVersion", se.ApiVersion), ("exportTo", se.ExportTo is null ? null : Strings(se.ExportTo)), ("workloadEntryName", se.WorkloadEntryName));
}
