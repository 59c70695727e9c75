using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MeshFederation.Cli;
using MeshFederation.Engine.Pki;

namespace MeshFederation.Tests.Hardening;

/// <summary>
/// Issue 14: corrupt, mismatched or foreign CA material in certificateAuthority.dir is refused when loaded (it rendered
/// into cacerts with exit 0), and meshfed ca names the input that is wrong.
/// </summary>
public class CaMaterialTests
{
    private const string Topology = """
        apiVersion: meshfederation.io/v1alpha1
        kind: FederationTopology
        meshes:
          - name: mesh1
            style: multi-primary
            clusters:
              - {name: c1, network: network1}
              - {name: c2, network: network2}
        peerings: all
        certificateAuthority:
          dir: certs
        """;

    private static (string Topology, string Certs) Setup()
    {
        var dir = Paths.TempDir();
        var certs = Path.Combine(dir, "certs");
        TestSupport.WriteCa(certs, "c1", "c2");
        var topology = Path.Combine(dir, "mesh.yaml");
        File.WriteAllText(topology, Topology);
        return (topology, certs);
    }

    private static string Render(string topology, string expected, string because)
    {
        var outDir = Path.Combine(Path.GetDirectoryName(topology)!, "out");
        var (code, stdout, stderr) = BadInputTests.Cli("render", topology, "--out", outDir);
        Assert.True(code == MeshfedApp.ExitBadInput, $"{because}: exit {code}\n{stdout}\n{stderr}");
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Contains($"{topology}:{CrashAndHangTests.LineOf(Topology, "dir: certs")}:", stderr, StringComparison.Ordinal);
        Assert.Contains("certificateAuthority.dir", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir), $"{because}: something was written");
        return stderr;
    }

    [Fact]
    public void Good_material_renders()
    {
        var (topology, _) = Setup();
        var (code, _, stderr) = BadInputTests.Cli("render", topology, "--out", Path.Combine(Path.GetDirectoryName(topology)!, "out"));
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public void Garbage_PEM_is_refused()
    {
        var (topology, certs) = Setup();
        File.WriteAllText(Path.Combine(certs, "c1", "ca-cert.pem"), "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        var err = Render(topology, "ca-cert.pem", "garbage PEM");
        Assert.Contains("is not a valid PEM certificate", err, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(certs, "c1", "ca-cert.pem"), "hello\n");
        Assert.Contains("holds no PEM certificate", Render(topology, "ca-cert.pem", "no PEM at all"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_in_place_of_the_certificate_is_refused()
    {
        var (topology, certs) = Setup();
        File.Copy(Path.Combine(certs, "c1", "ca-key.pem"), Path.Combine(certs, "c1", "ca-cert.pem"), overwrite: true);
        Assert.Contains("holds a private key where a certificate belongs", Render(topology, "ca-cert.pem", "key as certificate"), StringComparison.Ordinal);
    }

    [Fact]
    public void Another_clusters_key_is_refused()
    {
        var (topology, certs) = Setup();
        File.Copy(Path.Combine(certs, "c2", "ca-key.pem"), Path.Combine(certs, "c1", "ca-key.pem"), overwrite: true);
        Assert.Contains("does not belong to ca-cert.pem", Render(topology, "ca-key.pem", "c2's key in c1"), StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_key_is_refused()
    {
        var (topology, certs) = Setup();
        File.WriteAllText(Path.Combine(certs, "c1", "ca-key.pem"), "");
        Assert.Contains("is empty", Render(topology, "ca-key.pem", "empty key"), StringComparison.Ordinal);
    }

    [Fact]
    public void An_intermediate_from_another_root_is_refused()
    {
        var (topology, certs) = Setup();
        var other = Paths.TempDir();
        TestSupport.WriteCa(other, "c1");
        foreach (var f in new[] { "ca-cert.pem", "ca-key.pem", "cert-chain.pem" })
            File.Copy(Path.Combine(other, "c1", f), Path.Combine(certs, "c1", f), overwrite: true);
        Assert.Contains("was not issued by the root in root-cert.pem", Render(topology, "ca-cert.pem", "foreign intermediate"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_chain_that_does_not_start_with_the_intermediate_is_refused()
    {
        var (topology, certs) = Setup();
        File.Copy(Path.Combine(certs, "c2", "cert-chain.pem"), Path.Combine(certs, "c1", "cert-chain.pem"), overwrite: true);
        Assert.Contains("does not start with the intermediate", Render(topology, "cert-chain.pem", "c2's chain in c1"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_leaf_certificate_as_the_intermediate_is_refused()
    {
        var (topology, certs) = Setup();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=leaf", key, HashAlgorithmName.SHA256);
        using var leaf = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(Path.Combine(certs, "c1", "ca-cert.pem"), leaf.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(certs, "c1", "ca-key.pem"), key.ExportPkcs8PrivateKeyPem() + "\n");
        Assert.Contains("is not a CA certificate", Render(topology, "ca-cert.pem", "leaf as intermediate"), StringComparison.Ordinal);
    }

    [Fact]
    public void certificateAuthority_on_a_missing_folder_is_refused_even_for_OSSM_2_meshes()
    {
        var dir = Paths.TempDir();
        var topology = Path.Combine(dir, "t.yaml");
        File.WriteAllText(topology, "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\nmeshes:\n  - {name: a}\n  - {name: b}\npeerings: all\ncertificateAuthority: {dir: nowhere}\n");
        var (code, _, stderr) = BadInputTests.Cli("validate", topology);
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains($"{topology}:7:", stderr, StringComparison.Ordinal);
        Assert.Contains("certificateAuthority.dir = 'nowhere': does not exist", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_root_certificate_is_blamed_on_the_certificate_not_the_key()
    {
        var dir = Paths.TempDir();
        var ca = TestSupport.WriteCa(dir);
        var key = Path.Combine(dir, "root-key.pem");
        File.WriteAllText(key, ca.Root.ExportPrivateKeyPem());
        var cert = Path.Combine(dir, "garbage.pem");
        File.WriteAllText(cert, "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n");
        var (code, _, stderr) = BadInputTests.Cli("ca", "--root-cert", cert, "--root-key", key, "--cluster", "c1", "--out", Path.Combine(dir, "out"));
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains($"--root-cert = '{cert}': is not a valid PEM certificate", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--root-key", stderr, StringComparison.Ordinal);

        // And a key that is not the root's is blamed on the key.
        var otherKey = Path.Combine(dir, "other-key.pem");
        File.WriteAllText(otherKey, MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256).Root.ExportPrivateKeyPem());
        (code, _, stderr) = BadInputTests.Cli("ca", "--root-cert", Path.Combine(dir, "root-cert.pem"), "--root-key", otherKey, "--cluster", "c1", "--out", Path.Combine(dir, "out"));
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains($"--root-key = '{otherKey}': does not belong to the root certificate", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }

    [Fact]
    public void Issuing_under_an_existing_root_into_its_own_folder_keeps_the_root_files()
    {
        var dir = Paths.TempDir();
        Assert.Equal(0, BadInputTests.Cli("ca", "--cluster", "c1", "--algorithm", "ecdsa-p256", "--out", dir).Code);
        var rootKey = File.ReadAllText(Path.Combine(dir, "root-key.pem"));
        var rootCert = File.ReadAllText(Path.Combine(dir, "root-cert.pem"));
        var (code, _, stderr) = BadInputTests.Cli("ca", "--root-cert", Path.Combine(dir, "root-cert.pem"), "--root-key", Path.Combine(dir, "root-key.pem"), "--cluster", "c2", "--out", dir);
        Assert.True(code == 0, stderr);
        Assert.Equal(rootKey, File.ReadAllText(Path.Combine(dir, "root-key.pem")));
        Assert.Equal(rootCert, File.ReadAllText(Path.Combine(dir, "root-cert.pem")));
        Assert.True(File.Exists(Path.Combine(dir, "c1", "ca-cert.pem")));
        Assert.True(File.Exists(Path.Combine(dir, "c2", "ca-cert.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "root-key.pem")));
    }
}
