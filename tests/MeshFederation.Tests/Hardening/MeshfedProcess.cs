using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace MeshFederation.Tests.Hardening;

/// <summary>What one meshfed process did: exit code, output, wall time and peak memory (resident set).</summary>
internal sealed record ProcessOutcome(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed, long PeakRssBytes, bool TimedOut, TimeSpan Cpu = default)
{
    /// <summary>A .NET stack trace or an unhandled-exception banner: never acceptable on bad input.</summary>
    public bool HasStackTrace =>
        Stderr.Contains("Unhandled exception", StringComparison.Ordinal) || Stdout.Contains("Unhandled exception", StringComparison.Ordinal)
        || System.Text.RegularExpressions.Regex.IsMatch(Stderr + Stdout, @"^\s+at [A-Za-z_.`<>]+\(", System.Text.RegularExpressions.RegexOptions.Multiline);

    public override string ToString() =>
        $"exit {ExitCode}{(TimedOut ? " (killed: timed out)" : "")}, {Elapsed.TotalSeconds:0.0} s ({Cpu.TotalSeconds:0.00} s CPU), peak {PeakRssBytes / (1024 * 1024)} MiB\nstdout: {Clip(Stdout)}\nstderr: {Clip(Stderr)}";

    private static string Clip(string s) => s.Length > 2000 ? s[..2000] + "..." : s;
}

