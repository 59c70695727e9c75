using System.Text.Json.Nodes;

namespace MeshFederation.TestKube;

/// <summary>
/// Stands in for istiod's federation across test clusters: once two meshes have ServiceMeshPeers for each other, both
/// peers get a connected discovery status (every istiod pod active, watch and remotes connected); ExportedServiceSets
/// list what their name rules export; ImportedServiceSets list what the peer exports, with the local service of the
/// first import rule that matches (or an empty one).
/// </summary>
public sealed class FakeFederationController
{
    private readonly IReadOnlyList<FakeApiServer> _servers;
    private readonly Dictionary<string, string> _connectedAt = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    [ThreadStatic] private static bool _reconciling;

    public FakeFederationController(params FakeApiServer[] servers)
    {
        _servers = servers;
        foreach (var s in servers) s.Store.Changed += OnChanged;
    }

    /// <summary>Pairs that stay disconnected (mesh names, either order): their peers report inactive pods.</summary>
    public HashSet<(string, string)> Broken { get; } = new();

    private static readonly ResourceType Smcp = ResourceTypes.ByKind("maistra.io/v2", "ServiceMeshControlPlane")!;
    private static readonly ResourceType Smp = ResourceTypes.ByKind("federation.maistra.io/v1", "ServiceMeshPeer")!;
    private static readonly ResourceType Ess = ResourceTypes.ByKind("federation.maistra.io/v1", "ExportedServiceSet")!;
    private static readonly ResourceType Iss = ResourceTypes.ByKind("federation.maistra.io/v1", "ImportedServiceSet")!;

    private void OnChanged(ResourceType type, JsonObject obj, string verb)
    {
        if (_reconciling || type.Kind is not ("ServiceMeshPeer" or "ExportedServiceSet" or "ImportedServiceSet" or "ServiceMeshControlPlane")) return;
        _reconciling = true;
        try
        {
            lock (_gate) Reconcile();
        }
        finally
        {
            _reconciling = false;
        }
    }

