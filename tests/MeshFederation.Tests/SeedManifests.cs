using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MeshFederation.Tests;

/// <summary>Pulls the Kubernetes manifests out of a seed's markdown (```/~~~ blocks and heredocs inside shell blocks).</summary>
internal static partial class SeedManifests
{
    public static List<JsonObject> From(string seedFile)
    {
        var lines = File.ReadAllLines(seedFile);
        var result = new List<JsonObject>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = Fence().Match(lines[i]);
            if (!fence.Success) continue;
            var marker = fence.Groups["f"].Value;
            var lang = fence.Groups["lang"].Value;
            var body = new List<string>();
            for (i++; i < lines.Length && lines[i].Trim() != marker; i++) body.Add(lines[i]);
            if (lang is "yaml" or "yml") Add(body, result);
            else if (lang is "sh" or "shell" or "bash")
                for (var j = 0; j < body.Count; j++)
                {
                    if (!body[j].Contains("<<EOF", StringComparison.Ordinal) && !body[j].Contains("<< EOF", StringComparison.Ordinal)) continue;
                    var doc = new List<string>();
                    for (j++; j < body.Count && body[j].Trim() != "EOF"; j++) doc.Add(body[j]);
                    Add(doc, result);
                }
        }
        return result;
    }

    private static void Add(List<string> lines, List<JsonObject> result)
    {
        var indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        var text = string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
        try
        {
            foreach (var n in TestSupport.Yaml.Parse(text, "seed"))
                if (n.ToJson() is JsonObject o && o["kind"] is not null) result.Add(o);
        }
        catch (MeshFederation.Engine.Validation.MeshFederationException)
        {
            // Command output and prose inside fences are not manifests.
        }
    }

    [GeneratedRegex(@"^\s*(?<f>~~~|```)(?<lang>[a-z]*)\s*$")]
    private static partial Regex Fence();
}
