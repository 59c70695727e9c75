using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;
using MeshFederation.Yaml;

namespace MeshFederation.Cli;

/// <summary>meshfed's commands. Exit codes: 0 success, 1 a check failed, 2 bad input (nothing written).</summary>
public static class MeshfedApp
{
    public const int ExitOk = 0;
    public const int ExitCheckFailed = 1;
    public const int ExitBadInput = 2;

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        IYamlBridge yaml = new YamlDotNetBridge();
        var topologyArg = new Argument<FileInfo>("topology") { Description = "Topology file (YAML, docs/topology.md)." };

        var outOption = new Option<DirectoryInfo>("--out", "-o") { Description = "Folder to write one YAML file per cluster and SUMMARY.md into.", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be written; write nothing." };
        var render = new Command("render", "Render a topology into one multi-document YAML per cluster, in apply order, plus a summary.")
        {
            topologyArg, outOption, dryRun,
        };
        render.SetAction(r => Guard(stderr, () =>
        {
            var set = TopologyLoader.LoadFile(r.GetValue(topologyArg)!.FullName, yaml);
            var result = Ossm2Renderer.Render(set);
            var files = ManifestEmitter.Files(result, yaml);
            var dir = r.GetValue(outOption)!.FullName;
            if (r.GetValue(dryRun))
            {
                foreach (var (path, content) in files)
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"would write {Path.Combine(dir, path)} ({content.Length} bytes)"));
                return ExitOk;
            }
            foreach (var written in AtomicFileWriter.WriteAll(dir, files)) stdout.WriteLine($"wrote {written}");
            foreach (var p in result.Pending) stderr.WriteLine($"pending: {p}");
            foreach (var w in result.Warnings) stderr.WriteLine($"warning: {w}");
            return ExitOk;
        }));

        var validate = new Command("validate", "Validate a topology; print every problem with file and line.") { topologyArg };
        validate.SetAction(r => Guard(stderr, () =>
        {
            var set = TopologyLoader.LoadFile(r.GetValue(topologyArg)!.FullName, yaml);
            stdout.WriteLine($"{r.GetValue(topologyArg)!.Name}: valid ({set.ControlPlanes.Count} meshes, {set.Peerings.Count} peerings, {set.Exports.Count} exports, {set.Imports.Count} imports)");
            return ExitOk;
        }));

        var output = new Option<string>("--output") { Description = "table or json.", DefaultValueFactory = _ => "table" };
        output.AcceptOnlyFromAmong("table", "json");
        var check = new Command("check", "Run the federation checks on a topology. Exit 0: nothing failed; 1: a check failed; 2: bad input.")
        {
            topologyArg, output,
        };
        check.SetAction(r => Guard(stderr, () =>
        {
            var set = TopologyLoader.LoadFile(r.GetValue(topologyArg)!.FullName, yaml);
            var results = FederationChecks.Run(set);
            if (r.GetValue(output) == "json")
                stdout.WriteLine(JsonSerializer.Serialize(results.Select(x => new
                {
                    x.Mesh, x.Peer, x.CheckId, Status = x.Status.ToString(), x.Message, x.Why, x.Fix, x.Evidence,
                }), JsonOptions));
            else
                WriteTable(stdout, results);
            return results.Any(x => x.Status == CheckStatus.Fail) ? ExitCheckFailed : ExitOk;
        }));

        var proxy = new Command("proxy", "Print the haproxy configuration (and firewall commands) of a topology's federation proxy.") { topologyArg };
        var firewall = new Option<bool>("--firewall") { Description = "Print the firewall-cmd commands instead (text only; never run)." };
        proxy.Options.Add(firewall);
        proxy.SetAction(r => Guard(stderr, () =>
        {
            var set = TopologyLoader.LoadFile(r.GetValue(topologyArg)!.FullName, yaml);
            var config = set.ProxyConfigs.FirstOrDefault() ?? throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, "proxy", null,
                "the topology declares no federation proxy", "add a 'proxy:' section (docs/topology.md)"));
            stdout.Write(r.GetValue(firewall) ? string.Join('\n', config.FirewallCommands) + "\n" : config.HaproxyConfig);
            return ExitOk;
        }));

        var root = new RootCommand("meshfed: federate service meshes across Kubernetes and OpenShift clusters.") { render, validate, check, proxy };
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) stderr.WriteLine($"meshfed: {e.Message}");
            return ExitBadInput;
        }
        return parse.Invoke(config);
    }

    private static int Guard(TextWriter stderr, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (MeshFederationException ex)
        {
            foreach (var p in ex.Problems) stderr.WriteLine($"meshfed: error: {p}");
            return ExitBadInput;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"meshfed: error: {ex.Message}");
            return ExitBadInput;
        }
    }

    private static void WriteTable(TextWriter w, IReadOnlyList<MeshCheckResult> results)
    {
        var rows = results.Select(r => new[] { r.Status.ToString().ToUpperInvariant(), r.CheckId, r.Mesh, r.Peer ?? "-", r.Message }).ToList();
        var header = new[] { "STATUS", "CHECK", "MESH", "PEER", "MESSAGE" };
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        void Line(string[] cells) => w.WriteLine(string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd());
        Line(header);
        foreach (var r in rows) Line(r);
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{results.Count(r => r.Status == CheckStatus.Pass)} passed, {results.Count(r => r.Status == CheckStatus.Fail)} failed, {results.Count(r => r.Status == CheckStatus.Warn)} warnings, {results.Count(r => r.Status == CheckStatus.Skip)} skipped"));
    }
}
