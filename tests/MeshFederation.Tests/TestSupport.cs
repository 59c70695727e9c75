using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;
using MeshFederation.Engine.Validation;
using MeshFederation.Yaml;

namespace MeshFederation.Tests;

internal static class TestSupport
{
    public static readonly YamlDotNetBridge Yaml = new();

    public static FederationSet LoadExample(string file) => TopologyLoader.LoadFile(Paths.Example(file), Yaml);

    public static RenderResult RenderExample(string file) => Ossm2Renderer.Render(LoadExample(file));

    /// <summary>Issues intermediates under one new root and writes them as meshfed ca does (&lt;dir&gt;/&lt;cluster&gt;/*.pem, keys 0600).</summary>
    public static Engine.Pki.MeshCertificateAuthority WriteCa(string dir, params string[] clusters)
    {
        var ca = Engine.Pki.MeshCertificateAuthority.Create(Engine.Pki.KeyAlgorithm.EcdsaP256);
        foreach (var c in clusters) ca.Issue(c);
        foreach (var (path, (content, isPrivate)) in ca.Files(includeRootKey: false))
            Engine.IO.AtomicFileWriter.Write(Path.Combine(dir, path), content, isPrivate);
        return ca;
    }

    public static FederationSet LoadText(string yaml, string name = "test.yaml") => TopologyLoader.Load(yaml, name, Yaml);

    /// <summary>Parses the rendered YAML back: what kubectl would read, not the in-memory tree.</summary>
    public static List<JsonObject> ReadBack(string yaml) =>
        Yaml.Parse(yaml, "rendered.yaml").Select(n => (JsonObject)n.ToJson()!).ToList();

    public static JsonObject Find(IEnumerable<JsonObject> docs, string kind, string name) =>
        docs.Single(d => d["kind"]!.GetValue<string>() == kind && d["metadata"]!["name"]!.GetValue<string>() == name);

    /// <summary>Key-order-insensitive canonical JSON, so two trees compare field by field.</summary>
    public static string Canonical(JsonNode? node)
    {
        var sb = new StringBuilder();
        Write(node);
        return sb.ToString();

        void Write(JsonNode? n)
        {
            switch (n)
            {
                case null: sb.Append("null"); break;
                case JsonObject o:
                    sb.Append('{');
                    foreach (var (k, v) in o.OrderBy(kv => kv.Key, StringComparer.Ordinal)) { sb.Append('"').Append(k).Append("\":"); Write(v); sb.Append(','); }
                    sb.Append('}');
                    break;
                case JsonArray a:
                    sb.Append('[');
                    foreach (var v in a) { Write(v); sb.Append(','); }
                    sb.Append(']');
                    break;
                default:
                    var text = n.ToJsonString();
                    sb.Append(text);
                    break;
            }
        }
    }

    public static MeshFederationException Problems(Action action) => Assert.Throws<MeshFederationException>(action);

    /// <summary>Asserts a problem names the field, the value and a fix.</summary>
    public static MeshProblem AssertProblem(MeshFederationException ex, string fieldContains, string? value = null)
    {
        var p = ex.Problems.FirstOrDefault(p => p.Field.Contains(fieldContains, StringComparison.Ordinal) && (value is null || p.Value == value));
        Assert.True(p is not null, $"no problem about '{fieldContains}'{(value is null ? "" : $" = '{value}'")}; got:\n{ex.Message}");
        Assert.False(string.IsNullOrWhiteSpace(p!.Fix), "the problem gives no fix");
        Assert.Contains(p.Field, ex.Message, StringComparison.Ordinal);
        if (value is not null) Assert.Contains($"'{value}'", ex.Message, StringComparison.Ordinal);
        return p;
    }
}
