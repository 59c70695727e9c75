using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MeshFederation.Tests.Hardening;

/// <summary>One malformed input and what its rejection must say.</summary>
/// <param name="Field">A part of the field the message must name.</param>
/// <param name="Value">The value the message must echo (as echoed: quoted, at most 200 characters), or null when it has none.</param>
/// <param name="Line">The line the message must name, or null when the problem is not at a line (binary, too large).</param>
/// <param name="Kind">The kind of problem: the ErrorRecord category in PowerShell.</param>
internal sealed record CorpusCase(string Name, string Text, string Field, string? Value, int? Line, string Kind)
{
    public const string HeaderPrefix = "# expect-";

    /// <summary>The file content: the expectations as comment lines, then the input.</summary>
    public string File() =>
        $"# case: {Name}\n{HeaderPrefix}field: {Field}\n{HeaderPrefix}value: {Value ?? "-"}\n{HeaderPrefix}line: {(Line?.ToString(CultureInfo.InvariantCulture) ?? "-")}\n{HeaderPrefix}kind: {Kind}\n{Text}";

    public const int HeaderLines = 5;

    /// <summary>Reads a corpus file's expectations (hand-written files carry the same header).</summary>
    public static CorpusCase Parse(string path)
    {
        var text = System.IO.File.ReadAllText(path);
        string Get(string key) => Regex.Match(text, $"^{Regex.Escape(HeaderPrefix)}{key}: (.*)$", RegexOptions.Multiline) is { Success: true } m
            ? m.Groups[1].Value : throw new InvalidDataException($"{path}: no '{HeaderPrefix}{key}:' line");
        var value = Get("value");
        var line = Get("line");
        return new CorpusCase(Path.GetFileNameWithoutExtension(path), text, Get("field"), value == "-" ? null : value,
            line == "-" ? null : int.Parse(line, CultureInfo.InvariantCulture), Get("kind"));
    }
}

