using System.Management.Automation;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rotation;

namespace MeshFederation.Infrastructure;

/// <summary>
/// Plumbing of the root-rotation cmdlets (Get-, Start-, Step-MeshRootRotation): the clusters of the mesh by kubeconfig
/// context, the engine's <see cref="RootRotation"/>, one ShouldProcess per change, -WhatIf changing nothing.
/// </summary>
public abstract class RootRotationCmdlet : MeshCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Every cluster of the mesh, by kubeconfig context.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string[] Context { get; set; } = Array.Empty<string>();

    /// <summary>A kubeconfig file to use ($env:KUBECONFIG, ~/.kube/config by default).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>The control plane's namespace in every cluster.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Namespace { get; set; } = "istio-system";

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>Runs <paramref name="work"/> on a rotation of the clusters given; false after reporting errors.</summary>
    protected bool WithRotation<T>(TimeSpan waitTimeout, int validityDays, Func<RootRotation, CancellationToken, Task<T>> work, out T? result)
    {
        result = default;
        if (!TryResolveKubeConfig(KubeConfig, out var kubeconfig)) return false;
        using var log = new CmdletLog();
        using var connections = new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions(), log);
        RootRotation? rotation = null;
        if (!Try(() => rotation = new RootRotation(connections, Context.Select(c => new ClusterBinding(c) { Context = c }), new RootRotationOptions
            {
                Namespace = Namespace, WaitTimeout = waitTimeout, ValidityDays = validityDays,
                NewRootCertificateField = "NewRootCertificatePath", NewRootKeyField = "NewRootKeyPath",
            }, log), Context))
            return false;
        return RunLive(log, _stop, () => work(rotation!, _stop.Token), out result);
    }

    /// <summary>
    /// Plans a phase, asks for each change (ConfirmImpact High: every change is confirmed unless -Confirm:$false),
    /// applies it when every change is approved, verifies it on every cluster and records it. -WhatIf shows the changes
    /// and changes nothing.
    /// </summary>
    protected void RunPhase(RotationPhase? phase, string? newRootCertificatePath, string? newRootKeyPath, TimeSpan waitTimeout, int validityDays)
    {
        if (waitTimeout <= TimeSpan.Zero || waitTimeout > TimeSpan.FromDays(1))
        {
            WriteError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(waitTimeout)), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, waitTimeout)
            { ErrorDetails = new ErrorDetails($"WaitTimeout = '{waitTimeout}': must be more than zero and at most a day.") { RecommendedAction = "give a duration such as 5m or 00:10:00" } });
            return;
        }
        string? cert = null, key = null;
        if (newRootCertificatePath is not null && (cert = ResolveOne(newRootCertificatePath, false, "NewRootCertificatePath")) is null) return;
        if (newRootKeyPath is not null && (key = ResolveOne(newRootKeyPath, false, "NewRootKeyPath")) is null) return;
        RootRotationPlan? plan = null;
        RotationPhase chosen = RotationPhase.TrustAdd;
        if (!WithRotation(waitTimeout, validityDays, async (rotation, ct) =>
            {
                if (phase is { } p) chosen = p;
                else
                {
                    var status = await rotation.GetStatusAsync(ct).ConfigureAwait(false);
                    chosen = status.NextPhase ?? throw new Engine.Validation.MeshFederationException(new Engine.Validation.MeshProblem(Engine.Validation.MeshErrorKind.Conflict,
                        "Context", string.Join(", ", Context), $"record no rotation in progress ({status.Stage})", "start one with Start-MeshRootRotation -NewRootCertificatePath <new root-cert.pem>"));
                }
                plan = await rotation.PlanAsync(chosen, cert, key, ct).ConfigureAwait(false);
                return plan;
            }, out _) || plan is null)
            return;
        WriteVerbose($"Plan: {plan}");
        var approved = true;
        foreach (var change in plan.Changes.Where(c => c.Action == "Update"))
            approved &= ShouldProcess(change.Target, $"{RootRotation.PhaseName(chosen)}: {change.Description}");
        if (!plan.HasChanges)
            approved &= ShouldProcess(string.Join(", ", Context), $"{RootRotation.PhaseName(chosen)}: verify again and record (nothing left to change)");
        if (!approved || IsWhatIf())
        {
            if (!IsWhatIf()) WriteWarning($"{RootRotation.PhaseName(chosen)} was not applied: a phase changes every cluster or none. Nothing was changed.");
            return;
        }
        RotationNotVerifiedException? notVerified = null;
        if (!WithRotation(waitTimeout, validityDays, async (rotation, ct) =>
            {
                try
                {
                    return await rotation.ApplyAsync(plan, _ => true, ct).ConfigureAwait(false);
                }
                catch (RotationNotVerifiedException ex)
                {
                    notVerified = ex;
                    return ex.Result;
                }
            }, out var result))
            return;
        if (notVerified is not null)
        {
            WriteError(new ErrorRecord(notVerified, ErrorIds.RotationNotVerified, ErrorCategory.OperationTimeout, string.Join(", ", Context))
            {
                ErrorDetails = new ErrorDetails(notVerified.Message)
                { RecommendedAction = $"fix what keeps istiod from taking up cacerts (see the verifications), then run Step-MeshRootRotation -Phase {chosen} again: it resumes" },
            });
        }
        if (result is not null) WriteObject(result);
    }

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
