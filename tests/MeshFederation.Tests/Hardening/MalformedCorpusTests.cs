using System.Collections.Concurrent;
using System.Text;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests.Hardening;

/// <summary>
/// The malformed-input corpus (tests/corpus: generated and hand-written cases, each with its expectations). Through the
/// CLI, each case is its own meshfed process: exit 2, a message naming the field, the value and file:line, nothing
/// written, no stack trace, within 10 s and 500 MB. (tests/pester/Corpus.Tests.ps1 runs the same corpus through the
/// cmdlets in one pwsh session.)
/// </summary>
public class MalformedCorpusTests
{
    /// <summary>Every case; an expected value "(path)" stands for the file's own path (problems about the file as a whole).</summary>
    internal static IReadOnlyList<(string Path, CorpusCase Case)> All() =>
        Directory.GetFiles(CorpusGenerator.GeneratedDirectory, "*", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(CorpusGenerator.HandWrittenDirectory, "*", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal)
            .Select(p => (p, CorpusCase.Parse(p) is var c && c.Value == "(path)" ? c with { Value = p } : c))
            .ToList();

    [Fact]
    public void The_generated_corpus_is_current()
    {
        if (Environment.GetEnvironmentVariable("MESHFED_REGENERATE_CORPUS") == "1") CorpusGenerator.WriteAll();
        var expected = CorpusGenerator.Generate().Select((c, i) => (Name: CorpusGenerator.FileName(c, i), Text: c.File())).ToList();
        var actual = Directory.GetFiles(CorpusGenerator.GeneratedDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Select(e => e.Name).Order(StringComparer.Ordinal), actual);
        foreach (var (name, text) in expected)
            Assert.True(text == File.ReadAllText(Path.Combine(CorpusGenerator.GeneratedDirectory, name)), $"{name} is stale: run the tests with MESHFED_REGENERATE_CORPUS=1");
    }

    [Fact]
    public void The_templates_the_corpus_breaks_are_valid()
    {
        foreach (var (name, text) in CorpusGenerator.GoodTopologies())
        {
            var set = TestSupport.LoadText(text, name + ".yaml");
            Assert.NotEmpty(set.ControlPlanes);
        }
    }

    [Fact]
    public void The_corpus_holds_at_least_300_cases_generated_and_hand_written()
    {
        var all = All();
        Assert.True(all.Count >= 300, $"{all.Count} cases");
        Assert.True(all.Count(c => c.Path.StartsWith(CorpusGenerator.HandWrittenDirectory, StringComparison.Ordinal)) >= 30, "too few hand-written cases");
    }

    /// <summary>Finds the problem the case expects: field, value and line as the expectations say.</summary>
    internal static string? Mismatch(CorpusCase c, IReadOnlyList<MeshProblem> problems, string file)
    {
        var matching = problems.Where(p => p.Field.Contains(c.Field, StringComparison.Ordinal)
            && (c.Value is null || p.Value == c.Value)
            && (c.Line is null || (p.Location?.Line == c.Line && p.Location.File == file))).ToList();
        if (matching.Count == 0)
            return $"no problem about '{c.Field}'{(c.Value is null ? "" : $" = '{c.Value}'")}{(c.Line is null ? "" : $" at line {c.Line}")}; got:\n  " + string.Join("\n  ", problems);
        if (!matching.Any(p => string.Equals(p.Kind.ToString(), c.Kind, StringComparison.Ordinal)))
            return $"kind {string.Join("/", matching.Select(p => p.Kind))}, expected {c.Kind}: {matching[0]}";
        return null;
    }

    [Fact]
    public void In_process_every_case_is_refused_with_its_field_value_line_and_kind()
    {
        var failures = new List<string>();
        foreach (var (path, c) in All())
        {
            try
            {
                var set = Engine.Topology.TopologyLoader.LoadFile(path, TestSupport.Yaml);
                failures.Add($"{Path.GetFileName(path)}: accepted");
            }
            catch (MeshFederationException ex)
            {
                if (Mismatch(c, ex.Problems, path) is { } why) failures.Add($"{Path.GetFileName(path)}: {why}");
            }
            catch (Exception ex)
            {
                failures.Add($"{Path.GetFileName(path)}: threw {ex.GetType().Name}: {ex.Message}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} case(s):\n" + string.Join("\n", failures));
    }

    [Fact]
    public void Through_meshfed_every_case_exits_2_names_field_value_and_line_and_writes_nothing_within_limits()
    {
        var cases = All();
        var failures = new ConcurrentBag<string>();
        var slowest = new ConcurrentBag<(double Seconds, long Bytes, string Name)>();
        var scratch = Paths.TempDir();
        // Processes mostly wait on startup: run a few more than there are cores.
        Parallel.ForEach(cases, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(4, 2 * Environment.ProcessorCount) }, item =>
        {
            var (path, c) = item;
            var name = Path.GetFileName(path);
            var outDir = Path.Combine(scratch, name + ".out");
            var o = MeshfedProcess.Run(new[] { "render", path, "--out", outDir });
            slowest.Add((o.Cpu.TotalSeconds, o.PeakRssBytes, name));
            var why = new StringBuilder();
            if (o.TimedOut) why.Append("hung; ");
            if (o.Cpu >= MeshfedProcess.TimeLimit) why.Append($"{o.Cpu.TotalSeconds:0.0} s of CPU; ");
            if (o.ExitCode != 2) why.Append($"exit {o.ExitCode}; ");
            if (o.HasStackTrace) why.Append("stack trace; ");
            if (o.PeakRssBytes >= MeshfedProcess.MemoryLimitBytes) why.Append($"peak {o.PeakRssBytes >> 20} MiB; ");
            if (Directory.Exists(outDir) || Directory.EnumerateFileSystemEntries(scratch, $".{name}.out*").Any()) why.Append("wrote files; ");
            // One line of stderr names the field, the value and (for YAML) file:line.
            var lines = o.Stderr.Split('\n');
            if (!lines.Any(l => l.Contains(c.Field, StringComparison.Ordinal)
                && (c.Value is null || l.Contains($"'{c.Value}'", StringComparison.Ordinal))
                && (c.Line is null || l.Contains($"{path}:{c.Line}:", StringComparison.Ordinal))))
                why.Append($"no message naming '{c.Field}'{(c.Value is null ? "" : $" = '{c.Value}'")}{(c.Line is null ? "" : $" at {path}:{c.Line}")}; ");
            if (lines.Any(l => l.Length > 3000)) why.Append("a message line over 3000 characters; ");
            if (why.Length > 0) failures.Add($"{name}: {why}\n{o}");
        });
        var top = slowest.OrderByDescending(s => s.Seconds).Take(3).Select(s => $"{s.Name} {s.Seconds:0.00} s CPU {s.Bytes >> 20} MiB");
        Assert.True(failures.IsEmpty, $"{failures.Count} of {cases.Count} case(s) failed (slowest: {string.Join(", ", top)}):\n" + string.Join("\n", failures.Take(20)));
    }
}
