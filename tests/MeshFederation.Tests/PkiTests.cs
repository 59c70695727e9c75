using System.Text;
using System.Text.RegularExpressions;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Pki;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests;

/// <summary>The mesh CA, checked by real openssl against certificates made with seed 003's own openssl configuration.</summary>
public class PkiTests
{
    private static string Write(MeshCertificateAuthority ca, bool rootKey = true)
    {
        var dir = Paths.TempDir();
        foreach (var (path, (content, isPrivate)) in ca.Files(rootKey)) AtomicFileWriter.Write(Path.Combine(dir, path), content, isPrivate);
        return dir;
    }

    private static string Openssl(string args, string? workdir = null)
    {
        var (code, output) = ExternalTools.Run("bash", $"-c \"cd '{workdir ?? Path.GetTempPath()}' && openssl {args.Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
        Assert.True(code == 0, $"openssl {args}: {output}");
        return output;
    }

    /// <summary>The extensions and subject as openssl prints them, without anything that differs per key.</summary>
    private static string Shape(string text)
    {
        var lines = text.Split('\n').Select(l => l.Trim()).ToList();
        var subject = lines.First(l => l.StartsWith("Subject:", StringComparison.Ordinal));
        var start = lines.FindIndex(l => l.StartsWith("X509v3 extensions:", StringComparison.Ordinal));
        var end = lines.FindIndex(start, l => l.StartsWith("Signature Algorithm:", StringComparison.Ordinal));
        var ext = lines.Skip(start + 1).Take(end - start - 1).Where(l => !Regex.IsMatch(l, "^([0-9A-F]{2}:)+[0-9A-F]{2}$")).ToList();
        return subject + "\n" + string.Join("\n", ext);
    }

    [Fact]
    public void RSA_4096_root_and_intermediates_match_seed_003s_openssl_output_and_verify()
    {
        var ca = MeshCertificateAuthority.Create(KeyAlgorithm.Rsa4096);
        ca.Issue("west");
        ca.Issue("east");
        var dir = Write(ca);

        // The same certificates made by openssl with seed 003's configuration files (2048-bit keys: the extensions do not depend on the size).
        var seed = Paths.TempDir();
        File.WriteAllText(Path.Combine(seed, "root-ca.conf"), "[ req ]\nencrypt_key = no\nprompt = no\nutf8 = yes\ndefault_md = sha256\ndefault_bits = 4096\nreq_extensions = req_ext\nx509_extensions = req_ext\ndistinguished_name = req_dn\n[ req_ext ]\nsubjectKeyIdentifier = hash\nbasicConstraints = critical, CA:true\nkeyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign\n[ req_dn ]\nO = Istio\nCN = Root CA\n");
        File.WriteAllText(Path.Combine(seed, "intermediate.conf"), "[ req ]\nencrypt_key = no\nprompt = no\nutf8 = yes\ndefault_md = sha256\ndefault_bits = 4096\nreq_extensions = req_ext\nx509_extensions = req_ext\ndistinguished_name = req_dn\n[ req_ext ]\nsubjectKeyIdentifier = hash\nbasicConstraints = critical, CA:true, pathlen:0\nkeyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign\nsubjectAltName=@san\n[ san ]\nDNS.1 = istiod.istio-system.svc\n[ req_dn ]\nO = Istio\nCN = Intermediate CA\nL = west\n");
        Openssl("genrsa -out root-key.pem 2048", seed);
        Openssl("req -sha256 -new -key root-key.pem -config root-ca.conf -out root-cert.csr", seed);
        Openssl("x509 -req -sha256 -days 3650 -signkey root-key.pem -extensions req_ext -extfile root-ca.conf -in root-cert.csr -out root-cert.pem", seed);
        Openssl("genrsa -out ca-key.pem 2048", seed);
        Openssl("req -new -config intermediate.conf -key ca-key.pem -out cluster-ca.csr", seed);
        Openssl("x509 -req -sha256 -days 3650 -CA root-cert.pem -CAkey root-key.pem -CAcreateserial -extensions req_ext -extfile intermediate.conf -in cluster-ca.csr -out ca-cert.pem", seed);

        Assert.Equal(Shape(Openssl("x509 -in root-cert.pem -noout -text", seed)), Shape(Openssl($"x509 -in {dir}/root-cert.pem -noout -text")));
        Assert.Equal(Shape(Openssl("x509 -in ca-cert.pem -noout -text", seed)), Shape(Openssl($"x509 -in {dir}/west/ca-cert.pem -noout -text")));

        var root = Openssl($"x509 -in {dir}/root-cert.pem -noout -text");
        Assert.Contains("Public-Key: (4096 bit)", root, StringComparison.Ordinal);
        Assert.Contains("Subject: O = Istio, CN = Root CA", root, StringComparison.Ordinal);
        var west = Openssl($"x509 -in {dir}/west/ca-cert.pem -noout -text");
        Assert.Contains("CA:TRUE, pathlen:0", west, StringComparison.Ordinal);
        Assert.Contains("DNS:istiod.istio-system.svc", west, StringComparison.Ordinal);
        Assert.Contains("Subject: O = Istio, CN = Intermediate CA, L = west", west, StringComparison.Ordinal);
        Assert.Contains("Digital Signature, Non Repudiation, Key Encipherment, Certificate Sign", west, StringComparison.Ordinal);
        Assert.Contains("Issuer: O = Istio, CN = Root CA", west, StringComparison.Ordinal);

        foreach (var cluster in new[] { "west", "east" })
        {
            Assert.Contains(": OK", Openssl($"verify -CAfile {dir}/root-cert.pem -untrusted {dir}/{cluster}/cert-chain.pem {dir}/{cluster}/ca-cert.pem"), StringComparison.Ordinal);
            Assert.Equal(File.ReadAllText($"{dir}/{cluster}/ca-cert.pem") + File.ReadAllText($"{dir}/root-cert.pem"), File.ReadAllText($"{dir}/{cluster}/cert-chain.pem"));
            Assert.Contains("Private-Key: (4096 bit", Openssl($"pkey -in {dir}/{cluster}/ca-key.pem -noout -text"), StringComparison.Ordinal);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode($"{dir}/{cluster}/ca-key.pem"));
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode($"{dir}/root-key.pem"));

        // 10 years, as -days 3650.
        var dates = Openssl($"x509 -in {dir}/west/ca-cert.pem -noout -startdate -enddate");
        var start = DateTime.ParseExact(Regex.Match(dates, "notBefore=(.*)").Groups[1].Value.Trim().Replace("  ", " ", StringComparison.Ordinal), "MMM d HH:mm:ss yyyy 'GMT'", System.Globalization.CultureInfo.InvariantCulture);
        var end = DateTime.ParseExact(Regex.Match(dates, "notAfter=(.*)").Groups[1].Value.Trim().Replace("  ", " ", StringComparison.Ordinal), "MMM d HH:mm:ss yyyy 'GMT'", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(3650, Math.Round((end - start).TotalDays));
    }

    [Fact]
    public void ECDSA_P256_on_request()
    {
        var ca = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256);
        ca.Issue("cluster1");
        var dir = Write(ca);
        var text = Openssl($"x509 -in {dir}/cluster1/ca-cert.pem -noout -text");
        Assert.Contains("Public-Key: (256 bit)", text, StringComparison.Ordinal);
        Assert.Contains("prime256v1", text, StringComparison.Ordinal);
        Assert.Contains("ecdsa-with-SHA256", text, StringComparison.Ordinal);
        Assert.Contains(": OK", Openssl($"verify -CAfile {dir}/root-cert.pem -untrusted {dir}/cluster1/cert-chain.pem {dir}/cluster1/ca-cert.pem"), StringComparison.Ordinal);
    }

