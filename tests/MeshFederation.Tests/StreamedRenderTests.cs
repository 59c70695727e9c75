using System.Text;
using MeshFederation.Cli;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;
using MeshFederation.Engine.Validation;
using MeshFederation.Yaml;

namespace MeshFederation.Tests;

/// <summary>Issue 15: render streamed cluster by cluster into the output folder, with the folder's all-or-nothing rules kept.</summary>
public class StreamedRenderTests
{
    private static readonly YamlDotNetBridge Yaml = new();

    private static string Topology(int meshes)
    {
        var sb = new StringBuilder("apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmetadata: {name: scale}\nmeshes:\n");
        for (var i = 1; i <= meshes; i++) sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  - {{name: m{i}, namespace: m{i}-system, cluster: c{i % 3}, members: [app], ingressAddresses: [10.0.0.{i}]}}\n");
        return sb.Append("peerings: all\n").ToString();
    }

    [Fact]
    public void A_streamed_render_writes_exactly_what_the_whole_render_gives()
    {
        foreach (var text in new[] { Topology(7), File.ReadAllText(Path.Combine(Paths.RepoRoot, "examples", "seed-003-multi-primary.yaml")) })
        {
            var set = TopologyLoader.Load(text, "t.yaml", Yaml);
            var whole = ManifestEmitter.Files(Ossm2Renderer.Render(set), Yaml);
            var dir = Path.Combine(Paths.TempDir(), "out");
            var streamed = Ossm2Renderer.RenderByCluster(set);
            OutputFolder.Write(dir, ManifestEmitter.Paths(streamed), sink => ManifestEmitter.Write(streamed, Yaml, sink));
            var written = Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f)).Where(f => f != OutputFolder.RecordFileName).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(whole.Keys.Order(StringComparer.Ordinal), written);
            foreach (var (path, content) in whole) Assert.Equal(content, File.ReadAllText(Path.Combine(dir, path)));
            // The record holds the real hashes: a second identical write keeps every file.
            var again = Ossm2Renderer.RenderByCluster(set);
            var second = OutputFolder.Write(dir, ManifestEmitter.Paths(again), sink => ManifestEmitter.Write(again, Yaml, sink));
            Assert.Empty(second.Written);
            Assert.Equal(whole.Count, second.Kept.Count);
        }
    }

    [Fact]
    public void A_streamed_write_is_all_or_nothing_and_never_overwrites_a_foreign_file_with_other_content()
    {
        var dir = Path.Combine(Paths.TempDir(), "out");
        OutputFolder.Write(dir, new[] { "a.yaml", "b.yaml" }, sink => { sink.Write("a.yaml", false, w => w.Write("one\n")); sink.Write("b.yaml", true, w => w.Write("key\n")); });
        Assert.Equal("one\n", File.ReadAllText(Path.Combine(dir, "a.yaml")));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "b.yaml")));

        // Failing half-way (a problem thrown at the end of a render): the folder keeps the old set, no leftovers.
        Assert.Throws<MeshFederationException>(() => OutputFolder.Write(dir, new[] { "a.yaml", "b.yaml" }, sink =>
        {
            sink.Write("a.yaml", false, w => w.Write("two\n"));
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, "x", "y", "bad", "fix"));
        }));
        Assert.Equal("one\n", File.ReadAllText(Path.Combine(dir, "a.yaml")));
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(dir)!, ".out.meshfed-*"));

        // A file meshfed did not write: identical content passes, other content is refused and nothing changes.
        File.WriteAllText(Path.Combine(dir, "c.yaml"), "mine\n");
        var ex = Assert.Throws<MeshFederationException>(() => OutputFolder.Write(dir, new[] { "a.yaml", "c.yaml" }, sink =>
        {
            sink.Write("a.yaml", false, w => w.Write("three\n"));
            sink.Write("c.yaml", false, w => w.Write("theirs\n"));
        }));
        Assert.Contains(ex.Problems, p => p.Value!.EndsWith("c.yaml", StringComparison.Ordinal) && p.Problem.Contains("not written by meshfed", StringComparison.Ordinal));
        Assert.Equal("one\n", File.ReadAllText(Path.Combine(dir, "a.yaml")));
        Assert.Equal("mine\n", File.ReadAllText(Path.Combine(dir, "c.yaml")));
        var ok = OutputFolder.Write(dir, new[] { "a.yaml", "c.yaml" }, sink =>
        {
            sink.Write("a.yaml", false, w => w.Write("three\n"));
            sink.Write("c.yaml", false, w => w.Write("mine\n"));
        });
        Assert.Equal("three\n", File.ReadAllText(Path.Combine(dir, "a.yaml")));
        Assert.Contains(ok.Kept, k => k.EndsWith("c.yaml", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(dir, "b.yaml"))); // meshfed's own file, not in the new set: removed

        // Only listed paths, each once.
        Assert.Throws<InvalidOperationException>(() => OutputFolder.Write(dir, new[] { "a.yaml" }, sink => sink.Write("z.yaml", false, w => w.Write("?"))));
        // A dry run counts bytes and writes nothing.
        var sizes = OutputFolder.Check(dir, new[] { "a.yaml" }, sink => sink.Write("a.yaml", false, w => w.Write("four\n")));
        Assert.Equal(5, sizes["a.yaml"]);
        Assert.Equal("three\n", File.ReadAllText(Path.Combine(dir, "a.yaml")));
    }

    [Fact]
    public void meshfed_render_of_an_invalid_object_writes_nothing()
    {
        // A schema problem is only found while rendering: the stream throws at its end and the old folder stays.
        var dir = Paths.TempDir();
        var topology = Path.Combine(dir, "t.yaml");
        File.WriteAllText(topology, Topology(3));
        var outDir = Path.Combine(dir, "out");
        Assert.Equal(0, MeshfedApp.Run(new[] { "render", topology, "--out", outDir }, TextWriter.Null, TextWriter.Null));
        var before = Directory.GetFiles(outDir).ToDictionary(f => f, File.ReadAllText);
        File.WriteAllText(topology, Topology(3).Replace("members: [app]", "members: [app], overrides: {tracng: {type: NotATracer}}", StringComparison.Ordinal));
        var err = new StringWriter();
        Assert.Equal(2, MeshfedApp.Run(new[] { "render", topology, "--out", outDir }, TextWriter.Null, err));
        Assert.Contains("tracng", err.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, Directory.GetFiles(outDir).ToDictionary(f => f, File.ReadAllText));
    }

    [Fact]
    public void Clusters_rendered_on_several_threads_come_in_file_order_and_a_failure_keeps_its_place()
    {
        var set = TopologyLoader.Load(Topology(9), "t.yaml", Yaml);
        var sequential = Ossm2Renderer.RenderByCluster(set).Clusters(c => Yaml.Emit(c.Documents.Select(d => d.Content)), 1).Select(x => (x.Cluster.Cluster, x.Value)).ToList();
        var parallel = Ossm2Renderer.RenderByCluster(set);
        Assert.Equal(sequential, parallel.Clusters(c => Yaml.Emit(c.Documents.Select(d => d.Content)), 4).Select(x => (x.Cluster.Cluster, x.Value)).ToList());
        Assert.Equal(3, sequential.Count);
        Assert.NotEmpty(parallel.Pending); // finished after the last cluster, as the sequential stream is

        // A failure in the second cluster: the first is yielded, the failure is thrown in its place, nothing after it.
        var seen = new List<string>();
        var failing = Ossm2Renderer.RenderByCluster(set);
        var ex = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var (c, _) in failing.Clusters(c => c.Cluster == sequential[1].Cluster ? throw new InvalidOperationException("boom") : c.Cluster, 4)) seen.Add(c.Cluster);
        });
        Assert.Equal("boom", ex.Message);
        Assert.Equal(new[] { sequential[0].Cluster }, seen);
    }
}
