using System.Diagnostics;
using System.Globalization;

/// <summary>What the benchmarks share: the repository, the meshfed CLI as users run it, processes timed with their CPU and memory.</summary>
internal static class Bench
{
    public static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Repo()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "MeshFederation.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("run from inside the repository");
    }

    /// <summary>
    /// The meshfed users run: $MESHFED_CLI, else the native build tools/package.sh leaves in out/cli/meshfed, else
    /// the framework-dependent build (what `dotnet tool install` gives).
    /// </summary>
    public static string Cli()
    {
        if (Environment.GetEnvironmentVariable("MESHFED_CLI") is { Length: > 0 } given) return Path.GetFullPath(given);
        var native = Path.Combine(Repo(), "out", "cli", "meshfed");
        if (File.Exists(native)) return native;
        var fdd = Path.Combine(Repo(), "src", "MeshFederation.Cli", "bin", "Release", "net8.0", "meshfed");
        if (File.Exists(fdd)) return fdd;
        throw new InvalidOperationException("build meshfed first: tools/package.sh (or dotnet build -c Release src/MeshFederation.Cli)");
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "meshfed-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    /// <summary>A finished process: wall time, CPU time (user + system, children included) and peak resident memory.</summary>
    public sealed record Run(double WallMs, double CpuMs, long PeakKb, int ExitCode, string Stdout, string Stderr);

    /// <summary>
    /// Runs a command under GNU time-like accounting (bash's times/getrusage through /usr/bin/time when present), so
    /// the process start is inside the time, as a user sees it.
    /// </summary>
    public static Run Time(string file, IEnumerable<string> args, string? workdir = null, IDictionary<string, string>? env = null)
    {
        var timeFile = Path.Combine(Path.GetTempPath(), $"meshfed-bench-time-{Guid.NewGuid():N}");
        var psi = new ProcessStartInfo(File.Exists("/usr/bin/time") ? "/usr/bin/time" : file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workdir ?? Environment.CurrentDirectory,
        };
        if (File.Exists("/usr/bin/time")) { psi.ArgumentList.Add("-o"); psi.ArgumentList.Add(timeFile); psi.ArgumentList.Add("-f"); psi.ArgumentList.Add("%U %S %M"); psi.ArgumentList.Add(file); }
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        sw.Stop();
        double cpu = 0; long peak = 0;
        if (File.Exists(timeFile))
        {
            var parts = File.ReadAllText(timeFile).Trim().Split('\n')[^1].Split(' ');
            if (parts.Length == 3)
            {
                cpu = (double.Parse(parts[0], Inv) + double.Parse(parts[1], Inv)) * 1000;
                peak = long.Parse(parts[2], Inv);
            }
            File.Delete(timeFile);
        }
        return new Run(sw.Elapsed.TotalMilliseconds, cpu, peak, p.ExitCode, output, err.Result);
    }

    public static Run MustTime(string file, IEnumerable<string> args, string? workdir = null, IDictionary<string, string>? env = null)
    {
        var r = Time(file, args, workdir, env);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} exited {r.ExitCode}: {r.Stderr}{r.Stdout}");
        return r;
    }

    public static double Median(IEnumerable<double> values)
    {
        var s = values.Order().ToList();
        return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