/// <summary>
/// Generates the malformed-input corpus under tests/corpus/generated: every slot of four template topologies (one per
/// federation style) filled with values its own rules refuse, type errors, duplicate keys in every mapping, unknown
/// keys, unclosed brackets and quotes at every flow collection, alias bombs and deep nesting. The expectations (field,
/// value, line, kind) come with each case. Regenerate with MESHFED_REGENERATE_CORPUS=1 (a test keeps it current).
/// </summary>
internal static partial class CorpusGenerator
{
    // Templates: «slot:default» marks a value the generator replaces. Each template loads as it stands.
    public static readonly (string Name, string Text)[] Templates =
    {
        ("ossm2", """
            apiVersion: meshfederation.io/v1alpha1
            kind: FederationTopology
            metadata:
              name: «metaName:corpus»
            defaults:
              version: «defaultsVersion:v2.5»
            meshes:
              - name: «meshName:alpha»
                namespace: «meshNamespace:alpha-system»
                cluster: {name: «clusterName:east», context: «context:east-ctx»}
                trustDomain: «trustDomain:alpha.local»
                exposure: «exposure:LoadBalancer»
                members: [«member:app1»]
                ingressAddresses: {«addrKey:beta»: [«address:10.0.0.1»]}
                gateways: {ingress: «ingressTpl:"{peer}-ingress"», egress: «egressTpl:"{peer}-egress"»}
              - name: beta
                namespace: beta-system
                cluster: west
                members: [app2]
                ingressAddresses: [10.0.0.2]
            peerings:
              - between: [alpha, «peerB:beta»]
                discoveryPort: «discoveryPort:8188»
                servicePort: «servicePort:15443»
            exports:
              - from: «exportFrom:alpha»
                to: «exportTo:beta»
                services:
                  - namespace: «exportNs:app1»
                    name: «exportName:svc»
                    alias: {namespace: «aliasNs:shared», name: «aliasName:svc»}
            imports:
              - into: «importInto:beta»
                from: «importFrom:alpha»
                locality: {region: «region:us-east», zone: «localityZone:a»}
                services:
                  - namespace: «importNs:shared»
                    name: «importName:svc»
                    alias: {namespace: «importAliasNs:app2», name: «importAliasName:svc-remote»}
                    domainSuffix: «domainSuffix:svc.remote.local»
            trafficSplits:
              - mesh: «splitMesh:beta»
                name: «splitName:svc-split»
                namespace: «splitNs:app2»
                hosts: [«splitHost:svc»]
                match:
                  - prefix: «prefix:/api»
                  - regex: «regex:"^/v[0-9]+/"»
                port: «splitPort:8080»
                local: {host: svc, weight: «localWeight:0»}
                remote: {from: alpha, service: «remoteService:shared/svc», weight: «remoteWeight:100»}
            """),
        ("nodeport", """
            apiVersion: meshfederation.io/v1alpha1
            kind: FederationTopology
            defaults:
              exposure: NodePort
            meshes:
              - name: mesh1
                cluster: c1
                nodeAddresses: [«nodeAddress:192.168.1.11», 192.168.1.12]
                gateways: {nodePortBase: «nodePortBase:31000»}
              - name: mesh2
                cluster: c2
                nodeAddresses: [192.168.2.11]
                gateways: {nodePortBase: 31100}
            peerings: all
            proxy:
              mode: «proxyMode:SharedHost»
              host: «proxyHost:192.168.1.1»
              firewallZone: «zone:libvirt»
              idleTimeoutSeconds: «idle:3600»
              healthCheckIntervalMs: «hcInterval:2000»
              maxConnections: «maxConn:4096»
              healthCheckFall: «fall:3»
              healthCheckRise: «rise:2»
            """),
        ("multimesh", """
            apiVersion: meshfederation.io/v1alpha1
            kind: FederationTopology
            meshes:
              - name: pke
                style: «style:multi-mesh»
                cluster: {name: pke-cluster, context: pke}
                ingressAddresses: [35.180.106.193]
                vipRange: «vipRange:127.255.0.0/16»
                meshId: «meshId:pke»
                sailApiVersion: «sail:sailoperator.io/v1»
                version: «istioVersion:v1.27.3»
              - name: gke
                style: multi-mesh
                cluster: gke-cluster
                ingressAddresses: [34.76.20.11]
            peerings: all
            exports:
              - from: gke
                to: pke
                services:
                  - {namespace: default, name: echo}
            imports:
              - into: pke
                from: gke
                services:
                  - namespace: default
                    name: echo
                    ports:
                      - {name: «portName:http1», number: «portNumber:80», protocol: «portProtocol:HTTP»}
            """),
        ("multiprimary", """
            apiVersion: meshfederation.io/v1alpha1
            kind: FederationTopology
            meshes:
              - name: mesh1
                style: multi-primary
                clusters:
                  - {name: cluster1, network: «network:network1», apiServer: «apiServer:"https://api.cluster1.example:6443"»}
                  - {name: cluster2, network: network2}
            peerings: all
            failover:
              - mesh: «failoverMesh:cluster1-mesh1»
                name: «failoverName:helloworld»
                namespace: sample
                host: «failoverHost:helloworld.sample.svc.cluster.local»
                from: «fromRegion:us-east-1»
                to: «toRegion:us-west-2»
                consecutive5xxErrors: «c5xx:1»
                interval: «interval:1s»
                baseEjectionTime: «ejection:1m»
            """),
    };

    // The most telling values first: the corpus takes the first few of each list (MaxPerSlot), rotating through the rest.
    private static readonly string[] BadLabels = { "Blue_Mesh", "$(id)", new string('a', 64), "-lead", "trail-", "UPPER", "a.b", "a b", "ünï", "a;b", "a/b", "\"\"" };
    private static readonly string[] BadHosts = { "999.1.1.1", "10.1", "\"10.0.0.1; reboot\"", "1.2.3", "a_b", "http://x", "1.2.3.4:80", "256.0.0.1", "01.2.3.4", "-x.example", "a..b", "\"10.0.0.1 # x\"" };

