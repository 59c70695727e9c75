using System.Diagnostics;
using System.Text.Json.Nodes;
using MeshFederation.Cli;

namespace MeshFederation.Tests;

/// <summary>
/// The native (Native AOT) meshfed that tools/package.sh publishes into out/cli/meshfed behaves exactly like the
/// framework-dependent build (run in-process here, the same code the dotnet tool runs): byte-identical renders of every
/// example in every output format, the same validation and check output, exit 2 on bad input, and live apply, plan,
/// check, discover and delete against test API servers over TLS (the native build's OpenSSL shim).
/// </summary>
public sealed class NativeCliTests : Ossm2ClustersTest
{
    /// <summary>$MESHFED_NATIVE_CLI, else out/cli/meshfed (built by tools/package.sh when missing).</summary>
    internal static string Binary()
    {
        var path = Environment.GetEnvironmentVariable("MESHFED_NATIVE_CLI") is { Length: > 0 } given
            ? Path.GetFullPath(given)
            : Path.Combine(Paths.RepoRoot, "out", "cli", "meshfed");
        lock (PackagingTests.Gate)
        {
            if (!File.Exists(path))
            {
                var (code, output) = ExternalTools.Run("bash", Path.Combine(Paths.RepoRoot, "tools", "package.sh"), TimeSpan.FromMinutes(20));
                Assert.True(code == 0, "tools/package.sh failed: " + output);
            }
        }
        Assert.True(File.Exists(path), $"the native meshfed is missing at {path}: run tools/package.sh");
        return path;
    }

    private static (int Code, string Stdout, string Stderr) Native(params string[] args) => Native(null, args);

    private static (int Code, string Stdout, string Stderr) Native(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(Binary()) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("MESHFED_VERBOSE");
        psi.Environment.Remove("SSL_CERT_FILE");
        psi.Environment.Remove("SSL_CERT_DIR");
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"meshfed {string.Join(' ', args)} did not finish");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs both builds, each into its own folder (OUT in the arguments), and asserts the same exit code and output.</summary>
    private static (string Native, string Jit, int Code) Both(params string[] args)
    {
        var root = Paths.TempDir();
        var (nativeDir, jitDir) = (Path.Combine(root, "native"), Path.Combine(root, "jit"));
        var native = Native(args.Select(a => a.Replace("OUT", nativeDir, StringComparison.Ordinal)).ToArray());
        var jit = BadInputTests.Cli(args.Select(a => a.Replace("OUT", jitDir, StringComparison.Ordinal)).ToArray());
        var what = "meshfed " + string.Join(' ', args);
        Assert.True(jit.Code == native.Code, $"{what}: exit {native.Code} (native) vs {jit.Code}: {native.Stderr}");
        Assert.Equal(jit.Stdout.Replace(jitDir, "OUT", StringComparison.Ordinal), native.Stdout.Replace(nativeDir, "OUT", StringComparison.Ordinal));
        Assert.Equal(jit.Stderr.Replace(jitDir, "OUT", StringComparison.Ordinal), native.Stderr.Replace(nativeDir, "OUT", StringComparison.Ordinal));
        return (nativeDir, jitDir, native.Code);
    }

