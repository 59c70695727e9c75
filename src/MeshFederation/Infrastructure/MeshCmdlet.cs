using System.Collections;
using System.Management.Automation;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Infrastructure;

/// <summary>Common plumbing of the module's cmdlets: engine errors become ErrorRecords with stable ids.</summary>
public abstract class MeshCmdlet : PSCmdlet
{
    /// <summary>Runs engine work; every problem it reports becomes a non-terminating error, and false is returned.</summary>
    protected bool Try(Action action, object? target = null)
    {
        try
        {
            action();
            return true;
        }
        catch (MeshFederationException ex)
        {
            foreach (var p in ex.Problems) WriteError(ErrorIds.Record(p, target));
            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(ex, ErrorIds.FileError, ErrorCategory.WriteError, target));
            return false;
        }
        catch (Engine.Kube.KubeApiException ex)
        {
            WriteError(new ErrorRecord(ex, ErrorIds.ClusterError, ErrorCategory.ConnectionError, ex.Cluster ?? target));
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
                WriteError(new ErrorRecord(new InvalidOperationException($"{o.Item.Target}: {o.Error}"), ErrorIds.ApplyFailed, ErrorCategory.WriteError, o.Item)
                { ErrorDetails = new ErrorDetails($"{o.Item.Action} {o.Item.Target} failed: {o.Error}") { RecommendedAction = "fix the cause and run again; what was applied stays applied" } });
        }
        catch (KubeApiException ex)
        {
            WriteError(new ErrorRecord(ex, ErrorIds.ClusterError, ex.StatusCode == System.Net.HttpStatusCode.Unauthorized || ex.StatusCode == System.Net.HttpStatusCode.Forbidden
                ? ErrorCategory.PermissionDenied : ErrorCategory.ConnectionError, ex.Cluster));
        }
        catch (OperationCanceledException ex) when (stop.IsCancellationRequested)
        {
            WriteWarning(ex.Message);
            throw new PipelineStoppedException();
        }
        return false;
    }
}
