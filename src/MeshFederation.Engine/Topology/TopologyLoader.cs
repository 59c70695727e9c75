using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Proxy;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Engine.Topology;

/// <summary>
/// Reads a topology file (docs/topology.md, docs/topology.schema.json): the declarative twin of the cmdlet pipeline.
/// It builds the same objects through the same <see cref="Factory"/> the cmdlets use.
/// </summary>
public static class TopologyLoader
{
    public const string ApiVersion = "meshfederation.io/v1alpha1";
    public const string Kind = "FederationTopology";

    private static readonly Dictionary<string, MeshStyle> Styles = new(StringComparer.Ordinal)
    {
        ["ossm2"] = MeshStyle.Ossm2,
        ["multi-primary"] = MeshStyle.MultiPrimary,
        ["multi-mesh"] = MeshStyle.MultiMesh,
        ["ossm3-federation"] = MeshStyle.Ossm3Federation,
    };

    /// <summary>The topology name of a style (<c>ossm2</c>, <c>multi-primary</c>, <c>multi-mesh</c>, <c>ossm3-federation</c>).</summary>
    public static string StyleName(MeshStyle style) => Styles.First(kv => kv.Value == style).Key;

    public static FederationSet LoadFile(string path, IYamlBridge yaml) => LoadFile(path, yaml, judgeRendered: true);

    /// <summary>
    /// Loads a topology file. <paramref name="judgeRendered"/> false leaves out judging every rendered object by the
    /// upstream schemas: for callers that render the set next, which judges the same objects (meshfed render).
    /// </summary>
    public static FederationSet LoadFile(string path, IYamlBridge yaml, bool judgeRendered)
    {
        // Only a regular text file of sane size: a FIFO, device or folder is refused before anything blocks on it.
        var text = IO.InputFile.ReadText(path, "topology", IO.InputFile.MaxTopologyBytes, "give the path of a topology file (YAML, docs/topology.md)");
        return Load(text, path, yaml, judgeRendered);
    }

    public static FederationSet Load(string text, string sourceName, IYamlBridge yaml) => Load(text, sourceName, yaml, judgeRendered: true);

