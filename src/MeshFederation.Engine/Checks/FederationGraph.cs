using System.Diagnostics;
using System.Text;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Checks;

/// <summary>Output formats of the federation picture.</summary>
public enum GraphFormat
{
    Mermaid,
    Dot,
    Svg,
}

/// <summary>
/// The federation as a picture: meshes grouped by cluster, each peering coloured by the worst status of its checks
/// (green pass, amber warning, red failure, grey unchecked), each export (dashed) and import (dotted) as a labelled edge.
/// Mermaid and Graphviz DOT as text; SVG through Graphviz dot when it is installed.
/// </summary>
public static class FederationGraph
{
    public sealed record Node(string Mesh, string Namespace, string Cluster);

    public sealed record Edge(string From, string To, string Kind, string Label, CheckStatus? Status);

    public sealed record Model(IReadOnlyList<Node> Nodes, IReadOnlyList<Edge> Edges);

    public static string Color(CheckStatus? status) => status switch
    {
        CheckStatus.Pass => "#2e7d32",
        CheckStatus.Warn => "#f9a825",
        CheckStatus.Fail => "#c62828",
        _ => "#9e9e9e",
    };

    /// <summary>The worst status among results about a pair, in either direction.</summary>
    public static CheckStatus? Worst(IEnumerable<MeshCheckResult> results, string a, string b)
    {
        var relevant = results.Where(r => (r.Mesh == a && r.Peer == b) || (r.Mesh == b && r.Peer == a)).Select(r => r.Status).ToList();
        if (relevant.Contains(CheckStatus.Fail)) return CheckStatus.Fail;
        if (relevant.Contains(CheckStatus.Warn)) return CheckStatus.Warn;
        if (relevant.Contains(CheckStatus.Pass)) return CheckStatus.Pass;
        return null;
    }

    /// <summary>The worst status per pair of meshes (either direction), in one pass over the results.</summary>
    private static Dictionary<(string, string), CheckStatus> WorstByPair(IReadOnlyList<MeshCheckResult> results)
    {
        static int Rank(CheckStatus s) => s switch { CheckStatus.Fail => 3, CheckStatus.Warn => 2, CheckStatus.Pass => 1, _ => 0 };
        var worst = new Dictionary<(string, string), CheckStatus>();
        foreach (var r in results)
        {
            if (r.Peer is null || Rank(r.Status) == 0) continue;
            var key = string.CompareOrdinal(r.Mesh, r.Peer) < 0 ? (r.Mesh, r.Peer) : (r.Peer, r.Mesh);
            if (!worst.TryGetValue(key, out var w) || Rank(r.Status) > Rank(w)) worst[key] = r.Status;
        }
        return worst;
    }

