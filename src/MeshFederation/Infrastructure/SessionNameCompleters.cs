using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using MeshFederation.Engine.Model;

namespace MeshFederation.Infrastructure;

/// <summary>Completes names from the MeshFederation objects held in the session's variables.</summary>
public abstract class SessionNameCompleter : IArgumentCompleter
{
    protected abstract IEnumerable<string> Pick((SortedSet<string> Meshes, SortedSet<string> Clusters) names);

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var values = new List<object?>();
        try
        {
            var found = Runspace.DefaultRunspace?.SessionStateProxy.InvokeCommand.InvokeScript("Get-Variable -ValueOnly -ErrorAction Ignore");
            if (found is not null) values.AddRange(found.Select(v => v?.BaseObject));
        }
        catch (RuntimeException)
        {
            // No variables to offer.
        }
        if (fakeBoundParameters is not null) values.AddRange(fakeBoundParameters.Values.Cast<object?>().Select(v => v is PSObject ps ? ps.BaseObject : v));
        var prefix = (wordToComplete ?? "").Trim('\'', '"');
        return Pick(SessionNames.From(values)).Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
    }
}

/// <summary>Mesh names (for -Peer).</summary>
public sealed class MeshNameCompleter : SessionNameCompleter
{
    protected override IEnumerable<string> Pick((SortedSet<string> Meshes, SortedSet<string> Clusters) names) => names.Meshes;
}

/// <summary>Cluster names (for -Cluster).</summary>
public sealed class ClusterNameCompleter : SessionNameCompleter
{
    protected override IEnumerable<string> Pick((SortedSet<string> Meshes, SortedSet<string> Clusters) names) => names.Clusters;
}
