using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Pki;

/// <summary>Key types of the mesh CA.</summary>
public enum KeyAlgorithm
{
    /// <summary>RSA 4096, as seed 003's openssl configuration.</summary>
    Rsa4096,
    /// <summary>ECDSA on P-256.</summary>
    EcdsaP256,
}

/// <summary>One issued certificate. The private key is reachable only through <see cref="ExportPrivateKeyPem"/>, never as a property.</summary>
public sealed class IssuedCertificate
{
    private readonly string _keyPem;

    internal IssuedCertificate(X509Certificate2 certificate, string keyPem, KeyAlgorithm algorithm)
    {
        CertificatePem = certificate.ExportCertificatePem() + "\n";
        Subject = certificate.Subject;
        Issuer = certificate.Issuer;
        NotBefore = certificate.NotBefore.ToUniversalTime();
        NotAfter = certificate.NotAfter.ToUniversalTime();
        Thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        SerialNumber = certificate.SerialNumber;
        KeyAlgorithm = algorithm;
        _keyPem = keyPem;
    }

    public string Subject { get; }

    public string Issuer { get; }

    public DateTime NotBefore { get; }

    public DateTime NotAfter { get; }

    /// <summary>SHA-256 fingerprint.</summary>
    public string Thumbprint { get; }

    public string SerialNumber { get; }

    public KeyAlgorithm KeyAlgorithm { get; }

    public string CertificatePem { get; }

    /// <summary>The private key (PKCS#8 PEM). Write it only to files made 0600 or into a Secret.</summary>
    public string ExportPrivateKeyPem() => _keyPem;

    internal X509Certificate2 WithKey()
    {
        return X509Certificate2.CreateFromPem(CertificatePem, _keyPem);
    }

    public override string ToString() => $"{Subject} (until {NotAfter:yyyy-MM-dd}, {KeyAlgorithm}, SHA-256 {Thumbprint[..16]}...)";
}

/// <summary>A cluster's intermediate CA: what goes into its cacerts Secret.</summary>
public sealed class ClusterCertificates
{
    public required string Cluster { get; init; }

    public required IssuedCertificate Intermediate { get; init; }

    /// <summary>root-cert.pem: the root, plus older roots kept trusted during a rollover.</summary>
    public required string RootCertPem { get; init; }

    /// <summary>cert-chain.pem: the intermediate followed by the root.</summary>
    public required string CertChainPem { get; init; }

    public override string ToString() => $"{Cluster}: {Intermediate}";
}

/// <summary>
/// A mesh certificate authority as seed 003 builds it with openssl: a root (O=Istio, CN=Root CA; basicConstraints
/// critical CA:true; keyUsage critical digitalSignature, nonRepudiation, keyEncipherment, keyCertSign; subject key
/// identifier) and one intermediate per cluster (CN=Intermediate CA, L=&lt;cluster&gt;; pathlen:0; SAN DNS
/// istiod.istio-system.svc; the root's key identifier, as openssl x509 -CA adds it), 10 years by default, RSA 4096 or
/// ECDSA P-256. A shared root is the OCM addon's
/// "Complete" trust; exchanged roots (OSSM 2 peers) are its "Limited" trust.
/// </summary>
public sealed class MeshCertificateAuthority
{
    public const string IntermediateSan = "istiod.istio-system.svc";
    // Guarded by _gate: intermediates are issued on every core (IssueAll), and callers may call Issue concurrently.
    private readonly Dictionary<string, ClusterCertificates> _clusters = new(StringComparer.Ordinal);
    private readonly List<string> _order = new();
    private readonly List<string> _extraRoots = new();
    private readonly object _gate = new();

    private MeshCertificateAuthority(IssuedCertificate root, string organization, int validityDays)
    {
        Root = root;
        Organization = organization;
        ValidityDays = validityDays;
    }

    public IssuedCertificate Root { get; }

    public string Organization { get; }

    public int ValidityDays { get; }

    public KeyAlgorithm KeyAlgorithm => Root.KeyAlgorithm;

    /// <summary>The intermediates issued so far, in the order they were first issued (a snapshot).</summary>
    public IReadOnlyCollection<ClusterCertificates> Clusters
    {
        get { lock (_gate) return _order.Select(c => _clusters[c]).ToList(); }
    }

