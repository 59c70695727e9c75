using System.Diagnostics;
using System.Globalization;
using MeshFederation.Cli;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Topology;
using MeshFederation.Yaml;

/// <summary>
/// Issue 15's check goals, offline: `meshfed check` over N meshes all peered grows linearly with the peerings
/// (N·(N−1)); 200 meshes (39,800 peerings) are checked in under 2 s; `meshfed graph --format dot` of 100 meshes takes
/// under 3 s. Measured as users run them (the CLI process, cold, output discarded) and in-process (warm) beside it.
/// </summary>
internal static class OfflineChecksBench
{
    private static string Repo()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "MeshFederation.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("run from inside the repository");
    }

    internal static string Topology(int meshes)
    {
        var sb = new System.Text.StringBuilder("apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n");
        for (var i = 1; i <= meshes; i++)
            sb.Append(CultureInfo.InvariantCulture, $"  - {{name: m{i}, namespace: m{i}-system, cluster: c{i % 10}, ingressAddresses: [10.0.{i / 250}.{(i % 250) + 1}]}}\n");
        return sb.Append("peerings: all\n").ToString();
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>
    /// One cold run of the CLI as a user starts it (under /usr/bin/time when present, for its CPU time and peak memory;
    /// its own cost is a few milliseconds); stdout is read from the pipe and discarded.
    /// </summary>
    private static (double Wall, double Cpu, long PeakKb) Cold(string meshfed, string args, int expectedExit)
    {
        var timeFile = Path.Combine(Path.GetTempPath(), $"meshfed-bench-time-{Guid.NewGuid():N}");
        var timed = File.Exists("/usr/bin/time");
        var psi = timed ? new ProcessStartInfo("/usr/bin/time", $"-o {timeFile} -f \"%U %S %M\" {meshfed} {args}") : new ProcessStartInfo(meshfed, args);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var buffer = new char[1 << 16];
        while (p.StandardOutput.Read(buffer, 0, buffer.Length) > 0) { }
        p.WaitForExit();
        sw.Stop();
        if (p.ExitCode != expectedExit) throw new InvalidOperationException($"meshfed {args} exited {p.ExitCode}: {err.Result}");
        double cpu = double.NaN;
        long peak = 0;
        if (File.Exists(timeFile))
        {
            var parts = File.ReadAllText(timeFile).Trim().Split('\n')[^1].Split(' ');
            cpu = (double.Parse(parts[0], CultureInfo.InvariantCulture) + double.Parse(parts[1], CultureInfo.InvariantCulture)) * 1000;
            peak = long.Parse(parts[2], CultureInfo.InvariantCulture);
            File.Delete(timeFile);
        }
        return (sw.Elapsed.TotalMilliseconds, cpu, peak);
    }

    public static int Run(int iterations)
    {
        var meshfed = Bench.Cli(); // $MESHFED_CLI, else the native build, else the framework-dependent one
        if (!File.Exists(meshfed)) throw new InvalidOperationException($"build the CLI first: {meshfed} is missing (dotnet build -c Release)");
        var dir = Path.Combine(Path.GetTempPath(), "meshfed-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var yaml = new YamlDotNetBridge();
        var inv = CultureInfo.InvariantCulture;
        Console.Error.WriteLine($"checks-offline: meshfed {meshfed}, load {Bench.LoadAverage()}");
        var rows = new List<(int Meshes, int Peerings, int Results, double Load, double Checks, double Warm, double Cold, double Cpu, long PeakKb, string LoadAvg)>();
        foreach (var n in new[] { 25, 50, 100, 200 })
        {
            var file = Path.Combine(dir, $"t{n}.yaml");
            File.WriteAllText(file, Topology(n));
            int results = 0, peerings = 0;
            var load = new List<double>();
            var checks = new List<double>();
            var warm = new List<double>();
            var cold = new List<double>();
            var cpu = new List<double>();
            long peakKb = 0;
            var loadBefore = Bench.LoadAverage();
            for (var i = 0; i <= iterations; i++)
            {
                var sw = Stopwatch.StartNew();
                var set = TopologyLoader.LoadFile(file, yaml);
                var loaded = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                results = FederationChecks.Run(set).Count;
                var checked_ = sw.Elapsed.TotalMilliseconds;
                peerings = set.Peerings.Count;
                sw.Restart();
                var code = MeshfedApp.Run(new[] { "check", file }, TextWriter.Null, TextWriter.Null);
                var whole = sw.Elapsed.TotalMilliseconds;
                if (code != MeshfedApp.ExitOk) throw new InvalidOperationException($"meshfed check exited {code}");
                var c = Cold(meshfed, $"check {file}", MeshfedApp.ExitOk);
                if (i == 0) continue; // warm-up
                load.Add(loaded);
                checks.Add(checked_);
                warm.Add(whole);
                cold.Add(c.Wall);
                cpu.Add(c.Cpu);
                peakKb = Math.Max(peakKb, c.PeakKb);
                Console.Error.WriteLine(string.Create(inv, $"{n} meshes, run {i}: meshfed check cold {c.Wall:0} ms ({c.Cpu:0} ms CPU, {c.PeakKb / 1024} MB); load {Bench.LoadAverage()}"));
            }
            rows.Add((n, peerings, results, Median(load), Median(checks), Median(warm), Median(cold), Median(cpu), peakKb, $"{loadBefore} → {Bench.LoadAverage()}"));
        }

        var graphFile = Path.Combine(dir, "t100.yaml");
        var graph = new List<double>();
        var graphCpu = new List<double>();
        var graphLoad = Bench.LoadAverage();
        for (var i = 0; i <= iterations; i++)
        {
            var g = Cold(meshfed, $"graph {graphFile} --format dot", MeshfedApp.ExitOk);
            if (i == 0) continue;
            graph.Add(g.Wall);
            graphCpu.Add(g.Cpu);
        }

        Console.WriteLine("| meshes | peerings | results | load + validate (warm) | checks (warm) | meshfed check in-process (warm) | meshfed check, CLI cold | its CPU | its peak RSS | cold ms per 1,000 peerings | load average |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            Console.WriteLine(string.Create(inv, $"| {r.Meshes} | {r.Peerings} | {r.Results} | {r.Load:0} ms | {r.Checks:0} ms | {r.Warm:0} ms | {r.Cold:0} ms | {r.Cpu:0} ms | {r.PeakKb / 1024} MB | {r.Cold * 1000 / r.Peerings:0.0} | {r.LoadAvg} |"));
        Console.WriteLine(string.Create(inv, $"\nmeshfed graph --format dot, 100 meshes (9,900 peerings), CLI cold: {Median(graph):0} ms, {Median(graphCpu):0} ms CPU (median of {graph.Count}); load {graphLoad} → {Bench.LoadAverage()}"));
        var r100 = rows.Single(r => r.Meshes == 100);
        var r200 = rows.Single(r => r.Meshes == 200);
        // Linear in peerings: from 100 to 200 meshes the peerings grow 4.02x; the warm time per peering may not grow.
        var growth = r200.Warm / r200.Peerings / (r100.Warm / r100.Peerings);
        Console.WriteLine(string.Create(inv, $"warm time per peering, 200 vs 100 meshes: {growth:0.00}x (linear: about 1; N^4 would be 4x)"));
        var ok = r200.Cold < 2000 && Median(graph) < 3000 && growth < 1.5;
        Console.WriteLine(ok ? "goals met: linear in peerings, 200 meshes checked under 2 s, graph of 100 meshes under 3 s" : "GOALS NOT MET");
        return ok ? 0 : 1;
    }
}
