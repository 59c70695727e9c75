using System.Diagnostics;
using System.Security.Cryptography;
using static Bench;

/// <summary>
/// Issues 5 and 15: a root and N intermediates as users make them, `meshfed ca` (a cold process), against seed 003's
/// openssl loop (genrsa, req, x509 per cluster), both with RSA 4096 and with EC P-256 keys, in one run; and meshfed's
/// RSA time against the key-generation bound: keys × per-key cost / cores, the per-key cost measured in the same run
/// by generating the same number of RSA 4096 keys one after another (the same OpenSSL primitive meshfed and genrsa use).
/// New-MeshCertificateAuthority is timed the same way when pwsh and the assembled module are there.
/// </summary>
internal static class PkiBench
{
    public static int Run(int count)
    {
        var clusters = Enumerable.Range(1, count).Select(i => $"cluster{i:D2}").ToList();
        var dir = TempDir();
        var cli = Cli();
        var cores = Environment.ProcessorCount;
        Console.Error.WriteLine($"pki: {count} intermediates, {cores} cores, meshfed {cli}, load {LoadAverage()}");
        var loadBefore = LoadAverage();

        var seedRsa = SeedLoop(dir, "rsa", clusters, ec: false);
        Console.Error.WriteLine($"seed loop RSA {seedRsa:0} ms");
        var seedEc = SeedLoop(dir, "ec", clusters, ec: true);
        Console.Error.WriteLine($"seed loop EC {seedEc:0} ms");

        var caArgs = new List<string> { "ca" };
        foreach (var c in clusters) { caArgs.Add("--cluster"); caArgs.Add(c); }
        var rsaOut = Path.Combine(dir, "meshfed-rsa");
        var ours = MustTime(cli, caArgs.Concat(new[] { "--out", rsaOut }));
        Verify(rsaOut, clusters);
        Console.Error.WriteLine($"meshfed ca RSA {ours.WallMs:0} ms (cpu {ours.CpuMs:0} ms)");
        var ecOut = Path.Combine(dir, "meshfed-ec");
        var oursEc = MustTime(cli, caArgs.Concat(new[] { "--algorithm", "ecdsa-p256", "--out", ecOut }));
        Verify(ecOut, clusters);
        Console.Error.WriteLine($"meshfed ca EC {oursEc.WallMs:0} ms");

        // The bound: the same number of keys (root + intermediates), one after another, in this process.
        var keys = count + 1;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < keys; i++)
        {
            using var rsa = RSA.Create(4096);
            _ = rsa.ExportParameters(false); // the key is generated here
        }
        sw.Stop();
        var perKey = sw.Elapsed.TotalMilliseconds / keys;
        var bound = keys * perKey / cores;
        Console.Error.WriteLine($"per key {perKey:0} ms, bound {bound:0} ms");

        Run? cmdlet = null;
        var pwsh = Path.Combine(Repo(), ".tools", "pwsh", "pwsh");
        var module = Directory.Exists(Path.Combine(Repo(), "out", "MeshFederation"))
            ? Directory.GetFiles(Path.Combine(Repo(), "out", "MeshFederation"), "MeshFederation.psd1", SearchOption.AllDirectories).FirstOrDefault() : null;
        if (File.Exists(pwsh) && module is not null)
        {
            var psOut = Path.Combine(dir, "cmdlet-rsa");
            cmdlet = MustTime(pwsh, new[] { "-NoProfile", "-NonInteractive", "-Command",
                $"Import-Module '{module}'; $null = New-MeshCertificateAuthority -Cluster {string.Join(',', clusters)} -Path '{psOut}'" });
            Verify(psOut, clusters);
            Console.Error.WriteLine($"New-MeshCertificateAuthority RSA {cmdlet.WallMs:0} ms");
        }