    private static void AssertSameTree(string expected, string actual)
    {
        static IEnumerable<string> Files(string dir) => Directory.Exists(dir)
            ? Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f)).Order(StringComparer.Ordinal)
            : Enumerable.Empty<string>();
        var files = Files(expected).ToList();
        Assert.Equal(files, Files(actual));
        foreach (var f in files)
            Assert.True(File.ReadAllBytes(Path.Combine(expected, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actual, f))), $"{f} differs");
    }

    [Fact]
    public void Render_of_every_example_in_every_format_is_byte_identical_to_the_framework_build()
    {
        var cases = Paths.ExampleTopologies.Select(t => new[] { "render", t, "--out", "OUT" }).Concat(new[]
        {
            new[] { "render", Paths.Example("seed-001-blue-green.yaml"), "--out", "OUT", "--dry-run" },
            new[] { "render", Paths.Example("seed-002-bookinfo-split.yaml"), "--out", "OUT", "--format", "kustomize" },
            new[] { "render", Paths.Example("seed-003-multi-primary.yaml"), "--out", "OUT", "--format", "argocd", "--repo-url", "https://git.example.com/fleet.git" },
            new[] { "render", Paths.Example("seed-002-bookinfo-split.yaml"), "--out", "OUT", "--format", "ocm", "--cluster-set", "fleet" },
        }).ToList();
        Assert.True(cases.Count >= 10, "every example is rendered");
        foreach (var args in cases)
        {
            var (native, jit, code) = Both(args);
            Assert.True(code == MeshfedApp.ExitOk, string.Join(' ', args));
            AssertSameTree(jit, native);
            AssertSameTree(jit + ".secrets", native + ".secrets");
        }
        // Rendered at all (not two empty folders): seed 001 gives blue.yaml and green.yaml.
        var (n, _, _) = Both("render", Paths.Example("seed-001-blue-green.yaml"), "--out", "OUT");
        Assert.Contains("kind: ServiceMeshPeer", File.ReadAllText(Path.Combine(n, "blue.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public void Validation_on_every_core_and_the_streamed_check_table_match_the_framework_build()
    {
        // Issue 15: the native build validates meshes on several threads and writes through its own stdout buffer.
        var bad = OfflineCheckScaleTests.Write(OfflineCheckScaleTests.Topology(24, errors: true), "bad.yaml");
        foreach (var command in new[] { "validate", "check" })
            Assert.Equal(MeshfedApp.ExitBadInput, Both(command, bad).Code);
        var big = OfflineCheckScaleTests.Write(OfflineCheckScaleTests.Topology(40, errors: false), "t40.yaml");
        Assert.Equal(MeshfedApp.ExitOk, Both("check", big).Code);
        Assert.True(Native("check", big).Stdout.Length > 8 * 65536);
    }

    [Fact]
    public void Validate_check_proxy_graph_and_bad_input_match_the_framework_build_and_bad_input_exits_2()
    {
        foreach (var t in Paths.ExampleTopologies)
        {
            Both("validate", t);
            var (_, _, code) = Both("check", t, "--output", "json");
            Assert.NotEqual(MeshfedApp.ExitBadInput, code);
        }
        var checkJson = Native("check", Paths.Example("seed-001-blue-green.yaml"), "--output", "json");
        Assert.Contains(JsonNode.Parse(checkJson.Stdout)!.AsArray(), r => r!["CheckId"]!.GetValue<string>() == "OSSM2.ImportResolves" && r["Evidence"]!.AsArray().Count > 0);
        Both("check", Paths.Example("seed-002-bookinfo-split.yaml"));
        Both("proxy", Paths.Example("seed-000-nodeport-per-cluster.yaml"));
        Both("proxy", Paths.Example("seed-000-nodeport-per-cluster.yaml"), "--firewall");
        Both("graph", Paths.Example("seed-004-multi-mesh.yaml"), "--format", "dot");
        // Help and version (in-process, System.CommandLine names the test host, so these are judged on their own).
        var help = Native("--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("meshfed [command] [options]", help.Stdout, StringComparison.Ordinal);
        foreach (var command in new[] { "render", "validate", "check", "apply", "discover", "graph", "ca", "migrate" })
            Assert.Contains("  " + command + " ", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("--split-bytes", Native("render", "--help").Stdout, StringComparison.Ordinal);
        var version = File.ReadAllText(Path.Combine(Paths.RepoRoot, "Directory.Build.props"));
        Assert.StartsWith(System.Text.RegularExpressions.Regex.Match(version, "<VersionPrefix>([^<]+)</VersionPrefix>").Groups[1].Value, Native("--version").Stdout, StringComparison.Ordinal);

        var dir = Paths.TempDir();
        var badYaml = Path.Combine(dir, "bad-syntax.yaml");
        File.WriteAllText(badYaml, "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n  - name: [blue\n");
        var badName = Path.Combine(dir, "bad-name.yaml");
        File.WriteAllText(badName, "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n  - name: Blue_Mesh\n");
        var unknownField = Path.Combine(dir, "unknown-field.yaml");
        File.WriteAllText(unknownField, "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n  - name: blue\n    trustDomian: x\n");
        foreach (var args in new[]
        {
            new[] { "render", "/nonexistent.yaml", "--out", "OUT" },
            new[] { "render", badYaml, "--out", "OUT" },
            new[] { "validate", badName },
            new[] { "check", unknownField, "--output", "json" },
            new[] { "render", badName, "--out", "OUT", "--format", "argocd" },
        })
        {
            var (native, _, code) = Both(args);
            Assert.True(code == MeshfedApp.ExitBadInput, string.Join(' ', args));
            Assert.False(Directory.Exists(native), "nothing is written on bad input");
        }
        var (c, _, err) = Native("validate", badName);
        Assert.Contains("bad-name.yaml:4", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        Assert.Equal(MeshfedApp.ExitBadInput, c);
        // A parse error of the command line (System.CommandLine) behaves the same too.
        Both("render", Paths.Example("seed-001-blue-green.yaml"), "--out", "OUT", "--format", "helm");
    }

    [Fact]
    public void A_process_whose_contexts_all_name_their_CA_loads_no_machine_trust_store_and_still_refuses_another_CA()
    {
        var timing = new Dictionary<string, string> { ["MESHFED_TIMING"] = "1" };
        var (code, output, error) = Native(timing, "plan", TopologyPath, "--kubeconfig", KubeconfigPath);
        Assert.True(code == 0, error);
        Assert.Contains("every context names its CA, the machine trust store is not loaded", error, StringComparison.Ordinal);
        Assert.Contains("CREATE  blue", output, StringComparison.Ordinal);

        // blue's server is not signed by the CA its context names: refused, with only the kubeconfigs' CAs trusted.
        using var other = new TestKube.TestPki("other");
        static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s));
        var text = File.ReadAllText(KubeconfigPath);
        var wrongCa = Path.Combine(Clusters.Directory, "wrong-ca-kubeconfig");
        File.WriteAllText(wrongCa, System.Text.RegularExpressions.Regex.Replace(text, "(- name: blue\n  cluster:\n    server: [^\n]+\n    certificate-authority-data: )[^\n]+", "${1}" + B64(other.CaPem)));
        Assert.NotEqual(text, File.ReadAllText(wrongCa));
        (code, _, error) = Native(timing, "plan", TopologyPath, "--kubeconfig", wrongCa);
        Assert.Contains("the machine trust store is not loaded", error, StringComparison.Ordinal);
        Assert.Equal(MeshfedApp.ExitFailed, code);
        Assert.Contains("blue", error, StringComparison.Ordinal);

        // green's context names no CA: the machine's roots decide (loaded in the background), and they do not know it.
        var noCa = Path.Combine(Clusters.Directory, "no-ca-kubeconfig");
        File.WriteAllText(noCa, System.Text.RegularExpressions.Regex.Replace(text, "(- name: green\n  cluster:\n    server: [^\n]+\n)    certificate-authority-data: [^\n]+\n", "${1}"));
        Assert.NotEqual(text, File.ReadAllText(noCa));
        (code, _, error) = Native(timing, "plan", TopologyPath, "--kubeconfig", noCa);
        Assert.Contains("loading the machine trust store in the background (context 'green' trusts the machine's roots)", error, StringComparison.Ordinal);
        Assert.Equal(MeshfedApp.ExitFailed, code);
        Assert.Contains("green", error, StringComparison.Ordinal);
        Assert.DoesNotContain(TestClusters.Token, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Live_apply_plan_check_discover_and_delete_work_against_test_API_servers()
    {
        var (code, output, error) = Native("apply", TopologyPath, "--kubeconfig", KubeconfigPath, "--dry-run");
        Assert.True(code == 0, error);
        Assert.Contains("CREATE  blue", output, StringComparison.Ordinal);
        Assert.DoesNotContain(Clusters.Servers.SelectMany(s => s.Store.All()), o => o["metadata"]?["labels"]?["app.kubernetes.io/managed-by"] is not null);

        (code, output, error) = Native("apply", TopologyPath, "--kubeconfig", KubeconfigPath);
        Assert.True(code == 0, error);
        Assert.Matches(@"applied 1[34] change\(s\)", output);
        var (k, smcp) = Kubectl("blue", "get servicemeshcontrolplanes -A -o name");
        Assert.True(k == 0, smcp);
        Assert.Contains("blue-mesh", smcp, StringComparison.Ordinal);

        (code, output, error) = Native("plan", TopologyPath, "--kubeconfig", KubeconfigPath);
        Assert.True(code == 0, error);
        Assert.Matches(@"plan: 0 to create, 0 to update, 0 to delete, \d+ unchanged", output);

        // Live checks: the same results as the framework build (numbers aside: ages and times of observation move on).
        static string Summary(string json) => string.Join('\n', JsonNode.Parse(json)!.AsArray()
            .Select(r => $"{r!["CheckId"]} {r["Mesh"]} {r["Peer"]} {r["Status"]} {System.Text.RegularExpressions.Regex.Replace(r["Message"]!.GetValue<string>(), "[0-9]+", "N")}")
            .Order(StringComparer.Ordinal));
        var native = Native("check", TopologyPath, "--live", "--kubeconfig", KubeconfigPath, "--output", "json");
        var jit = BadInputTests.Cli("check", TopologyPath, "--live", "--kubeconfig", KubeconfigPath, "--output", "json");
        Assert.Equal(jit.Code, native.Code);
        Assert.Equal(Summary(jit.Stdout), Summary(native.Stdout));
        Assert.Contains(JsonNode.Parse(native.Stdout)!.AsArray(), r => r!["Evidence"]!.AsArray().Any(e => e!["ObservedAt"] is not null));

        var discoverArgs = new[] { "discover", "--kubeconfig", KubeconfigPath, "--context", "blue", "--context", "green", "--output", "json" };
        (code, output, error) = Native(discoverArgs);
        Assert.True(code == 0, error);
        Assert.Equal(BadInputTests.Cli(discoverArgs).Stdout, output);
        Assert.Equal(new[] { "blue-mesh", "green-mesh" }, JsonNode.Parse(output)!.AsArray().Select(f => f!["Name"]!.GetValue<string>()).Order());

        (code, output, error) = Native("delete", TopologyPath, "--kubeconfig", KubeconfigPath);
        Assert.True(code == 0, error);
        Assert.Contains("deleted", output, StringComparison.Ordinal);
        foreach (var s in Clusters.Servers)
            Assert.DoesNotContain(s.Store.All(), o => o["metadata"]?["labels"]?["app.kubernetes.io/managed-by"] is not null);

        // An unreachable cluster: exit 1 naming it, never the token.
        var broken = Path.Combine(Clusters.Directory, "broken-kubeconfig");
        File.WriteAllText(broken, File.ReadAllText(KubeconfigPath).Replace(Clusters["green"].Url.ToString().TrimEnd('/'), "https://127.0.0.1:1", StringComparison.Ordinal));
        (code, _, error) = Native("plan", TopologyPath, "--kubeconfig", broken);
        Assert.Equal(MeshfedApp.ExitFailed, code);
        Assert.Contains("green", error, StringComparison.Ordinal);
        Assert.DoesNotContain(TestClusters.Token, error, StringComparison.Ordinal);
    }
}
