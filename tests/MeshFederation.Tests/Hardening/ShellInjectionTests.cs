using MeshFederation.Engine.Model;
using MeshFederation.Engine.Proxy;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests.Hardening;

/// <summary>
/// Issue 14: every value that ends up in a printed command (firewall-cmd, kubectl, istioctl) is validated against its
/// own rules and shell-quoted. The emitted lines are judged by bash itself: they must parse (bash -n), and run against
/// stub commands they must pass exactly the intended words, with no injected command running.
/// </summary>
public class ShellInjectionTests
{
    /// <summary>Values trying to break out of a command line; MARK is replaced by a file the injection would create.</summary>
    public static readonly string[] Injections =
    {
        "libvirt; touch MARK", "$(touch MARK)", "`touch MARK`", "a' ; touch MARK ; '", "a\" ; touch MARK ; \"", "a && touch MARK",
        "a || touch MARK", "a | tee MARK", "a > MARK", "a < /etc/passwd", "a b", "*", "~root", "a$HOME", "{a,b}", "a\\", "-rf", "--zone=x",
        "a#b", "!!", "a'b", "$'\\x41'", "a\tb", "${IFS}touch${IFS}MARK", "a;touch MARK", "(touch MARK)", "a&touch MARK", "😀", "é",
    };

    private static MeshControlPlane Mesh(string name) =>
        Factory.ControlPlanes(new ControlPlaneRequest { Name = name, GatewayExposure = GatewayExposure.NodePort, NodeAddresses = new[] { "10.0.0.1" } }).Single();

    /// <summary>
    /// Runs each line with its command replaced by a stub that records its words (one bash for all lines, after bash -n
    /// accepted them); returns the words of each line and whether the mark file (what an injection creates) exists.
    /// </summary>
    private static (List<List<string>> Words, bool Injected) RunStubbed(IReadOnlyList<string> lines, string mark)
    {
        var dir = Paths.TempDir();
        var script = new System.Text.StringBuilder("set -u\nrecord() { printf '%s\\0' \"$@\" > \"$WORDS\"; }\nkubectl() { record \"$@\"; }\nistioctl() { record \"$@\"; }\nfirewall-cmd() { record \"$@\"; }\n");
        for (var i = 0; i < lines.Count; i++) script.Append("WORDS=").Append(Path.Combine(dir, $"w{i}")).Append('\n').Append(lines[i]).Append('\n');
        var file = Path.Combine(dir, "run.sh");
        File.WriteAllText(file, script.ToString());
        var (code, output) = ExternalTools.Run("bash", $"-n {file}");
        Assert.True(code == 0, $"bash -n rejects the lines:\n{string.Join("\n", lines)}\n{output}");
        ExternalTools.Run("bash", file);
        var words = Enumerable.Range(0, lines.Count).Select(i => Path.Combine(dir, $"w{i}"))
            .Select(w => File.Exists(w) ? File.ReadAllText(w).Split('\0').SkipLast(1).ToList() : new List<string>()).ToList();
        return (words, File.Exists(mark));
    }

    [Fact]
    public void Firewall_zones_outside_firewalld_rules_are_refused_and_valid_ones_are_quoted_lines_bash_accepts()
    {
        var peers = Factory.Peerings(new[] { Mesh("a"), Mesh("b") });
        var mark = Path.Combine(Paths.TempDir(), "pwned");
        // "-rf" is a name firewalld itself accepts ('-' is allowed anywhere): it is checked below as a quoted word instead.
        foreach (var raw in Injections.Where(i => i != "-rf").Append("a-zone-name-longer-than-17").Append(""))
        {
            var zone = raw.Replace("MARK", mark, StringComparison.Ordinal);
            var ex = TestSupport.Problems(() => ProxyBuilder.Build(peers, new ProxyOptions { ProxyHost = "10.0.0.9", FirewallZone = zone }));
            TestSupport.AssertProblem(ex, "proxy.firewallZone", Echo.Value(zone));
            Assert.Throws<MeshFederationException>(() => ProxyBuilder.FirewallCommands(Array.Empty<ProxyPortMapping>(), zone));
        }
        foreach (var zone in new[] { "libvirt", "public", "trusted", "my_zone-1", "ZONE17CHARACTERS_", "-rf" })
        {
            var proxy = ProxyBuilder.Build(peers, new ProxyOptions { ProxyHost = "10.0.0.9", FirewallZone = zone });
            var (all, injected) = RunStubbed(proxy.FirewallCommands, mark);
            Assert.False(injected);
            for (var i = 0; i < all.Count; i++)
            {
                var words = all[i];
                if (proxy.FirewallCommands[i].EndsWith("--reload", StringComparison.Ordinal)) { Assert.Equal(new[] { "--reload" }, words); continue; }
                Assert.Equal("--zone=" + zone, words[0]);
                Assert.Matches("^--add-port=[0-9]+/tcp$", words[1]);
                Assert.Equal("--permanent", words[2]);
            }
        }
    }

