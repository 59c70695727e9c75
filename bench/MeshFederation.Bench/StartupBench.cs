using System.Diagnostics;
using System.Runtime.InteropServices;

/// <summary>
/// Issue 15's start-up goal: `meshfed render` of seed 001 (examples/seed-001-blue-green.yaml --out DIR) as a cold
/// process, ≤ 120 ms. Times, in one run and interleaved (so load hits every candidate alike), N cold processes each of
/// the framework-dependent build (what `dotnet tool install` runs), the native build tools/package.sh leaves in
/// out/cli/meshfed, and `kubectl version --client` as the reference of a CLI users find fast; plus `meshfed --version`
/// of both builds (the runtime's own start, no work). Each render writes a new folder. Wall and CPU (user + system)
/// are reported: on a loaded machine the wall time is mostly waiting for a core, the CPU time is not.
/// Usage: dotnet run -c Release --project bench/MeshFederation.Bench -- startup [iterations]
/// </summary>
internal static class StartupBench
{
    private sealed record Candidate(string Name, string File, Func<string, string[]> Args);

    [StructLayout(LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UserSec, UserUsec, SysSec, SysUsec, MaxRss;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 13)]
        public long[] Rest;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getrusage(int who, ref RUsage usage);

    /// <summary>CPU time (user + system, µs resolution) of every waited-for child so far; /usr/bin/time rounds to 10 ms.</summary>
    private static (double CpuMs, long MaxRssKb) Children()
    {
        var u = new RUsage { Rest = new long[13] };
        if (getrusage(-1 /* RUSAGE_CHILDREN */, ref u) != 0) return (double.NaN, 0);
        return ((u.UserSec + u.SysSec) * 1000.0 + (u.UserUsec + u.SysUsec) / 1000.0, u.MaxRss);
    }

    /// <summary>One cold process: wall time from spawn to exit, its CPU time (getrusage of children, before and after).</summary>
    private static Bench.Run TimeOne(string file, string[] args)
    {
        var before = Children();
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        sw.Stop();
        var after = Children();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} exited {p.ExitCode}: {err.Result}{output}");
        // ru_maxrss of children is the largest child so far, not this one's: peak RSS is not reported here.
        return new Bench.Run(sw.Elapsed.TotalMilliseconds, after.CpuMs - before.CpuMs, 0, p.ExitCode, output, err.Result);
    }

    public static int Run(int iterations)
    {
        var repo = Bench.Repo();
        var topology = Path.Combine(repo, "examples", "seed-001-blue-green.yaml");
        var jit = Path.Combine(repo, "src", "MeshFederation.Cli", "bin", "Release", "net8.0", "meshfed");
        var native = Environment.GetEnvironmentVariable("MESHFED_NATIVE_CLI") is { Length: > 0 } n ? Path.GetFullPath(n) : Path.Combine(repo, "out", "cli", "meshfed");
        foreach (var (what, path, how) in new[] { ("framework-dependent meshfed", jit, "dotnet build -c Release src/MeshFederation.Cli"), ("native meshfed", native, "tools/package.sh") })
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"startup: the {what} is missing at {path}; build it with {how}");
                return 2;
            }
        var work = Bench.TempDir();
        var candidates = new[]
        {
            new Candidate("meshfed render (framework-dependent, JIT)", jit, d => new[] { "render", topology, "--out", d }),
            new Candidate("meshfed render (native AOT)", native, d => new[] { "render", topology, "--out", d }),
            new Candidate("kubectl version --client", "kubectl", _ => new[] { "version", "--client" }),
            new Candidate("meshfed --version (framework-dependent)", jit, _ => new[] { "--version" }),
            new Candidate("meshfed --version (native AOT)", native, _ => new[] { "--version" }),
            // The harness's own cost: spawning from this (large) .NET process and reading the pipes. hyperfine subtracts
            // its shell's start-up the same way; a shell loop (docs/performance.md) needs no correction.
            new Candidate("/bin/true (the harness's own cost)", "/bin/true", _ => Array.Empty<string>()),
        };
        var kubectl = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(p => Path.Combine(p, "kubectl")).FirstOrDefault(File.Exists);
        if (kubectl is null) candidates = candidates.Where(c => c.File != "kubectl").ToArray();
        else candidates = candidates.Select(c => c.File == "kubectl" ? c with { File = kubectl } : c).ToArray();

        var load = Bench.LoadAverage();
        var results = candidates.ToDictionary(c => c.Name, _ => new List<Bench.Run>());
        var run = 0;
        // Two warm-up rounds (the files in the page cache, as for a user's second command), then the measured rounds.
        for (var i = -2; i < iterations; i++)
            foreach (var c in candidates)
            {
                var r = TimeOne(c.File, c.Args(Path.Combine(work, $"out-{run++}")));
                if (i >= 0) results[c.Name].Add(r);
            }
        var loadAfter = Bench.LoadAverage();

        Console.WriteLine($"CLI cold start, {iterations} runs each, interleaved; load average {load} before, {loadAfter} after; {Environment.ProcessorCount} cores");
        Console.WriteLine($"{"command",-44} {"median wall",12} {"min wall",9} {"median CPU",11} {"min CPU",8}");
        foreach (var c in candidates)
        {
            var rs = results[c.Name];
            Console.WriteLine($"{c.Name,-44} {Bench.Median(rs.Select(r => r.WallMs)),9:F0} ms {rs.Min(r => r.WallMs),6:F0} ms {Bench.Median(rs.Select(r => r.CpuMs)),8:F0} ms {rs.Min(r => r.CpuMs),5:F0} ms");
        }
        var nativeRender = Bench.Median(results[candidates[1].Name].Select(r => r.WallMs));
        var harness = Bench.Median(results[candidates[^1].Name].Select(r => r.WallMs));
        var kubectlRow = candidates.FirstOrDefault(c => c.Name.StartsWith("kubectl", StringComparison.Ordinal));
        var net = nativeRender - harness;
        Console.WriteLine($"native render median {nativeRender:F0} ms, minus the harness's own {harness:F0} ms = {net:F0} ms" +
                          (kubectlRow is null ? "" : $" (kubectl version --client: {Bench.Median(results[kubectlRow.Name].Select(r => r.WallMs)) - harness:F0} ms)"));
        Console.WriteLine($"goal: native render {net:F0} ms {(net <= 120 ? "<=" : ">")} 120 ms");
        try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        return 0;
    }
}