    /// <summary>Other roots trusted alongside this one (a root rollover); they go into every root-cert.pem.</summary>
    public IReadOnlyList<string> AdditionalTrustedRoots
    {
        get { lock (_gate) return _extraRoots.ToList(); }
    }

    /// <summary>The OCM addon's name for a shared root: "Complete" trust (exchanged roots are "Limited").</summary>
#pragma warning disable CA1822 // a property, so it shows on the object
    public string TrustType => "Complete";
#pragma warning restore CA1822

    public ClusterCertificates this[string cluster]
    {
        get { lock (_gate) return _clusters[cluster]; }
    }

    public override string ToString()
    {
        lock (_gate) return $"{Root.Subject} ({KeyAlgorithm}) with {_order.Count} intermediate(s): {string.Join(", ", _order)}";
    }

    public static MeshCertificateAuthority Create(KeyAlgorithm algorithm = KeyAlgorithm.Rsa4096, int validityDays = 3650, string organization = "Istio")
    {
        Check(validityDays, organization);
        using var key = NewKey(algorithm);
        return CreateRoot(key, algorithm, validityDays, organization);
    }

    /// <summary>
    /// A new root and the intermediates of <paramref name="clusters"/> in one go, every key (the root's too) generated on
    /// every core at once: nothing waits for the root's key but the signing, which takes milliseconds. Names are checked
    /// before any key is generated. <paramref name="keyGenerated"/> is called from worker threads after each key.
    /// </summary>
    public static MeshCertificateAuthority Create(KeyAlgorithm algorithm, int validityDays, string organization, IEnumerable<string> clusters,
        Action? keyGenerated = null, int maxDegreeOfParallelism = -1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        Check(validityDays, organization);
        var names = CheckNames(clusters);
        var keys = new AsymmetricAlgorithm[names.Count + 1];
        try
        {
            Parallel(keys.Length, maxDegreeOfParallelism, i =>
            {
                keys[i] = NewKey(algorithm);
                keyGenerated?.Invoke();
            }, cancellationToken);
            var authority = CreateRoot(keys[0], algorithm, validityDays, organization);
            var results = new ClusterCertificates[names.Count];
            Parallel(names.Count, maxDegreeOfParallelism, i => results[i] = authority.Generate(names[i], keys[i + 1]), cancellationToken);
            lock (authority._gate) foreach (var r in results) authority.Store(r);
            return authority;
        }
        finally
        {
            foreach (var k in keys) k?.Dispose();
        }
    }

    private static MeshCertificateAuthority CreateRoot(AsymmetricAlgorithm key, KeyAlgorithm algorithm, int validityDays, string organization)
    {
        // The builder encodes the last name added first: add in reverse to get seed 003's "O = Istio, CN = Root CA".
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName("Root CA");
        subject.AddOrganizationName(organization);
        var (request, keyPem) = Request(subject.Build(), key);
        {
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(CaKeyUsage());
            var now = DateTimeOffset.UtcNow;
            using var cert = request.CreateSelfSigned(now, now.AddDays(validityDays));
            return new MeshCertificateAuthority(new IssuedCertificate(cert, keyPem, algorithm), organization, validityDays);
        }
    }

