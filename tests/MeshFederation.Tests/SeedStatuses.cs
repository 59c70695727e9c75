using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MeshFederation.Tests;

/// <summary>The real status outputs the seeds print (oc get ... -o json | jq .status), by namespace, kind and name.</summary>
internal static partial class SeedStatuses
{
    public static List<(string Namespace, string Kind, string Name, JsonObject Status)> From(string seedFile)
    {
        var text = File.ReadAllText(seedFile);
        var result = new List<(string, string, string, JsonObject)>();
        foreach (Match m in Command().Matches(text))
        {
            var start = text.IndexOf('{', m.Index + m.Length);
            if (start < 0) continue;
            var depth = 0;
            var end = start;
            for (; end < text.Length; end++)
            {
                if (text[end] == '{') depth++;
                else if (text[end] == '}' && --depth == 0) break;
            }
            var kind = m.Groups["kind"].Value.ToLowerInvariant() switch
            {
                "servicemeshpeer" => "ServiceMeshPeer",
                "exportedserviceset" => "ExportedServiceSet",
                _ => "ImportedServiceSet",
            };
            result.Add((m.Groups["ns"].Value, kind, m.Groups["name"].Value, JsonNode.Parse(text[start..(end + 1)])!.AsObject()));
        }
        return result;
    }

    [GeneratedRegex(@"-n (?<ns>[a-z0-9-]+) get (?<kind>servicemeshpeer|exportedserviceset|importedservicesets?|ImportedServiceSet) (?<name>[a-z0-9-]+)[^\n]*(jq|\.status)[^\n]*\n")]
    private static partial Regex Command();
}