/// <summary>
/// Runs the built meshfed (dotnet meshfed.dll) as its own process, as a user would, and measures it: CPU time and peak
/// resident memory, read by GNU time when installed and from /proc/&lt;pid&gt; otherwise, and wall time. The time limit is
/// judged on CPU time, which other work on a shared machine does not inflate; a hang (no CPU, no end, as on a FIFO) is
/// caught by the wall-clock guard, which kills the process. The GC heap is capped at 600 MiB, so a runaway allocation
/// ends the process instead of the machine.
/// </summary>
internal static class MeshfedProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "meshfed.dll");

    public const long MemoryLimitBytes = 500L * 1024 * 1024;

    /// <summary>CPU time a case may take.</summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(10);

    /// <summary>Wall time after which a process is taken for hung and killed (generous: the machine may be busy).</summary>
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static readonly string? GnuTime = File.Exists("/usr/bin/time") ? "/usr/bin/time" : null;

    public static ProcessOutcome Run(IEnumerable<string> args, TimeSpan? timeout = null, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null, Action<Process, string>? onStdout = null, bool direct = false, Action<Process>? started = null)
    {
        Assert.True(File.Exists(Dll), $"meshfed.dll is not beside the tests: {Dll}");
        // direct: no GNU time in between, so signals sent to the process reach meshfed itself.
        var gnuTime = direct ? null : GnuTime;
        var rssFile = gnuTime is null ? null : Path.Combine(Path.GetTempPath(), $"meshfed-rss-{Guid.NewGuid():N}");
        // direct (signal tests): through env --default-signal, so meshfed starts with SIGINT and SIGTERM handled as a user's
        // shell leaves them, whatever the test host inherited (a background job of a non-interactive shell ignores SIGINT,
        // and ignored signals are inherited across exec).
        var resetSignals = direct && File.Exists("/usr/bin/env");
        var psi = new ProcessStartInfo(gnuTime ?? (resetSignals ? "/usr/bin/env" : "dotnet"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        if (gnuTime is not null)
        {
            foreach (var a in new[] { "-q", "-o", rssFile!, "-f", "%M %U %S", "dotnet" }) psi.ArgumentList.Add(a);
        }
        if (resetSignals)
        {
            psi.ArgumentList.Add("--default-signal=INT,TERM");
            psi.ArgumentList.Add("dotnet");
        }
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_GCHeapHardLimit"] = "0x25800000"; // 600 MiB
        psi.Environment["DOTNET_gcServer"] = "0";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment.Remove("MESHFED_VERBOSE");
        if (environment is not null)
            foreach (var (k, v) in environment)
                if (v is null) psi.Environment.Remove(k);
                else psi.Environment[k] = v;

        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var watch = Stopwatch.StartNew();
        using var p = new Process { StartInfo = psi };
        var killed = false;
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            onStdout?.Invoke(p, e.Data);
        };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        p.Start();
        p.StandardInput.Close();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        // A dedicated thread: xunit keeps the thread pool busy, and a watcher queued there can start seconds late.
        var whileRunning = started is null ? null : Task.Factory.StartNew(() => started(p), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        long peak = 0;
        var cpu = TimeSpan.Zero;
        var limit = timeout ?? HangGuard;
        while (!p.WaitForExit(20))
        {
            if (gnuTime is null)
            {
                peak = Math.Max(peak, VmHwm(p.Id));
                cpu = CpuTime(p.Id) ?? cpu;
            }
            if (watch.Elapsed > limit)
            {
                killed = true;
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.WaitForExit();
                break;
            }
        }
        p.WaitForExit(); // drains the redirected streams
        watch.Stop();
        whileRunning?.GetAwaiter().GetResult();
        if (rssFile is not null)
        {
            try
            {
                var fields = File.ReadAllText(rssFile).Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim().Split(' ') ?? Array.Empty<string>();
                if (fields.Length == 3 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb)
                    && double.TryParse(fields[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var user)
                    && double.TryParse(fields[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var sys))
                {
                    peak = kb * 1024;
                    cpu = TimeSpan.FromSeconds(user + sys);
                }
            }
            catch (IOException)
            {
                // killed before GNU time wrote it: the timeout already fails the case
            }
            finally
            {
                File.Delete(rssFile);
            }
        }
        string o, e;
        lock (stdout) o = stdout.ToString();
        lock (stderr) e = stderr.ToString();
        // GNU time reports a signalled child as "Command terminated by signal N" and exits 128+N.
        return new ProcessOutcome(p.ExitCode, o, e, watch.Elapsed, peak, killed, cpu);
    }

    private static long VmHwm(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return 0;
    }

    /// <summary>utime + stime of a running process (/proc/&lt;pid&gt;/stat, in clock ticks of 1/100 s).</summary>
    private static TimeSpan? CpuTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return TimeSpan.FromSeconds((long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Sends a POSIX signal (SIGINT 2, SIGTERM 15, SIGKILL 9) to a process.</summary>
    public static void Signal(int pid, int signal) => Assert.Equal(0, kill(pid, signal));

    /// <summary>The signal dispositions and mask of a process (SigIgn, SigBlk, SigCgt from /proc), for failure messages.</summary>
    public static string SignalState(int pid)
    {
        try
        {
            return string.Join(" ", File.ReadAllLines($"/proc/{pid}/status").Where(l => l.StartsWith("Sig", StringComparison.Ordinal) && !l.StartsWith("SigQ", StringComparison.Ordinal)).Select(l => l.Replace("\t", "", StringComparison.Ordinal)));
        }
        catch (IOException)
        {
            return "(gone)";
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    /// <summary>Asserts what bad input must give: exit 2, no stack trace, within the time and memory limits.</summary>
    public static void AssertBadInput(ProcessOutcome o, string because)
    {
        Assert.False(o.TimedOut, $"{because}: hung (killed after {HangGuard.TotalSeconds} s)\n{o}");
        Assert.True(o.Cpu < TimeLimit, $"{because}: took {o.Cpu.TotalSeconds:0.0} s of CPU, over {TimeLimit.TotalSeconds} s\n{o}");
        Assert.False(o.HasStackTrace, $"{because}: printed a stack trace\n{o}");
        Assert.True(o.ExitCode == 2, $"{because}: expected exit 2\n{o}");
        Assert.True(o.PeakRssBytes < MemoryLimitBytes, $"{because}: peak memory {o.PeakRssBytes / (1024 * 1024)} MiB is over {MemoryLimitBytes / (1024 * 1024)} MiB\n{o}");
    }
}