    /// <summary>Values per slot in the corpus: enough to cover each rule, few enough to keep one process per case affordable.</summary>
    private const int MaxPerSlot = 2;
    private static readonly string[] BadPorts = { "0", "70000", "-1", "65536" };
    private static readonly string[] NotNumbers = { "abc", "1.5", "8188x", "0x1F" };

    /// <summary>Bad values per slot: (value as written in YAML, part of the field named, kind). The value echoed is the scalar's text.</summary>
    private static readonly Dictionary<string, (string[] Values, string Field, string Kind)> Bad = new(StringComparer.Ordinal)
    {
        ["metaName"] = (BadLabels, "metadata.name", "InvalidArgument"),
        ["defaultsVersion"] = (new[] { "v1.0", "2.5", "v2.0", "latest", "v3.0", "v2.5.1" }, "version", "InvalidArgument"),
        ["meshName"] = (BadLabels, "name", "InvalidArgument"),
        ["meshNamespace"] = (BadLabels, "namespace", "InvalidArgument"),
        ["clusterName"] = (BadLabels, "cluster", "InvalidArgument"),
        ["context"] = (new[] { "\"ctx\\nrm -rf /\"", "\"a\\tb\"", "\"\\e[2J\"", "\"" + new string('c', 254) + "\"" }, "context", "InvalidArgument"),
        ["trustDomain"] = (new[] { "bad_domain", "a..b", "-a.local", "UPPER.local", "a b.local", "x" + new string('y', 253) }, "trustDomain", "InvalidArgument"),
        ["exposure"] = (new[] { "\"LoadBalancer, NodePort\"", "ClusterIP", "1", "nodeport?", "Load Balancer" }, "exposure", "InvalidArgument"),
        ["member"] = (BadLabels.Append("alpha-system").ToArray(), "members", "InvalidArgument"),
        ["addrKey"] = (new[] { "nosuch", "gamma", "alpha" }, "ingressAddresses", "NotFound"),
        ["address"] = (BadHosts, "ingressAddresses", "InvalidArgument"),
        ["ingressTpl"] = (new[] { "no-peer", "\"{peer}_x\"", "\"{peer}-egress\"", "\"{PEER}-in\"", "\"-{peer}\"" }, "gateways", "InvalidArgument"),
        ["egressTpl"] = (new[] { "no-peer", "\"{peer}_x\"", "\"{peer}-ingress\"", "\"{peer}-\"" }, "gateways", "InvalidArgument"),
        ["peerB"] = (new[] { "nosuch", "alpha", "Beta" }, "between", "NotFound"),
        ["discoveryPort"] = (BadPorts.Concat(NotNumbers).ToArray(), "discoveryPort", "InvalidArgument"),
        ["servicePort"] = (BadPorts.Concat(NotNumbers).Append("8188").ToArray(), "servicePort", "InvalidArgument"),
        ["exportFrom"] = (new[] { "nosuch", "gamma" }, "from", "NotFound"),
        ["exportTo"] = (new[] { "nosuch", "alpha", "Bad_Name" }, "to", "NotFound"),
        ["exportNs"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "namespace", "InvalidArgument"),
        ["exportName"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "name", "InvalidArgument"),
        ["aliasNs"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "alias.namespace", "InvalidArgument"),
        ["aliasName"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "alias.name", "InvalidArgument"),
        ["importInto"] = (new[] { "nosuch", "gamma" }, "into", "NotFound"),
        ["importFrom"] = (new[] { "nosuch", "beta" }, "from", "NotFound"),
        ["importNs"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "namespace", "InvalidArgument"),
        ["importName"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "name", "InvalidArgument"),
        ["importAliasNs"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "alias.namespace", "InvalidArgument"),
        ["domainSuffix"] = (new[] { "bad_suffix", "svc.cluster.local", "a..b", "UPPER" }, "domainSuffix", "InvalidArgument"),
        ["splitMesh"] = (new[] { "nosuch", "gamma" }, "mesh", "NotFound"),
        ["splitName"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "name", "InvalidArgument"),
        ["splitNs"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "namespace", "InvalidArgument"),
        ["splitHost"] = (new[] { "bad_host", "a..b", "\"a b\"", "\"*x\"" }, "hosts", "InvalidArgument"),
        ["prefix"] = (new[] { "\"\"", "\"/a b\"", "\"/a\\tb\"" }, "prefix", "InvalidArgument"),
        ["regex"] = (new[] { "\"([\"", "\"(?=x)\"", "\"(a)\\\\1\"", "\"a++\"", "\"(?<!x)y\"", "\"[z-a]\"", "\"*\"" }, "regex", "InvalidArgument"),
        ["splitPort"] = (BadPorts.Concat(NotNumbers).ToArray(), "port", "InvalidArgument"),
        ["localWeight"] = (new[] { "-1", "101", "50", "abc" }, "weight", "InvalidArgument"),
        ["remoteWeight"] = (new[] { "-1", "101", "99", "abc" }, "weight", "InvalidArgument"),
        ["remoteService"] = (new[] { "shared/nosuch", "other/svc", "svc" }, "remote.service", "NotFound"),
        ["nodeAddress"] = (BadHosts, "nodeAddresses", "InvalidArgument"),
        ["nodePortBase"] = (new[] { "29999", "32768", "-1", "abc" }, "nodePortBase", "InvalidArgument"),
        ["proxyMode"] = (new[] { "Shared", "both", "\"SharedHost, PerCluster\"", "0" }, "mode", "InvalidArgument"),
        ["proxyHost"] = (BadHosts, "proxy.host", "InvalidArgument"),
        ["zone"] = (new[] { "\"libvirt; rm -rf /\"", "\"$(reboot)\"", "\"`id`\"", "a-zone-name-too-long", "\"zone with space\"", "zone/sub", "\"\"", "\"zone\\nx\"", "ünï" }, "firewallZone", "InvalidArgument"),
        ["idle"] = (new[] { "0", "86401", "-5", "abc" }, "idleTimeoutSeconds", "InvalidArgument"),
        ["hcInterval"] = (new[] { "99", "600001", "abc" }, "healthCheckIntervalMs", "InvalidArgument"),
        ["maxConn"] = (new[] { "0", "1000001", "abc" }, "maxConnections", "InvalidArgument"),
        ["fall"] = (new[] { "0", "101" }, "healthCheckFall", "InvalidArgument"),
        ["rise"] = (new[] { "0", "101" }, "healthCheckRise", "InvalidArgument"),
        ["style"] = (new[] { "ossm9", "istio", "\"multi mesh\"", "multimesh,ossm2" }, "style", "InvalidArgument"),
        ["vipRange"] = (new[] { "1/8", "127.255.0.0/33", "10.0.0.0", "10.0.0.0/7", "fe80::/64", "10.1/16", "999.0.0.0/16", "a/b" }, "vipRange", "InvalidArgument"),
        ["meshId"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "meshId", "InvalidArgument"),
        ["sail"] = (new[] { "sailoperator.io/v2", "v1", "istio.io/v1" }, "sailApiVersion", "InvalidArgument"),
        ["istioVersion"] = (new[] { "1.27", "v2.5", "v1.27", "latest", "v1.27.3.4" }, "version", "InvalidArgument"),
        ["portName"] = (new[] { "Http_1", "-x", "\"\"", "UPPER", "a.b" }, "ports[].name", "InvalidArgument"),
        ["portNumber"] = (BadPorts.Concat(NotNumbers).ToArray(), "number", "InvalidArgument"),
        ["portProtocol"] = (new[] { "UDP", "SCTP", "\"\"", "h t t p" }, "protocol", "InvalidArgument"),
        ["network"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "network", "InvalidArgument"),
        ["apiServer"] = (new[] { "\"http://api.cluster1:6443\"", "\"not a url\"", "\"ftp://x\"", "\"https://\"", "\"https://u:p@api:6443\"", "api.cluster1:6443" }, "apiServer", "InvalidArgument"),
        ["failoverMesh"] = (new[] { "nosuch", "mesh1" }, "mesh", "NotFound"),
        ["failoverName"] = (BadLabels.Where(b => b != "\"\"").ToArray(), "name", "InvalidArgument"),
        ["failoverHost"] = (new[] { "bad_host", "a..b", "\"a b\"" }, "host", "InvalidArgument"),
        ["fromRegion"] = (new[] { "us-west-2" }, "from", "InvalidArgument"),
        ["c5xx"] = (new[] { "0", "-1", "abc" }, "consecutive5xxErrors", "InvalidArgument"),
        ["interval"] = (new[] { "soon", "1", "-1s", "0s", "1 s", "1d", "0.5us" }, "interval", "InvalidArgument"),
        ["ejection"] = (new[] { "forever", "10", "1h1x" }, "baseEjectionTime", "InvalidArgument"),
    };

