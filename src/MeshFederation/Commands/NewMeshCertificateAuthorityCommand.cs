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
[Cmdlet(VerbsCommon.New, "MeshCertificateAuthority", SupportsShouldProcess = true, DefaultParameterSetName = NewRoot)]
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
                ? MeshCertificateAuthority.Load(GetUnresolvedProviderPathFromPSPath(RootCertificatePath), GetUnresolvedProviderPathFromPSPath(RootKeyPath), ValidityDays,
                    nameof(RootCertificatePath), nameof(RootKeyPath))
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
            var files = ca.Files(includeRootKey: ParameterSetName == NewRoot);
            var options = new OutputFolderOptions
            {
                Field = nameof(OutputPath),
                KeepExisting = true, // a CA folder gains intermediates; what was written there before stays unless replaced
                PrivateFiles = files.Where(f => f.Value.Private).Select(f => f.Key).ToHashSet(StringComparer.Ordinal),
                Inputs = ParameterSetName == ExistingRoot
                    ? new[] { GetUnresolvedProviderPathFromPSPath(RootCertificatePath), GetUnresolvedProviderPathFromPSPath(RootKeyPath) }
                    : Array.Empty<string>(),
                CurrentDirectory = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
                Log = WriteVerbose,
            };
            var contents = files.ToDictionary(f => f.Key, f => f.Value.Content, StringComparer.Ordinal);
            if (!Try(() => OutputFolder.Check(dir, contents, options), dir)) return;
            var keys = files.Count(f => f.Value.Private);
            if (ShouldProcess(dir, $"Write {files.Count} PEM files ({keys} private key(s), mode 0600) all at once"))
            {
                OutputFolderResult? written = null;
                if (!Try(() => written = OutputFolder.Write(dir, contents, options), dir)) return;
                foreach (var f in written!.Written) WriteVerbose($"Wrote {f}");
            }
        }
        WriteObject(ca);
    }
}