        var loadAfter = LoadAverage();
        // Two measures of the bound. (a) The same keys: meshfed's own CPU time (all of it, start-up included) spread over
        // every core; RSA key times vary a lot from key to key, and this takes that variance out. (b) The same number of
        // other keys, generated one after another in this process: keys × per-key cost / cores.
        var boundOwn = ours.CpuMs / cores;
        var ratioOwn = ours.WallMs / boundOwn;
        var ratio = ours.WallMs / bound;
        var ecSpeedup = seedEc / oursEc.WallMs;
        Console.WriteLine("| intermediates | cores | seed loop RSA 4096 | meshfed ca RSA 4096 (cold) | speedup | meshfed CPU | (a) bound: own CPU / cores | meshfed / (a) | (b) per-key cost, sequential | (b) bound: keys × cost / cores | meshfed / (b) | seed loop EC P-256 | meshfed ca ECDSA P-256 (cold) | ECDSA speedup | load average |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        Console.WriteLine(string.Create(Inv,
            $"| {count} | {cores} | {seedRsa:0} ms | {ours.WallMs:0} ms | {seedRsa / ours.WallMs:0.00}x | {ours.CpuMs:0} ms | {boundOwn:0} ms | {ratioOwn:0.00} | {perKey:0} ms | {bound:0} ms | {ratio:0.00} | {seedEc:0} ms | {oursEc.WallMs:0} ms | {ecSpeedup:0.0}x | {loadBefore} → {loadAfter} |"));
        if (cmdlet is not null)
            Console.WriteLine(string.Create(Inv, $"New-MeshCertificateAuthority (cold pwsh, RSA 4096): {cmdlet.WallMs:0} ms wall, {cmdlet.CpuMs:0} ms CPU; / (a) own CPU bound {cmdlet.WallMs / (cmdlet.CpuMs / cores):0.00}, / (b) {cmdlet.WallMs / bound:0.00}"));
        var ok = ratioOwn <= 1.15 && ratio <= 1.15 && ecSpeedup >= 10 && (cmdlet is null || cmdlet.WallMs / (cmdlet.CpuMs / cores) <= 1.15);
        Console.WriteLine(ok ? "goals met: RSA within 1.15x of the key-generation bound, ECDSA >= 10x the seed loop with EC keys"
            : "GOAL NOT MET: RSA over 1.15x the key-generation bound, or ECDSA under 10x the seed loop with EC keys");
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        return ok ? 0 : 1;
    }

    private static void Verify(string dir, List<string> clusters)
    {
        foreach (var c in new[] { clusters[0], clusters[^1] })
        {
            var r = Time("openssl", new[] { "verify", "-CAfile", Path.Combine(dir, "root-cert.pem"), "-untrusted", Path.Combine(dir, c, "cert-chain.pem"), Path.Combine(dir, c, "ca-cert.pem") });
            if (r.ExitCode != 0 || !r.Stdout.Contains(": OK", StringComparison.Ordinal)) throw new InvalidOperationException($"{dir}/{c} does not verify: {r.Stdout}{r.Stderr}");
        }
        if (clusters.Any(c => !File.Exists(Path.Combine(dir, c, "ca-key.pem")))) throw new InvalidOperationException($"{dir}: an intermediate is missing");
    }

    /// <summary>Seed 003's commands, verbatim but for the cluster list (and, with <paramref name="ec"/>, EC P-256 keys instead of genrsa 4096).</summary>
    private static double SeedLoop(string dir, string name, List<string> clusters, bool ec)
    {
        string Key(string path) => ec ? $"openssl ecparam -name prime256v1 -genkey -noout -out {path}" : $"openssl genrsa -out {path} 4096 2>/dev/null";
        var script = Path.Combine(dir, $"seed-003-{name}.sh");
        File.WriteAllText(script, "set -e\ncd \"$1\"\n" + Key("root-key.pem") + "\n"
            + "cat <<EOF > root-ca.conf\n[ req ]\nencrypt_key = no\nprompt = no\nutf8 = yes\ndefault_md = sha256\ndefault_bits = 4096\nreq_extensions = req_ext\nx509_extensions = req_ext\ndistinguished_name = req_dn\n[ req_ext ]\nsubjectKeyIdentifier = hash\nbasicConstraints = critical, CA:true\nkeyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign\n[ req_dn ]\nO = Istio\nCN = Root CA\nEOF\n"
            + "openssl req -sha256 -new -key root-key.pem -config root-ca.conf -out root-cert.csr\n"
            + "openssl x509 -req -sha256 -days 3650 -signkey root-key.pem -extensions req_ext -extfile root-ca.conf -in root-cert.csr -out root-cert.pem 2>/dev/null\n"
            + $"for cluster in {string.Join(' ', clusters)}; do\n  mkdir $cluster\n  {Key("${cluster}/ca-key.pem")}\n"
            + "  cat <<EOF > ${cluster}/intermediate.conf\n[ req ]\nencrypt_key = no\nprompt = no\nutf8 = yes\ndefault_md = sha256\ndefault_bits = 4096\nreq_extensions = req_ext\nx509_extensions = req_ext\ndistinguished_name = req_dn\n[ req_ext ]\nsubjectKeyIdentifier = hash\nbasicConstraints = critical, CA:true, pathlen:0\nkeyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign\nsubjectAltName=@san\n[ san ]\nDNS.1 = istiod.istio-system.svc\n[ req_dn ]\nO = Istio\nCN = Intermediate CA\nL = $cluster\nEOF\n"
            + "  openssl req -new -config ${cluster}/intermediate.conf -key ${cluster}/ca-key.pem -out ${cluster}/cluster-ca.csr\n"
            + "  openssl x509 -req -sha256 -days 3650 -CA root-cert.pem -CAkey root-key.pem -CAcreateserial -extensions req_ext -extfile ${cluster}/intermediate.conf -in ${cluster}/cluster-ca.csr -out ${cluster}/ca-cert.pem 2>/dev/null\n"
            + "  cat ${cluster}/ca-cert.pem root-cert.pem > ${cluster}/cert-chain.pem\n  cp root-cert.pem ${cluster}\ndone\n");
        var work = Path.Combine(dir, $"openssl-{name}");
        Directory.CreateDirectory(work);
        var r = MustTime("bash", new[] { script, work });
        Verify(work, clusters);
        return r.WallMs;
    }
}
