using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;
using MeshFederation.Yaml;

namespace MeshFederation.Tests;

/// <summary>
/// Issue 15: renders are written by a direct YAML writer where the documents allow it; the text must be exactly what
/// YamlDotNet's emitter gives (the judge here), document by document.
/// </summary>
public class YamlEmitterEquivalenceTests
{
    private static readonly YamlDotNetBridge Yaml = new();

    private static string ByYamlDotNet(IEnumerable<JsonNode> docs)
    {
        var sw = new StringWriter();
        YamlDotNetBridge.EmitWithYamlDotNet(docs, sw);
        return sw.ToString();
    }

    [Fact]
    public void Every_example_render_and_a_peered_federation_are_emitted_exactly_as_YamlDotNet_emits_them()
    {
        var sets = Paths.ExampleTopologies.Select(f => TopologyLoader.LoadFile(f, Yaml)).ToList();
        var peered = new StringBuilder("apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n");
        for (var i = 1; i <= 6; i++) peered.Append(System.Globalization.CultureInfo.InvariantCulture, $"  - {{name: m{i}, namespace: m{i}-system, cluster: c{i % 2}, members: [app], ingressAddresses: [10.0.0.{i}]}}\n");
        sets.Add(TopologyLoader.Load(peered.Append("peerings: all\n").ToString(), "t.yaml", Yaml));
        int documents = 0, direct = 0;
        foreach (var set in sets)
            foreach (var doc in Ossm2Renderer.Render(set).AllManifests.Select(m => m.Content))
            {
                documents++;
                if (PlainYamlWriter.TryWrite(doc, new StringBuilder())) direct++;
                Assert.Equal(ByYamlDotNet(new[] { doc }), Yaml.Emit(new[] { doc }));
            }
        // The whole stream too (documents are independent), and the direct writer takes nearly all rendered objects.
        var all = sets.SelectMany(s => Ossm2Renderer.Render(s).AllManifests.Select(m => (JsonNode)m.Content)).ToList();
        Assert.Equal(ByYamlDotNet(all), Yaml.Emit(all));
        Assert.True(direct > documents * 9 / 10, $"{direct} of {documents} documents written directly");
    }

    [Fact]
    public void Generated_documents_with_awkward_strings_are_emitted_exactly_as_YamlDotNet_emits_them()
    {
        // Strings from an alphabet of YAML indicators, blanks, quotes, line breaks and non-ASCII; shapes with empty and
        // nested collections. Whatever the direct writer accepts must equal YamlDotNet; the rest falls back to it.
        var random = new Random(15);
        const string alphabet = "ab9 0.:-#/'\"*&!?,[]{}|>%@`~\n\t\\yYnN_=+é";
        string Text()
        {
            var pick = random.Next(10);
            if (pick == 0) return new[] { "true", "no", "012", "1e3", "~", "null", "2026-01-02", "...", "---", "a: b", "-x", "x:", "-----BEGIN X-----\nQUJD\n-----END X-----\n", "l1\nl2", "l1\n\nl2\n", " l1\nl2\n", "l1 \nl2\n", "l1\nl2\n\n" }[random.Next(18)];
            var sb = new StringBuilder();
            for (var n = random.Next(0, 8); n > 0; n--) sb.Append(pick < 5 ? (char)('a' + random.Next(26)) : alphabet[random.Next(alphabet.Length)]);
            return sb.ToString();
        }
        JsonNode? Node(int depth)
        {
            switch (depth > 3 ? random.Next(4) : random.Next(8))
            {
                case 0: return JsonValue.Create(Text());
                case 1: return JsonValue.Create(random.Next(-5, 70000));
                case 2: return random.Next(3) == 0 ? null : JsonValue.Create(random.Next(2) == 0);
                case 3: return JsonValue.Create(Text());
                case 4 or 5:
                    var o = new JsonObject();
                    for (var n = random.Next(0, 4); n > 0; n--) o[Text() + n] = Node(depth + 1);
                    return o;
                default:
                    var a = new JsonArray();
                    for (var n = random.Next(0, 4); n > 0; n--) a.Add(Node(depth + 1));
                    return a;
            }
        }
        var direct = 0;
        for (var i = 0; i < 3000; i++)
        {
            var doc = new JsonObject();
            for (var n = random.Next(1, 5); n > 0; n--) doc["k" + n + Text()] = Node(0);
            if (PlainYamlWriter.TryWrite(doc, new StringBuilder())) direct++;
            Assert.Equal(ByYamlDotNet(new[] { doc }), Yaml.Emit(new JsonNode[] { doc }));
        }
        Assert.True(direct > 300, $"only {direct} generated documents were written directly: the comparison would judge little");
    }
}
