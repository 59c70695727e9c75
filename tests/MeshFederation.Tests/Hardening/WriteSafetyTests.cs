using System.Diagnostics;
using System.Security.Cryptography;
using MeshFederation.Cli;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests.Hardening;

/// <summary>
/// Issue 14, "Lost or wrong data": writes are all or nothing per folder, never over a file meshfed did not write or over
/// its own input, and leftovers of interrupted runs are removed by the next run.
/// </summary>
public class WriteSafetyTests
{
    private const string Head = "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\n";

    /// <summary>A topology of one OSSM 2 mesh per cluster, all peered, rendering one file per cluster.</summary>
    internal static string Topology(params string[] clusters) =>
        Head + "meshes:\n" + string.Concat(clusters.Select(c => $"  - {{name: {c}-mesh, cluster: {c}, ingressAddresses: {{'*': [10.0.0.{Array.IndexOf(clusters, c) + 1}]}}}}\n"))
        + (clusters.Length > 1 ? "peerings: all\n" : "");

    /// <summary>Every file of a folder (relative path to SHA-256), the record included: what "the set" is.</summary>
    internal static Dictionary<string, string> Snapshot(string dir) =>
        Directory.Exists(dir)
            ? Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))))
            : new Dictionary<string, string>();

    private static (int Code, string Stdout, string Stderr) Cli(params string[] args) => BadInputTests.Cli(args);

    private static bool Same(Dictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);

    [Fact]
    public void Render_never_overwrites_its_own_input_named_like_a_cluster()
    {
        // meshfed render blue.yaml --out . in the folder holding blue.yaml, with a cluster named blue.
        var dir = Paths.TempDir();
        var input = Path.Combine(dir, "blue.yaml");
        File.Copy(Paths.Example("seed-001-blue-green.yaml"), input);
        var before = File.ReadAllText(input);
        var o = MeshfedProcess.Run(new[] { "render", "blue.yaml", "--out", "." }, workingDirectory: dir);
        MeshfedProcess.AssertBadInput(o, "render blue.yaml --out .");
        Assert.Contains($"'{input}': is an input of this run", o.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(input));
        Assert.Equal(new[] { "blue.yaml" }, Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));

        // The same from elsewhere (--out pointing at the input's folder): still refused, still untouched.
        var (code, _, stderr) = Cli("render", input, "--out", dir);
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains("is an input of this run", stderr, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(input));
    }

    [Fact]
    public void A_smaller_render_removes_the_files_of_clusters_no_longer_rendered_and_keeps_foreign_files()
    {
        var dir = Paths.TempDir();
        var out1 = Path.Combine(dir, "out");
        var big = Path.Combine(dir, "big.yaml");
        var small = Path.Combine(dir, "small.yaml");
        File.WriteAllText(big, Topology("a", "b", "c"));
        File.WriteAllText(small, Topology("a", "b"));
        Assert.Equal(0, Cli("render", big, "--out", out1).Code);
        Assert.True(File.Exists(Path.Combine(out1, "c.yaml")));
        File.WriteAllText(Path.Combine(out1, "kustomization.yaml"), "resources: [a.yaml, b.yaml]\n");
        var (code, stdout, stderr) = Cli("render", small, "--out", out1);
        Assert.True(code == 0, stderr);
        Assert.False(File.Exists(Path.Combine(out1, "c.yaml")), "the stale cluster file stayed");
        Assert.Contains("removed", stdout, StringComparison.Ordinal);
        Assert.Equal("resources: [a.yaml, b.yaml]\n", File.ReadAllText(Path.Combine(out1, "kustomization.yaml")));
        Assert.DoesNotContain("c.yaml", File.ReadAllText(Path.Combine(out1, "SUMMARY.md")), StringComparison.Ordinal);
        Assert.Equal(new[] { "a.yaml", "b.yaml" }, File.ReadAllLines(Path.Combine(out1, OutputFolder.RecordFileName)).Where(l => !l.StartsWith('#'))
            .Select(l => l[66..]).Where(n => n.EndsWith(".yaml", StringComparison.Ordinal)));
    }

    [Fact]
    public void Files_meshfed_did_not_write_or_that_were_changed_since_are_never_overwritten()
    {
        var dir = Path.Combine(Paths.TempDir(), "out");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "blue.yaml"), "# my own notes\n");
        var (code, _, stderr) = Cli("render", Paths.Example("seed-001-blue-green.yaml"), "--out", dir);
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains("was not written by meshfed; it is never overwritten", stderr, StringComparison.Ordinal);
        Assert.Equal("# my own notes\n", File.ReadAllText(Path.Combine(dir, "blue.yaml")));
        Assert.Single(Directory.GetFileSystemEntries(dir));

        File.Delete(Path.Combine(dir, "blue.yaml"));
        Assert.Equal(0, Cli("render", Paths.Example("seed-001-blue-green.yaml"), "--out", dir).Code);
        File.AppendAllText(Path.Combine(dir, "green.yaml"), "# hand edit\n");
        var before = Snapshot(dir);
        (code, _, stderr) = Cli("render", Paths.Example("seed-001-blue-green.yaml"), "--out", dir);
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains("was changed since meshfed wrote it", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(dir));
    }

    [Fact]
    public void Rendering_again_replaces_the_set_and_leaves_no_temporary_files()
    {
        var dir = Path.Combine(Paths.TempDir(), "out");
        Assert.Equal(0, Cli("render", Paths.Example("seed-000-nodeport-shared-host.yaml"), "--out", dir).Code);
        var first = Snapshot(dir);
        Assert.Equal(0, Cli("render", Paths.Example("seed-000-nodeport-shared-host.yaml"), "--out", dir).Code);
        Assert.Equal(first, Snapshot(dir));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(Path.GetDirectoryName(dir)!), e => Path.GetFileName(e) != "out");
    }

    [Fact]
    public void Orphan_temporary_files_of_earlier_runs_are_removed_by_the_next_run()
    {
        var parent = Paths.TempDir();
        var dir = Path.Combine(parent, "out");
        Assert.Equal(0, Cli("render", Paths.Example("seed-001-blue-green.yaml"), "--out", dir).Code);
        // What the earlier writer left when killed: .<name>.<guid>.tmp files, and a half-written temporary folder.
        File.WriteAllText(Path.Combine(dir, $".blue.yaml.{Guid.NewGuid():N}.tmp"), "partial");
        var leftover = Path.Combine(parent, $".out.meshfed-new-{Guid.NewGuid():N}");
        Directory.CreateDirectory(leftover);
        File.WriteAllText(Path.Combine(leftover, OutputFolder.RecordFileName), "");
        var (code, _, stderr) = Cli("render", Paths.Example("seed-001-blue-green.yaml"), "--out", dir);
        Assert.True(code == 0, stderr);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(leftover), "the leftover temporary folder stayed");
    }

    [Fact]
    public void An_unwritable_output_names_the_folder_not_a_temporary_file()
    {
        var parent = Paths.TempDir();
        var blocker = Path.Combine(parent, "file");
        File.WriteAllText(blocker, "x");
        var target = Path.Combine(blocker, "out");
        var (code, _, stderr) = Cli("render", Paths.Example("seed-001-blue-green.yaml"), "--out", target);
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains($"--out = '{target}'", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("meshfed-new", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(9)]   // kill -9
    [InlineData(2)]   // Ctrl+C
    [InlineData(15)]  // SIGTERM
    public void An_interrupted_render_leaves_the_old_set_or_the_new_set(int signal)
    {
        var parent = Paths.TempDir();
        var dir = Path.Combine(parent, "out");
        var oldTopology = Path.Combine(parent, "old.yaml");
        var newTopology = Path.Combine(parent, "new.yaml");
        File.WriteAllText(oldTopology, Topology("a", "b", "c", "d"));
        File.WriteAllText(newTopology, Topology("a", "b", "e"));
        Assert.Equal(0, Cli("render", oldTopology, "--out", dir).Code);
        var oldSet = Snapshot(dir);
        var check = Path.Combine(parent, "check");
        Assert.Equal(0, Cli("render", newTopology, "--out", check).Code);
        var newSet = Snapshot(check);

        // Slow each file down so the signal lands while the new set is being written, even when the watcher thread below
        // is scheduled late on a loaded machine (load 24 on 2 cores delayed it past three 400 ms files).
        var env = new Dictionary<string, string?> { ["MESHFED_TEST_WRITE_DELAY_MS"] = "1500" };
        var signalled = false;
        var childSignals = "";
        var o = MeshfedProcess.Run(new[] { "render", newTopology, "--out", dir }, TimeSpan.FromSeconds(60), environment: env, direct: true,
            started: p =>
            {
                // Wait for the first file to appear in the temporary folder, then interrupt.
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (DateTime.UtcNow < deadline && !Directory.EnumerateDirectories(parent, ".out.meshfed-new-*").Any(d => Directory.EnumerateFiles(d).Count() >= 2))
                    Thread.Sleep(5);
                childSignals = MeshfedProcess.SignalState(p.Id);
                MeshfedProcess.Signal(p.Id, signal);
                signalled = true;
            });
        Assert.True(signalled);
        var after = Snapshot(dir);
        Assert.True(after.SequenceEqual(oldSet) || after.SequenceEqual(newSet), $"signal {signal}: the folder holds neither set: {string.Join(", ", after.Keys)}\n{o}");
        Assert.True(Same(after, oldSet), $"signal {signal}: interrupted before the switch, the old set must stay whole; meshfed exited {o.ExitCode}; its signal state when signalled: {childSignals}; the test host's: {MeshfedProcess.SignalState(Environment.ProcessId)}\n{o}");
        if (signal != 9)
        {
            // Ctrl+C and SIGTERM stop the write cleanly: exit 130/143, and nothing left behind.
            Assert.Equal(signal == 2 ? 130 : 143, o.ExitCode);
            Assert.Contains("interrupted", o.Stderr, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateDirectories(parent, ".out.meshfed-*"));
        }
        // The next run removes whatever the interrupted one left and writes the new set.
        var (code, _, stderr) = Cli("render", newTopology, "--out", dir);
        Assert.True(code == 0, stderr);
        Assert.Equal(newSet, Snapshot(dir));
        Assert.Empty(Directory.EnumerateFileSystemEntries(parent, ".out.*"));
    }

    [Fact]
    public void Killed_at_any_point_a_render_leaves_one_whole_set()
    {
        // Signals at increasing delays: each run is interrupted somewhere else (before, during or after the switch).
        var parent = Paths.TempDir();
        var dir = Path.Combine(parent, "out");
        var topologies = new[] { Topology("a", "b", "c"), Topology("a", "d") }.Select((t, i) =>
        {
            var f = Path.Combine(parent, $"t{i}.yaml");
            File.WriteAllText(f, t);
            return f;
        }).ToArray();
        var sets = topologies.Select((t, i) =>
        {
            var d = Path.Combine(parent, $"set{i}");
            Assert.Equal(0, Cli("render", t, "--out", d).Code);
            return Snapshot(d);
        }).ToArray();
        Assert.Equal(0, Cli("render", topologies[0], "--out", dir).Code);
        var env = new Dictionary<string, string?> { ["MESHFED_TEST_WRITE_DELAY_MS"] = "60" };
        for (var i = 0; i < 6; i++)
        {
            var delay = 100 + (i * 90);
            MeshfedProcess.Run(new[] { "render", topologies[(i + 1) % 2], "--out", dir }, TimeSpan.FromSeconds(60), environment: env, direct: true,
                started: p =>
                {
                    var deadline = DateTime.UtcNow.AddSeconds(30);
                    while (DateTime.UtcNow < deadline && !Directory.EnumerateDirectories(parent, ".out.meshfed-new-*").Any()) Thread.Sleep(2);
                    Thread.Sleep(delay);
                    try { MeshfedProcess.Signal(p.Id, 9); } catch (Xunit.Sdk.XunitException) { /* already finished */ }
                });
            var after = Snapshot(dir);
            Assert.True(after.SequenceEqual(sets[0]) || after.SequenceEqual(sets[1]), $"kill after {delay} ms left a mix: {string.Join(", ", after.Keys)}");
        }
        Assert.Equal(0, Cli("render", topologies[0], "--out", dir).Code);
        Assert.Equal(sets[0], Snapshot(dir));
        Assert.Empty(Directory.EnumerateFileSystemEntries(parent, ".out.*"));
    }

    [Fact]
    public void An_interrupted_meshfed_ca_keeps_the_previous_certificates()
    {
        var parent = Paths.TempDir();
        var dir = Path.Combine(parent, "certs");
        Assert.Equal(0, Cli("ca", "--cluster", "c1", "--algorithm", "ecdsa-p256", "--out", dir).Code);
        var before = Snapshot(dir);
        var env = new Dictionary<string, string?> { ["MESHFED_TEST_WRITE_DELAY_MS"] = "1500" };
        var root = new[] { "--root-cert", Path.Combine(dir, "root-cert.pem"), "--root-key", Path.Combine(dir, "root-key.pem") };
        foreach (var signal in new[] { 2, 15, 9 })
        {
            var o = MeshfedProcess.Run(new[] { "ca", "--cluster", "c2", "--cluster", "c3", "--out", dir }.Concat(root), TimeSpan.FromSeconds(60), environment: env, direct: true,
                started: p =>
                {
                    var deadline = DateTime.UtcNow.AddSeconds(30);
                    while (DateTime.UtcNow < deadline && !Directory.EnumerateDirectories(parent, ".certs.meshfed-new-*").Any(d => Directory.EnumerateFileSystemEntries(d, "*", SearchOption.AllDirectories).Count() >= 3))
                        Thread.Sleep(5);
                    MeshfedProcess.Signal(p.Id, signal);
                });
            Assert.True(Same(before, Snapshot(dir)), $"signal {signal}: the previous certificates must stay; meshfed exited {o.ExitCode}; the test host's signal state: {MeshfedProcess.SignalState(Environment.ProcessId)}\n{o}");
            if (signal != 9) Assert.Equal(signal == 2 ? 130 : 143, o.ExitCode);
        }
        // Then issuing completes, keeps the root and c1, and adds c2 and c3.
        var (code, _, stderr) = Cli(new[] { "ca", "--cluster", "c2", "--cluster", "c3", "--out", dir }.Concat(root).ToArray());
        Assert.True(code == 0, stderr);
        var after = Snapshot(dir);
        foreach (var (k, v) in before.Where(kv => kv.Key != OutputFolder.RecordFileName)) Assert.Equal(v, after[k]);
        Assert.True(File.Exists(Path.Combine(dir, "c3", "ca-key.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "c3", "ca-key.pem")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(parent, ".certs.*"));
    }

    [Fact]
    public void The_folder_writer_refuses_paths_outside_the_folder_and_keeps_a_CA_folder_on_merge()
    {
        var dir = Paths.TempDir();
        var ex = Assert.Throws<MeshFederationException>(() => OutputFolder.Write(dir, new Dictionary<string, string> { ["../escape.txt"] = "x" }));
        Assert.Contains("is not a path inside the output folder", ex.Message, StringComparison.Ordinal);
        OutputFolder.Write(dir, new Dictionary<string, string> { ["a/one.pem"] = "1" }, new OutputFolderOptions { KeepExisting = true });
        OutputFolder.Write(dir, new Dictionary<string, string> { ["b/two.pem"] = "2" }, new OutputFolderOptions { KeepExisting = true });
        Assert.Equal("1", File.ReadAllText(Path.Combine(dir, "a", "one.pem")));
        Assert.Equal("2", File.ReadAllText(Path.Combine(dir, "b", "two.pem")));

        // A foreign file is replaced only when the caller says so (-Force), and an input never.
        File.WriteAllText(Path.Combine(dir, "mine.txt"), "user");
        Assert.Throws<MeshFederationException>(() => OutputFolder.Write(dir, new Dictionary<string, string> { ["mine.txt"] = "x" }, new OutputFolderOptions { KeepExisting = true }));
        Assert.Equal("user", File.ReadAllText(Path.Combine(dir, "mine.txt")));
        var input = Path.Combine(dir, "mine.txt");
        Assert.Throws<MeshFederationException>(() => OutputFolder.Write(dir, new Dictionary<string, string> { ["mine.txt"] = "x" },
            new OutputFolderOptions { KeepExisting = true, ReplaceForeign = true, Inputs = new[] { input } }));
        OutputFolder.Write(dir, new Dictionary<string, string> { ["mine.txt"] = "x" }, new OutputFolderOptions { KeepExisting = true, ReplaceForeign = true });
        Assert.Equal("x", File.ReadAllText(Path.Combine(dir, "mine.txt")));
        Assert.Equal("1", File.ReadAllText(Path.Combine(dir, "a", "one.pem")));
    }
}