    /// <summary>
    /// Loads an existing root (certificate and key PEM files) to issue more intermediates under it. The material is
    /// verified first (<see cref="PemMaterial"/>): the certificate parses and is a self-signed CA valid now, the key parses
    /// and belongs to it. A root-cert.pem bundle (a rollover) is accepted: the certificate the key belongs to is the root,
    /// the others stay trusted. <paramref name="certificateField"/> and <paramref name="keyField"/> name the inputs in
    /// problems (--root-cert / -RootCertificatePath).
    /// </summary>
    public static MeshCertificateAuthority Load(string certificatePath, string keyPath, int validityDays = 3650,
        string certificateField = "root certificate", string keyField = "root key")
    {
        Check(validityDays, "Istio");
        var certPem = PemMaterial.ReadFile(certificatePath, certificateField);
        var keyPem = PemMaterial.ReadFile(keyPath, keyField);
        var certs = PemMaterial.Certificates(certPem, certificateField, certificatePath);
        try
        {
            using var key = PemMaterial.Key(keyPem, keyField, keyPath);
            var cert = certs.FirstOrDefault(c => PemMaterial.Matches(c, key))
                ?? throw PemMaterial.Fail(keyField, keyPath, $"does not belong to the root certificate ({PemMaterial.Describe(certs[0])})",
                    $"give the key that was created with the root (root-key.pem beside {Path.GetFileName(certificatePath)}), or create a new root");
            if (key is RSA rsa && rsa.KeySize < 2048)
                throw PemMaterial.Fail(keyField, keyPath, $"is an RSA key of {rsa.KeySize} bits; a mesh CA needs 2048 or more", "create a new root (RSA 4096 or ECDSA P-256)");
            if (key is ECDsa ec && ec.KeySize < 256)
                throw PemMaterial.Fail(keyField, keyPath, $"is an ECDSA key of {ec.KeySize} bits; a mesh CA needs 256 or more", "create a new root (RSA 4096 or ECDSA P-256)");
            if (cert.SubjectName.RawData.AsSpan().SequenceEqual(cert.IssuerName.RawData) is false)
                throw PemMaterial.Fail(certificateField, certificatePath, $"is not a root: {PemMaterial.Describe(cert)} was issued by '{cert.Issuer}'",
                    "give the self-signed root certificate (root-cert.pem)");
            PemMaterial.CheckCa(cert, certificateField, certificatePath, DateTimeOffset.UtcNow, "mesh's root CA certificate");
            var algorithm = cert.GetRSAPublicKey() is not null ? KeyAlgorithm.Rsa4096 : KeyAlgorithm.EcdsaP256;
            var org = cert.SubjectName.EnumerateRelativeDistinguishedNames().FirstOrDefault(r => r.GetSingleElementType().Value == "2.5.4.10")?.GetSingleElementValue() ?? "Istio";
            var keyText = key switch
            {
                RSA r => r.ExportPkcs8PrivateKeyPem() + "\n",
                ECDsa e => e.ExportPkcs8PrivateKeyPem() + "\n",
                _ => keyPem,
            };
            var authority = new MeshCertificateAuthority(new IssuedCertificate(cert, keyText, algorithm), org, validityDays);
            foreach (var other in certs.Where(c => !ReferenceEquals(c, cert)))
                authority._extraRoots.Add(other.ExportCertificatePem() + "\n");
            return authority;
        }
        finally
        {
            foreach (var c in certs) c.Dispose();
        }
    }

    /// <summary>
    /// Issues (or rotates) the intermediates of several clusters at once, on every core: the time is key generation
    /// (seconds per RSA 4096 key), and the keys are independent. The names are checked before any key is generated;
    /// results come back in the order given (duplicates once). <paramref name="issued"/> is called (from worker
    /// threads) after each intermediate; <paramref name="cancellationToken"/> stops issuing the ones not started yet.
    /// </summary>
    public IReadOnlyList<ClusterCertificates> IssueAll(IEnumerable<string> clusters, Action<ClusterCertificates>? issued = null,
        int maxDegreeOfParallelism = -1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        var names = CheckNames(clusters);
        var results = new ClusterCertificates[names.Count];
        Parallel(names.Count, maxDegreeOfParallelism, i =>
        {
            using var key = NewKey(KeyAlgorithm);
            results[i] = Generate(names[i], key);
            issued?.Invoke(results[i]);
        }, cancellationToken);
        // Stored in the order given, once all succeeded: a failed or cancelled run leaves the authority as it was.
        lock (_gate) foreach (var r in results) Store(r);
        return results;
    }

    /// <summary>Issues (or, called again, rotates) the intermediate of a cluster under this root. Safe to call from several threads.</summary>
    public ClusterCertificates Issue(string cluster)
    {
        var problems = new ProblemList();
        Names.CheckLabel(problems, "cluster", cluster);
        problems.ThrowIfAny();
        using var key = NewKey(KeyAlgorithm);
        var result = Generate(cluster, key);
        lock (_gate) Store(result);
        return result;
    }

    private static List<string> CheckNames(IEnumerable<string> clusters)
    {
        var names = clusters.Distinct(StringComparer.Ordinal).ToList();
        var problems = new ProblemList();
        foreach (var c in names) Names.CheckLabel(problems, "cluster", c);
        problems.ThrowIfAny();
        return names;
    }

