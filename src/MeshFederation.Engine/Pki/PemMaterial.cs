using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Pki;

/// <summary>
/// Reads and verifies CA material (PEM certificates and keys) before anything is issued under it or rendered from it:
/// the PEM parses, a certificate is where a certificate belongs and a key where a key belongs, the key matches the
/// certificate, CA certificates carry basicConstraints CA:true and keyUsage keyCertSign, dates are valid now, and an
/// intermediate chains to its root. Every failure is a <see cref="MeshFederationException"/> naming the file.
/// </summary>
public static class PemMaterial
{
    /// <summary>How far a NotBefore may lie in the future (clock skew between the machine that issued and this one).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    public static string ReadFile(string path, string field) =>
        InputFile.ReadText(path, field, InputFile.MaxPemBytes, "give the PEM file meshfed ca (or openssl, as seed 003 does) wrote");

    /// <summary>Every certificate of a PEM text (a bundle holds several); a private key in it, or no certificate, is refused.</summary>
    public static List<X509Certificate2> Certificates(string pem, string field, string path)
    {
        if (string.IsNullOrWhiteSpace(pem))
            throw Fail(field, path, "is empty", "give the PEM certificate (-----BEGIN CERTIFICATE-----)");
        if (pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            throw Fail(field, path, "holds a private key where a certificate belongs", "give the certificate file (ca-cert.pem, root-cert.pem), not the key");
        var certs = new X509Certificate2Collection();
        try
        {
            certs.ImportFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw Fail(field, path, $"is not a valid PEM certificate ({e.Message.TrimEnd('.')})", "give the PEM certificate as openssl or meshfed ca wrote it");
        }
        if (certs.Count == 0)
            throw Fail(field, path, "holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)", "give the PEM certificate as openssl or meshfed ca wrote it");
        return certs.ToList();
    }

    /// <summary>A private key (PKCS#8, PKCS#1 RSA or SEC1 EC PEM).</summary>
    public static AsymmetricAlgorithm Key(string pem, string field, string path)
    {
        if (string.IsNullOrWhiteSpace(pem))
            throw Fail(field, path, "is empty", "give the PEM private key that belongs to the certificate");
        if (pem.Contains("ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal) || pem.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal))
            throw Fail(field, path, "is encrypted with a passphrase", "give the key unencrypted, e.g. openssl pkey -in key.pem -out key-plain.pem (keep it 0600)");
        if (!pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            throw Fail(field, path, pem.Contains("CERTIFICATE-----", StringComparison.Ordinal) ? "holds a certificate where the private key belongs" : "holds no PEM private key",
                "give the key file (root-key.pem, ca-key.pem), not the certificate");
        var label = pem.Contains("BEGIN EC PRIVATE KEY", StringComparison.Ordinal) ? "EC"
            : pem.Contains("BEGIN RSA PRIVATE KEY", StringComparison.Ordinal) ? "RSA" : null;
        var errors = new List<string>();
        if (label is null or "RSA")
        {
            var rsa = RSA.Create();
            try
            {
                rsa.ImportFromPem(pem);
                return rsa;
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                rsa.Dispose();
                errors.Add(e.Message);
            }
        }
        if (label is null or "EC")
        {
            var ec = ECDsa.Create();
            try
            {
                ec.ImportFromPem(pem);
                return ec;
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                ec.Dispose();
                errors.Add(e.Message);
            }
        }
        throw Fail(field, path, $"is not a valid RSA or ECDSA private key ({errors.FirstOrDefault()?.TrimEnd('.') ?? "unreadable"})",
            "give the PEM private key that belongs to the certificate");
    }

    /// <summary>True when the key is the certificate's (same public key).</summary>
    public static bool Matches(X509Certificate2 certificate, AsymmetricAlgorithm key)
    {
        try
        {
            var expected = certificate.PublicKey.ExportSubjectPublicKeyInfo();
            var actual = key switch
            {
                RSA r => r.ExportSubjectPublicKeyInfo(),
                ECDsa e => e.ExportSubjectPublicKeyInfo(),
                _ => Array.Empty<byte>(),
            };
            return expected.AsSpan().SequenceEqual(actual);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>A CA certificate valid now: basicConstraints CA:true, keyUsage keyCertSign (when present), within its dates.</summary>
    public static void CheckCa(X509Certificate2 cert, string field, string path, DateTimeOffset now, string what)
    {
        var bc = cert.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        var ku = cert.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (bc is not { CertificateAuthority: true })
            throw Fail(field, path, $"is not a CA certificate ({Describe(cert)} has no basicConstraints CA:true)", $"give the {what}; a leaf certificate cannot issue certificates");
        if (ku is not null && !ku.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign))
            throw Fail(field, path, $"may not sign certificates ({Describe(cert)} lacks keyUsage keyCertSign)", $"give the {what} (keyUsage keyCertSign, as seed 003's openssl configuration sets)");
        CheckDates(cert, field, path, now);
    }

    public static void CheckDates(X509Certificate2 cert, string field, string path, DateTimeOffset now)
    {
        var notAfter = new DateTimeOffset(cert.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        var notBefore = new DateTimeOffset(cert.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        if (notAfter <= now)
            throw Fail(field, path, $"expired on {notAfter:yyyy-MM-dd HH:mm} UTC ({Describe(cert)})",
                "issue a new one (meshfed ca) and roll it out; an expired CA cannot sign valid certificates");
        if (notBefore > now + ClockSkew)
            throw Fail(field, path, $"is not valid before {notBefore:yyyy-MM-dd HH:mm} UTC ({Describe(cert)})", "check this machine's clock, or the certificate's dates");
    }

    /// <summary>True when <paramref name="certificate"/> is signed by one of <paramref name="roots"/> (its chain ends there).</summary>
    public static bool ChainsTo(X509Certificate2 certificate, IEnumerable<X509Certificate2> roots, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        foreach (var r in roots) chain.ChainPolicy.CustomTrustStore.Add(r);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid | X509VerificationFlags.IgnoreCtlNotTimeValid;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (chain.Build(certificate)) return true;
        // Built to one of the roots but flagged for something other than trust (e.g. an unusual extension): still chained.
        var last = chain.ChainElements.Count > 0 ? chain.ChainElements[^1].Certificate : null;
        return last is not null && chain.ChainElements.Count > 1 && roots.Any(r => r.RawData.AsSpan().SequenceEqual(last.RawData))
            && chain.ChainStatus.All(s => s.Status is X509ChainStatusFlags.NotTimeValid or X509ChainStatusFlags.NoError);
    }

    public static string Describe(X509Certificate2 cert) => $"subject '{cert.Subject}'";

    public static MeshFederationException Fail(string field, string path, string problem, string fix, MeshErrorKind kind = MeshErrorKind.InvalidArgument) =>
        new(new MeshProblem(kind, field, path, problem, fix));
}

/// <summary>The four cacerts files of one cluster, read and verified.</summary>
public sealed record ClusterCacertsFiles(string CaCertPem, string CaKeyPem, string RootCertPem, string CertChainPem);

/// <summary>Reads &lt;dir&gt;/&lt;cluster&gt;/ as meshfed ca and seed 003 leave it, and verifies it (see <see cref="PemMaterial"/>).</summary>
public static class ClusterCacerts
{
    public static ClusterCacertsFiles Read(string directory, string cluster, DateTimeOffset? now = null)
    {
        var at = now ?? DateTimeOffset.UtcNow;
        const string Field = "certificateAuthority.dir";
        var folder = Path.Combine(directory, cluster);
        if (!Directory.Exists(folder))
            throw PemMaterial.Fail(Field, folder, "does not exist", $"create the cluster's intermediate first: meshfed ca --cluster {cluster} --root-cert ... --root-key ... --out {Shell.Quote(directory)}", MeshErrorKind.NotFound);
        string Read(string file)
        {
            var path = Path.Combine(folder, file);
            if (!File.Exists(path) && !Directory.Exists(path))
                throw PemMaterial.Fail(Field, path, "does not exist",
                    $"create the cluster's intermediate first: meshfed ca --cluster {cluster} --root-cert ... --root-key ... --out {Shell.Quote(directory)}", MeshErrorKind.NotFound);
            return PemMaterial.ReadFile(path, Field);
        }
        string P(string file) => Path.Combine(folder, file);
        var caCertPem = Read("ca-cert.pem");
        var caKeyPem = Read("ca-key.pem");
        var rootPem = Read("root-cert.pem");
        var chainPem = Read("cert-chain.pem");

        var caCerts = PemMaterial.Certificates(caCertPem, Field, P("ca-cert.pem"));
        var roots = PemMaterial.Certificates(rootPem, Field, P("root-cert.pem"));
        var chain = PemMaterial.Certificates(chainPem, Field, P("cert-chain.pem"));
        try
        {
            if (caCerts.Count != 1)
                throw PemMaterial.Fail(Field, P("ca-cert.pem"), $"holds {caCerts.Count} certificates; it holds the cluster's intermediate only", "give the intermediate alone (cert-chain.pem holds the chain)");
            var ca = caCerts[0];
            using var key = PemMaterial.Key(caKeyPem, Field, P("ca-key.pem"));
            if (!PemMaterial.Matches(ca, key))
                throw PemMaterial.Fail(Field, P("ca-key.pem"), $"does not belong to ca-cert.pem ({PemMaterial.Describe(ca)}): another cluster's or another CA's key",
                    $"give the key issued with this intermediate, or issue a new one: meshfed ca --cluster {cluster} --root-cert ... --root-key ... --out {Shell.Quote(directory)}");
            PemMaterial.CheckCa(ca, Field, P("ca-cert.pem"), at, "cluster's intermediate CA certificate");
            foreach (var r in roots) PemMaterial.CheckCa(r, Field, P("root-cert.pem"), at, "root CA certificate");
            if (!PemMaterial.ChainsTo(ca, roots, at))
                throw PemMaterial.Fail(Field, P("ca-cert.pem"), $"was not issued by the root in root-cert.pem (it names issuer '{ca.Issuer}'; the root is '{roots[0].Subject}')",
                    $"issue the intermediate under this root: meshfed ca --cluster {cluster} --root-cert <root-cert.pem> --root-key <root-key.pem> --out {Shell.Quote(directory)}");
            if (!chain[0].RawData.AsSpan().SequenceEqual(ca.RawData))
                throw PemMaterial.Fail(Field, P("cert-chain.pem"), "does not start with the intermediate of ca-cert.pem", "write cert-chain.pem as ca-cert.pem followed by root-cert.pem (cat ca-cert.pem root-cert.pem > cert-chain.pem)");
            if (!roots.Any(r => r.RawData.AsSpan().SequenceEqual(chain[^1].RawData)) && !PemMaterial.ChainsTo(chain[^1], roots, at))
                throw PemMaterial.Fail(Field, P("cert-chain.pem"), "does not end with (or chain to) the root of root-cert.pem", "write cert-chain.pem as ca-cert.pem followed by root-cert.pem (cat ca-cert.pem root-cert.pem > cert-chain.pem)");
            return new ClusterCacertsFiles(caCertPem, caKeyPem, rootPem, chainPem);
        }
        finally
        {
            foreach (var c in caCerts.Concat(roots).Concat(chain)) c.Dispose();
        }
    }
}