    [Fact]
    public void Contexts_in_printed_kubectl_and_istioctl_commands_are_quoted()
    {
        var mark = Path.Combine(Paths.TempDir(), "pwned");
        var lines = new List<(string Context, string Command)>();
        foreach (var raw in Injections)
        {
            var context = raw.Replace("MARK", mark, StringComparison.Ordinal);
            // OSSM 2: pending root certificates and ingress addresses name the remote cluster's context.
            var a = Factory.ControlPlanes(new ControlPlaneRequest { Name = "a", Clusters = new[] { new ClusterBinding("ca") { Context = context } } }).Single();
            var b = Factory.ControlPlanes(new ControlPlaneRequest { Name = "b", Clusters = new[] { new ClusterBinding("cb") { Context = context } } }).Single();
            // Istio multi-mesh: the east-west gateway address; multi-primary: istioctl create-remote-secret.
            var m1 = Factory.ControlPlanes(new ControlPlaneRequest { Name = "m1", Style = MeshStyle.MultiMesh, Clusters = new[] { new ClusterBinding("k1") { Context = context } } }).Single();
            var m2 = Factory.ControlPlanes(new ControlPlaneRequest { Name = "m2", Style = MeshStyle.MultiMesh, Clusters = new[] { new ClusterBinding("k2") { Context = context } } }).Single();
            var mp = Factory.ControlPlanes(new ControlPlaneRequest
            {
                Name = "mp", Style = MeshStyle.MultiPrimary,
                Clusters = new[] { new ClusterBinding("p1") { Context = context, Network = "n1" }, new ClusterBinding("p2") { Context = context, Network = "n2" } },
            });
            var results = new[]
            {
                Ossm2Renderer.Render(FederationSet.From(Factory.Peerings(new[] { a, b }))),
                Ossm2Renderer.Render(FederationSet.From(Factory.Peerings(new[] { m1, m2 }))),
                Ossm2Renderer.Render(FederationSet.From(Factory.Peerings(mp.ToList()))),
            };
            foreach (var line in results.SelectMany(r => r.Pending).Select(p => p.HowToGet))
            {
                // Pending items may be prose with a command after "or "; judge the command part.
                var command = line[Math.Max(0, Math.Max(line.IndexOf("kubectl ", StringComparison.Ordinal), line.IndexOf("istioctl ", StringComparison.Ordinal)))..];
                if (command.StartsWith("kubectl ", StringComparison.Ordinal) || command.StartsWith("istioctl ", StringComparison.Ordinal)) lines.Add((context, command));
            }
        }
        Assert.True(lines.Count >= Injections.Length * 3, $"only {lines.Count} command lines were judged");
        var (all, injected) = RunStubbed(lines.Select(l => l.Command).ToList(), mark);
        Assert.False(injected, "a context ran an injected command");
        for (var n = 0; n < lines.Count; n++)
        {
            var (context, command) = lines[n];
            var words = all[n];
            var i = words.IndexOf("--context");
            Assert.True(i >= 0 ? words[i + 1] == context : words.Contains("--context=" + context), $"context '{context}' did not arrive as one word: {command} -> [{string.Join("|", words)}]");
        }
    }

    [Fact]
    public void A_context_with_control_characters_is_refused_in_a_topology()
    {
        AcceptedInvalidTests.Refused("meshes:\n  - name: a\n    cluster: {name: c, context: \"ctx\\nkubectl delete ns x\"}\n", "cluster.context", "ctx\\nkubectl delete ns x", 5);
    }

    [Fact]
    public void Haproxy_accepts_configurations_with_unusual_valid_addresses_and_rejects_none_of_the_injections()
    {
        var cps = new[]
        {
            Factory.ControlPlanes(new ControlPlaneRequest { Name = "a", GatewayExposure = GatewayExposure.NodePort, NodeAddresses = new[] { "fd00::1", "localhost" } }).Single(),
            Factory.ControlPlanes(new ControlPlaneRequest { Name = "b", GatewayExposure = GatewayExposure.NodePort, NodeAddresses = new[] { "192.0.2.1" } }).Single(),
        };
        var peers = Factory.Peerings(cps);
        foreach (var host in new[] { "127.0.0.1", "::1", "localhost" })
        {
            var proxy = ProxyBuilder.Build(peers, new ProxyOptions { ProxyHost = host });
            var file = Path.Combine(Paths.TempDir(), "federation.cfg");
            File.WriteAllText(file, proxy.HaproxyConfig);
            var (code, output) = ExternalTools.Run("haproxy", $"-c -f {file}");
            Assert.True(code == 0, $"{host}: {output}");
        }
        // Anything else that would be written into the configuration is refused before it gets there.
        foreach (var raw in Injections.Concat(new[] { "10.0.0.1\n    bind *:22", "10.0.0.1 # x", "10.1", "999.1.1.1" }))
        {
            var ex = Assert.Throws<MeshFederationException>(() => ProxyBuilder.Build(peers, new ProxyOptions { ProxyHost = raw }));
            Assert.Contains("proxy.host", ex.Message, StringComparison.Ordinal);
            Assert.Throws<MeshFederationException>(() => Factory.ControlPlanes(new ControlPlaneRequest { Name = "c", GatewayExposure = GatewayExposure.NodePort, NodeAddresses = new[] { raw } }));
        }
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("--zone=libvirt", "--zone=libvirt")]
    [InlineData("a b", "'a b'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("", "''")]
    public void Shell_quote_leaves_safe_words_bare_and_quotes_the_rest(string word, string quoted) => Assert.Equal(quoted, Shell.Quote(word));
}
