using System.Diagnostics;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;
using MeshFederation.Yaml;
using static Bench;

/// <summary>
/// Issue 15's memory goal: `meshfed render` of N meshes all peered (one cluster each) as users run it, the CLI process
/// cold, with its peak resident memory (getrusage maxrss) and wall time; the same with --dry-run. Warm in-process
/// phase times (load, render, emit) beside them, labelled.
/// </summary>
internal static class RenderBench
{
    public static string Topology(int meshes)
    {
        var sb = new System.Text.StringBuilder("apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmetadata: {name: scale}\nmeshes:\n");
        for (var i = 1; i <= meshes; i++)
            sb.Append(Inv, $"  - {{name: m{i}, namespace: m{i}-system, cluster: c{i}, members: [app], ingressAddresses: [10.0.{i / 250}.{(i % 250) + 1}]}}\n");
        return sb.Append("peerings: all\n").ToString();
    }

    public static int Run(int meshes, int iterations)
    {
        var dir = TempDir();
        var file = Path.Combine(dir, $"all-peered-{meshes}.yaml");
        File.WriteAllText(file, Topology(meshes));
        var cli = Cli();
        Console.Error.WriteLine($"render: {meshes} meshes all peered, meshfed {cli}, load {LoadAverage()}");
        var loadBefore = LoadAverage();

        // Warm, in-process phases (a second run of each), for where the time goes; not the goal's measure.
        var yaml = new YamlDotNetBridge();
        (double Load, double Render, double Emit, int Objects, long Bytes) phases = default;
        for (var i = 0; i < 2; i++)
        {
            var sw = Stopwatch.StartNew();
            var set = TopologyLoader.LoadFile(file, yaml);
            var load = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var result = Ossm2Renderer.Render(set);
            var render = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            long bytes = 0;
            foreach (var (_, content) in ManifestEmitter.Files(result, yaml)) bytes += content.Length;
            phases = (load, render, sw.Elapsed.TotalMilliseconds, result.AllManifests.Count(), bytes);
            result = null;
            GC.Collect();
        }
        Console.Error.WriteLine($"warm in-process: load {phases.Load:0} ms, render {phases.Render:0} ms, emit {phases.Emit:0} ms, {phases.Objects} objects, {phases.Bytes / 1e6:0.0} MB");

        var writes = new List<Run>();
        var dryRuns = new List<Run>();
        for (var i = 0; i < iterations; i++)
        {
            var outDir = Path.Combine(dir, $"out{i}");
            writes.Add(MustTime(cli, new[] { "render", file, "--out", outDir }));
            dryRuns.Add(MustTime(cli, new[] { "render", file, "--out", Path.Combine(dir, "dry"), "--dry-run" }));
            var files = Directory.GetFiles(outDir, "*.yaml");
            if (files.Length != meshes) throw new InvalidOperationException($"render wrote {files.Length} cluster files, not {meshes}");
            Directory.Delete(outDir, recursive: true);
            Console.Error.WriteLine($"cold: render {writes[^1].WallMs:0} ms {writes[^1].PeakKb / 1024} MB; dry run {dryRuns[^1].WallMs:0} ms {dryRuns[^1].PeakKb / 1024} MB");
        }
        // The baseline, when given: another meshfed build (e.g. the one before streaming), the same cold runs, interleaved above.
        var baseline = Environment.GetEnvironmentVariable("MESHFED_BASELINE_CLI");
        if (baseline is { Length: > 0 })
            for (var i = 0; i < iterations; i++)
            {
                var outDir = Path.Combine(dir, $"base{i}");
                var b = MustTime(baseline, new[] { "render", file, "--out", outDir });
                Directory.Delete(outDir, recursive: true);
                Console.WriteLine(string.Create(Inv, $"baseline {baseline}: render {b.WallMs / 1000:0.00} s wall, {b.CpuMs / 1000:0.00} s CPU, {b.PeakKb / 1024} MB peak RSS"));
            }
        var wall = Median(writes.Select(w => w.WallMs));
        var peak = writes.Max(w => w.PeakKb) / 1024.0;
        var dryWall = Median(dryRuns.Select(w => w.WallMs));
        var dryPeak = dryRuns.Max(w => w.PeakKb) / 1024.0;
        Console.WriteLine("| meshes | objects | YAML | meshfed render (cold) median wall | CPU | peak RSS (max) | --dry-run wall | --dry-run peak RSS | warm in-process: load / render / emit | load average |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        Console.WriteLine(string.Create(Inv,
            $"| {meshes} | {phases.Objects} | {phases.Bytes / 1e6:0.0} MB | {wall / 1000:0.00} s | {Median(writes.Select(w => w.CpuMs)) / 1000:0.00} s | {peak:0} MB | {dryWall / 1000:0.00} s | {dryPeak:0} MB | {phases.Load:0} / {phases.Render:0} / {phases.Emit:0} ms | {loadBefore} → {LoadAverage()} |"));
        var ok = peak <= 250 && dryPeak <= 250 && wall <= 8000;
        Console.WriteLine(ok ? "goals met: <= 250 MB peak and <= 8 s" : "GOAL NOT MET: over 250 MB peak or over 8 s");
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        return ok ? 0 : 1;
    }
}
