using System.Diagnostics;
using MeshFederation.Cli;

namespace MeshFederation.Tests;

public class CliTests
{
    [Fact]
    public void Render_writes_one_file_per_cluster_and_a_summary()
    {
        var dir = Paths.TempDir();
        var (code, stdout, stderr) = BadInputTests.Cli("render", Paths.Example("seed-001-blue-green.yaml"), "--out", dir);
        Assert.Equal(MeshfedApp.ExitOk, code);
        // The three files, and the record of what meshfed wrote (Engine.IO.OutputFolder).
        Assert.Equal(new[] { ".meshfed-written", "SUMMARY.md", "blue.yaml", "green.yaml" }, Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("wrote", stdout, StringComparison.Ordinal);
        Assert.Contains("pending:", stderr, StringComparison.Ordinal);
        var green = TestSupport.ReadBack(File.ReadAllText(Path.Combine(dir, "green.yaml")));
        Assert.Equal(6, green.Count);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void Render_of_a_proxy_topology_writes_the_haproxy_configuration()
    {
        var dir = Paths.TempDir();
        Assert.Equal(0, BadInputTests.Cli("render", Paths.Example("seed-000-nodeport-shared-host.yaml"), "--out", dir).Code);
        Assert.Contains("frontend fed-mesh1-for-mesh2-discovery", File.ReadAllText(Path.Combine(dir, "proxy", "federation.cfg")), StringComparison.Ordinal);
        Assert.Contains("firewall-cmd --zone=libvirt", File.ReadAllText(Path.Combine(dir, "proxy", "firewall-commands.txt")), StringComparison.Ordinal);
    }

    [Fact]
    public void Dry_run_writes_nothing()
    {
        var dir = Path.Combine(Paths.TempDir(), "out");
        var (code, stdout, _) = BadInputTests.Cli("render", Paths.Example("seed-001-blue-green.yaml"), "--out", dir, "--dry-run");
        Assert.Equal(0, code);
        Assert.Contains("would write", stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void Validate_reports_counts()
    {
        var (code, stdout, _) = BadInputTests.Cli("validate", Paths.Example("seed-002-bookinfo-split.yaml"));
        Assert.Equal(0, code);
        Assert.Contains("2 meshes, 2 peerings, 2 exports, 2 imports", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_exits_0_when_nothing_failed_and_1_when_a_check_failed()
    {
        var (ok, table, _) = BadInputTests.Cli("check", Paths.Example("seed-001-blue-green.yaml"));
        Assert.Equal(MeshfedApp.ExitOk, ok);
        Assert.Contains("OSSM2.ImportResolves", table, StringComparison.Ordinal);

        var dir = Paths.TempDir();
        var topology = Path.Combine(dir, "t.yaml");
        // green imports a service blue never exports: the set is valid, the check fails.
        File.WriteAllText(topology, File.ReadAllText(Paths.Example("seed-001-blue-green.yaml")).Replace("        name: dokuwiki\n        alias: {namespace: nfs-app-istio, name: blue-dokuwiki}", "        name: wiki\n        alias: {namespace: nfs-app-istio, name: blue-dokuwiki}", StringComparison.Ordinal)
            .Replace("service: nfs-app-istio/dokuwiki", "service: nfs-app-istio/wiki", StringComparison.Ordinal));
        var (failed, json, _) = BadInputTests.Cli("check", topology, "--output", "json");
        Assert.Equal(MeshfedApp.ExitCheckFailed, failed);
        Assert.Contains("\"Status\": \"Fail\"", json, StringComparison.Ordinal);
        Assert.Equal(MeshfedApp.ExitBadInput, BadInputTests.Cli("check", "/nonexistent.yaml").Code);
    }

    [Fact]
    public void Proxy_prints_the_haproxy_configuration_and_the_firewall_commands()
    {
        var (code, cfg, _) = BadInputTests.Cli("proxy", Paths.Example("seed-000-nodeport-per-cluster.yaml"));
        Assert.Equal(0, code);
        Assert.Contains("bind 10.16.0.10:31000", cfg, StringComparison.Ordinal);
        var (_, fw, _) = BadInputTests.Cli("proxy", Paths.Example("seed-000-nodeport-per-cluster.yaml"), "--firewall");
        Assert.EndsWith("firewall-cmd --reload\n", fw, StringComparison.Ordinal);
        Assert.Equal(MeshfedApp.ExitBadInput, BadInputTests.Cli("proxy", Paths.Example("seed-001-blue-green.yaml")).Code);
    }

    [Fact]
    public void The_built_meshfed_binary_runs_and_exits_2_on_bad_input()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "meshfed.dll");
        Assert.True(File.Exists(dll), dll);
        var psi = new ProcessStartInfo("dotnet", $"\"{dll}\" render /nonexistent.yaml --out /tmp/x") { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(2, p.ExitCode);
        Assert.Contains("cannot be read", err, StringComparison.Ordinal);
    }
}