    private static CheckStatus? Lookup(Dictionary<(string, string), CheckStatus> worst, string a, string b) =>
        worst.TryGetValue(string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a), out var s) ? s : null;

    public static Model From(FederationSet set, IReadOnlyList<MeshCheckResult> results)
    {
        var worst = WorstByPair(results);
        var nodes = set.ControlPlanes.Select(c => new Node(c.Name, c.Namespace, c.ClusterName)).ToList();
        var edges = new List<Edge>();
        var pairs = set.Peerings.Select(p => (p.Local, p.Remote)).ToHashSet();
        foreach (var p in set.Peerings.Where(p => string.CompareOrdinal(p.Local.Name, p.Remote.Name) < 0 || !pairs.Contains((p.Remote, p.Local))))
        {
            var status = Lookup(worst, p.Local.Name, p.Remote.Name);
            edges.Add(new Edge(p.Local.Name, p.Remote.Name, "peering", $"peering: {status?.ToString() ?? "unchecked"}", status));
        }
        foreach (var e in set.Exports)
            edges.Add(new Edge(e.Mesh, e.Peer, "export", $"exports {e.Namespace}/{e.Name ?? "(by label)"}{(e.ExportedHost is null ? "" : $" as {e.ExportedNamespace}/{e.ExportedName}")}", null));
        foreach (var i in set.Imports)
            edges.Add(new Edge(i.Peer, i.Mesh, "import", $"imported {i.Namespace}/{i.Name}{(i.LocalHost is null ? "" : $" as {i.LocalHost}")}", null));
        return new Model(nodes, edges);
    }

    public static Model From(IReadOnlyList<ObservedMesh> observed, IReadOnlyList<MeshCheckResult> results)
    {
        var worst = WorstByPair(results);
        var nodes = observed.Select(m => new Node(m.Name, m.Namespace, m.Cluster)).ToList();
        var edges = new List<Edge>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in observed)
            foreach (var peer in m.Peers.Select(ObservedMesh.NameOf))
            {
                var key = string.CompareOrdinal(m.Name, peer) < 0 ? $"{m.Name}|{peer}" : $"{peer}|{m.Name}";
                if (!seen.Add(key)) continue;
                var status = Lookup(worst, m.Name, peer);
                edges.Add(new Edge(m.Name, peer, "peering", $"peering: {status?.ToString() ?? "unchecked"}", status));
            }
        foreach (var m in observed)
        {
            foreach (var ess in m.Exports)
                foreach (var e in (ess["status"]?["exportedServices"] as System.Text.Json.Nodes.JsonArray)?.OfType<System.Text.Json.Nodes.JsonObject>() ?? Enumerable.Empty<System.Text.Json.Nodes.JsonObject>())
                    edges.Add(new Edge(m.Name, ObservedMesh.NameOf(ess), "export", $"exports {e["localService"]?["namespace"]}/{e["localService"]?["name"]}", null));
            foreach (var iss in m.Imports)
                foreach (var e in (iss["status"]?["importedServices"] as System.Text.Json.Nodes.JsonArray)?.OfType<System.Text.Json.Nodes.JsonObject>() ?? Enumerable.Empty<System.Text.Json.Nodes.JsonObject>())
                    if (e["localService"]?["hostname"].S() is { Length: > 0 } host)
                        edges.Add(new Edge(ObservedMesh.NameOf(iss), m.Name, "import", $"imported as {host}", null));
        }
        return new Model(nodes, edges);
    }

    public static string Mermaid(Model model)
    {
        static string Id(string s) => "m_" + new string(s.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        static string Text(string s) => s.Replace("\"", "#quot;", StringComparison.Ordinal);
        var sb = new StringBuilder("flowchart LR\n");
        foreach (var cluster in model.Nodes.GroupBy(n => n.Cluster).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.Append("  subgraph ").Append(Id("cluster_" + cluster.Key)).Append("[\"cluster ").Append(Text(cluster.Key)).Append("\"]\n");
            foreach (var n in cluster) sb.Append("    ").Append(Id(n.Mesh)).Append("[\"").Append(Text(n.Mesh)).Append("<br/>").Append(Text(n.Namespace)).Append("\"]\n");
            sb.Append("  end\n");
        }
        var styles = new StringBuilder();
        for (var i = 0; i < model.Edges.Count; i++)
        {
            var e = model.Edges[i];
            var arrow = e.Kind switch { "peering" => "<-->", "export" => "-.->", _ => "-.->" };
            sb.Append("  ").Append(Id(e.From)).Append(' ').Append(arrow).Append("|\"").Append(Text(e.Label)).Append("\"| ").Append(Id(e.To)).Append('\n');
            styles.Append("  linkStyle ").Append(i).Append(" stroke:").Append(e.Kind == "peering" ? Color(e.Status) : e.Kind == "export" ? "#1565c0" : "#6a1b9a")
                .Append(e.Kind == "peering" ? ",stroke-width:3px" : ",stroke-width:1px,stroke-dasharray:4 3").Append('\n');
        }
        return sb.Append(styles).ToString();
    }

    public static string Dot(Model model)
    {
        static string Q(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        var sb = new StringBuilder("digraph federation {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#e3f2fd\", fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n");
        foreach (var cluster in model.Nodes.GroupBy(n => n.Cluster).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.Append("  subgraph ").Append(Q("cluster_" + cluster.Key)).Append(" {\n    label=").Append(Q("cluster " + cluster.Key)).Append(";\n");
            foreach (var n in cluster) sb.Append("    ").Append(Q(n.Mesh)).Append(" [label=").Append(Q($"{n.Mesh}\n{n.Namespace}")).Append("];\n");
            sb.Append("  }\n");
        }
        foreach (var e in model.Edges)
        {
            sb.Append("  ").Append(Q(e.From)).Append(" -> ").Append(Q(e.To)).Append(" [label=").Append(Q(e.Label));
            sb.Append(e.Kind switch
            {
                "peering" => $", dir=both, penwidth=3, color={Q(Color(e.Status))}, fontcolor={Q(Color(e.Status))}",
                "export" => ", style=dashed, color=\"#1565c0\"",
                _ => ", style=dotted, color=\"#6a1b9a\"",
            });
            sb.Append("];\n");
        }
        return sb.Append("}\n").ToString();
    }

    /// <summary>Renders DOT to SVG with Graphviz's dot; a clear error when it is not installed.</summary>
    public static string Svg(Model model)
    {
        var dot = FindDot() ?? throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, "format", "svg",
            "needs Graphviz's dot, which is not installed", "install Graphviz (Debian: apt-get install graphviz), or ask for mermaid or dot text"));
        var psi = new ProcessStartInfo(dot, "-Tsvg") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        static MeshFederationException Failed(string why) => new(new MeshProblem(MeshErrorKind.Io, "format", "svg", $"Graphviz dot failed: {why}",
            "check the Graphviz installation (dot -V), or ask for --format dot or mermaid and render it elsewhere"));
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw Failed("it did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw Failed($"it cannot be started ({e.Message})");
        }
        using (p)
        {
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEndAsync();
            try
            {
                p.StandardInput.Write(Dot(model));
                p.StandardInput.Close();
            }
            catch (IOException)
            {
                // dot exited before reading its input: its exit code and message tell why.
            }
            if (!p.WaitForExit(60_000))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw Failed("it did not finish within 60 seconds");
            }
            if (p.ExitCode != 0)
            {
                var first = error.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "no message";
                throw Failed($"exit code {p.ExitCode} ({first})");
            }
            var svg = output.Result;
            if (!svg.Contains("<svg", StringComparison.Ordinal)) throw Failed("it wrote no SVG");
            return svg;
        }
    }

    private static string? FindDot()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Where(d => d.Length > 0))
            foreach (var name in new[] { "dot", "dot.exe" })
                if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        return null;
    }

    public static string Render(Model model, GraphFormat format) => format switch
    {
        GraphFormat.Mermaid => Mermaid(model),
        GraphFormat.Dot => Dot(model),
        _ => Svg(model),
    };
}