    private static FederationSet Load(string text, string sourceName, IYamlBridge yaml, bool judgeRendered)
    {
        var docs = yaml.Parse(text, sourceName);
        var problems = new ProblemList();
        if (docs.Count != 1)
        {
            problems.Add(MeshErrorKind.InvalidData, "topology", docs.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                docs.Count == 0 ? "the file is empty" : "holds several YAML documents; a topology is one document",
                "put one FederationTopology in the file", new SourceLocation(sourceName, 1, 1));
            problems.ThrowIfAny();
        }
        var root = new NodeReader(docs[0], "topology", problems);
        problems.ThrowIfAny();

        var api = root.Str("apiVersion", required: true, fix: $"add 'apiVersion: {ApiVersion}'");
        if (api is not null && api != ApiVersion)
            problems.Add(MeshErrorKind.InvalidData, "apiVersion", api, "is not a supported topology version", $"use '{ApiVersion}'", root.At("apiVersion"));
        var kind = root.Str("kind", required: true, fix: $"add 'kind: {Kind}'");
        if (kind is not null && kind != Kind)
            problems.Add(MeshErrorKind.InvalidData, "kind", kind, "is not a topology", $"use 'kind: {Kind}'", root.At("kind"));
        var set = new FederationSet();
        if (root.Object("metadata") is { } md)
        {
            set.Name = md.Str("name") ?? set.Name;
            Names.CheckLabel(problems, "metadata.name", set.Name, md.At("name"));
            md.RejectUnknown();
        }

        var defaults = root.Object("defaults");
        var meshes = new List<MeshControlPlane>();
        var meshEntries = 0;
        var declared = new HashSet<string>(StringComparer.Ordinal);
        var perCluster = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var meshNodes = new List<NodeReader>();
        var declaredAt = new Dictionary<string, (string Path, SourceLocation At)>(StringComparer.Ordinal);
        foreach (var m in root.Objects("meshes"))
        {
            meshEntries++;
            meshNodes.Add(m);
            if (m.Str("name") is { } declaredName)
            {
                declared.Add(declaredName);
                // A mesh over several clusters becomes one mesh per cluster, <cluster>-<name>: those are the names to use.
                if (m.Node("clusters") is { Kind: YNodeKind.Sequence, Items.Count: > 1 } cl)
                {
                    var expanded = cl.Items.Select(i => (i.Kind == YNodeKind.Scalar ? i.Value : i["name"]?.Value) ?? "").Select(c => $"{c}-{declaredName}").ToList();
                    perCluster[declaredName] = expanded;
                    foreach (var e in expanded) declared.Add(e);
                }
            }
            foreach (var cp in ReadMesh(m, defaults, problems))
            {
                // A second mesh of the same name is reported once, here, and left out: everything that refers to the
                // name would otherwise fail again (peered with itself, declared twice, ...).
                if (declaredAt.TryGetValue(cp.Name, out var first))
                {
                    problems.Add(MeshErrorKind.Conflict, $"{m.Path}.name", cp.Name, $"is already the name of {first.Path} (line {first.At.Line})",
                        "give every mesh a unique name", m.At("name"));
                    continue;
                }
                declaredAt[cp.Name] = (m.Path, m.At("name"));
                meshes.Add(cp);
            }
        }
        defaults?.RejectUnknown();
        if (meshEntries == 0)
            problems.Add(MeshErrorKind.InvalidData, "meshes", null, "no meshes are declared", "add at least one entry under 'meshes:'", root.Location);
        foreach (var cp in meshes) set.Add(cp);
        var byName = meshes.GroupBy(m => m.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

        var meshNames = string.Join(", ", byName.Keys);
        foreach (var m in meshNodes)
        {
            if (m.Node("ingressAddresses") is not { Kind: YNodeKind.Mapping } addr) continue;
            var own = m.Str("name");
            foreach (var (k, _) in addr.Entries)
            {
                var key = k.Value ?? "";
                if (key == "*") continue;
                if (!byName.ContainsKey(key) && !declared.Contains(key))
                    problems.Add(MeshErrorKind.NotFound, $"{m.Path}.ingressAddresses.{key}", key, "is not a mesh declared under 'meshes:'; addresses are keyed by the peer that uses them",
                        $"use one of: {meshNames}, or '*' for every peer", k.Location);
                else if (key == own && byName.ContainsKey(own))
                    problems.Add(MeshErrorKind.InvalidArgument, $"{m.Path}.ingressAddresses.{key}", key, "is this mesh itself; a mesh is not its own peer",
                        "key the addresses by the peer mesh that uses them", k.Location);
            }
        }

        MeshControlPlane? Mesh(string? name, string field, SourceLocation at)
        {
            if (name is null) return null;
            if (byName.TryGetValue(name, out var cp)) return cp;
            if (perCluster.TryGetValue(name, out var expanded))
            {
                problems.Add(MeshErrorKind.NotFound, field, name, "names a mesh declared over several clusters; it becomes one mesh per cluster",
                    $"use one of: {string.Join(", ", expanded)}", at);
                return null;
            }
            if (declared.Contains(name)) return null; // declared but invalid: already reported
            problems.Add(MeshErrorKind.NotFound, field, name, "is not a mesh declared under 'meshes:'",
                $"use one of: {string.Join(", ", byName.Keys)}", at);
            return null;
        }

        var peeringsNode = root.Node("peerings");
        if (peeringsNode is { Kind: YNodeKind.Scalar })
        {
            if (peeringsNode.Value == "all")
            {
                if (meshes.Count >= 2) foreach (var p in MeshPeering.FullMesh(meshes, new PeeringOptions { Source = peeringsNode.Location })) set.Add(p);
            }
            else problems.Add(MeshErrorKind.InvalidData, "peerings", peeringsNode.Value, "is neither 'all' nor a list", "write 'peerings: all' or list pairs with 'between:'", peeringsNode.Location);
        }
        else
        {
            foreach (var p in root.Objects("peerings"))
            {
                var between = p.StrList("between");
                var cps = between.Select(b => Mesh(b, $"{p.Path}.between[]", p.At("between"))).ToList();
                if (between.Count < 2)
                    problems.Add(MeshErrorKind.InvalidData, $"{p.Path}.between", string.Join(",", between), "needs two or more meshes", "write 'between: [mesh-a, mesh-b]'", p.At("between"));
                foreach (var g in between.GroupBy(b => b, StringComparer.Ordinal).Where(g => g.Count() > 1))
                    problems.Add(MeshErrorKind.Conflict, $"{p.Path}.between", g.Key, "a mesh cannot be federated with itself", "list two different meshes", p.At("between"));
                var views = p.StrMap("networkViews");
                var options = new PeeringOptions
                {
                    DiscoveryPort = p.Int("discoveryPort") ?? MeshPeering.DefaultDiscoveryPort,
                    ServicePort = p.Int("servicePort") ?? MeshPeering.DefaultServicePort,
                    NetworkViews = views,
                    Source = p.Location,
                };
                p.RejectUnknown();
                if (cps.All(c => c is not null) && between.Count >= 2 && between.Distinct(StringComparer.Ordinal).Count() == between.Count)
                    foreach (var peering in MeshPeering.FullMesh(cps!, options)) set.Add(peering);
            }
        }

        foreach (var e in root.Objects("exports"))
        {
            var from = Mesh(e.Str("from", required: true), $"{e.Path}.from", e.At("from"));
            var to = e.Str("to", required: true);
            var toKnown = to is null || Mesh(to, $"{e.Path}.to", e.At("to")) is not null || problems.Items.All(x => x.Field != $"{e.Path}.to");
            foreach (var s in e.Objects("services"))
            {
                var (aliasNs, aliasName) = Alias(s);
                var labels = s.StrMap("labels");
                var expressions = s.Objects("matchExpressions").Select(x =>
                {
                    var requirement = new LabelSelectorRequirement(x.Str("key", required: true) ?? "", x.Str("operator", required: true) ?? "", x.StrList("values"));
                    x.RejectUnknown();
                    return requirement;
                }).ToList();
                var export = new MeshServiceExport
                {
                    ControlPlane = from ?? Placeholder,
                    Peer = to ?? "",
                    Namespace = s.Str("namespace", required: true) ?? "",
                    Name = s.Str("name"),
                    LabelSelector = labels.Count > 0 ? labels : null,
                    MatchExpressions = expressions,
                    Aliases = Aliases(s, problems),
                    AliasNamespace = aliasNs,
                    AliasName = aliasName,
                    Ports = Ports(s),
                    ServiceAccounts = s.StrList("serviceAccounts"),
                    WorkloadSelector = s.Has("selector") ? s.StrMap("selector") : null,
                    Source = s.Location,
                };
                s.RejectUnknown();
                if (from is not null && toKnown) set.Add(export);
            }
            e.RejectUnknown();
        }

        foreach (var i in root.Objects("imports"))
        {
            var into = Mesh(i.Str("into", required: true), $"{i.Path}.into", i.At("into"));
            var from = i.Str("from", required: true);
            var fromKnown = from is null || Mesh(from, $"{i.Path}.from", i.At("from")) is not null || problems.Items.All(x => x.Field != $"{i.Path}.from");
            MeshLocality? locality = null;
            if (i.Object("locality") is { } l)
            {
                locality = new MeshLocality(l.Str("region", required: true) ?? "", l.Str("zone"), l.Str("subzone"));
                l.RejectUnknown();
            }
            var suffix = i.Str("domainSuffix");
            foreach (var s in i.Objects("services"))
            {
                var (aliasNs, aliasName) = Alias(s);
                var import = new MeshServiceImport
                {
                    ControlPlane = into ?? Placeholder,
                    Peer = from ?? "",
                    Namespace = s.Str("namespace", required: true) ?? "",
                    Name = s.Str("name") ?? "",
                    AliasNamespace = aliasNs,
                    AliasName = aliasName,
                    ImportAsLocal = s.Bool("importAsLocal") ?? false,
                    DomainSuffix = s.Str("domainSuffix") ?? suffix,
                    Locality = locality,
                    Ports = Ports(s),
                    ServiceEntry = ServiceEntry(s.Object("serviceEntry")),
                    Source = s.Location,
                };
                s.RejectUnknown();
                if (into is not null && fromKnown) set.Add(import);
            }
            i.RejectUnknown();
        }

        foreach (var t in root.Objects("trafficSplits"))
        {
            var mesh = Mesh(t.Str("mesh", required: true), $"{t.Path}.mesh", t.At("mesh"));
            var matches = new List<UriMatch>();
            foreach (var m in t.Objects("match"))
            {
                foreach (var k in new[] { UriMatchKind.Exact, UriMatchKind.Prefix, UriMatchKind.Regex })
                    if (m.Str(k.ToString().ToLowerInvariant()) is { } v) matches.Add(new UriMatch(k, v));
                m.RejectUnknown();
            }
            var local = t.Object("local");
            var remote = t.Object("remote");
            var localHost = local is null ? "" : local.Str("host", required: true);
            var remoteWeight = remote?.Int("weight") ?? 100;
            var localWeight = local?.Int("weight") ?? (100 - remoteWeight);
            var rewrite = t.Object("rewrite");
            var rewriteAuthority = rewrite?.Str("authority");
            var rewriteUri = rewrite?.Str("uri");
            rewrite?.RejectUnknown();
            string? remoteHost = remote?.Str("host");
            var remoteFrom = remote?.Str("from");
            var remoteService = remote?.Str("service");
            if (remote is null)
                problems.Add(MeshErrorKind.InvalidData, $"{t.Path}.remote", null, "is required", "add 'remote: {from: <mesh>, service: <namespace>/<name>, weight: 100}'", t.Location);
            else if (remoteHost is null)
            {
                if (remoteFrom is null || remoteService is null)
                    problems.Add(MeshErrorKind.InvalidData, $"{t.Path}.remote", null, "needs 'host', or 'from' and 'service' naming an import",
                        "add 'from: <mesh>' and 'service: <namespace>/<name>' of an entry under 'imports:'", remote.Location);
                else
                {
                    var (ns, name) = Factory.SplitAlias(remoteService);
                    var import = set.Imports.FirstOrDefault(x => x.ControlPlane == mesh && x.Peer == remoteFrom && x.Namespace == ns && x.Name == name);
                    if (import?.LocalHost is null)
                        problems.Add(MeshErrorKind.NotFound, $"{t.Path}.remote.service", remoteService,
                            $"is not a single service imported into {mesh?.Name ?? "?"} from {remoteFrom}", "import it under 'imports:' first, or give 'host:'", remote.At("service"));
                    else remoteHost = import.LocalHost;
                }
            }
            var split = new MeshTrafficSplit
            {
                ControlPlane = mesh ?? Placeholder,
                Name = t.Str("name", required: true) ?? "",
                Namespace = t.Str("namespace", required: true) ?? "",
                Hosts = t.StrList("hosts"),
                Gateways = t.StrList("gateways"),
                Matches = matches,
                Port = t.Int("port"),
                LocalHost = localHost ?? "",
                LocalWeight = localWeight,
                RemoteHost = remoteHost ?? "",
                RemoteWeight = remoteWeight,
                ApiVersion = t.Str("apiVersion") ?? MeshTrafficSplit.DefaultApiVersion,
                RewriteAuthority = rewriteAuthority,
                RewriteUri = rewriteUri,
                Source = t.Location,
            };
            local?.RejectUnknown();
            remote?.RejectUnknown();
            t.RejectUnknown();
            if (mesh is not null && localHost is not null && remoteHost is not null) set.Add(split);
        }

        foreach (var f in root.Objects("failover"))
        {
            var mesh = Mesh(f.Str("mesh", required: true), $"{f.Path}.mesh", f.At("mesh"));
            var policy = new MeshFailoverPolicy
            {
                ControlPlane = mesh ?? Placeholder,
                Name = f.Str("name", required: true) ?? "",
                Namespace = f.Str("namespace", required: true) ?? "",
                Host = f.Str("host", required: true) ?? "",
                FromRegion = f.Str("from", required: true) ?? "",
                ToRegion = f.Str("to", required: true) ?? "",
                Consecutive5xxErrors = f.Int("consecutive5xxErrors") ?? 1,
                Interval = f.Str("interval") ?? "1s",
                BaseEjectionTime = f.Str("baseEjectionTime") ?? "1m",
                ConnectionPool = Mapping(f, "connectionPool", problems)?.ToJsonString(),
                LoadBalancer = f.Str("loadBalancer"),
                ApiVersion = f.Str("apiVersion")!, // null: the style's default
                Source = f.Location,
            };
            f.RejectUnknown();
            if (mesh is not null) set.Add(policy);
        }

        if (root.Object("certificateAuthority") is { } caNode)
        {
            var dir = caNode.Str("dir", required: true, fix: "give the folder meshfed ca wrote (one sub-folder per cluster)");
            caNode.RejectUnknown();
            if (dir is not null)
            {
                var baseDir = File.Exists(sourceName) ? Path.GetDirectoryName(Path.GetFullPath(sourceName))! : Directory.GetCurrentDirectory();
                var full = Path.GetFullPath(Path.Combine(baseDir, dir));
                if (!Directory.Exists(full))
                    problems.Add(MeshErrorKind.NotFound, $"{caNode.Path}.dir", dir, $"does not exist (resolved to {full}, relative to the topology file)",
                        "create it with meshfed ca --cluster <cluster> ... --out <dir>, or fix the path", caNode.At("dir"));
                else if (meshes.Count > 0 && meshes.All(c => c.Style == MeshStyle.Ossm2))
                    problems.Add(MeshErrorKind.InvalidArgument, $"{caNode.Path}", dir, "is set but no mesh uses it: cacerts are for the Istio styles (multi-primary, multi-mesh); OSSM 2 meshes exchange roots instead",
                        "remove certificateAuthority, or set style: multi-primary / multi-mesh", caNode.Location);
                else foreach (var cp in meshes.Where(c => c.Style != MeshStyle.Ossm2))
                {
                    try
                    {
                        set.Add(ClusterCaMaterial.FromDirectory(full, cp.ClusterName));
                    }
                    catch (MeshFederationException ex)
                    {
                        foreach (var p in ex.Problems) problems.Add(p.Kind, $"{caNode.Path}.dir", p.Value, p.Problem, p.Fix, caNode.At("dir"));
                    }
                }
            }
        }

        if (root.Object("proxy") is { } px)
        {
            var options = new ProxyOptions
            {
                Mode = px.Enum("mode", new Dictionary<string, ProxyMode>(StringComparer.Ordinal) { ["sharedhost"] = ProxyMode.SharedHost, ["percluster"] = ProxyMode.PerCluster }) ?? ProxyMode.SharedHost,
                ProxyHost = px.Str("host"),
                ClusterAddresses = px.StrMap("addresses"),
                FirewallZone = px.Str("firewallZone") ?? "libvirt",
                IdleTimeoutSeconds = px.Int("idleTimeoutSeconds") ?? 3600,
                HealthCheckIntervalMs = px.Int("healthCheckIntervalMs") ?? 2000,
                MaxConnections = px.Int("maxConnections") ?? 4096,
                HealthCheckFall = px.Int("healthCheckFall") ?? 3,
                HealthCheckRise = px.Int("healthCheckRise") ?? 2,
                Source = px.Location,
            };
            px.RejectUnknown();
            if (!problems.Any)
            {
                try
                {
                    set.Add(ProxyBuilder.Build(set.Peerings, options));
                }
                catch (MeshFederationException ex) when (ex.Problems.All(p => p.Field.EndsWith(".nodeAddresses", StringComparison.Ordinal)))
                {
                    // Node addresses can be read from the clusters: keep the proxy pending until they are.
                    set.PendingProxy = options;
                }
                catch (MeshFederationException ex)
                {
                    problems.AddRange(ex.Problems);
                }
            }
        }

        // A VIP range too small for the imports fails here, at the mesh's line, not later in render.
        foreach (var cp in meshes.Where(c => c.Style == MeshStyle.MultiMesh))
        {
            if (!Rendering.VipAllocator.TryParse(cp.VipRange, out var network, out var prefix)) continue; // reported with the mesh
            var (_, usable) = Rendering.VipAllocator.Usable(network, prefix);
            var hosts = set.Imports.Where(i => i.ControlPlane == cp && i.LocalHost is not null).Select(i => i.LocalHost!).Distinct(StringComparer.Ordinal).Count();
            if (hosts <= usable) continue;
            var node = meshNodes.FirstOrDefault(n => n.Location == cp.Source);
            var at = node is not null && node.Has("vipRange") ? node.At("vipRange") : defaults is not null && defaults.Has("vipRange") ? defaults.At("vipRange") : cp.Source;
            problems.Add(MeshErrorKind.InvalidArgument, $"mesh '{cp.Name}'.vipRange", cp.VipRange,
                $"has {usable} usable address(es) but {hosts} imported hosts need a VIP", "use a larger range (a shorter prefix, e.g. /16), or import fewer services into this mesh", at);
        }

        root.RejectUnknown();
        // Every problem at once: the loader's and the model's (an invalid import is reported with the split that needs it).
        var locator = new FieldLocator(docs[0]);
        var all = problems.Items.Concat(set.Validate()).Select(locator.Relocate).Distinct().ToArray();
        if (all.Length > 0) throw new MeshFederationException(all);
        // Every object the topology would render, judged by the upstream schemas shipped with the engine (offline).
        if (judgeRendered) Rendering.Ossm2Renderer.ValidateChecked(set); // the set's own rules were checked just above
        return set;
    }

    /// <summary>
    /// Points a problem the model found (at the line of the object: a mesh, a service entry, a split) at the line of the
    /// field it names, e.g. "mesh 'a'.trustDomain" at the trustDomain line; a mesh's field set under defaults, there.
    /// </summary>
    private sealed class FieldLocator
    {
        private readonly YNode _root;
        private Dictionary<SourceLocation, YNode>? _objects;
        private Dictionary<YNode, YNode>? _parents;

        public FieldLocator(YNode root) => _root = root;

        private static readonly Dictionary<string, string> Keys = new(StringComparer.Ordinal)
        {
            ["ingressGateway"] = "ingress", ["egressGateway"] = "egress", ["weights"] = "remote", ["from/to"] = "from",
            ["labelSelector"] = "labels", ["peers"] = "between", ["remoteAddresses"] = "ingressAddresses",
        };

        public MeshProblem Relocate(MeshProblem p)
        {
            if (p.Location is null || p.Location.File != _root.Location.File) return p;
            _objects ??= Index();
            if (!_objects.TryGetValue(p.Location, out var node)) return p;
            // The part after the object's quoted name: "mesh 'a'.gateways.nodePortBase" -> gateways.nodePortBase.
            var field = p.Field;
            var quote = field.LastIndexOf("'.", StringComparison.Ordinal);
            var tail = quote >= 0 ? field[(quote + 2)..] : field.StartsWith("mesh.", StringComparison.Ordinal) ? field[5..] : field[(field.LastIndexOf('.') + 1)..];
            var first = Key(tail.Split('.')[0]);
            // In the object itself; then in the mapping that holds it (an export's 'to' sits above its services); then
            // anywhere inside it (a cluster's network, a match's regex); a mesh's field may come from defaults.
            var at = Walk(node, tail, p.Value);
            var parents = _parents!;
            for (var up = parents.GetValueOrDefault(node); at is null && up is not null; up = parents.GetValueOrDefault(up))
                if (up[first] is not null) at = Walk(up, tail, p.Value);
            at ??= Deep(node, Key(tail.Split('.')[^1]), p.Value);
            if (at is null && node[first] is null && _root["defaults"] is { Kind: YNodeKind.Mapping } d) at = Walk(d, tail, p.Value);
            return at is null ? p : p with { Location = at };
        }

        private static string Key(string segment)
        {
            var bracket = segment.IndexOf('[', StringComparison.Ordinal);
            var key = bracket >= 0 ? segment[..bracket] : segment;
            return Keys.GetValueOrDefault(key, key);
        }

        private static SourceLocation? Walk(YNode node, string tail, string? value)
        {
            SourceLocation? found = null;
            foreach (var raw in tail.Split('.'))
            {
                var key = Key(raw);
                if (node.Kind == YNodeKind.Sequence)
                {
                    // A list of mappings: the item that holds the key, preferably with the value in question.
                    var items = node.Items.Where(i => i.Kind == YNodeKind.Mapping && i[key] is not null).ToList();
                    var item = items.FirstOrDefault(i => i[key]!.Kind == YNodeKind.Scalar && i[key]!.Value == value) ?? items.FirstOrDefault();
                    if (item is null) break;
                    node = item;
                }
                if (node.Kind != YNodeKind.Mapping || node[key] is not { } child) break;
                node = child;
                found = child.Location;
            }
            return found;
        }

        /// <summary>The first mapping entry below <paramref name="node"/> with this key (and this scalar value, when given).</summary>
        private static SourceLocation? Deep(YNode node, string key, string? value)
        {
            var queue = new Queue<YNode>();
            queue.Enqueue(node);
            var seen = new HashSet<YNode>(ReferenceEqualityComparer.Instance);
            while (queue.Count > 0 && seen.Count < 10_000)
            {
                var n = queue.Dequeue();
                if (!seen.Add(n)) continue;
                foreach (var (k, v) in n.Entries)
                {
                    if (k.Value == key && (value is null || v.Kind != YNodeKind.Scalar || v.Value == value)) return v.Location;
                    queue.Enqueue(v);
                }
                foreach (var i in n.Items) queue.Enqueue(i);
            }
            return null;
        }

        private Dictionary<SourceLocation, YNode> Index()
        {
            var result = new Dictionary<SourceLocation, YNode>();
            _parents = new Dictionary<YNode, YNode>(ReferenceEqualityComparer.Instance);
            var seen = new HashSet<YNode>(ReferenceEqualityComparer.Instance);
            var stack = new Stack<(YNode Node, YNode? Mapping)>();
            stack.Push((_root, null));
            while (stack.Count > 0)
            {
                var (n, owner) = stack.Pop();
                if (!seen.Add(n)) continue;
                if (n.Kind == YNodeKind.Mapping)
                {
                    result.TryAdd(n.Location, n);
                    if (owner is not null) _parents.TryAdd(n, owner);
                    foreach (var (_, v) in n.Entries) stack.Push((v, n));
                }
                else foreach (var i in n.Items) stack.Push((i, owner));
            }
            return result;
        }
    }

    /// <summary>A mapping value as JSON (connectionPool, overrides), or null.</summary>
    private static JsonObject? Mapping(NodeReader r, string key, ProblemList problems)
    {
        if (r.Node(key) is not { } node) return null;
        if (node.Kind == YNodeKind.Mapping) return node.ToJson()!.AsObject();
        problems.Add(MeshErrorKind.InvalidData, $"{r.Path}.{key}", node.ToString(), "must be a mapping", $"write '{key}: {{field: value}}'", node.Location);
        return null;
    }

    /// <summary>Where each key under a mapping was written, by dotted path (lists as [i]).</summary>
    private static Dictionary<string, SourceLocation> Locations(YNode? node)
    {
        var map = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        void Walk(YNode n, string path)
        {
            if (n.Kind == YNodeKind.Mapping)
                foreach (var (k, v) in n.Entries)
                {
                    var p = path.Length == 0 ? k.Value ?? "" : $"{path}.{k.Value}";
                    map[p] = k.Location;
                    Walk(v, p);
                }
            else if (n.Kind == YNodeKind.Sequence)
                for (var i = 0; i < n.Items.Count; i++)
                {
                    map[$"{path}[{i}]"] = n.Items[i].Location;
                    Walk(n.Items[i], $"{path}[{i}]");
                }
        }
        if (node is not null) Walk(node, "");
        return map;
    }

    /// <summary>
    /// A service's ports: <c>{name, number, protocol, targetPort}</c>. The protocol defaults to HTTP for a multi-mesh import (as
    /// before) and, on an export, to what Istio selects from the port name (<c>http</c> → HTTP, <c>grpc-x</c> → GRPC, else TCP).
    /// </summary>
    private static List<ServicePortSpec> Ports(NodeReader s)
    {
        var isExport = s.Path.Contains("exports[", StringComparison.Ordinal);
        return s.Objects("ports").Select(p =>
        {
            var name = p.Str("name", required: true) ?? "";
            var protocol = p.Str("protocol") ?? (isExport ? ServicePortSpec.IstioProtocol(name, null) : "HTTP");
            var port = new ServicePortSpec(name, p.Int("number") ?? 0, protocol) { TargetPort = isExport ? p.Int("targetPort") : null };
            p.RejectUnknown();
            return port;
        }).ToList();
    }

    private static ServiceEntryOptions ServiceEntry(NodeReader? r)
    {
        if (r is null) return ServiceEntryOptions.Default;
        var options = new ServiceEntryOptions
        {
            Name = r.Str("name"), Namespace = r.Str("namespace"), Host = r.Str("host"), Address = r.Str("address"),
            Resolution = r.Str("resolution"), EndpointLabels = r.StrMap("endpointLabels"), ApiVersion = r.Str("apiVersion"),
            ExportTo = r.Has("exportTo") ? r.StrList("exportTo") : null, WorkloadEntryName = r.Str("workloadEntryName"),
        };
        r.RejectUnknown();
        return options;
    }

    /// <summary>Label-selector aliases, each <c>ns/name-&gt;ns[/name]</c> or <c>{namespace, name, alias: {namespace, name}}</c>.</summary>
    private static List<ServiceAlias> Aliases(NodeReader s, ProblemList problems)
    {
        var result = new List<ServiceAlias>();
        if (s.Node("aliases") is not { } node) return result;
        if (node.Kind != YNodeKind.Sequence)
        {
            problems.Add(MeshErrorKind.InvalidData, $"{s.Path}.aliases", node.ToString(), "must be a list", "write each alias as '- \"*/foo->*/bar\"' or '- {namespace, name, alias: {namespace, name}}'", node.Location);
            return result;
        }
        for (var i = 0; i < node.Items.Count; i++)
        {
            var item = node.Items[i];
            if (item.Kind == YNodeKind.Scalar)
            {
                if (ServiceAlias.Parse(item.Value ?? "") is { } parsed) result.Add(parsed);
                else problems.Add(MeshErrorKind.InvalidData, $"{s.Path}.aliases[{i}]", item.Value, "is not an alias of the form namespace/name->namespace[/name]",
                    "write e.g. '*/foo->*/bar' (name foo in any namespace exported as bar) or 'foo/*->bar' (namespace foo exported as bar)", item.Location);
                continue;
            }
            var a = new NodeReader(item, $"{s.Path}.aliases[{i}]", problems);
            var to = a.Object("alias");
            result.Add(new ServiceAlias(a.Str("namespace"), a.Str("name"), to?.Str("namespace"), to?.Str("name")));
            if (to is null) problems.Add(MeshErrorKind.InvalidData, $"{a.Path}.alias", null, "is required", "add 'alias: {namespace: ..., name: ...}'", item.Location);
            to?.RejectUnknown();
            a.RejectUnknown();
        }
        return result;
    }

    private static readonly MeshControlPlane Placeholder = new()
    {
        Name = "unknown", Namespace = "unknown", TrustDomain = "unknown.local", Cluster = new ClusterBinding("unknown"),
    };

    private static (string? Namespace, string? Name) Alias(NodeReader s)
    {
        var node = s.Node("alias");
        if (node is null) return (null, null);
        if (node.Kind == YNodeKind.Scalar) return Factory.SplitAlias(node.Value);
        var a = s.Object("alias")!;
        var result = (a.Str("namespace"), a.Str("name"));
        a.RejectUnknown();
        return result;
    }

    private static IEnumerable<MeshControlPlane> ReadMesh(NodeReader m, NodeReader? defaults, ProblemList problems)
    {
        string? Str(string key) => m.Str(key) ?? defaults?.Str(key);
        var name = m.Str("name", required: true);
        var clusters = new List<ClusterBinding>();
        var clusterNode = m.Node("cluster");
        ClusterBinding Binding(NodeReader c)
        {
            var b = new ClusterBinding(c.Str("name", required: true) ?? "") { Context = c.Str("context"), KubeConfig = c.Str("kubeconfig"), Network = c.Str("network"), ApiServer = c.Str("apiServer") };
            if (b.ApiServer is not null && !Names.IsHttpsUrl(b.ApiServer))
                problems.Add(MeshErrorKind.InvalidArgument, $"{c.Path}.apiServer", b.ApiServer, "is not an https URL",
                    "give the API server as istiod in the other clusters reaches it, e.g. https://api.cluster1.example:6443", c.At("apiServer"));
            foreach (var (key, value) in new[] { ("context", b.Context), ("kubeconfig", b.KubeConfig) })
                if (value is not null && !Names.IsPrintableName(value, key == "context" ? 253 : 4096))
                    problems.Add(MeshErrorKind.InvalidArgument, $"{c.Path}.{key}", value, "is empty, too long, or holds control characters",
                        key == "context" ? "give the context's name as kubectl config get-contexts lists it" : "give the kubeconfig file's path", c.At(key));
            c.RejectUnknown();
            return b;
        }
        if (clusterNode is { Kind: YNodeKind.Scalar }) clusters.Add(new ClusterBinding(clusterNode.Value ?? ""));
        else if (m.Object("cluster") is { } c) clusters.Add(Binding(c));
        if (m.Node("clusters") is { } clustersNode)
        {
            if (clustersNode.Kind != YNodeKind.Sequence)
                problems.Add(MeshErrorKind.InvalidData, $"{m.Path}.clusters", clustersNode.ToString(), "must be a list", "write each cluster as '- name' or '- {name: ..., network: ...}'", clustersNode.Location);
            else
                for (var i = 0; i < clustersNode.Items.Count; i++)
                {
                    var item = clustersNode.Items[i];
                    clusters.Add(item.Kind == YNodeKind.Scalar ? new ClusterBinding(item.Value ?? "") : Binding(new NodeReader(item, $"{m.Path}.clusters[{i}]", problems)));
                }
        }
        if (m.Has("cluster") && m.Has("clusters"))
            problems.Add(MeshErrorKind.InvalidData, $"{m.Path}.clusters", null, "'cluster' and 'clusters' cannot both be set", "use 'cluster' for one mesh or 'clusters' for one mesh per cluster", m.At("clusters"));

        var style = m.Enum("style", Styles) ?? defaults?.Enum("style", Styles) ?? MeshStyle.Ossm2;
        if (style != MeshStyle.MultiMesh && m.Str("vipRange") is { } vip)
            problems.Add(MeshErrorKind.InvalidArgument, $"{m.Path}.vipRange", vip, $"only applies to the multi-mesh style (.global ServiceEntry VIPs); this mesh is {style}",
                "remove vipRange, or set style: multi-mesh", m.At("vipRange"));
        var exposure = m.Enum<GatewayExposure>("exposure") ?? defaults?.Enum<GatewayExposure>("exposure") ?? GatewayExposure.LoadBalancer;
        var gw = m.Object("gateways");
        var dgw = defaults?.Object("gateways");
        string? Gw(string key) => gw?.Str(key) ?? dgw?.Str(key);

        var addresses = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var addrNode = m.Node("ingressAddresses");
        if (addrNode is { Kind: YNodeKind.Sequence } or { Kind: YNodeKind.Scalar })
            addresses["*"] = m.StrList("ingressAddresses");
        else if (addrNode is { Kind: YNodeKind.Mapping })
            foreach (var (k, v) in addrNode.Entries)
            {
                var list = new List<string>();
                foreach (var item in v.Kind == YNodeKind.Sequence ? v.Items : new[] { v })
                    if (item.Kind != YNodeKind.Scalar || item.IsNull)
                        problems.Add(MeshErrorKind.InvalidData, $"{m.Path}.ingressAddresses.{k.Value}", item.ToString(), "must be an address or a list of addresses",
                            $"write '{k.Value}: [10.0.0.1]'", item.Location);
                    else list.Add(item.Value ?? "");
                addresses[k.Value ?? ""] = list;
            }

        JsonObject? overrides = null;
        if (m.Node("overrides") is { } o)
        {
            if (o.Kind != YNodeKind.Mapping)
                problems.Add(MeshErrorKind.InvalidData, $"{m.Path}.overrides", o.ToString(), "must be a mapping of SMCP spec fields", "write 'overrides: {runtime: ...}'", o.Location);
            else overrides = o.ToJson()!.AsObject();
        }
        var gatewayOverridesNode = gw?.Node("overrides") ?? dgw?.Node("overrides");
        var gatewayOverrides = gw?.Node("overrides") is not null ? Mapping(gw, "overrides", problems) : dgw is not null ? Mapping(dgw, "overrides", problems) : null;
        var forLabels = new Dictionary<string, GatewayForLabel>(StringComparer.Ordinal) { ["peer"] = GatewayForLabel.Peer, ["gateway"] = GatewayForLabel.Gateway };
        var forLabel = gw?.Enum("forLabel", forLabels) ?? dgw?.Enum("forLabel", forLabels) ?? GatewayForLabel.Peer;

        var request = new ControlPlaneRequest
        {
            Name = name ?? "",
            Namespace = m.Str("namespace"),
            ControlPlaneName = m.Str("controlPlaneName"),
            Clusters = clusters,
            Style = style,
            Version = Str("version"),
            TrustDomain = m.Str("trustDomain"),
            MemberNamespaces = m.StrList("members"),
            GatewayExposure = exposure,
            IngressGatewayTemplate = Gw("ingress"),
            EgressGatewayTemplate = Gw("egress"),
            IngressAddresses = addresses,
            NodeAddresses = m.StrList("nodeAddresses"),
            NodePortBase = gw?.Int("nodePortBase"),
            IngressServiceAnnotations = gw?.StrMap("annotations") ?? dgw?.StrMap("annotations") ?? new Dictionary<string, string>(StringComparer.Ordinal),
            RootCertificate = m.Str("rootCertificate"),
            SpecOverrides = overrides,
            SpecOverrideSources = Locations(m.Node("overrides")),
            GatewayOverrides = gatewayOverrides,
            GatewayOverrideSources = Locations(gatewayOverridesNode),
            GatewayForLabel = forLabel,
            MeshId = m.Str("meshId"),
            SailApiVersion = Str("sailApiVersion"),
            VipRange = style == MeshStyle.MultiMesh ? Str("vipRange") : null,
            Source = m.Location,
        };
        gw?.RejectUnknown();
        dgw?.RejectUnknown();
        m.RejectUnknown();
        if (name is null) return Array.Empty<MeshControlPlane>();
        try
        {
            return Factory.ControlPlanes(request);
        }
        catch (MeshFederationException ex)
        {
            problems.AddRange(ex.Problems);
            return Array.Empty<MeshControlPlane>();
        }
    }
}
