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
    };

    public static FederationSet LoadFile(string path, IYamlBridge yaml)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Io, "topology", path, $"cannot be read ({ex.Message})",
                "check the path and permissions"));
        }
        return Load(text, path, yaml);
    }

    public static FederationSet Load(string text, string sourceName, IYamlBridge yaml)
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
        foreach (var m in root.Objects("meshes"))
        {
            meshEntries++;
            if (m.Str("name") is { } declaredName) declared.Add(declaredName);
            meshes.AddRange(ReadMesh(m, defaults, problems));
        }
        defaults?.RejectUnknown();
        if (meshEntries == 0)
            problems.Add(MeshErrorKind.InvalidData, "meshes", null, "no meshes are declared", "add at least one entry under 'meshes:'", root.Location);
        foreach (var cp in meshes) set.Add(cp);
        var byName = meshes.GroupBy(m => m.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

        MeshControlPlane? Mesh(string? name, string field, SourceLocation at)
        {
            if (name is null) return null;
            if (byName.TryGetValue(name, out var cp)) return cp;
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
            foreach (var s in e.Objects("services"))
            {
                var (aliasNs, aliasName) = Alias(s);
                var labels = s.StrMap("labels");
                var export = new MeshServiceExport
                {
                    ControlPlane = from ?? Placeholder,
                    Peer = to ?? "",
                    Namespace = s.Str("namespace", required: true) ?? "",
                    Name = s.Str("name"),
                    LabelSelector = labels.Count > 0 ? labels : null,
                    AliasNamespace = aliasNs,
                    AliasName = aliasName,
                    Source = s.Location,
                };
                s.RejectUnknown();
                if (from is not null) set.Add(export);
            }
            e.RejectUnknown();
        }

        foreach (var i in root.Objects("imports"))
        {
            var into = Mesh(i.Str("into", required: true), $"{i.Path}.into", i.At("into"));
            var from = i.Str("from", required: true);
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
                    Name = s.Str("name") ?? "*",
                    AliasNamespace = aliasNs,
                    AliasName = aliasName,
                    ImportAsLocal = s.Bool("importAsLocal") ?? false,
                    DomainSuffix = s.Str("domainSuffix") ?? suffix,
                    Locality = locality,
                    Ports = s.Objects("ports").Select(p =>
                    {
                        var port = new ServicePortSpec(p.Str("name", required: true) ?? "", p.Int("number") ?? 0, (p.Str("protocol") ?? "HTTP").ToUpperInvariant());
                        p.RejectUnknown();
                        return port;
                    }).ToList(),
                    Source = s.Location,
                };
                s.RejectUnknown();
                if (into is not null) set.Add(import);
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
            var localHost = local?.Str("host", required: true);
            var remoteWeight = remote?.Int("weight") ?? 100;
            var localWeight = local?.Int("weight") ?? (100 - remoteWeight);
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
                Source = t.Location,
            };
            if (local is null)
                problems.Add(MeshErrorKind.InvalidData, $"{t.Path}.local", null, "is required", "add 'local: {host: <service>, weight: 0}'", t.Location);
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
                ApiVersion = f.Str("apiVersion") ?? "networking.istio.io/v1",
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
                foreach (var cp in meshes.Where(c => c.Style != MeshStyle.Ossm2))
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

        root.RejectUnknown();
        problems.ThrowIfAny();
        set.EnsureValid();
        return set;
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
                addresses[k.Value ?? ""] = v.Kind == YNodeKind.Sequence ? v.Items.Select(i => i.Value ?? "").ToList() : new List<string> { v.Value ?? "" };

        JsonObject? overrides = null;
        if (m.Node("overrides") is { } o)
        {
            if (o.Kind != YNodeKind.Mapping)
                problems.Add(MeshErrorKind.InvalidData, $"{m.Path}.overrides", o.ToString(), "must be a mapping of SMCP spec fields", "write 'overrides: {runtime: ...}'", o.Location);
            else overrides = o.ToJson()!.AsObject();
        }

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
            MeshId = m.Str("meshId"),
            SailApiVersion = Str("sailApiVersion"),
            VipRange = Str("vipRange"),
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