    /// <summary>Where a value is refused under another field, value or kind than its slot's (a conflict rather than a bad value, say).</summary>
    private static readonly Dictionary<(string Slot, string Value), (string? Field, string? Value, string? LineOfSlot, string Kind)> Exceptions = new()
    {
        [("addrKey", "alpha")] = (null, null, null, "InvalidArgument"),
        [("ingressTpl", "\"{peer}-egress\"")] = (null, null, null, "Conflict"),
        [("egressTpl", "\"{peer}-ingress\"")] = (null, null, null, "Conflict"),
        [("peerB", "alpha")] = (null, null, null, "Conflict"),
        [("servicePort", "8188")] = (null, null, null, "Conflict"),
        [("exportTo", "alpha")] = (null, null, null, "Conflict"),
        [("importFrom", "beta")] = (null, null, null, "Conflict"),
        [("localWeight", "-1")] = ("weights", "-1+100", "remoteWeight", "InvalidArgument"),
        [("localWeight", "101")] = ("weights", "101+100", "remoteWeight", "InvalidArgument"),
        [("localWeight", "50")] = ("weights", "50+100", "remoteWeight", "InvalidArgument"),
        [("remoteWeight", "-1")] = ("weights", "0+-1", null, "InvalidArgument"),
        [("remoteWeight", "101")] = ("weights", "0+101", null, "InvalidArgument"),
        [("remoteWeight", "99")] = ("weights", "0+99", null, "InvalidArgument"),
        [("fromRegion", "us-west-2")] = ("from/to", "us-west-2->us-west-2", null, "InvalidArgument"),
        [("portProtocol", "h t t p")] = (null, "H T T P", null, "InvalidArgument"),
    };

