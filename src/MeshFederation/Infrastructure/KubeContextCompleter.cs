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
        var kubeconfig = fakeBoundParameters?["KubeConfig"] as string;
        var prefix = (wordToComplete ?? "").Trim('\'', '"');
        return ClusterConnections.ContextNames(ModuleYaml.Bridge, kubeconfig)
            .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(n.Contains(' ', StringComparison.Ordinal) ? $"'{n}'" : n, n, CompletionResultType.ParameterValue, "kubeconfig context " + n));
    }
}