    /// <summary>Recomputes every status now (also called by tests after changing something by hand).</summary>
    public void Reconcile()
    {
        var meshes = _servers.SelectMany(s => s.Store.List(Smcp, null, null, "v2").Select(m => (Server: s, Name: Name(m), Ns: Ns(m)))).ToList();
        foreach (var (server, mesh, ns) in meshes)
        {
            foreach (var peer in server.Store.List(Smp, ns, null, "v1"))
            {
                var remoteName = Name(peer);
                var remote = meshes.FirstOrDefault(m => m.Name == remoteName);
                var back = remote.Server?.Store.Get(Smp, remote.Ns, mesh, "v1");
                var pod = $"istiod-{mesh}-0";
                JsonObject? status = null;
                if (back is not null)
                {
                    var key = string.CompareOrdinal(mesh, remoteName) < 0 ? $"{mesh}|{remoteName}" : $"{remoteName}|{mesh}";
                    if (!_connectedAt.TryGetValue(key, out var at)) _connectedAt[key] = at = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
                    status = Broken.Contains((mesh, remoteName)) || Broken.Contains((remoteName, mesh))
                        ? new JsonObject { ["discoveryStatus"] = new JsonObject { ["inactive"] = new JsonArray(new JsonObject { ["pod"] = pod, ["watch"] = new JsonObject { ["connected"] = false, ["lastDisconnectStatus"] = "503 Service Unavailable" } }) } }
                        : new JsonObject
                        {
                            ["discoveryStatus"] = new JsonObject
                            {
                                ["active"] = new JsonArray(new JsonObject
                                {
                                    ["pod"] = pod,
                                    ["remotes"] = new JsonArray(new JsonObject { ["source"] = "10.128.0.10", ["connected"] = true, ["lastConnected"] = at, ["lastFullSync"] = at }),
                                    ["watch"] = new JsonObject { ["connected"] = true, ["lastConnected"] = at, ["lastFullSync"] = at },
                                }),
                            },
                        };
                }
                SetStatus(server, Smp, peer, status);
            }
            foreach (var ess in server.Store.List(Ess, ns, null, "v1"))
                SetStatus(server, Ess, ess, new JsonObject { ["exportedServices"] = new JsonArray(Exported(ess).Select(e => (JsonNode)e.Entry.DeepClone()).ToArray()) });
        }
        foreach (var (server, mesh, ns) in meshes)
            foreach (var iss in server.Store.List(Iss, ns, null, "v1"))
            {
                var from = Name(iss);
                var exporter = meshes.FirstOrDefault(m => m.Name == from);
                var ess = exporter.Server?.Store.Get(Ess, exporter.Ns, mesh, "v1");
                var entries = new JsonArray();
                foreach (var (exportedName, svcNs, svcName) in ess is null ? Enumerable.Empty<(string, string, string)>() : Exported(ess).Select(e => (e.ExportedName, e.Ns, e.Name)))
                {
                    var local = new JsonObject { ["hostname"] = "", ["name"] = "", ["namespace"] = "" };
                    foreach (var rule in (iss["spec"]?["importRules"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                    {
                        var sel = rule["nameSelector"];
                        bool Match(string? pattern, string value) => string.IsNullOrEmpty(pattern) || pattern == "*" || pattern == value;
                        if (!Match(sel?["namespace"]?.GetValue<string>(), svcNs) || !Match(sel?["name"]?.GetValue<string>(), svcName)) continue;
                        var asLocal = rule["importAsLocal"]?.GetValue<bool>() == true;
                        var aliasNs = sel?["alias"]?["namespace"]?.GetValue<string>();
                        var aliasName = sel?["alias"]?["name"]?.GetValue<string>();
                        if (asLocal && (string.IsNullOrEmpty(aliasNs) || aliasNs == "*")) continue; // OSSM drops this rule
                        var lns = string.IsNullOrEmpty(aliasNs) || aliasNs == "*" ? svcNs : aliasNs;
                        var lname = string.IsNullOrEmpty(aliasName) || aliasName == "*" ? svcName : aliasName;
                        local = new JsonObject { ["hostname"] = asLocal ? $"{lname}.{lns}.svc.cluster.local" : $"{lname}.{lns}.svc.{from}-imports.local", ["name"] = lname, ["namespace"] = lns };
                        break;
                    }
                    entries.Add(new JsonObject { ["exportedName"] = exportedName, ["localService"] = local });
                }
                SetStatus(server, Iss, iss, new JsonObject { ["importedServices"] = entries });
            }
    }

    private static IEnumerable<(string ExportedName, string Ns, string Name, JsonObject Entry)> Exported(JsonObject ess)
    {
        var peer = Name(ess);
        foreach (var rule in (ess["spec"]?["exportRules"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
        {
            if (rule["type"]?.GetValue<string>() != "NameSelector") continue;
            var sel = rule["nameSelector"];
            var ns = sel?["namespace"]?.GetValue<string>();
            var name = sel?["name"]?.GetValue<string>();
            if (string.IsNullOrEmpty(ns) || ns == "*" || string.IsNullOrEmpty(name) || name == "*") continue;
            var aliasNs = sel?["alias"]?["namespace"]?.GetValue<string>();
            var aliasName = sel?["alias"]?["name"]?.GetValue<string>();
            var ens = string.IsNullOrEmpty(aliasNs) || aliasNs == "*" ? ns : aliasNs;
            var ename = string.IsNullOrEmpty(aliasName) || aliasName == "*" ? name : aliasName;
            var exported = $"{ename}.{ens}.svc.{peer}-exports.local";
            yield return (exported, ens, ename, new JsonObject
            {
                ["exportedName"] = exported,
                ["localService"] = new JsonObject { ["hostname"] = $"{name}.{ns}.svc.cluster.local", ["name"] = name, ["namespace"] = ns },
            });
        }
    }

    private static void SetStatus(FakeApiServer server, ResourceType type, JsonObject obj, JsonObject? status)
    {
        if (JsonNode.DeepEquals(obj["status"], status)) return;
        var copy = (JsonObject)obj.DeepClone();
        copy["status"] = status;
        (copy["metadata"] as JsonObject)!.Remove("resourceVersion");
        server.Store.Update(type, Ns(obj), Name(obj), copy, type.Versions[0], status: true, "istiod");
    }

    private static string Name(JsonObject o) => o["metadata"]!["name"]!.GetValue<string>();

    private static string Ns(JsonObject o) => o["metadata"]!["namespace"]!.GetValue<string>();
}
