using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;

namespace MeshFederation.Infrastructure;

/// <summary>
/// Completes names from the MeshFederation objects the session holds (its variables) and those already on the command
/// line. Variables are read with a nested pipeline in the current runspace, which completion allows (a new pipeline
/// on the default runspace would fail: a pipeline is already running).
/// </summary>
public abstract class SessionNameCompleter : IArgumentCompleter
{
    protected abstract IEnumerable<string> Pick(IReadOnlyList<object?> values, IDictionary fakeBoundParameters);

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var values = new List<object?>();
        try
        {
            using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
            ps.AddCommand("Microsoft.PowerShell.Utility\\Get-Variable").AddParameter("ValueOnly").AddParameter("ErrorAction", ActionPreference.Ignore);
            values.AddRange(ps.Invoke().Select(v => v?.BaseObject));
        }
        catch (Exception ex) when (ex is RuntimeException or InvalidOperationException)
        {
            // No session to read: complete from the command line alone.
        }
        if (fakeBoundParameters is not null) values.AddRange(fakeBoundParameters.Values.Cast<object?>().Select(v => v is PSObject ps ? ps.BaseObject : v));
        var prefix = (wordToComplete ?? "").Trim('\'', '"');
        return Pick(values, fakeBoundParameters ?? new Hashtable()).Distinct(StringComparer.Ordinal)
            .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(Quote(n), n, CompletionResultType.ParameterValue, n));
    }

    internal static string Quote(string n) => n.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '$' or '`' or ';' or ',' or '(' or ')' or '{' or '}' or '@' or '&' or '|' or '#')
        ? "'" + n.Replace("'", "''", StringComparison.Ordinal) + "'"
        : n;
}

/// <summary>Mesh names (-Peer, Get-MeshControlPlane -Name).</summary>
public sealed class MeshNameCompleter : SessionNameCompleter
{
    protected override IEnumerable<string> Pick(IReadOnlyList<object?> values, IDictionary fakeBoundParameters) => SessionNames.From(values).Meshes;
}

/// <summary>Cluster names (-Cluster of ConvertTo-MeshManifest and New-MeshCertificateAuthority).</summary>
public sealed class ClusterNameCompleter : SessionNameCompleter
{
    protected override IEnumerable<string> Pick(IReadOnlyList<object?> values, IDictionary fakeBoundParameters) => SessionNames.From(values).Clusters;
}

/// <summary>Cluster names for New-MeshControlPlane -Cluster: those of the session, then the kubeconfig's contexts.</summary>
public sealed class ClusterOrContextCompleter : SessionNameCompleter
{
    protected override IEnumerable<string> Pick(IReadOnlyList<object?> values, IDictionary fakeBoundParameters) =>
        SessionNames.From(values).Clusters.Concat(KubeContextCompleter.Contexts(fakeBoundParameters));
}

/// <summary>Namespaces (-Namespace, -AliasNamespace): the member namespaces of the control planes in the session and on the command line.</summary>
public sealed class NamespaceCompleter : SessionNameCompleter
{
    protected override IEnumerable<string> Pick(IReadOnlyList<object?> values, IDictionary fakeBoundParameters)
    {
        var result = new SortedSet<string>(StringComparer.Ordinal);
        void Visit(object? v, int depth)
        {
            switch (v)
            {
                case MeshControlPlane cp: result.UnionWith(cp.MemberNamespaces); break;
                case MeshPeering p: result.UnionWith(p.Local.MemberNamespaces); result.UnionWith(p.Remote.MemberNamespaces); break;
                case MeshServiceExport e: result.Add(e.Namespace); break;
                case MeshServiceImport i: result.Add(i.Namespace); break;
                case string: break;
                case IEnumerable many when depth < 2: foreach (var o in many) Visit(o is PSObject ps ? ps.BaseObject : o, depth + 1); break;
            }
        }
        // The objects on the command line first: their namespaces are the likely ones.
        foreach (var v in fakeBoundParameters.Values) Visit(v is PSObject ps ? ps.BaseObject : v, 0);
        foreach (var v in values) Visit(v, 0);
        return result.Where(n => n != "*");
    }
}