    [Fact]
    public void An_existing_root_issues_and_rotates_intermediates()
    {
        var original = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256);
        var dir = Write(original);
        var loaded = MeshCertificateAuthority.Load(Path.Combine(dir, "root-cert.pem"), Path.Combine(dir, "root-key.pem"));
        var first = loaded.Issue("cluster2");
        var rotated = loaded.Issue("cluster2");
        Assert.NotEqual(first.Intermediate.Thumbprint, rotated.Intermediate.Thumbprint);
        Assert.NotEqual(first.Intermediate.ExportPrivateKeyPem(), rotated.Intermediate.ExportPrivateKeyPem());
        Assert.Equal(original.Root.Thumbprint, loaded.Root.Thumbprint);
        var out2 = Write(loaded, rootKey: false);
        Assert.False(File.Exists(Path.Combine(out2, "root-key.pem")));
        Assert.Contains(": OK", Openssl($"verify -CAfile {dir}/root-cert.pem -untrusted {out2}/cluster2/cert-chain.pem {out2}/cluster2/ca-cert.pem"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_trust_bundle_holds_old_and_new_roots_for_a_rollover()
    {
        var old = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256);
        old.Issue("cluster1");
        var oldDir = Write(old);
        var renewed = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256);
        renewed.Issue("cluster1");
        renewed.TrustAlso(old.Root.CertificatePem);
        var dir = Write(renewed);
        var bundle = File.ReadAllText(Path.Combine(dir, "cluster1", "root-cert.pem"));
        Assert.Equal(2, Regex.Count(bundle, "BEGIN CERTIFICATE"));
        // Workloads signed under either root verify against the bundle.
        Assert.Contains(": OK", Openssl($"verify -CAfile {dir}/cluster1/root-cert.pem -untrusted {oldDir}/cluster1/cert-chain.pem {oldDir}/cluster1/ca-cert.pem"), StringComparison.Ordinal);
        Assert.Contains(": OK", Openssl($"verify -CAfile {dir}/cluster1/root-cert.pem -untrusted {dir}/cluster1/cert-chain.pem {dir}/cluster1/ca-cert.pem"), StringComparison.Ordinal);
        Assert.Throws<MeshFederationException>(() => renewed.TrustAlso(old.Root.ExportPrivateKeyPem()));
    }

