using System.Collections;
using System.Management.Automation;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;
using Microsoft.PowerShell.Commands;

namespace MeshFederation.Infrastructure;

/// <summary>
/// Common plumbing of the module's cmdlets: engine errors become ErrorRecords with stable ids, user paths go through
/// the PowerShell provider, high-impact changes are confirmed, and "not known offline" notes become one warning.
/// </summary>
public abstract class MeshCmdlet : PSCmdlet
{
    /// <summary>Runs engine work; every problem it reports becomes a non-terminating error, and false is returned.</summary>
    /// <param name="action">The engine work.</param>
    /// <param name="target">The input the work is about: the ErrorRecords' TargetObject when a problem names none.</param>
    /// <param name="reading">The work reads files: I/O failures are ReadError, not WriteError.</param>
    protected bool Try(Action action, object? target = null, bool reading = false)
    {
        try
        {
            action();
            return true;
        }
        catch (MeshFederationException ex)
        {
            foreach (var p in ex.Problems) WriteError(ErrorIds.Record(p, target, reading));
            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(ex, ErrorIds.FileError, ex is FileNotFoundException or DirectoryNotFoundException ? ErrorCategory.ObjectNotFound
                : reading ? ErrorCategory.ReadError : ErrorCategory.WriteError, target));
            return false;
        }
        catch (KubeApiException ex)
        {
            WriteError(ErrorIds.Cluster(ex, target?.ToString()));
            return false;
        }
        catch (Exception ex) when (ex is not (RuntimeException or OperationCanceledException or OutOfMemoryException))
        {
            // A bug: reported as an error of this command, never a crash of the session.
            WriteError(new ErrorRecord(ex, ErrorIds.Unexpected, ErrorCategory.NotSpecified, target)
            {
                ErrorDetails = new ErrorDetails($"Unexpected {ex.GetType().Name}: {Echo.Text(ex.Message)}. This is a bug in MeshFederation; please report it.")
                { RecommendedAction = "Report the command and its input; $Error[0].Exception.StackTrace shows where it failed." },
            });
            return false;
        }
    }

    /// <summary>The YAML bridge, loaded from the module's Dependencies folder into its own load context.</summary>
    protected IYamlBridge Yaml
    {
        get
        {
            try
            {
                return ModuleYaml.Bridge;
            }
            catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException or TypeLoadException)
            {
                ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.YamlBridgeUnavailable, ErrorCategory.ResourceUnavailable, ModuleYaml.DependenciesDirectory)
                {
                    ErrorDetails = new ErrorDetails($"The module's YAML support could not be loaded from '{ModuleYaml.DependenciesDirectory}': {ex.Message}")
                    { RecommendedAction = "Reinstall the MeshFederation module (Install-Module MeshFederation -Force)." },
                });
                throw;
            }
        }
    }

    protected static IReadOnlyDictionary<string, string> ToStringMap(Hashtable? table) => PSConvert.ToStringMap(table);

    // ------------------------------------------------------------------ paths

    /// <summary>
    /// Existing files or folders named by the user, through the PowerShell provider: drives, ~ and paths relative to
    /// $PWD; wildcards expand unless <paramref name="literal"/>. Only the FileSystem provider is accepted. Reports an
    /// error (target: the path as given) and returns an empty list when nothing usable is found.
    /// </summary>
    protected IReadOnlyList<string> ResolveExisting(string path, bool literal, string parameter)
    {
        try
        {
            ProviderInfo provider;
            List<string> resolved;
            if (literal || !WildcardPattern.ContainsWildcardCharacters(path))
            {
                resolved = new List<string> { SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _) };
                if (!IsFileSystem(provider)) return NotFileSystem(path, provider, parameter);
                if (!File.Exists(resolved[0]) && !Directory.Exists(resolved[0])) return NotFound(path, parameter, resolved[0]);
                return resolved;
            }
            resolved = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out provider).ToList();
            if (!IsFileSystem(provider)) return NotFileSystem(path, provider, parameter);
            if (resolved.Count == 0) return NotFound(path, parameter, null);
            return resolved;
        }
        catch (ItemNotFoundException)
        {
            return NotFound(path, parameter, null);
        }
        catch (Exception ex) when (ex is System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or PSArgumentException or NotSupportedException)
        {
            WriteError(new ErrorRecord(ex, ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, path)
            {
                ErrorDetails = new ErrorDetails($"{parameter} = '{path}': {ex.Message}") { RecommendedAction = "give a path on the file system (a file or folder on disk, or a FileSystem drive)" },
            });
            return Array.Empty<string>();
        }
    }

    /// <summary>One existing file (or folder) named by the user; null after reporting an error.</summary>
    protected string? ResolveOne(string path, bool literal, string parameter)
    {
        var all = ResolveExisting(path, literal, parameter);
        if (all.Count <= 1) return all.Count == 1 ? all[0] : null;
        WriteError(new ErrorRecord(new ArgumentException($"{parameter}: '{path}' matches {all.Count} items"), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, path)
        {
            ErrorDetails = new ErrorDetails($"{parameter} = '{path}': matches {all.Count} items ({string.Join(", ", all.Take(3))}{(all.Count > 3 ? ", ..." : "")}); one is needed.")
            { RecommendedAction = "narrow the wildcard to one file, or use -LiteralPath" },
        });
        return null;
    }

    /// <summary>A kubeconfig named by the user, resolved now (relative to $PWD, drives, ~); null when not given.</summary>
    protected bool TryResolveKubeConfig(string? kubeConfig, out string? resolved)
    {
        resolved = null;
        if (kubeConfig is null) return true;
        resolved = ResolveOne(kubeConfig, literal: false, "KubeConfig");
        return resolved is not null;
    }

    /// <summary>
    /// A destination (a folder to write into) named by the user: relative to $PWD, drives and ~, on the FileSystem
    /// provider only; a wildcard must name exactly one existing item. Null after reporting an error.
    /// </summary>
    protected string? ResolveDestination(string path, bool literal, string parameter)
    {
        if (!literal && WildcardPattern.ContainsWildcardCharacters(path)) return ResolveOne(path, literal: false, parameter);
        try
        {
            var resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
            return IsFileSystem(provider) ? resolved : NotFileSystem(path, provider, parameter).FirstOrDefault();
        }
        catch (Exception ex) when (ex is System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or PSArgumentException or NotSupportedException or ItemNotFoundException)
        {
            WriteError(new ErrorRecord(ex, ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, path)
            {
                ErrorDetails = new ErrorDetails($"{parameter} = '{path}': {ex.Message}") { RecommendedAction = "give a folder on the file system (on disk, or on a FileSystem drive)" },
            });
            return null;
        }
    }

    private static bool IsFileSystem(ProviderInfo provider) => provider.ImplementingType == typeof(FileSystemProvider);

    private List<string> NotFileSystem(string path, ProviderInfo provider, string parameter)
    {
        WriteError(new ErrorRecord(new ArgumentException($"{parameter}: '{path}' is a {provider.Name} path, not a FileSystem path"), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, path)
        {
            ErrorDetails = new ErrorDetails($"{parameter} = '{path}': is on the {provider.Name} provider; only FileSystem paths can be read or written.")
            { RecommendedAction = "give a path on the file system (a file or folder on disk, or a FileSystem drive such as C: or a New-PSDrive -PSProvider FileSystem drive)" },
        });
        return new List<string>();
    }

    private List<string> NotFound(string path, string parameter, string? resolved)
    {
        WriteError(new ErrorRecord(new ItemNotFoundException($"{parameter}: '{path}' does not exist"), ErrorIds.NotFound, ErrorCategory.ObjectNotFound, path)
        {
            ErrorDetails = new ErrorDetails($"{parameter} = '{path}': {(resolved is not null && resolved != path ? $"{resolved} " : "")}does not exist.")
            { RecommendedAction = "check the path (relative paths start at the current location, $PWD)" },
        });
        return new List<string>();
    }

    // ------------------------------------------------------------------ confirmation

    /// <summary>-WhatIf is in effect (given, or $WhatIfPreference).</summary>
    protected bool IsWhatIf() =>
        (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter { IsPresent: true })
        || SessionState.PSVariable.GetValue("WhatIfPreference") is true or SwitchParameter { IsPresent: true };

    /// <summary>
    /// ShouldProcess for a high-impact change in a cmdlet whose own ConfirmImpact is lower: -WhatIf and -Confirm work as
    /// usual, and, as for a ConfirmImpact High cmdlet, the user is also asked when $ConfirmPreference is High (the
    /// default) unless <paramref name="noPrompt"/> (-Force) or -Confirm:$false. A session that cannot prompt
    /// (-NonInteractive) gets "no". <paramref name="yesToAll"/> / <paramref name="noToAll"/> carry answers across calls.
    /// </summary>
    protected bool ShouldProcessHighImpact(string target, string action, string warning, bool noPrompt, ref bool yesToAll, ref bool noToAll)
    {
        if (!ShouldProcess(target, action)) return false;
        if (noPrompt || yesToAll) return true;
        if (noToAll) return false;
        if (MyInvocation.BoundParameters.TryGetValue("Confirm", out var confirm))
            return true; // -Confirm asked already in ShouldProcess; -Confirm:$false asks nothing.
        var preference = SessionState.PSVariable.GetValue("ConfirmPreference") is ConfirmImpact p ? p : ConfirmImpact.High;
        if (preference == ConfirmImpact.None) return true;
        try
        {
            return ShouldContinue($"{action} \"{target}\"? {warning}", "Confirm (high impact)", ref yesToAll, ref noToAll);
        }
        catch (Exception ex) when (ex is PSInvalidOperationException or System.Management.Automation.Host.HostException or NotImplementedException or NotSupportedException)
        {
            WriteWarning($"Not confirmed (this session cannot ask): {action} \"{target}\". Pass -Force or -Confirm:$false to proceed without asking.");
            noToAll = true;
            return false;
        }
    }

    // ------------------------------------------------------------------ warnings

    /// <summary>
    /// What a render could not know offline: one warning for the command, each item in the verbose stream (and in the
    /// information stream, tagged MeshFederation.Pending, for scripts).
    /// </summary>
    protected void WritePending(IReadOnlyList<Engine.Rendering.PendingItem> pending, IReadOnlyList<string> warnings)
    {
        foreach (var p in pending)
        {
            WriteVerbose($"Not known offline: {p}");
            WriteInformation(new InformationRecord(p, "MeshFederation") { Tags = { "MeshFederation.Pending" } });
        }
        if (pending.Count > 0)
            WriteWarning($"{pending.Count} {(pending.Count == 1 ? "value is" : "values are")} not known offline; Sync-MeshFederation reads them from the clusters when it applies. -Verbose lists them.");
        foreach (var w in warnings.Distinct()) WriteWarning(w);
    }

    // ------------------------------------------------------------------ live work

    /// <summary>
    /// The error of one kubeconfig context that could not be used: missing from the kubeconfig (ObjectNotFound),
    /// credentials refused (PermissionDenied) or API server unreachable (ConnectionError); the context is the target.
    /// </summary>
    protected static ErrorRecord ContextFailure(string context, Exception ex)
    {
        switch (ex)
        {
            case KubeApiException api:
                return ErrorIds.Cluster(api, context);
            case MeshFederationException mesh:
                var p = mesh.Problems[0];
                var missing = p.Field == "kubeconfig context" && p.Value == context;
                var record = new ErrorRecord(mesh, missing ? ErrorIds.NotFound : ErrorIds.For(p.Kind), missing ? ErrorCategory.ObjectNotFound : ErrorIds.Category(p.Kind), context);
                record.ErrorDetails = new ErrorDetails($"context {context}: {p.Field}{(p.Value is null ? "" : $" = '{p.Value}'")}: {p.Problem}") { RecommendedAction = p.Fix };
                return record;
            default:
                return new ErrorRecord(ex, ErrorIds.ClusterError, ErrorCategory.ConnectionError, context)
                {
                    ErrorDetails = new ErrorDetails($"context {context}: {ex.Message}")
                    { RecommendedAction = "check that the cluster's API server is reachable from here (kubectl --context <context> get ns)" },
                };
        }
    }

    /// <summary>Runs engine work with progress and messages written here, Ctrl+C honoured and failures as ErrorRecords.</summary>
    protected bool RunLive<T>(CmdletLog log, CancellationTokenSource stop, Func<Task<T>> work, out T? result)
    {
        result = default;
        try
        {
            result = log.Pump(this, work);
            return true;
        }
        catch (MeshFederationException ex)
        {
            foreach (var p in ex.Problems) WriteError(ErrorIds.Record(p, null));
        }
        catch (LiveFederationException ex)
        {
            foreach (var o in ex.Outcomes.Where(o => o.State == OutcomeState.Failed))
            {
                var conflict = o.Error?.Contains("conflict", StringComparison.OrdinalIgnoreCase) == true;
                WriteError(new ErrorRecord(new InvalidOperationException($"{o.Item.Target}: {o.Error}"), ErrorIds.ApplyFailed, conflict ? ErrorCategory.ResourceExists : ErrorCategory.WriteError, o.Item)
                {
                    ErrorDetails = new ErrorDetails($"{o.Item.Action} {o.Item.Target} failed: {o.Error}")
                    {
                        RecommendedAction = conflict
                            ? "another field manager owns these fields: leave them, or take them over with -ForceConflicts (meshfed apply --force-conflicts); what was applied stays applied"
                            : "fix the cause and run again; what was applied stays applied",
                    },
                });
            }
            // The outcomes of everything attempted, done or failed, for -PassThru.
            if (ex.Outcomes is T outcomes) result = outcomes;
        }
        catch (KubeApiException ex)
        {
            WriteError(ErrorIds.Cluster(ex, ex.Cluster));
        }
        catch (OperationCanceledException ex) when (stop.IsCancellationRequested)
        {
            WriteWarning(ex.Message);
            throw new PipelineStoppedException();
        }
        return false;
    }
}
