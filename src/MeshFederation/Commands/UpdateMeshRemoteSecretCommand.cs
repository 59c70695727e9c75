using System.Management.Automation;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rotation;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>
/// Update-MeshRemoteSecret: rotates the reader credential of a remote cluster of an Istio multi-primary mesh. Issues a
/// new reader token on that cluster (a long-lived token Secret, or with -TokenExpiry a bound token), replaces the token
/// in every istio-remote-secret pointing at it in the other clusters, verifies that each works as istiod uses it, and
/// only then deletes the old token Secret (when this module created it; anything else is reported with how to revoke
/// it). ConfirmImpact High: every change is confirmed; -WhatIf shows them and changes nothing.
/// </summary>
[Cmdlet(VerbsData.Update, "MeshRemoteSecret", HelpUri = HelpLinks.Docs + "Update-MeshRemoteSecret.md", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(CredentialRotationResult))]
public sealed class UpdateMeshRemoteSecretCommand : MeshCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    /// <summary>The remote cluster whose reader credential is rotated (one of -Context).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string Cluster { get; set; } = "";

    /// <summary>Every cluster of the mesh, by kubeconfig context (the remote one among them).</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string[] Context { get; set; } = Array.Empty<string>();

    /// <summary>A kubeconfig file to use ($env:KUBECONFIG, ~/.kube/config by default).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>The control plane's namespace: the remote secrets', and the reader's on the remote cluster.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Namespace { get; set; } = "istio-system";

    /// <summary>The reader ServiceAccount (default: the one the current tokens name, else meshfed-reader).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ServiceAccount { get; set; }

    /// <summary>Issue a bound token (TokenRequest) with this lifetime instead of a long-lived token Secret.</summary>
    [Parameter]
    [TimeSpanArgument]
    public TimeSpan? TokenExpiry { get; set; }

    /// <summary>Also update remote secrets this module did not create (only their token changes).</summary>
    [Parameter]
    public SwitchParameter TakeOver { get; set; }

    /// <summary>How long to wait for the new token and for every secret to work with it.</summary>
    [Parameter]
    [TimeSpanArgument]
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromMinutes(2);

    protected override void StopProcessing() => _stop.Cancel();

    protected override void EndProcessing()
    {
        if (WaitTimeout <= TimeSpan.Zero || WaitTimeout > TimeSpan.FromDays(1))
        {
            WriteError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(WaitTimeout)), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, WaitTimeout)
            { ErrorDetails = new ErrorDetails($"WaitTimeout = '{WaitTimeout}': must be more than zero and at most a day.") { RecommendedAction = "give a duration such as 2m or 00:05:00" } });
            return;
        }
        if (!TryResolveKubeConfig(KubeConfig, out var kubeconfig)) return;
        using var log = new CmdletLog();
        using var connections = new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions(), log);
        CredentialRotation? rotation = null;
        if (!Try(() => rotation = new CredentialRotation(connections, Context.Select(c => new ClusterBinding(c) { Context = c }), Cluster, new CredentialRotationOptions
            {
                Namespace = Namespace, ServiceAccount = ServiceAccount, TokenExpiry = TokenExpiry, TakeOver = TakeOver.IsPresent, WaitTimeout = WaitTimeout,
                ClusterField = nameof(Cluster), TokenExpiryField = nameof(TokenExpiry), TakeOverField = "-" + nameof(TakeOver), ServiceAccountField = nameof(ServiceAccount),
            }, log), Cluster))
            return;
        if (!RunLive(log, _stop, () => rotation!.PlanAsync(_stop.Token), out var plan) || plan is null) return;
        WriteVerbose($"Plan: {plan}");
        foreach (var report in plan.Changes.Where(c => !c.Changes)) WriteVerbose($"Old credential: {report.Name}: {report.Description}");
        var approved = true;
        foreach (var change in plan.Changes.Where(c => c.Changes))
            approved &= ShouldProcess(change.Target, $"{change.Action}: {change.Description}");
        if (!approved || IsWhatIf())
        {
            if (!IsWhatIf()) WriteWarning($"The reader credential of {Cluster} was not rotated: a rotation updates every remote secret or none. Nothing was changed.");
            return;
        }
        if (!RunLive(log, _stop, () => rotation!.ApplyAsync(plan, _ => true, _stop.Token), out var result) || result is null) return;
        foreach (var o in result.OldCredentials.Where(o => o.State is OldCredentialState.Reported or OldCredentialState.NotRevocable))
            WriteWarning($"{o.Credential} was not revoked: {o.Detail}");
        if (!result.Verified)
        {
            var failed = result.Secrets.Where(s => s.State != RemoteSecretState.Verified).ToList();
            WriteError(new ErrorRecord(new InvalidOperationException($"the new credential of {Cluster} does not work in {failed.Count} remote secret(s)"), ErrorIds.RotationNotVerified, ErrorCategory.OperationTimeout, Cluster)
            {
                ErrorDetails = new ErrorDetails($"The new credential of {Cluster} does not work in {string.Join("; ", failed.Select(s => $"{s.Cluster} {s.Namespace}/{s.Name}: {s.Detail}"))}. The old credential was NOT revoked.")
                { RecommendedAction = $"fix what the secrets' outcomes name, then run Update-MeshRemoteSecret -Cluster {Cluster} again: it issues a newer token and revokes the old ones too" },
            });
        }
        WriteObject(result);
    }

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