    [GeneratedRegex("«([A-Za-z0-9]+):([^»]*)»")]
    private static partial Regex Slot();

    private static string Fill(string template, string? slot, string? value) =>
        Slot().Replace(template, m => m.Groups[1].Value == slot ? value! : m.Groups[2].Value);

    private static int LineOfSlot(string template, string slot)
    {
        var i = template.IndexOf("«" + slot + ":", StringComparison.Ordinal);
        return template[..i].Count(c => c == '\n') + 1 + CorpusCase.HeaderLines;
    }

    /// <summary>The text a YAML reader makes of a value as written in the template (quotes and escapes resolved).</summary>
    internal static string Unquote(string written)
    {
        if (written.Length >= 2 && written[0] == '"' && written[^1] == '"')
            return Regex.Unescape(written[1..^1].Replace("\\e", "\u001b", StringComparison.Ordinal));
        return written;
    }

    /// <summary>The good topologies (templates filled with their defaults): each must load.</summary>
    public static IEnumerable<(string Name, string Text)> GoodTopologies() => Templates.Select(t => (t.Name, Fill(t.Text, null, null)));

    public static List<CorpusCase> Generate()
    {
        var cases = new List<CorpusCase>();
        foreach (var (tname, template) in Templates)
        {
            // 1. Every slot with every value its rules refuse.
            foreach (Match m in Slot().Matches(template))
            {
                var slot = m.Groups[1].Value;
                if (!Bad.TryGetValue(slot, out var bad)) continue;
                // Rotate through the list across slots sharing it, so every value appears somewhere.
                var offset = Array.IndexOf(Bad.Keys.ToArray(), slot);
                var chosen = bad.Values.Length <= MaxPerSlot ? bad.Values
                    : bad.Values.Take(1).Concat(Enumerable.Range(0, MaxPerSlot - 1).Select(k => bad.Values[1 + ((offset * (MaxPerSlot - 1) + k) % (bad.Values.Length - 1))])).Distinct().ToArray();
                foreach (var v in chosen)
                {
                    var kind = bad.Kind;
                    var echoed = Unquote(v);
                    // Numbers that are not numbers are type errors; weights that do not add up are reported on the split.
                    if (NotNumbers.Contains(v) || v == "abc") kind = "InvalidData";
                    var field = bad.Field;
                    var line = LineOfSlot(template, slot);
                    if (Exceptions.TryGetValue((slot, v), out var x))
                    {
                        field = x.Field ?? field;
                        echoed = x.Value ?? echoed;
                        line = x.LineOfSlot is null ? line : LineOfSlot(template, x.LineOfSlot);
                        kind = x.Kind;
                    }
                    cases.Add(new CorpusCase($"{tname}-{slot}-{Slug(v)}", Fill(template, slot, v), field, Echo(echoed), line, kind));
                }
                // The same slot given a list where a single value belongs (every other slot).
                if (Array.IndexOf(Bad.Keys.ToArray(), slot) % 2 == 0 && !slot.StartsWith("member", StringComparison.Ordinal) && !slot.EndsWith("Host", StringComparison.Ordinal) && slot is not ("address" or "nodeAddress" or "addrKey" or "zone" or "peerB"))
                {
                    cases.Add(new CorpusCase($"{tname}-{slot}-list", Fill(template, slot, "[x, y]"), slot is "ingressTpl" or "egressTpl" ? (slot == "ingressTpl" ? "ingress" : "egress") : bad.Field.Split('.')[^1].Replace("[]", "", StringComparison.Ordinal),
                        "[sequence]", LineOfSlot(template, slot), "InvalidData"));
                }
            }
            // 2. Duplicate keys in every mapping that has a key on its own line (each key name once per template), and
            //    unknown keys beside every other one.
            var lines = Fill(template, null, null).Split('\n');
            var keysSeen = new HashSet<string>(StringComparer.Ordinal);
            var keyCount = 0;
            for (var i = 0; i < lines.Length; i++)
            {
                var km = Regex.Match(lines[i], @"^(\s*)(- )?([A-Za-z0-9]+):( .*)?$");
                if (!km.Success || !keysSeen.Add(km.Groups[3].Value)) continue;
                if (++keyCount % 2 == 0) continue;
                var indent = km.Groups[1].Value + (km.Groups[2].Success ? "  " : "");
                var key = km.Groups[3].Value;
                // Add "key: x" right after the block that starts at line i (same indentation, so the same mapping).
                var end = i + 1;
                while (end < lines.Length && lines[end].Length > indent.Length && lines[end].StartsWith(indent + " ", StringComparison.Ordinal)) end++;
                var dup = lines.Take(end).Append($"{indent}{key}: {(km.Groups[4].Success ? km.Groups[4].Value.Trim() : "{}")}").Concat(lines.Skip(end));
                cases.Add(new CorpusCase($"{tname}-duplicate-{key}-{i + 1}", string.Join('\n', dup), key, key, end + 1 + CorpusCase.HeaderLines, "InvalidData"));
                if (keyCount % 4 != 1) continue;
                // And an unknown key beside it.
                var unknown = lines.Take(end).Append($"{indent}{key}X: 1").Concat(lines.Skip(end));
                cases.Add(new CorpusCase($"{tname}-unknown-{key}X-{end + 1}", string.Join('\n', unknown), key + "X", key + "X", end + 1 + CorpusCase.HeaderLines, "InvalidData"));
            }
            // 3. Every flow collection left open, and every quote left open.
            for (var i = 0; i < lines.Length; i++)
            {
                // Brackets inside quoted strings are text, not flow collections.
                foreach (var close in lines[i].Contains('"', StringComparison.Ordinal) ? Array.Empty<char>() : new[] { ']', '}' })
                {
                    var at = lines[i].LastIndexOf(close);
                    if (at < 0) continue;
                    var open = close == ']' ? '[' : '{';
                    var copy = (string[])lines.Clone();
                    copy[i] = copy[i].Remove(at, 1);
                    // The bracket left open is the one whose closing bracket was removed: report its line.
                    cases.Add(new CorpusCase($"{tname}-unclosed-{(open == '[' ? "bracket" : "brace")}-{i + 1}", string.Join('\n', copy), "yaml", null, i + 1 + CorpusCase.HeaderLines, "InvalidData"));
                }
                var q = lines[i].LastIndexOf('"');
                if (q > 0)
                {
                    var copy = (string[])lines.Clone();
                    copy[i] = copy[i].Remove(q, 1);
                    cases.Add(new CorpusCase($"{tname}-unclosed-quote-{i + 1}", string.Join('\n', copy), "yaml", null, null, "InvalidData"));
                }
            }
        }
        // 4. Structural cases on the OSSM 2 template.
        var ossm2 = Fill(Templates[0].Text, null, null);
        var head = "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\n";
        int L(int bodyLine) => bodyLine + 2 + CorpusCase.HeaderLines;
        cases.Add(new CorpusCase("tab-indentation", ossm2.Replace("\n    namespace: alpha-system", "\n\tnamespace: alpha-system", StringComparison.Ordinal), "yaml", null, null, "InvalidData"));
        cases.Add(new CorpusCase("two-documents", ossm2 + "\n---\n" + ossm2, "topology", "2", 1, "InvalidData"));
        cases.Add(new CorpusCase("empty-document", "", "topology", "0", 1, "InvalidData"));
        cases.Add(new CorpusCase("only-a-comment", "# nothing here\n", "topology", "0", 1, "InvalidData"));
        cases.Add(new CorpusCase("root-is-a-list", "- a\n- b\n", "topology", "[sequence]", CorpusCase.HeaderLines + 1, "InvalidData"));
        cases.Add(new CorpusCase("root-is-a-scalar", "hello\n", "topology", "hello", CorpusCase.HeaderLines + 1, "InvalidData"));
        cases.Add(new CorpusCase("wrong-api-version", ossm2.Replace("meshfederation.io/v1alpha1", "meshfederation.io/v2", StringComparison.Ordinal), "apiVersion", "meshfederation.io/v2", CorpusCase.HeaderLines + 1, "InvalidData"));
        cases.Add(new CorpusCase("wrong-kind", ossm2.Replace("kind: FederationTopology", "kind: Topology", StringComparison.Ordinal), "kind", "Topology", CorpusCase.HeaderLines + 2, "InvalidData"));
        cases.Add(new CorpusCase("no-meshes", head + "peerings: all\n", "meshes", null, CorpusCase.HeaderLines + 1, "InvalidData"));
        cases.Add(new CorpusCase("meshes-is-a-mapping", head + "meshes: {name: a}\n", "meshes", "{mapping}", L(1), "InvalidData"));
        cases.Add(new CorpusCase("undefined-alias", head + "meshes:\n  - name: *nothing\n", "yaml", "*nothing", L(2), "InvalidData"));
        cases.Add(new CorpusCase("merge-of-a-scalar", head + "x: &x 1\nmeshes:\n  - <<: *x\n    name: a\n", "yaml", "<<", L(3), "InvalidData"));
        cases.Add(new CorpusCase("two-merge-keys", head + "meshes:\n  - &m {name: a}\n  - <<: *m\n    <<: *m\n    name: b\n", "yaml", "<<", L(4), "InvalidData"));
        cases.Add(new CorpusCase("binary-tag", head + "meshes:\n  - name: !!binary aGVsbG8=\n", "yaml", "tag:yaml.org,2002:binary", L(2), "InvalidData"));
        cases.Add(new CorpusCase("local-tag", head + "meshes:\n  - !mesh {name: a}\n", "yaml", "!mesh", L(2), "InvalidData"));
        cases.Add(new CorpusCase("complex-key", head + "meshes:\n  - ? [a, b]\n    : x\n", "yaml", "[sequence]", L(2), "InvalidData"));
        foreach (var depth in new[] { 201, 1000, 100_000 })
            cases.Add(new CorpusCase($"nested-{depth}", head + "meshes: " + new string('[', depth) + new string(']', depth) + "\n", "yaml", null, L(1), "InvalidData"));
        cases.Add(new CorpusCase("nested-100000-unclosed", head + "meshes: " + new string('[', 100_000) + "\n", "yaml", null, null, "InvalidData"));
        cases.Add(new CorpusCase("nested-maps-300", head + "meshes:\n  - name: a\n    overrides: " + string.Concat(Enumerable.Repeat("{a: ", 300)) + "1" + new string('}', 300) + "\n", "yaml", null, L(3), "InvalidData"));
        foreach (var (levels, width) in new[] { (9, 9), (6, 20), (4, 400), (2, 400) })
            cases.Add(new CorpusCase($"alias-bomb-{levels}x{width}", head + "meshes:\n  - name: a\n    overrides:\n" + Bomb(levels, width), "yaml", null, null, "InvalidData"));
        cases.Add(new CorpusCase("alias-bomb-in-ingress-addresses", head + "x: &x [" + string.Join(", ", Enumerable.Repeat("10.0.0.1", 400)) + "]\ny: &y [" + string.Join(", ", Enumerable.Repeat("*x", 400)) + "]\nmeshes:\n  - name: a\n    ingressAddresses: {'*': [*y, *y]}\n", "yaml", null, null, "InvalidData"));
        return cases;
    }