    [Fact]
    public void The_cacerts_Secret_validates_and_holds_the_four_files()
    {
        var ca = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256);
        ca.Issue("cluster1");
        var secret = ca.CacertsSecret("cluster1", "istio-system", "mesh1");
        Assert.Empty(KubeSchemas.Validate(secret));
        Assert.Equal(new[] { "ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem" }, secret["data"]!.AsObject().Select(kv => kv.Key));
        string Data(string k) => Encoding.UTF8.GetString(Convert.FromBase64String(secret["data"]![k]!.GetValue<string>()));
        Assert.Equal(ca["cluster1"].Intermediate.CertificatePem + ca.Root.CertificatePem, Data("cert-chain.pem"));
        Assert.Contains("PRIVATE KEY", Data("ca-key.pem"), StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_never_show_in_properties_or_text()
    {
        var ca = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256);
        var c = ca.Issue("cluster1");
        var shown = string.Join("\n", new object[] { ca, c, c.Intermediate, ca.Root }.SelectMany(o =>
            o.GetType().GetProperties().Where(p => p.GetIndexParameters().Length == 0).Select(p => p.GetValue(o)?.ToString() ?? "")).Append(ca.ToString()).Append(c.ToString()));
        Assert.DoesNotContain("PRIVATE KEY", shown, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_roots_are_refused_with_the_field_and_the_fix()
    {
        var dir = Paths.TempDir();
        var leaf = TestKube.TestPki.RootCertificatePem("x");
        File.WriteAllText(Path.Combine(dir, "cert.pem"), leaf);
        File.WriteAllText(Path.Combine(dir, "key.pem"), MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256).Root.ExportPrivateKeyPem());
        var ex = Assert.Throws<MeshFederationException>(() => MeshCertificateAuthority.Load(Path.Combine(dir, "cert.pem"), Path.Combine(dir, "key.pem")));
        Assert.Contains("root key", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<MeshFederationException>(() => MeshCertificateAuthority.Load(Path.Combine(dir, "missing.pem"), Path.Combine(dir, "key.pem")));
        Assert.Contains("cannot be read", ex.Message, StringComparison.Ordinal);
        Assert.Throws<MeshFederationException>(() => MeshCertificateAuthority.Create(validityDays: 0));
        Assert.Throws<MeshFederationException>(() => MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256).Issue("Bad_Cluster"));
    }

    [Fact]
    public void Intermediates_issued_concurrently_are_all_kept_distinct_and_verify()
    {
        // Issue from many threads at once (callers may), and IssueAll on every core: nothing lost, nothing shared.
        var ca = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256);
        var direct = Enumerable.Range(0, 24).Select(i => $"direct{i:D2}").ToList();
        using (var start = new Barrier(8))
        {
            var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                foreach (var c in direct.Where((_, i) => i % 8 == t)) ca.Issue(c);
                _ = ca.Clusters.Count; // reads while others write
            })).ToList();
            threads.ForEach(th => th.Start());
            threads.ForEach(th => th.Join());
        }
        var bulk = Enumerable.Range(0, 24).Select(i => $"bulk{i:D2}").ToList();
        var callbacks = 0;
        var issued = ca.IssueAll(bulk.Concat(bulk.Take(3)), _ => Interlocked.Increment(ref callbacks), maxDegreeOfParallelism: 8);
        Assert.Equal(bulk, issued.Select(c => c.Cluster).ToList()); // the order given, duplicates once
        Assert.Equal(24, callbacks);
        Assert.Equal(direct.Concat(bulk).OrderBy(c => c, StringComparer.Ordinal), ca.Clusters.Select(c => c.Cluster).OrderBy(c => c, StringComparer.Ordinal));
        Assert.Equal(bulk, ca.Clusters.Select(c => c.Cluster).Where(c => c.StartsWith("bulk", StringComparison.Ordinal)).ToList());
        Assert.Equal(48, ca.Clusters.Select(c => c.Intermediate.Thumbprint).Distinct().Count());
        Assert.Equal(48, ca.Clusters.Select(c => c.Intermediate.ExportPrivateKeyPem()).Distinct().Count());
        Assert.Equal(48, ca.Clusters.Select(c => c.Intermediate.SerialNumber).Distinct().Count());
        Assert.All(ca.Clusters, c => Assert.Contains($"L={c.Cluster}", c.Intermediate.Subject, StringComparison.Ordinal));
        var dir = Write(ca);
        foreach (var c in new[] { "direct00", "direct23", "bulk00", "bulk23" })
            Assert.Contains(": OK", Openssl($"verify -CAfile {dir}/root-cert.pem -untrusted {dir}/{c}/cert-chain.pem {dir}/{c}/ca-cert.pem"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_new_root_and_its_intermediates_are_made_in_one_go_with_every_key_generated_concurrently()
    {
        var keys = 0;
        var ca = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256, 365, "Example", new[] { "west", "east", "west", "north" }, () => Interlocked.Increment(ref keys), maxDegreeOfParallelism: 4);
        Assert.Equal(4, keys); // the root and three distinct intermediates
        Assert.Equal(new[] { "west", "east", "north" }, ca.Clusters.Select(c => c.Cluster));
        Assert.Equal(4, ca.Clusters.Select(c => c.Intermediate.ExportPrivateKeyPem()).Append(ca.Root.ExportPrivateKeyPem()).Distinct().Count());
        Assert.Contains("O=Example", ca.Root.Subject, StringComparison.Ordinal);
        var dir = Write(ca);
        Assert.Contains(": OK", Openssl($"verify -CAfile {dir}/root-cert.pem -untrusted {dir}/north/cert-chain.pem {dir}/north/ca-cert.pem"), StringComparison.Ordinal);
        Assert.Throws<MeshFederationException>(() => MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256, 365, "Example", new[] { "ok", "NOT OK" }, () => Interlocked.Increment(ref keys)));
        Assert.Equal(4, keys); // refused before any key was generated
    }

    [Fact]
    public void IssueAll_checks_every_name_before_generating_and_leaves_the_authority_unchanged_on_failure()
    {
        var ca = MeshCertificateAuthority.Create(KeyAlgorithm.EcdsaP256);
        ca.Issue("kept");
        var ex = Assert.Throws<MeshFederationException>(() => ca.IssueAll(new[] { "good", "Bad_Name", "also-good" }));
        Assert.Contains(ex.Problems, p => p.Value == "Bad_Name");
        Assert.Equal(new[] { "kept" }, ca.Clusters.Select(c => c.Cluster));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => ca.IssueAll(new[] { "one", "two" }, cancellationToken: cancelled.Token));
        Assert.Equal(new[] { "kept" }, ca.Clusters.Select(c => c.Cluster));
    }
}