    /// <summary>
    /// Runs <paramref name="body"/> for 0..count-1 on every core (or <paramref name="maxDegreeOfParallelism"/>), one item
    /// per task so that a thread takes the next key as soon as its own is done (RSA key times vary a lot); our own
    /// problems come out as themselves, not wrapped.
    /// </summary>
    private static void Parallel(int count, int maxDegreeOfParallelism, Action<int> body, CancellationToken cancellationToken)
    {
        var options = new ParallelOptions
        {
            MaxDegreeOfParallelism = maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount,
            CancellationToken = cancellationToken,
        };
        try
        {
            System.Threading.Tasks.Parallel.For(0, count, options, body);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count >= 1 && ex.InnerExceptions.All(e => e is MeshFederationException or OperationCanceledException))
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
        }
    }

    private void Store(ClusterCertificates result)
    {
        if (!_clusters.ContainsKey(result.Cluster)) _order.Add(result.Cluster);
        // Roots trusted since the key was generated are in the bundle too.
        _clusters[result.Cluster] = result.RootCertPem == RootBundle() ? result
            : new ClusterCertificates { Cluster = result.Cluster, Intermediate = result.Intermediate, RootCertPem = RootBundle(), CertChainPem = result.CertChainPem };
    }

    private ClusterCertificates Generate(string cluster, AsymmetricAlgorithm key)
    {
        // "O = Istio, CN = Intermediate CA, L = <cluster>", added in reverse (see Create).
        var subject = new X500DistinguishedNameBuilder();
        subject.AddLocalityName(cluster);
        subject.AddCommonName("Intermediate CA");
        subject.AddOrganizationName(Organization);
        var (request, keyPem) = Request(subject.Build(), key);
        {
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(CaKeyUsage());
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(IntermediateSan);
            request.CertificateExtensions.Add(san.Build());
            using var issuer = Root.WithKey();
            // As openssl x509 -CA adds it: the root's key identifier, which also tells roots with the same name apart.
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
            var now = DateTimeOffset.UtcNow;
            var notAfter = now.AddDays(ValidityDays);
            if (notAfter > issuer.NotAfter) notAfter = issuer.NotAfter; // never outlive the root
            if (notAfter <= now)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "root certificate", Root.Subject,
                    $"expired on {Root.NotAfter:yyyy-MM-dd HH:mm} UTC; nothing can be issued under it", "create a new root and roll it out"));
            X509Certificate2 created;
            try
            {
                created = request.Create(issuer, now, notAfter, Serial());
            }
            catch (CryptographicException e)
            {
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "root key", Root.Subject,
                    $"cannot sign the intermediate ({e.Message.TrimEnd('.')})", "check the root's key and certificate"));
            }
            using var cert = created;
            var intermediate = new IssuedCertificate(cert, keyPem, KeyAlgorithm);
            string roots;
            lock (_gate) roots = RootBundle();
            return new ClusterCertificates
            {
                Cluster = cluster,
                Intermediate = intermediate,
                RootCertPem = roots,
                CertChainPem = intermediate.CertificatePem + Root.CertificatePem,
            };
        }
    }

    /// <summary>Trusts other roots too (root rollover): every cluster's root-cert.pem then holds this root and them.</summary>
    public void TrustAlso(string rootPem, string field = "trusted root", string? path = null)
    {
        var certs = PemMaterial.Certificates(rootPem, field, path ?? "(PEM)");
        try
        {
            lock (_gate)
            foreach (var c in certs)
            {
                var bc = c.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
                if (bc is not { CertificateAuthority: true })
                    throw PemMaterial.Fail(field, path ?? "(PEM)", $"is not a CA certificate ({PemMaterial.Describe(c)})", "give the previous root's root-cert.pem");
                var pem = c.ExportCertificatePem() + "\n";
                if (!_extraRoots.Contains(pem) && pem != Root.CertificatePem) _extraRoots.Add(pem);
            }
        }
        finally
        {
            foreach (var c in certs) c.Dispose();
        }
        lock (_gate)
        foreach (var cluster in _clusters.Values.ToList())
            _clusters[cluster.Cluster] = new ClusterCertificates { Cluster = cluster.Cluster, Intermediate = cluster.Intermediate, RootCertPem = RootBundle(), CertChainPem = cluster.CertChainPem };
    }

    private string RootBundle() => Root.CertificatePem + string.Concat(_extraRoots);

    /// <summary>The cacerts Secret of a cluster (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem).</summary>
    public JsonObject CacertsSecret(string cluster, string ns, string mesh)
    {
        var c = this[cluster];
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = Rendering.JsonBuilder.Metadata("cacerts", ns, mesh),
            ["type"] = "Opaque",
            ["data"] = new JsonObject
            {
                ["ca-cert.pem"] = B64(c.Intermediate.CertificatePem),
                ["ca-key.pem"] = B64(c.Intermediate.ExportPrivateKeyPem()),
                ["root-cert.pem"] = B64(c.RootCertPem),
                ["cert-chain.pem"] = B64(c.CertChainPem),
            },
        };
    }

    /// <summary>
    /// The files seed 003's loop leaves: root-cert.pem and root-key.pem, and per cluster ca-cert.pem, ca-key.pem,
    /// root-cert.pem and cert-chain.pem. Keys are written 0600. Returns relative path to (content, is private).
    /// </summary>
    public IReadOnlyDictionary<string, (string Content, bool Private)> Files(bool includeRootKey)
    {
        string roots;
        lock (_gate) roots = RootBundle();
        var files = new SortedDictionary<string, (string, bool)>(StringComparer.Ordinal)
        {
            ["root-cert.pem"] = (roots, false),
        };
        if (includeRootKey) files["root-key.pem"] = (Root.ExportPrivateKeyPem(), true);
        foreach (var c in Clusters)
        {
            files[$"{c.Cluster}/ca-cert.pem"] = (c.Intermediate.CertificatePem, false);
            files[$"{c.Cluster}/ca-key.pem"] = (c.Intermediate.ExportPrivateKeyPem(), true);
            files[$"{c.Cluster}/root-cert.pem"] = (c.RootCertPem, false);
            files[$"{c.Cluster}/cert-chain.pem"] = (c.CertChainPem, false);
        }
        return files;
    }

    /// <summary>
    /// The files in <paramref name="directory"/> that writing an authority there would replace and that hold or anchor
    /// key material: with a new root, root-key.pem and root-cert.pem; per cluster, its ca-key.pem. Replacing them makes
    /// what was issued under them stop verifying, so callers refuse unless told to (-Force, --force).
    /// </summary>
    public static IReadOnlyList<string> ExistingKeyFiles(string directory, IEnumerable<string> clusters, bool includeRootKey)
    {
        var candidates = new List<string>();
        if (includeRootKey) candidates.AddRange(new[] { "root-key.pem", "root-cert.pem" });
        candidates.AddRange(clusters.Distinct(StringComparer.Ordinal).Select(c => Path.Combine(c, "ca-key.pem")));
        return candidates.Select(f => Path.Combine(directory, f)).Where(File.Exists).ToList();
    }

    private static X509KeyUsageExtension CaKeyUsage() => new(
        X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyCertSign, true);

    /// <summary>A new key, generated now (RSA keys are otherwise generated lazily, on first use).</summary>
    private static AsymmetricAlgorithm NewKey(KeyAlgorithm algorithm)
    {
        if (algorithm == KeyAlgorithm.EcdsaP256) return ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rsa = RSA.Create(4096);
        _ = rsa.ExportParameters(false);
        return rsa;
    }

    private static (CertificateRequest Request, string KeyPem) Request(X500DistinguishedName subject, AsymmetricAlgorithm key) => key switch
    {
        ECDsa ec => (new CertificateRequest(subject, ec, HashAlgorithmName.SHA256), ec.ExportPkcs8PrivateKeyPem() + "\n"),
        RSA rsa => (new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), rsa.ExportPkcs8PrivateKeyPem() + "\n"),
        _ => throw new ArgumentException("RSA or ECDSA keys only", nameof(key)),
    };

    private static byte[] Serial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive
        serial[0] |= 0x01; // never zero-length after normalisation
        return serial;
    }

    private static void Check(int validityDays, string organization)
    {
        var problems = new ProblemList();
        if (validityDays is < 1 or > 36500)
            problems.Add(MeshErrorKind.InvalidArgument, "validityDays", validityDays.ToString(System.Globalization.CultureInfo.InvariantCulture), "is out of range", "use 1 to 36500 days (default 3650)");
        if (string.IsNullOrWhiteSpace(organization))
            problems.Add(MeshErrorKind.InvalidArgument, "organization", organization, "is empty", "use Istio, as seed 003 does");
        problems.ThrowIfAny();
    }
}
