using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using MeshFederation.Engine.Live;

namespace MeshFederation.Infrastructure;

/// <summary>Completes -Context from the kubeconfig contexts ($KUBECONFIG, ~/.kube/config, or -KubeConfig when given).</summary>
public sealed class KubeContextCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var prefix = (wordToComplete ?? "").Trim('\'', '"');
        return Contexts(fakeBoundParameters)
            .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(SessionNameCompleter.Quote(n), n, CompletionResultType.ParameterValue, "kubeconfig context " + n));
    }

    /// <summary>The contexts of the kubeconfig given on the command line (resolved against $PWD), or the default one.</summary>
    internal static IEnumerable<string> Contexts(IDictionary? fakeBoundParameters)
    {
        var kubeconfig = (fakeBoundParameters?["KubeConfig"] is PSObject ps ? ps.BaseObject : fakeBoundParameters?["KubeConfig"]) as string;
        if (kubeconfig is not null)
        {
            try
            {
                using var resolve = PowerShell.Create(RunspaceMode.CurrentRunspace);
                resolve.AddCommand("Microsoft.PowerShell.Management\\Convert-Path").AddParameter("Path", kubeconfig).AddParameter("ErrorAction", ActionPreference.Ignore);
                kubeconfig = resolve.Invoke().Select(r => r?.BaseObject as string).FirstOrDefault(r => r is not null) ?? kubeconfig;
            }
            catch (Exception ex) when (ex is RuntimeException or InvalidOperationException)
            {
                // Complete from the path as written.
            }
        }
        try
        {
            return ClusterConnections.ContextNames(ModuleYaml.Bridge, kubeconfig);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }
}