public class CliCaTests
{
    [Fact]
    public void meshfed_ca_creates_issues_under_an_existing_root_and_rejects_half_a_root()
    {
        var dir = Paths.TempDir();
        var (code, output, err) = BadInputTests.Cli("ca", "--cluster", "west", "--cluster", "east", "--algorithm", "ecdsa-p256", "--out", dir);
        Assert.True(code == 0, err);
        Assert.Contains("root-key.pem (0600)", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(dir, "east", "cert-chain.pem")));
        var rotated = Paths.TempDir();
        (code, _, err) = BadInputTests.Cli("ca", "--cluster", "east", "--root-cert", Path.Combine(dir, "root-cert.pem"), "--root-key", Path.Combine(dir, "root-key.pem"), "--out", rotated);
        Assert.True(code == 0, err);
        Assert.False(File.Exists(Path.Combine(rotated, "root-key.pem")));
        var (vc, vout) = ExternalTools.Run("openssl", $"verify -CAfile {dir}/root-cert.pem -untrusted {rotated}/east/cert-chain.pem {rotated}/east/ca-cert.pem");
        Assert.True(vc == 0, vout);
        (code, _, err) = BadInputTests.Cli("ca", "--cluster", "east", "--root-cert", Path.Combine(dir, "root-cert.pem"), "--out", Paths.TempDir());
        Assert.Equal(2, code);
        Assert.Contains("--root-key", err, StringComparison.Ordinal);
    }
}
