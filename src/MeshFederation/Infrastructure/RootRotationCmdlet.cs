using System.Management.Automation;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rotation;

namespace MeshFederation.Infrastructure;

/// <summary>
/// Plumbing of the root-rotation cmdlets (Get-, Start-, Step-MeshRootRotation): the clusters by kubeconfig context, the
/// engine's <see cref="RootRotation"/> (a shared root, parameter set SharedRoot) or <see cref="PeerRootRotation"/>
/// (an OSSM 2 mesh's root in its peers' ConfigMaps, parameter set PeerRoot: -Mesh), one ShouldProcess per change,
/// -WhatIf changing nothing.
/// </summary>
public abstract class RootRotationCmdlet : MeshCmdlet, IDisposable
{
    protected const string SharedRootSet = "SharedRoot";
    protected const string PeerRootSet = "PeerRoot";

    private readonly CancellationTokenSource _stop = new();

    /// <summary>Every cluster of the mesh (with -Mesh: the mesh's cluster and every peer's cluster), by kubeconfig context.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string[] Context { get; set; } = Array.Empty<string>();

    /// <summary>A kubeconfig file to use ($env:KUBECONFIG, ~/.kube/config by default).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>The control plane's namespace in every cluster (shared root).</summary>
    [Parameter(ParameterSetName = SharedRootSet)]
    [ValidateNotNullOrEmpty]
    public string Namespace { get; set; } = "istio-system";

    /// <summary>OSSM 2 federation: the mesh (its ServiceMeshControlPlane's name) whose root rotates in its peers' &lt;peer&gt;-ca-root-cert ConfigMaps.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PeerRootSet)]
    [ValidateNotNullOrEmpty]
    public string? Mesh { get; set; }

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>Runs <paramref name="work"/> on the rotation the parameter set chooses (one engine is null); false after reporting errors.</summary>
    protected bool WithRotation<T>(TimeSpan waitTimeout, int validityDays, bool adopt, Func<RootRotation?, PeerRootRotation?, CancellationToken, Task<T>> work, out T? result)
    {
        result = default;
        if (!TryResolveKubeConfig(KubeConfig, out var kubeconfig)) return false;
        using var log = new CmdletLog();
        using var connections = new ClusterConnections(Yaml, kubeconfig, new KubeClientOptions(), log);
        RootRotation? rotation = null;
        PeerRootRotation? peerRotation = null;
        var bindings = Context.Select(c => new ClusterBinding(c) { Context = c });
        if (!Try(() =>
            {
                if (Mesh is not null)
                    peerRotation = new PeerRootRotation(connections, bindings, Mesh, new PeerRootRotationOptions
                    {
                        WaitTimeout = waitTimeout, Adopt = adopt, MeshField = "Mesh", NewRootCertificateField = "NewRootCertificatePath", AdoptField = "-Adopt",
                    }, log);
                else
                    rotation = new RootRotation(connections, bindings, new RootRotationOptions
                    {
                        Namespace = Namespace, WaitTimeout = waitTimeout, ValidityDays = validityDays,
                        NewRootCertificateField = "NewRootCertificatePath", NewRootKeyField = "NewRootKeyPath",
                    }, log);
            }, Context))
            return false;
        return RunLive(log, _stop, () => work(rotation, peerRotation, _stop.Token), out result);
    }

    /// <summary>
    /// Plans a phase, asks for each change (ConfirmImpact High: every change is confirmed unless -Confirm:$false),
    /// applies it when every change is approved, verifies it and records it. -WhatIf shows the changes and changes
    /// nothing.
    /// </summary>
    protected void RunPhase(RotationPhase? phase, string? newRootCertificatePath, string? newRootKeyPath, TimeSpan waitTimeout, int validityDays, bool adopt = false)
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
        PeerRootRotationPlan? peerPlan = null;
        RotationPhase chosen = RotationPhase.TrustAdd;
        var start = Mesh is null ? "Start-MeshRootRotation -NewRootCertificatePath <new root-cert.pem>" : $"Start-MeshRootRotation -Mesh {Mesh} -NewRootCertificatePath <new root-cert.pem>";
        if (!WithRotation(waitTimeout, validityDays, adopt, async (rotation, peerRotation, ct) =>
            {
                if (phase is { } p) chosen = p;
                else
                {
                    var (next, stage) = rotation is not null
                        ? await rotation.GetStatusAsync(ct).ConfigureAwait(false) is var s ? (s.NextPhase, s.Stage) : default
                        : await peerRotation!.GetStatusAsync(ct).ConfigureAwait(false) is var ps ? (ps.NextPhase, ps.Stage) : default;
                    chosen = next ?? throw new Engine.Validation.MeshFederationException(new Engine.Validation.MeshProblem(Engine.Validation.MeshErrorKind.Conflict,
                        Mesh is null ? "Context" : "Mesh", Mesh ?? string.Join(", ", Context), $"record no rotation in progress ({stage})", $"start one with {start}"));
                }
                if (rotation is not null) plan = await rotation.PlanAsync(chosen, cert, key, ct).ConfigureAwait(false);
                else peerPlan = await peerRotation!.PlanAsync(chosen, cert, ct).ConfigureAwait(false);
                return true;
            }, out _) || (plan is null && peerPlan is null))
            return;
        WriteVerbose($"Plan: {(object?)plan ?? peerPlan}");
        var approved = true;
        foreach (var change in (plan?.Changes ?? peerPlan!.Changes).Where(c => c.Action is "Update" or "Adopt"))
            approved &= ShouldProcess(change.Target, $"{RootRotation.PhaseName(chosen)}: {change.Description}");
        if (!(plan?.HasChanges ?? peerPlan!.HasChanges))
            approved &= ShouldProcess(Mesh ?? string.Join(", ", Context), $"{RootRotation.PhaseName(chosen)}: verify{(plan is null && chosen == RotationPhase.Reissue ? "" : " again")} and record (nothing to change)");
        if (!approved || IsWhatIf())
        {
            if (!IsWhatIf()) WriteWarning($"{RootRotation.PhaseName(chosen)} was not applied: a phase changes every cluster or none. Nothing was changed.");
            return;
        }
        RotationNotVerifiedException? notVerified = null;
        if (!WithRotation(waitTimeout, validityDays, adopt, async (rotation, peerRotation, ct) =>
            {
                try
                {
                    return rotation is not null
                        ? await rotation.ApplyAsync(plan!, _ => true, ct).ConfigureAwait(false)
                        : await peerRotation!.ApplyAsync(peerPlan!, _ => true, ct).ConfigureAwait(false);
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
            WriteError(new ErrorRecord(notVerified, ErrorIds.RotationNotVerified, ErrorCategory.OperationTimeout, Mesh ?? string.Join(", ", Context))
            {
                ErrorDetails = new ErrorDetails(notVerified.Message)
                {
                    RecommendedAction = Mesh is null
                        ? $"fix what keeps istiod from taking up cacerts (see the verifications), then run Step-MeshRootRotation -Phase {chosen} again: it resumes"
                        : $"fix what the verifications name (a peer's ConfigMap, or {Mesh}'s CA secret and istiod), then run Step-MeshRootRotation -Mesh {Mesh} -Phase {chosen} again: it resumes",
                },
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
