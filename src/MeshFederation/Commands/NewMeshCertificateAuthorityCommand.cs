using System.Management.Automation;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Pki;
using MeshFederation.Engine.Validation;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// New-MeshCertificateAuthority: a shared root CA and one intermediate per cluster, as seed 003's openssl steps make
/// them (RSA 4096 by default, ECDSA P-256 on request); or, given an existing root's PEM files, more intermediates
/// under it (issuing again for a cluster rotates its intermediate). -TrustAlso keeps old roots trusted during a
/// rollover. -Path writes the PEM files seed 003 leaves (keys 0600); key material already there is replaced only with
/// -Force, after a high-impact confirmation. Keys never appear in the object's views.
/// </summary>
[Cmdlet(VerbsCommon.New, "MeshCertificateAuthority", HelpUri = HelpLinks.Docs + "New-MeshCertificateAuthority.md", SupportsShouldProcess = true, DefaultParameterSetName = NewRoot)]
[OutputType(typeof(MeshCertificateAuthority))]
public sealed class NewMeshCertificateAuthorityCommand : MeshCmdlet, IDisposable
{
    private const string NewRoot = "NewRoot";
    private const string ExistingRoot = "ExistingRoot";
    private const int ProgressId = 4;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _clusters = new();

    /// <summary>Clusters to issue an intermediate for.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ClusterNameCompleter))]
    public string[] Cluster { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = NewRoot)]
    public KeyAlgorithm KeyAlgorithm { get; set; } = KeyAlgorithm.Rsa4096;

    /// <summary>How long the certificates are valid (whole days): a TimeSpan, or 3650d, 365d.</summary>
    [Parameter]
    [TimeSpanArgument]
    public TimeSpan Validity { get; set; } = TimeSpan.FromDays(3650);

    [Parameter(ParameterSetName = NewRoot)]
    [ValidateNotNullOrEmpty]
    public string Organization { get; set; } = "Istio";

    [Parameter(Mandatory = true, ParameterSetName = ExistingRoot)]
    [ValidateNotNullOrEmpty]
    public string RootCertificatePath { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ExistingRoot)]
    [ValidateNotNullOrEmpty]
    public string RootKeyPath { get; set; } = "";

    /// <summary>Older root certificates to keep trusted alongside this root (a rollover bundle): PEM files or PEM text.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] TrustAlso { get; set; } = Array.Empty<string>();

    /// <summary>The folder to write root-cert.pem (and root-key.pem for a new root) and per cluster ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem into.</summary>
    [Parameter]
    [Alias("OutputPath")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? Path { get; set; }

    /// <summary>-Path taken as written (no wildcards).</summary>
    [Parameter]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string? LiteralPath { get; set; }

    /// <summary>Replace key material that already exists in the folder (asks first, at high impact).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord() => _clusters.AddRange(Cluster);

    protected override void StopProcessing() => _stop.Cancel();

    protected override void EndProcessing()
    {
        var clusters = _clusters.Distinct(StringComparer.Ordinal).ToList();
        // Everything that can be checked is checked before any key is generated (RSA 4096 takes seconds per key).
        var problems = new ProblemList();
        foreach (var c in clusters) Names.CheckLabel(problems, "Cluster", c);
        if (problems.Any)
        {
            foreach (var p in problems.Items) WriteError(ErrorIds.Record(p, p.Value));
            return;
        }
        if (Validity < TimeSpan.FromDays(1) || Validity > TimeSpan.FromDays(36500) || Validity.Ticks % TimeSpan.TicksPerDay != 0)
        {
            WriteError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(Validity)), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, Validity)
            { ErrorDetails = new ErrorDetails($"Validity = '{Validity}': certificates are valid for whole days, from 1 to 36500.") { RecommendedAction = "give whole days, e.g. 3650d or (New-TimeSpan -Days 365)" } });
            return;
        }
        var days = (int)Validity.TotalDays;
        if (Path is not null && LiteralPath is not null)
        {
            WriteError(new ErrorRecord(new ArgumentException("Path and LiteralPath"), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, LiteralPath)
            { ErrorDetails = new ErrorDetails("-Path and -LiteralPath name the same folder: give one.") { RecommendedAction = "use -Path, or -LiteralPath for a name with wildcard characters" } });
            return;
        }
        string? dir = null;
        if ((Path ?? LiteralPath) is { } given && (dir = ResolveDestination(given, LiteralPath is not null, LiteralPath is null ? "Path" : "LiteralPath")) is null) return;
        string? rootCert = null, rootKey = null;
        if (ParameterSetName == ExistingRoot && ((rootCert = ResolveOne(RootCertificatePath, false, nameof(RootCertificatePath))) is null || (rootKey = ResolveOne(RootKeyPath, false, nameof(RootKeyPath))) is null)) return;
        var trusted = new List<(string Text, object Input)>();
        foreach (var t in TrustAlso)
        {
            if (t.Contains("-----BEGIN", StringComparison.Ordinal)) { trusted.Add((t, "(PEM)")); continue; }
            var files = ResolveExisting(t, literal: false, nameof(TrustAlso));
            if (files.Count == 0) return;
            foreach (var f in files) trusted.Add((File.ReadAllText(f), f));
        }

        // Key material already in the folder is replaced only when asked for, and confirmed at high impact.
        var confirmed = new HashSet<string>(StringComparer.Ordinal);
        if (dir is not null)
        {
            var clash = MeshCertificateAuthority.ExistingKeyFiles(dir, clusters, includeRootKey: ParameterSetName == NewRoot);
            if (clash.Count > 0 && !Force.IsPresent)
            {
                WriteError(new ErrorRecord(new IOException($"{dir} already holds key material"), ErrorIds.Conflict, ErrorCategory.ResourceExists, Path ?? LiteralPath)
                {
                    ErrorDetails = new ErrorDetails($"Path = '{Path ?? LiteralPath}': already holds key material ({string.Join(", ", clash.Select(f => System.IO.Path.GetRelativePath(dir, f)))}); " +
                        "replacing it makes every certificate issued under it stop verifying. Nothing was generated or written.")
                    {
                        RecommendedAction = "issue under the existing root with -RootCertificatePath <folder>/root-cert.pem -RootKeyPath <folder>/root-key.pem (for clusters not issued yet), " +
                            "write to another -Path, or pass -Force to replace it",
                    },
                });
                return;
            }
            if (!IsWhatIf())
            {
                bool yesToAll = false, noToAll = false;
                foreach (var f in clash)
                {
                    if (!ShouldProcessHighImpact(f, "Replace key material", "What was issued under it stops verifying.", noPrompt: false, ref yesToAll, ref noToAll))
                    {
                        WriteVerbose("Not confirmed: nothing was generated or written.");
                        return;
                    }
                    confirmed.Add(f);
                }
            }
        }

        var steps = (ParameterSetName == NewRoot ? 1 : 0) + clusters.Count;
        var step = 0;
        void Progress(string status) => WriteProgress(new ProgressRecord(ProgressId, "Creating certificate authority", status)
        { PercentComplete = steps == 0 ? 100 : Math.Min(99, step * 100 / steps) });
        try
        {
            MeshCertificateAuthority? ca = null;
            // Every key (a new root's and the intermediates') is generated on every core at once; progress counts keys.
            var done = 0;
            var what = string.Join(", ", (ParameterSetName == NewRoot ? new[] { "root" } : Array.Empty<string>()).Concat(clusters.Select(c => $"intermediate of {c}")));
            void Tick() { step = Volatile.Read(ref done); Progress($"generated {step} of {steps} key(s) ({(ParameterSetName == NewRoot ? KeyAlgorithm : ca?.KeyAlgorithm)}: {what}) on {Environment.ProcessorCount} core(s)"); }
            if (ParameterSetName == ExistingRoot)
            {
                if (!Try(() => ca = MeshCertificateAuthority.Load(rootCert!, rootKey!, days, nameof(RootCertificatePath), nameof(RootKeyPath)), rootCert, reading: true)) return;
                if (clusters.Count > 0)
                {
                    Tick();
                    if (!Try(() => Generate(() => ca!.IssueAll(clusters, _ => Interlocked.Increment(ref done), cancellationToken: _stop.Token), Tick), string.Join(",", clusters))) return;
                }
            }
            else
            {
                Tick();
                if (!Try(() => ca = Generate(() => MeshCertificateAuthority.Create(KeyAlgorithm, days, Organization, clusters, () => Interlocked.Increment(ref done), cancellationToken: _stop.Token), Tick))) return;
            }
            if (steps > 0) Tick(); // every key generated
            step = steps;
            WriteVerbose($"Root: {ca!.Root}");
            foreach (var c in clusters) WriteVerbose($"Intermediate for {c}: {ca[c].Intermediate}");
            foreach (var (text, input) in trusted)
                if (!Try(() => ca.TrustAlso(text), input)) return;
            if (dir is not null)
            {
                // All files at once, private keys 0600; key material already there was confirmed above (-Force),
                // anything else meshfed did not write is never overwritten, and the root given is never touched.
                var files = ca.Files(includeRootKey: ParameterSetName == NewRoot);
                var options = new OutputFolderOptions
                {
                    Field = LiteralPath is null ? "Path" : "LiteralPath",
                    KeepExisting = true, // a CA folder gains intermediates; what was written there before stays unless replaced
                    ReplaceForeign = Force.IsPresent,
                    PrivateFiles = files.Where(f => f.Value.Private).Select(f => f.Key).ToHashSet(StringComparer.Ordinal),
                    Inputs = ParameterSetName == ExistingRoot ? new[] { rootCert!, rootKey! } : Array.Empty<string>(),
                    CurrentDirectory = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
                    Log = WriteVerbose,
                };
                var contents = files.ToDictionary(f => f.Key, f => f.Value.Content, StringComparer.Ordinal);
                if (!Try(() => OutputFolder.Check(dir, contents, options), dir)) return;
                var keys = files.Count(f => f.Value.Private);
                if (confirmed.Count > 0 || ShouldProcess(dir, $"Write {files.Count} PEM files ({keys} private key(s), mode 0600) all at once"))
                {
                    OutputFolderResult? written = null;
                    if (!Try(() => written = OutputFolder.Write(dir, contents, options), dir)) return;
                    foreach (var f in written!.Written) WriteVerbose($"Wrote {f}");
                }
            }
            WriteObject(ca);
        }
        finally
        {
            WriteProgress(new ProgressRecord(ProgressId, "Creating certificate authority", "done") { RecordType = ProgressRecordType.Completed });
        }
    }

    /// <summary>Key generation on the thread pool, so Ctrl+C stops the command at once (the key being made is abandoned).</summary>
    private T Generate<T>(Func<T> work, Action? tick = null)
    {
        var task = Task.Run(work);
        try
        {
            // On the pipeline thread: progress every half second while the workers generate keys.
            while (!task.Wait(500, _stop.Token)) tick?.Invoke();
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
        }
        return task.Result;
    }

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