    private static string Bomb(int levels, int width)
    {
        var sb = new StringBuilder("      l0: &l0 [" + string.Join(",", Enumerable.Repeat("\"lol\"", width)) + "]\n");
        for (var i = 1; i < levels; i++) sb.Append(CultureInfo.InvariantCulture, $"      l{i}: &l{i} [{string.Join(",", Enumerable.Repeat($"*l{i - 1}", width))}]\n");
        return sb.ToString();
    }

    private static string Echo(string value) => Engine.Validation.Echo.Value(value)!;

    private static string Slug(string value)
    {
        var s = Regex.Replace(value.ToLowerInvariant(), "[^a-z0-9]+", "-").Trim('-');
        if (s.Length > 24) s = s[..24].TrimEnd('-');
        return s.Length == 0 ? "x" + (value.Sum(c => (int)c) % 1000).ToString(CultureInfo.InvariantCulture) : s;
    }

    public static string GeneratedDirectory => Path.Combine(Paths.RepoRoot, "tests", "corpus", "generated");

    public static string HandWrittenDirectory => Path.Combine(Paths.RepoRoot, "tests", "corpus", "handwritten");

    /// <summary>Writes the generated corpus (one file per case, numbered) and returns the file names.</summary>
    public static void WriteAll()
    {
        if (Directory.Exists(GeneratedDirectory)) Directory.Delete(GeneratedDirectory, recursive: true);
        Directory.CreateDirectory(GeneratedDirectory);
        foreach (var (c, i) in Generate().Select((c, i) => (c, i)))
            File.WriteAllText(Path.Combine(GeneratedDirectory, FileName(c, i)), c.File());
    }

    public static string FileName(CorpusCase c, int index) => $"{index + 1:D3}-{c.Name}.yaml";
}
