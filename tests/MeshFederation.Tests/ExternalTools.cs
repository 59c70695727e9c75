using System.Diagnostics;

namespace MeshFederation.Tests;

/// <summary>Runs the real outside tools the tests are judged by (haproxy, openssl, kubectl).</summary>
internal static class ExternalTools
{
    public static string Require(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(new[] { "/usr/sbin", "/sbin", "/usr/local/sbin" }))
        {
            var p = Path.Combine(dir, tool);
            if (File.Exists(p)) return p;
        }
        throw new InvalidOperationException($"'{tool}' is not installed; run ./test.sh, which installs it (apt-get install {tool}).");
    }

    public static (int Code, string Output) Run(string tool, string args, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(Require(tool), args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
            // What it printed until then says where it hung (the tail: kubectl -v=6 logs every request).
            var printed = (stdout.IsCompleted ? stdout.Result : "") + (stderr.IsCompleted ? stderr.Result : "");
            if (printed.Length > 6000) printed = "..." + printed[^6000..];
            throw new TimeoutException($"{tool} {args} did not finish{(printed.Length > 0 ? "; it printed:\n" + printed : "")}");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
