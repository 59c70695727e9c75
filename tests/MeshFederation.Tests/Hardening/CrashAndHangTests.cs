using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace MeshFederation.Tests.Hardening;

/// <summary>
/// Issue 14, "Crashes and hangs": each case runs the real meshfed as its own process, as a user would, and must end
/// with exit 2, a message with the file and line, no stack trace, within 10 s and 500 MB.
/// </summary>
public class CrashAndHangTests
{
    internal static string Seed001 => File.ReadAllText(Paths.Example("seed-001-blue-green.yaml"));

    internal static string WriteTopology(string text, string name = "topology.yaml")
    {
        var path = Path.Combine(Paths.TempDir(), name);
        File.WriteAllText(path, text);
        return path;
    }

    internal static int LineOf(string text, string fragment) => text[..text.IndexOf(fragment, StringComparison.Ordinal)].Count(c => c == '\n') + 1;

    [Theory]
    [InlineData("members: [nfs-app-istio]", "members: [nfs-app-istio")]
    [InlineData("cluster: {name: blue, context: blue}", "cluster: {name: blue, context: blue")]
    public void An_unclosed_bracket_followed_by_more_lines_is_a_YAML_error_at_its_line(string good, string bad)
    {
        var text = Seed001.Replace(good, bad, StringComparison.Ordinal);
        var file = WriteTopology(text);
        var o = MeshfedProcess.Run(new[] { "validate", file });
        MeshfedProcess.AssertBadInput(o, "unclosed bracket");
        Assert.Contains($"{file}:{LineOf(text, bad)}:", o.Stderr, StringComparison.Ordinal);
        Assert.Contains("not closed", o.Stderr, StringComparison.Ordinal);
    }

    internal const string AliasBomb = """
        apiVersion: meshfederation.io/v1alpha1
        kind: FederationTopology
        meshes:
          - name: a
            overrides:
              a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
              b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
              c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
              d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
              e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
              f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
              g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
              h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
              i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
        """;

    [Fact]
    public void An_alias_bomb_in_overrides_is_refused_before_it_expands()
    {
        var file = WriteTopology(AliasBomb);
        Assert.True(new FileInfo(file).Length < 700, "the bomb is the issue's 649-byte size class");
        var o = MeshfedProcess.Run(new[] { "validate", file });
        MeshfedProcess.AssertBadInput(o, "alias bomb");
        Assert.Contains("alias", o.Stderr, StringComparison.Ordinal);
        Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(file)}:\d+:\d+", o.Stderr);
    }

    [Fact]
    public void A_hundred_thousand_nested_brackets_are_refused_without_overflowing_the_stack()
    {
        var text = "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes: " + new string('[', 100_000) + new string(']', 100_000) + "\n";
        var file = WriteTopology(text);
        var o = MeshfedProcess.Run(new[] { "validate", file });
        MeshfedProcess.AssertBadInput(o, "100,000 nested [");
        Assert.Contains("nests deeper than", o.Stderr, StringComparison.Ordinal);
        Assert.Contains($"{file}:3:", o.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_FIFO_given_as_the_topology_is_refused_at_once()
    {
        var dir = Paths.TempDir();
        var fifo = Path.Combine(dir, "topology.yaml");
        Assert.Equal(0, ExternalTools.Run("mkfifo", fifo).Code);
        var o = MeshfedProcess.Run(new[] { "validate", fifo });
        MeshfedProcess.AssertBadInput(o, "FIFO");
        Assert.Contains("FIFO", o.Stderr, StringComparison.Ordinal);
        Assert.Contains(fifo, o.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Character_devices_and_folders_are_refused_as_topologies()
    {
        var dev = MeshfedProcess.Run(new[] { "validate", "/dev/zero" });
        MeshfedProcess.AssertBadInput(dev, "/dev/zero");
        Assert.Contains("is a device, not a regular file", dev.Stderr, StringComparison.Ordinal);
        var dir = MeshfedProcess.Run(new[] { "validate", Paths.TempDir() });
        MeshfedProcess.AssertBadInput(dir, "a folder");
        Assert.Contains("is a folder, not a file", dir.Stderr, StringComparison.Ordinal);
    }

    /// <summary>A root certificate and key already expired (valid from 20 days ago until yesterday).</summary>
    internal static (string Cert, string Key) ExpiredRoot(string dir)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("O=Istio, CN=Root CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature, true));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-20), DateTimeOffset.UtcNow.AddDays(-1));
        var certPath = Path.Combine(dir, "root-cert.pem");
        var keyPath = Path.Combine(dir, "root-key.pem");
        File.WriteAllText(certPath, cert.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        return (certPath, keyPath);
    }

    [Fact]
    public void meshfed_ca_with_an_expired_root_says_it_expired()
    {
        var dir = Paths.TempDir();
        var (cert, key) = ExpiredRoot(dir);
        var o = MeshfedProcess.Run(new[] { "ca", "--root-cert", cert, "--root-key", key, "--cluster", "c1", "--out", Path.Combine(dir, "out") });
        MeshfedProcess.AssertBadInput(o, "expired root");
        Assert.Contains("--root-cert", o.Stderr, StringComparison.Ordinal);
        Assert.Contains("expired on", o.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("99999999")]
    [InlineData("0")]
    public void meshfed_ca_rejects_days_out_of_range_for_new_and_existing_roots(string days)
    {
        var dir = Paths.TempDir();
        var o = MeshfedProcess.Run(new[] { "ca", "--days", days, "--cluster", "c1", "--algorithm", "ecdsa-p256", "--out", Path.Combine(dir, "new") });
        MeshfedProcess.AssertBadInput(o, $"--days {days} (new root)");
        Assert.Contains($"--days = '{days}'", o.Stderr, StringComparison.Ordinal);
        var ca = TestSupport.WriteCa(Path.Combine(dir, "root"));
        var rootKey = Path.Combine(dir, "root", "root-key.pem");
        File.WriteAllText(rootKey, ca.Root.ExportPrivateKeyPem());
        o = MeshfedProcess.Run(new[] { "ca", "--days", days, "--root-cert", Path.Combine(dir, "root", "root-cert.pem"), "--root-key", rootKey, "--cluster", "c1", "--out", Path.Combine(dir, "existing") });
        MeshfedProcess.AssertBadInput(o, $"--days {days} (existing root)");
        Assert.Contains($"--days = '{days}'", o.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir, "new")) || Directory.Exists(Path.Combine(dir, "existing")));
    }

    [Fact]
    public void A_failing_Graphviz_dot_is_reported_not_thrown()
    {
        var bin = Paths.TempDir();
        var dot = Path.Combine(bin, "dot");
        File.WriteAllText(dot, "#!/bin/sh\necho 'Error: <stdin>: syntax error in line 1' >&2\nexit 3\n");
        File.SetUnixFileMode(dot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var outFile = Path.Combine(Paths.TempDir(), "graph.svg");
        var env = new Dictionary<string, string?> { ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH") };
        var o = MeshfedProcess.Run(new[] { "graph", Paths.Example("seed-001-blue-green.yaml"), "--format", "svg", "--out", outFile }, environment: env);
        MeshfedProcess.AssertBadInput(o, "failing dot");
        Assert.Contains("Graphviz dot failed: exit code 3", o.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(outFile));
    }
}
