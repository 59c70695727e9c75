using System.Management.Automation;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Pki;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// New-MeshCertificateAuthority: a shared root CA and one intermediate per cluster, as seed 003's openssl steps make
/// them (RSA 4096 by default, ECDSA P-256 on request); or, given an existing root's PEM files, more intermediates
/// under it (issuing again for a cluster rotates its intermediate). -TrustAlso keeps old roots trusted during a
/// rollover. -OutputPath writes the PEM files seed 003 leaves (keys 0600). Keys never appear in the object's views.
/// </summary>
[Cmdlet(VerbsCommon.New, "MeshCertificateAuthority", HelpUri = HelpLinks.Docs + "New-MeshCertificateAuthority.md", SupportsShouldProcess = true, DefaultParameterSetName = NewRoot)]
[OutputType(typeof(MeshCertificateAuthority))]
public sealed class NewMeshCertificateAuthorityCommand : MeshCmdlet
{
    private const string NewRoot = "NewRoot";
    private const string ExistingRoot = "ExistingRoot";

    /// <summary>Clusters to issue an intermediate for.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string[] Cluster { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = NewRoot)]
    public KeyAlgorithm KeyAlgorithm { get; set; } = KeyAlgorithm.Rsa4096;

    [Parameter]
    [ValidateRange(1, 36500)]
    public int ValidityDays { get; set; } = 3650;

    [Parameter(ParameterSetName = NewRoot)]
    [ValidateNotNullOrEmpty]
    public string Organization { get; set; } = "Istio";

    [Parameter(Mandatory = true, ParameterSetName = ExistingRoot)]
    [ValidateNotNullOrEmpty]
    public string RootCertificatePath { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ExistingRoot)]
    [ValidateNotNullOrEmpty]
    public string RootKeyPath { get; set; } = "";

    /// <summary>Older root certificates (PEM) to keep trusted alongside this root: a rollover trust bundle.</summary>
    [Parameter]
    public string[] TrustAlso { get; set; } = Array.Empty<string>();

    /// <summary>Write root-cert.pem (and root-key.pem for a new root) and per cluster ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutputPath { get; set; }

    private readonly List<string> _clusters = new();

    protected override void ProcessRecord() => _clusters.AddRange(Cluster);

    protected override void EndProcessing()
    {
        MeshCertificateAuthority? ca = null;
        if (!Try(() => ca = ParameterSetName == ExistingRoot
                ? MeshCertificateAuthority.Load(GetUnresolvedProviderPathFromPSPath(RootCertificatePath), GetUnresolvedProviderPathFromPSPath(RootKeyPath), ValidityDays)
                : MeshCertificateAuthority.Create(KeyAlgorithm, ValidityDays, Organization))) return;
        WriteVerbose($"Root: {ca!.Root}");
        foreach (var c in _clusters.Distinct(StringComparer.Ordinal))
        {
            if (!Try(() => ca.Issue(c), c)) return;
            WriteVerbose($"Intermediate for {c}: {ca[c].Intermediate}");
        }
        foreach (var pem in TrustAlso)
            if (!Try(() => ca.TrustAlso(pem))) return;
        if (OutputPath is not null)
        {
            var dir = GetUnresolvedProviderPathFromPSPath(OutputPath);
            foreach (var (path, (content, isPrivate)) in ca.Files(includeRootKey: ParameterSetName == NewRoot))
            {
                var target = System.IO.Path.Combine(dir, path);
                if (!ShouldProcess(target, isPrivate ? "Write private key (mode 0600)" : "Write certificate")) continue;
                if (!Try(() => AtomicFileWriter.Write(target, content, isPrivate), target)) return;
                WriteVerbose($"Wrote {target}");
            }
        }
        WriteObject(ca);
    }
}
